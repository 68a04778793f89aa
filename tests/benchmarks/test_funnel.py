"""The pieces of ``benchmarks/retrieval.py`` on tiny synthetic data: the resampled corpus, recall against the
exact result, the alternating timer and the latency summaries."""

from __future__ import annotations

import numpy as np
import pytest

from common.funnel import Config, layout, recall_at_k, resampled_chunks
from common.funnel_report import FULL_DIM, REFERENCE
from common.timing import alternate, funnel_summary, latency_summary, take_turns


def test_the_resampled_corpus_has_the_count_asked_in_chunks_of_unit_vectors() -> None:
    documents = np.random.default_rng(1).standard_normal((50, FULL_DIM)).astype(np.float32)
    chunks = list(resampled_chunks(documents, 25, noise=0.5, seed=0, chunk=10))
    assert [len(chunk) for chunk in chunks] == [10, 10, 5]
    assert np.allclose(np.linalg.norm(np.concatenate(chunks), axis=1), 1.0, atol=1e-5)
    again = np.concatenate(list(resampled_chunks(documents, 25, noise=0.5, seed=0, chunk=10)))
    assert np.array_equal(np.concatenate(chunks), again)


def test_recall_at_k_counts_the_exact_top_k_found_whatever_the_order() -> None:
    exact = np.array([[1, 2], [3, 4]])
    assert recall_at_k(np.array([[2, 1], [3, 9]]), exact) == pytest.approx(0.75)


def test_config_names_the_reference_and_each_funnel() -> None:
    assert Config(None, 10).name == REFERENCE
    assert Config(layout("hnsw", 32, "int8"), 200).name == "hnsw-32-int8-k200"


def test_alternate_warms_up_each_contender_then_times_its_own_slice_of_queries_every_round() -> None:
    queries = np.arange(7, dtype=np.float32)[:, None]
    seen: dict[str, list[float]] = {"a": [], "b": []}

    def search(name: str, batch: np.ndarray) -> tuple[float, ...]:
        seen[name].append(float(batch[0, 0]))
        return (float(len(seen[name])),)

    measured = alternate(["a", "b"], search, queries, rounds=2, timed=3, seed=0)
    assert seen == {"a": [0, 0, 1, 2, 3, 4, 5], "b": [0, 0, 1, 2, 3, 4, 5]}
    assert measured["a"] == [(2.0,), (3.0,), (4.0,), (5.0,), (6.0,), (7.0,)]


def test_the_summaries_give_qps_percentiles_and_the_mean_of_each_part() -> None:
    assert latency_summary([0.001, 0.003]) == pytest.approx(
        {"qps": 500.0, "p50_ms": 2.0, "p99_ms": 2.98, "timed_queries": 2}
    )
    summary = funnel_summary([(0.001, 0.0), (0.002, 0.001)])
    assert summary["prefix_ms"] == pytest.approx(1.5)
    assert summary["rerank_ms"] == pytest.approx(0.5)
    assert summary["qps"] == pytest.approx(1 / 0.002)


def test_take_turns_reverses_the_order_every_other_run_and_times_each_call() -> None:
    calls: list[tuple[str, int]] = []
    seconds = take_turns({"a": lambda run: calls.append(("a", run)), "b": lambda run: calls.append(("b", run))}, 3)
    assert calls == [("a", 0), ("b", 0), ("b", 1), ("a", 1), ("a", 2), ("b", 2)]
    assert [len(values) for values in seconds.values()] == [3, 3]
