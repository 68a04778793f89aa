"""Specification of retrieval evaluation: a BEIR folder scored at every dim, encoded once, cached, in reports."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer

from mic.data import DataError, load_beir
from mic.evaluation import (
    EmbeddingStore,
    Encoder,
    EvalOptions,
    load_encoder,
    run_compare,
    run_eval,
    run_metrics,
    score_retrieval,
    scores_table,
)

WIDTH = 32


def fixed_vector(text: str) -> torch.Tensor:
    """A vector of each text's own, so rankings depend neither on batch composition nor on thread count."""
    return torch.randn(WIDTH, generator=torch.Generator().manual_seed(zlib.crc32(text.encode())))


def fixed_encode(self: SentenceTransformer, sentences: list[str], **kwargs: object) -> torch.Tensor:
    return torch.stack([fixed_vector(sentence) for sentence in sentences])


@pytest.fixture
def fixed_vectors(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every SentenceTransformer encodes with :func:`fixed_encode`; the returned list records each call."""
    calls: list[list[str]] = []

    def recording_encode(self: SentenceTransformer, sentences: list[str], **kwargs: object) -> torch.Tensor:
        calls.append(list(sentences))
        return fixed_encode(self, sentences)

    monkeypatch.setattr(SentenceTransformer, "encode", recording_encode)
    return calls


def reference_ranking(data, dim: int) -> dict[str, dict[str, float]]:  # noqa: ANN001 - RetrievalData
    """Brute-force numpy cosine of the ``dim``-prefixes, as a TREC run."""
    documents = np.stack([fixed_vector(text).numpy()[:dim] for text in data.documents])
    queries = np.stack([fixed_vector(text).numpy()[:dim] for text in data.queries])
    documents /= np.linalg.norm(documents, axis=1, keepdims=True)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    similarity = queries @ documents.T
    return {
        query: {doc: float(score) for doc, score in zip(data.doc_ids, row, strict=True)}
        for query, row in zip(data.query_ids, similarity, strict=True)
    }


def test_scores_equal_a_brute_force_reference_and_the_funnel_past_the_corpus_is_exact(
    tiny_model: SentenceTransformer, beir_folder: Path, fixed_vectors: list[list[str]], tmp_path: Path
) -> None:
    data = load_beir(str(beir_folder))
    result = score_retrieval(Encoder("tiny", tiny_model), data, [32, 16, 8], EmbeddingStore(cache_dir=tmp_path))
    assert result.kind == "retrieval" and result.metrics == ["ndcg@10", "recall@100"]
    assert result.counts == {"documents": 30, "queries": 6}
    for dim in (32, 16, 8):
        expected = run_metrics(reference_ranking(data, dim), data.qrels)
        assert result.scores[dim] == pytest.approx(expected, abs=1e-6)
    # Queries 0-3 are their relevant documents' text: rank 1 at full dim.
    assert 100 * 4 / 6 <= result.scores[32]["ndcg@10"] < 100
    assert set(result.funnel) == {16, 8} and set(result.funnel[8]) == {50, 100, 200}
    # Every shortlist holds the whole 30-document corpus, so the re-rank is exact full-dim search.
    for by_size in result.funnel.values():
        assert all(scores == pytest.approx(result.scores[32]) for scores in by_size.values())


def test_documents_and_queries_are_encoded_once_and_then_read_from_the_cache(
    tiny_model: SentenceTransformer, beir_folder: Path, fixed_vectors: list[list[str]], tmp_path: Path
) -> None:
    data = load_beir(str(beir_folder))
    encoder = Encoder("tiny", tiny_model)
    first = score_retrieval(encoder, data, [32, 16, 8, 4], EmbeddingStore(cache_dir=tmp_path))
    assert sorted(map(len, fixed_vectors)) == [6, 30]
    second = score_retrieval(encoder, data, [32, 16, 8, 4], EmbeddingStore(cache_dir=tmp_path))
    assert len(fixed_vectors) == 2, "a second evaluation must encode nothing"
    assert second.scores == first.scores and len(list((tmp_path / "embeddings").glob("*.npy"))) == 2


def test_one_store_encodes_a_text_list_once_for_a_model_its_truncation_and_its_pca(
    tiny_model_dir: Path, pairs_file: Path, fixed_vectors: list[list[str]]
) -> None:
    plain, truncation = load_encoder(str(tiny_model_dir)), load_encoder(f"truncation:{tiny_model_dir}")
    pca = load_encoder(f"pca:{tiny_model_dir}", fit_data=str(pairs_file))
    fixed_vectors.clear()  # the PCA fit
    store, texts = EmbeddingStore(), ["a cat sits", "the dog runs", "a bird sings"]
    outputs = store.embed(plain, texts)
    assert store.embed(truncation, texts) is outputs
    assert store.embed(pca, texts) == pytest.approx(pca.projection.apply(outputs))
    assert len(fixed_vectors) == 1


def test_mixed_tasks_give_one_result_with_both_kinds(
    tiny_model_dir: Path, pairs_file: Path, beir_folder: Path, fixed_vectors: list[list[str]], tmp_path: Path
) -> None:
    options = EvalOptions(fit_data=str(pairs_file), cache_dir=tmp_path / "cache", command="mic eval tiny", seed=1)
    result = run_eval(f"pca:{tiny_model_dir}", f"{pairs_file},{beir_folder}:test", [32, 8], options)
    data = result.to_dict()
    assert data["schema"] == "mic-eval/2" and list(data["tasks"]) == [str(pairs_file), f"{beir_folder}:test"]
    sts, retrieval = data["tasks"].values()
    assert (sts["kind"], retrieval["kind"]) == ("sts", "retrieval")
    assert set(retrieval["scores"]["8"]) == {"ndcg@10", "recall@100"} and set(retrieval["funnel"]) == {"8"}
    assert set(retrieval["funnel"]["8"]) == {"50", "100", "200"}
    assert result.score(f"{beir_folder}:test", 8) == retrieval["scores"]["8"]["ndcg@10"]
    header = " ".join(column.header for column in scores_table(result, f"{beir_folder}:test").columns)
    assert header == "dim ndcg@10 recall@100 funnel k'=50 funnel k'=100 funnel k'=200"
    assert "spearman" in " ".join(column.header for column in scores_table(result, str(pairs_file)).columns)


def test_a_missing_qrels_split_names_the_splits_there(beir_folder: Path) -> None:
    with pytest.raises(DataError, match=r"no qrels for split 'dev' .*splits here: \['test', 'train'\]"):
        run_eval("default", f"{beir_folder}:dev")
    with pytest.raises(DataError, match="Unknown task 'scifactx'"):
        run_eval("default", "stsb,scifactx")


def test_compare_reports_retrieval_and_encodes_each_text_list_once_per_base_model(
    tiny_model_dir: Path, pairs_file: Path, beir_folder: Path, fixed_vectors: list[list[str]], tmp_path: Path
) -> None:
    options = EvalOptions(fit_data=str(pairs_file), cache_dir=tmp_path / "cache")
    models = [f"truncation:{tiny_model_dir}", f"pca:{tiny_model_dir}"]
    comparison = run_compare(
        models, tmp_path / "out", f"{pairs_file},{beir_folder}", [32, 16], data=str(pairs_file), options=options
    )
    # One encode for the PCA fit, one each for the documents and the queries; the STS task reuses the outputs
    # of the geometry's forward pass, for both encoders.
    assert sorted(map(len, fixed_vectors)) == [6, 30, 60]
    report = (tmp_path / "out" / "report.md").read_text()
    assert "#### beir: ndcg@10 x100" in report and "#### beir: ndcg@10, funnel k'=100 x100" in report
    saved = json.loads((tmp_path / "out" / "comparison.json").read_text())
    assert saved["schema"] == "mic-compare/2"
    assert saved["eval"][models[1]]["tasks"][str(beir_folder)]["kind"] == "retrieval"
    assert "#### pairs.tsv: spearman x100" in report and comparison.models == models


@pytest.mark.slow
@pytest.mark.integration
def test_default_model_on_scifact_matches_the_published_score(data_dir: Path, tmp_path: Path) -> None:
    """all-MiniLM-L6-v2 scores nDCG@10 64.51 on SciFact test at 384 dims (MTEB) and 33.71 cut to 32.

    Encodes the 5,183 abstracts into an empty cache, so every run (CI included) checks the whole path from text to
    score; this takes minutes on a CPU.
    """
    if not (data_dir / "scifact" / "corpus.jsonl").is_file():
        pytest.skip("SciFact not in the data dir")
    result = run_eval("default", "scifact", [384, 32], EvalOptions(data_dir=data_dir, cache_dir=tmp_path))
    assert result.tasks["scifact"].counts == {"documents": 5183, "queries": 300}
    assert result.score("scifact", 384) == pytest.approx(64.51, abs=0.01)
    assert result.score("scifact", 32) == pytest.approx(33.71, abs=0.01)
    assert result.score("scifact", 32) < result.tasks["scifact"].funnel[32][100]["ndcg@10"] < 64.6
