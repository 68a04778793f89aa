"""Specification of STS at every dim: agreement with scipy, one encoding per unique sentence, the JSON schema."""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from scipy.stats import pearsonr, spearmanr
from sentence_transformers import SentenceTransformer

from mic.data import DataError, ScoredPairs
from mic.evaluation import (
    Encoder,
    EvalOptions,
    EvaluationError,
    TaskScores,
    evaluate_encoder,
    load_task,
    parse_tasks,
    prefix_cosine,
    score_pairs,
    sts_scores,
    write_json,
)
from mic.evaluation.mteb import evaluate_mteb

EVAL_KEYS = {
    "schema",
    "model",
    "embedding_dim",
    "dims",
    "tasks",
    "seconds",
    "batch_size",
    "pca_fit_sentences",
    "backend",
    "command",
    "seed",
    "versions",
    "git_commit",
}
TASK_KEYS = {"kind", "source", "counts", "seconds", "metrics", "scores", "funnel"}


def test_prefix_cosine_renormalises_the_prefix() -> None:
    first, second = torch.randn(10, 8), torch.randn(10, 8)
    assert prefix_cosine(first, second, 3) == pytest.approx(F.cosine_similarity(first[:, :3], second[:, :3]))


def test_sts_scores_equal_scipy_at_every_dim() -> None:
    generator = torch.Generator().manual_seed(0)
    first, second = torch.randn(30, 16, generator=generator), torch.randn(30, 16, generator=generator)
    gold = torch.rand(30, generator=generator).mul(5).tolist()
    scores = sts_scores(first, second, gold, [16, 4])
    for dim in (16, 4):
        cosine = F.cosine_similarity(first[:, :dim], second[:, :dim]).double().numpy()
        assert scores[dim]["spearman"] == pytest.approx(100 * spearmanr(cosine, gold).statistic)
        assert scores[dim]["pearson"] == pytest.approx(100 * pearsonr(cosine, gold).statistic)


def test_constant_similarity_scores_nan_and_writes_null(tmp_path: Path) -> None:
    same = torch.ones(5, 4)
    scores = sts_scores(same, same, [0.0, 1.0, 2.0, 3.0, 4.0], [4])
    assert scores[4]["spearman"] != scores[4]["spearman"]  # NaN
    task = TaskScores("t", "sts", "t", {"pairs": 5, "sentences": 5}, 0.0, ["spearman", "pearson"], scores)
    path = write_json({"task": task.to_dict()}, tmp_path / "nan.json")
    assert json.loads(path.read_text())["task"]["scores"]["4"] == {"spearman": None, "pearson": None}


