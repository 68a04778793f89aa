"""The adapter benchmark: its JSON shape, targets judged on the numbers, one-term ablations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import adapter as benchmark
from common import adapters
from mic.adapt import FitSettings
from mic.cache import EmbeddingStore
from mic.data import RetrievalData, ScoredPairs
from mic.encoders import load_encoder
from mic.evaluation.retrieval import retrieval_scores
from mic.evaluation.sts import sts_scores


def fake_results(gain: float) -> dict:
    seeds = {"truncate": 1, adapters.PCA: 1, "mrl": 1, **{name: 3 for name in adapters.methods()}}
    return {
        method: {
            task: {str(dim): [50.0 + (gain if method.startswith("adapter") else 0.0)] * count for dim in benchmark.DIMS}
            for task in adapters.SPLITS["test"]
        }
        for method, count in seeds.items()
    }


def test_each_ablation_toggles_exactly_one_mic_term() -> None:
    default = FitSettings()
    for name, (settings, sources) in adapters.methods().items():
        changed = {key for key, value in settings.model_dump().items() if value != getattr(default, key)}
        if name in ("adapter-unsup", "adapter-sup"):
            assert changed == set() and bool(sources) == (name == "adapter-sup")
        else:
            assert len(changed) == 1 and changed <= set(adapters.MIC_TERMS) and not sources


@pytest.mark.parametrize(("gain", "met"), [(3.0, True), (0.5, False)])
def test_report_has_its_shape_and_judges_targets(
    gain: float, met: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(benchmark, "RESULTS", tmp_path)
    seconds = {name: [10.0] for name in adapters.methods()}
    context = {"encode_seconds": {"fit_texts": 1.0, "test_texts": 2.0}, "rows": 5, "command": "test"}
    benchmark.write_report(fake_results(gain), seconds, context, {}, {})
    data = json.loads((tmp_path / "adapter.json").read_text())
    assert {"truncate", adapters.PCA, "adapter-unsup", "adapter-sup"} <= set(data["methods"])
    assert set(data["methods"]["adapter-unsup"]) == {"stsb", "sickr", "scifact"}
    assert set(data["methods"]["adapter-unsup"]["stsb"]) == {str(dim) for dim in benchmark.DIMS}
    assert len(data["methods"]["adapter-unsup"]["stsb"]["8"]) == 3
    versus_truncation = [row for row in data["targets"] if "truncate" in row["target"]]
    assert versus_truncation and all(row["met"] is met for row in versus_truncation)
    assert (tmp_path / "adapter.md").is_file() and (tmp_path / "adapter.png").stat().st_size > 0


def test_the_run_key_of_a_fit_changes_with_what_decides_it() -> None:
    default = FitSettings()
    key = adapters.adapter_key(default, [], True, "base")
    assert adapters.adapter_key(default, [], False, "base") == key  # no SCR: its form changes nothing
    with_scr = default.model_copy(update={"scr": 1.0})
    assert adapters.adapter_key(with_scr, [], True, "base") != adapters.adapter_key(with_scr, [], False, "base")
    assert adapters.adapter_key(default.model_copy(update={"seed": 1}), [], True, "base") != key
    assert adapters.adapter_key(default.model_copy(update={"topk_k": 30}), [], True, "base") != key
    assert adapters.adapter_key(default, adapters.SUPERVISION, True, "base") != key
    assert adapters.adapter_key(default, [], True, "other model") != key


def test_a_mapped_encoder_scores_as_mic_eval_scores_the_mapped_embeddings(tiny_st_dir: Path) -> None:
    """The benchmark scores through mic's evaluation runner; the numbers are those of the mapped embeddings."""
    words = ["cats", "dogs", "birds", "fish", "trees", "rivers"]
    sentences = [f"a sentence about {word} number {i}" for i, word in enumerate(words * 4)]
    pairs = ScoredPairs(sentences[:12], sentences[12:], [float(i % 5) for i in range(12)], "toy", (0.0, 5.0))
    doc_ids = [f"d{i}" for i in range(len(sentences))]
    qrels = {f"q{i}": {f"d{i + 1}": 1} for i in range(6)}
    corpus = RetrievalData("toy", doc_ids, sentences, list(qrels), sentences[:6], qrels)
    base = load_encoder(str(tiny_st_dir))
    rotation = torch.linalg.qr(torch.randn(32, 32, generator=torch.Generator().manual_seed(0)))[0]
    dims = [8, 16, 32]
    scores = adapters.score_mapped(base, lambda x: x @ rotation, {"sts": pairs, "ret": corpus}, EmbeddingStore(), dims)
    embed = lambda texts: base.encode(texts) @ rotation  # noqa: E731
    sts = sts_scores(embed(pairs.sentences1), embed(pairs.sentences2), pairs.scores, dims)
    exact, _ = retrieval_scores(embed(corpus.queries).numpy(), embed(sentences).numpy(), corpus.query_ids, doc_ids,
                                qrels, dims, shortlists=())  # fmt: skip
    for dim in dims:
        assert scores["sts"][str(dim)] == pytest.approx(round(sts[dim]["spearman"], 4), abs=1e-4)
        assert scores["ret"][str(dim)] == pytest.approx(round(exact[dim]["ndcg@10"], 4), abs=1e-4)
