"""The binary-code benchmark's scoring and its dev choice of the ``bits`` weight, on tiny vectors (nothing fitted)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import binary_codes as benchmark
from mic.data import RetrievalData


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def toy() -> tuple[np.ndarray, np.ndarray, RetrievalData]:
    """200 documents; 20 queries, each a noisy copy of document ``i`` and judged relevant to it."""
    rng = np.random.default_rng(0)
    documents = unit(rng.standard_normal((200, 384)))
    queries = unit(documents[:20] + 0.3 * rng.standard_normal((20, 384)) / np.sqrt(384))
    doc_ids = [f"d{i}" for i in range(200)]
    qrels = {f"q{i}": {f"d{i}": 1} for i in range(20)}
    return documents, queries, RetrievalData("toy", doc_ids, doc_ids, list(qrels), list(qrels), qrels)


def test_every_index_finds_near_copies_and_a_lossless_set_matches_exact_search() -> None:
    documents, queries, data = toy()
    exact = np.argsort(-(queries @ documents.T), axis=1)[:, : benchmark.TOP]
    scores = benchmark.split_scores(documents, queries, data, exact)
    assert list(scores) == ["exact full dim", *(f"{p} {d}" for p, d in benchmark.SHORTLISTS)]
    assert scores["exact full dim"] == {"ndcg": 100.0, "recall": 100.0}
    assert scores["binary 128"]["bytes"] == scores["int8 16"]["bytes"] == 16
    assert scores["binary 256"]["bytes"] == scores["int8 32"]["bytes"] == 32
    for name in ("binary 256", "int8 32"):  # a k'=100 shortlist of 200 documents re-ranked at full dim
        assert scores[name]["ndcg"]["shortlist"] == pytest.approx(100.0)
    # random documents' similarities beyond the top 1 are near 0: 128 sign bits lose their order, re-ranking helps
    assert scores["binary 128"]["recall"]["alone"] < scores["binary 128"]["recall"]["shortlist"] <= 100.0


def record(corpus: str, bits: float | None, shift: float) -> dict:
    cells = {name: {"ndcg": {"alone": 10.0, "shortlist": 50.0 + shift}} for name in benchmark.BINARY}
    return {"corpus": corpus, "bits": bits, "scores": {"train": cells, "test": cells}}


def test_the_bits_weight_is_chosen_on_dev_and_must_beat_off_by_the_margin() -> None:
    off = record("scifact", 0.0, 0.0)
    small_gain = [off, record("scifact", 1.0, benchmark.MARGIN / 2), record("cranfield", 1.0, 99.0)]
    assert benchmark.choose(small_gain, [0.0, 1.0])["chosen"] == 0.0
    clear_gain = [off, record("scifact", 1.0, 2.0), record("scifact", 10.0, 1.0)]
    choice = benchmark.choose(clear_gain, [0.0, 1.0, 10.0])
    assert choice["chosen"] == 1.0 and choice["split"] == "scifact:train"


def test_the_report_labels_the_fit_and_the_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(benchmark, "RESULTS", tmp_path)
    documents, queries, data = toy()
    exact = np.argsort(-(queries @ documents.T), axis=1)[:, : benchmark.TOP]
    scores = benchmark.split_scores(documents, queries, data, exact)
    runs = [
        {
            "corpus": corpus,
            "vectors": benchmark.vectors_name(bits),
            "bits": bits,
            "protocol": protocol,
            "scores": {split: scores for split in benchmark.splits(corpus)},
        }  # fmt: skip
        for corpus in benchmark.CORPORA
        for bits, protocol in ((None, "none"), (0.0, "transductive"), (1.0, "transductive"))
    ]
    benchmark.write_report(runs, benchmark.choose(runs, [0.0, 1.0]), "test")
    markdown = (tmp_path / "binary_codes.md").read_text()
    assert "## cranfield test: recall@10" in markdown and "## scifact train (dev): nDCG@10" in markdown
    assert "| adapter + bits 1 | transductive |" in markdown and "chosen: **bits 0**" in markdown
    assert "| adapter (chosen on dev) | transductive |" in markdown and "| stock | none |" in markdown
    data_out = json.loads((tmp_path / "binary_codes.json").read_text())
    assert data_out["choice"]["chosen"] == 0.0 and data_out["provenance"]["command"] == "test"