def test_each_unique_sentence_is_encoded_once_for_all_dims(
    tiny_model: SentenceTransformer, pairs_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pairs = load_task(str(pairs_file))
    unique = set(pairs.sentences1) | set(pairs.sentences2)
    calls: list[list[str]] = []
    original = tiny_model.encode

    def counting_encode(sentences: list[str], **kwargs: object) -> torch.Tensor:
        calls.append(list(sentences))
        return original(sentences, **kwargs)

    monkeypatch.setattr(tiny_model, "encode", counting_encode)
    result = score_pairs(Encoder("tiny", tiny_model), pairs, [32, 16, 8, 4])
    assert len(calls) == 1
    assert sorted(calls[0]) == sorted(unique)
    assert result.counts["sentences"] == len(unique) < 2 * len(pairs)
    assert set(result.scores) == {32, 16, 8, 4}


def test_score_pairs_match_scipy_on_the_model_embeddings(
    tiny_model: SentenceTransformer, pairs_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each sentence gets a fixed vector of its own, so the reference does not depend on batch composition or
    # thread count: a random tiny BERT puts all cosines within float32 noise of each other, and one ulp then
    # reorders Spearman's ranks (which made CI fail on some machines and not others).
    def vector(sentence: str) -> torch.Tensor:
        return torch.randn(32, generator=torch.Generator().manual_seed(zlib.crc32(sentence.encode())))

    def fixed_encode(sentences: list[str], **kwargs: object) -> torch.Tensor:
        return torch.stack([vector(sentence) for sentence in sentences])

    monkeypatch.setattr(tiny_model, "encode", fixed_encode)
    # Without the self-pairs: their cosines are 1 up to a few ulps, ranked by rounding noise that may differ
    # between torch's cosine formulas (or versions); every other cosine is far from its neighbours.
    loaded = load_task(str(pairs_file))
    rows = zip(loaded.sentences1, loaded.sentences2, loaded.scores, strict=True)
    first_sentences, second_sentences, gold = map(list, zip(*[row for row in rows if row[0] != row[1]], strict=True))
    pairs = ScoredPairs(first_sentences, second_sentences, gold, loaded.source)
    result = score_pairs(Encoder("tiny", tiny_model), pairs, [32, 8])
    first = torch.stack([vector(sentence) for sentence in pairs.sentences1])
    second = torch.stack([vector(sentence) for sentence in pairs.sentences2])
    for dim in (32, 8):
        cosine = F.cosine_similarity(first[:, :dim], second[:, :dim]).double().numpy()
        assert result.scores[dim]["spearman"] == pytest.approx(
            100 * spearmanr(cosine, pairs.scores).statistic, abs=1e-3
        )
        assert result.scores[dim]["pearson"] == pytest.approx(100 * pearsonr(cosine, pairs.scores).statistic, abs=1e-3)


def test_eval_json_schema(tiny_model: SentenceTransformer, pairs_file: Path, tmp_path: Path) -> None:
    pairs = load_task(str(pairs_file))
    options = EvalOptions(command="mic eval tiny", seed=3)
    result = evaluate_encoder(Encoder("tiny", tiny_model), {"toy": pairs}, None, options=options)
    data = json.loads(write_json(result.to_dict(), tmp_path / "eval.json").read_text())
    assert set(data) == EVAL_KEYS
    assert data["schema"] == "mic-eval/2" and data["dims"] == [8, 16, 32] and data["seed"] == 3
    assert data["backend"] == "torch"
    assert set(data["tasks"]["toy"]) == TASK_KEYS
    assert set(data["tasks"]["toy"]["scores"]) == {"32", "16", "8"}
    assert set(data["tasks"]["toy"]["scores"]["8"]) == {"spearman", "pearson"}
    assert data["tasks"]["toy"]["kind"] == "sts" and data["tasks"]["toy"]["funnel"] == {}
    assert data["tasks"]["toy"]["counts"]["pairs"] == len(pairs)
    assert result.score("toy", 8) == data["tasks"]["toy"]["scores"]["8"]["spearman"]


def test_a_dim_larger_than_the_model_is_refused(tiny_model: SentenceTransformer) -> None:
    pairs = ScoredPairs(["a b", "c d"], ["e f", "g h"], [1.0, 2.0], "toy")
    with pytest.raises(EvaluationError, match="dim 64 is larger than the 32-dim embeddings"):
        evaluate_encoder(Encoder("tiny", tiny_model), {"toy": pairs}, [64, 8])


def test_task_names_are_checked_before_loading(tmp_path: Path) -> None:
    assert [task.spec for task in parse_tasks("stsb, sickr,stsb:dev")] == ["stsb", "sickr", "stsb:dev"]
    tasks = parse_tasks([str(tmp_path / "x.tsv"), "mteb", "owner/dataset", "scifact:train"])
    assert [(task.kind, bool(task.mteb)) for task in tasks] == [
        ("sts", False),
        ("sts", True),
        ("sts", False),
        ("retrieval", False),
    ]
    with pytest.raises(DataError, match="Unknown task 'stsbx'"):
        parse_tasks("stsb,stsbx")
    with pytest.raises(DataError, match="No task given"):
        parse_tasks(" , ")
    with pytest.raises(DataError, match="not found"):
        load_task(str(tmp_path / "missing.tsv"))
    with pytest.raises(DataError, match="MTEB tasks are loaded and scored by mteb"):
        load_task("mteb")


def test_mteb_without_the_package_says_how_to_get_it(
    tiny_model: SentenceTransformer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "mteb", None)  # makes ``import mteb`` raise ImportError
    with pytest.raises(EvaluationError, match=r"optional package mteb \(pip install 'mteb>=2'\)"):
        evaluate_mteb(Encoder("tiny", tiny_model), ["STS12"], [32])
