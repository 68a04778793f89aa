"""Specification of retrieval metrics: hand-computed nDCG@10 and Recall@100 on tiny cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mic.evaluation.retrieval import retrieval_scores, run_metrics


def test_run_metrics_match_hand_computed_values() -> None:
    qrels = {"q1": {"a": 1, "c": 1}, "q2": {"b": 1}}
    run = {"q1": {"a": 3.0, "b": 2.0, "c": 1.0}, "q2": {"a": 2.0, "b": 1.0}}
    ideal = 1 + 1 / math.log2(3)
    q1 = (1 + 1 / math.log2(4)) / ideal
    q2 = (1 / math.log2(3)) / 1
    scores = run_metrics(run, qrels)
    assert scores["ndcg@10"] == pytest.approx(100 * (q1 + q2) / 2)
    assert scores["recall@100"] == pytest.approx(100.0)


def test_a_judged_query_missing_from_the_run_counts_zero() -> None:
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}}
    assert run_metrics({"q1": {"a": 1.0}}, qrels)["ndcg@10"] == pytest.approx(50.0)


def test_retrieval_scores_rank_the_identical_document_first() -> None:
    rng = np.random.default_rng(0)
    documents = rng.standard_normal((50, 16)).astype(np.float32)
    queries = documents[:5] + 0.01 * rng.standard_normal((5, 16)).astype(np.float32)
    doc_ids = [f"d{row}" for row in range(50)]
    query_ids = [f"q{row}" for row in range(5)]
    qrels = {f"q{row}": {f"d{row}": 1} for row in range(5)}
    exact, funnel = retrieval_scores(queries, documents, query_ids, doc_ids, qrels, [16, 8], shortlists=[10])
    assert exact[16] == {"ndcg@10": pytest.approx(100.0), "recall@100": pytest.approx(100.0)}
    assert set(funnel) == {8} and funnel[8][10]["ndcg@10"] == pytest.approx(100.0)
