"""Retrieval at every Matryoshka dim: nDCG@10 and Recall@100 of exact and funnel search (BEIR/MTEB style).

Every document and query is encoded once at full dim; the dim-``d`` ranking uses the cosine of the
re-normalised ``d``-dim prefixes over the whole corpus (:func:`mic.retrieval.exact_search`). The funnel
shortlists ``k'`` documents at dim ``d`` and re-ranks them at full dim (:func:`mic.retrieval.funnel_search`).
Metrics come from ``pytrec_eval`` (trec_eval's ``ndcg_cut.10`` and ``recall.100``, averaged over the judged
queries, x100) — the library MTEB itself uses, so the numbers are comparable with the MTEB leaderboard.
:func:`score_retrieval` scores one task (:mod:`mic.data.tasks`) into the schema of :mod:`mic.evaluation.results`;
corpus and query embeddings go through the on-disk cache, so a second evaluation of a model encodes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import pytrec_eval

from mic.cache import EmbeddingStore
from mic.data import RetrievalData
from mic.encoders import Encoder
from mic.evaluation.results import Metrics, TaskScores
from mic.retrieval import Hits, exact_search, funnel_search

METRICS = {"ndcg@10": "ndcg_cut_10", "recall@100": "recall_100"}
"""Reported name -> pytrec_eval measure (the ``ndcg_cut.10`` and ``recall.100`` of trec_eval)."""
RANK_DEPTH = 100
"""Hits kept per query: the depth of the deepest metric (Recall@100)."""
DEFAULT_SHORTLISTS = (50, 100, 200)


def hits_to_run(hits: Hits, query_ids: Sequence[str], doc_ids: Sequence[str]) -> dict[str, dict[str, float]]:
    """A TREC run ``{query id: {document id: score}}`` from search hits (``-1`` padding dropped)."""
    return {
        query: {doc_ids[row]: float(score) for row, score in zip(rows, scores, strict=True) if row >= 0}
        for query, rows, scores in zip(query_ids, hits.indices, hits.scores, strict=True)
    }


def run_metrics(run: Mapping[str, Mapping[str, float]], qrels: Mapping[str, Mapping[str, int]]) -> Metrics:
    """nDCG@10 and Recall@100 x100 of ``run`` against ``qrels``, averaged over every judged query.

    A judged query missing from ``run`` counts as 0 (pytrec_eval alone would skip it).
    """
    evaluator = pytrec_eval.RelevanceEvaluator(
        {query: dict(judged) for query, judged in qrels.items()}, set(METRICS.values())
    )
    per_query = evaluator.evaluate({query: dict(ranked) for query, ranked in run.items() if query in qrels})
    return {
        name: 100 * sum(per_query.get(query, {}).get(measure, 0.0) for query in qrels) / max(len(qrels), 1)
        for name, measure in METRICS.items()
    }


def retrieval_scores(
    queries: npt.ArrayLike,
    documents: npt.ArrayLike,
    query_ids: Sequence[str],
    doc_ids: Sequence[str],
    qrels: Mapping[str, Mapping[str, int]],
    dims: Sequence[int],
    shortlists: Sequence[int] = DEFAULT_SHORTLISTS,
) -> tuple[dict[int, Metrics], dict[int, dict[int, Metrics]]]:
    """Exact search at every dim and the funnel from every dim below full size, scored against ``qrels``.

    Args:
        queries: ``(Q, D)`` full-dim query embeddings, rows in the order of ``query_ids``.
        documents: ``(N, D)`` full-dim document embeddings, rows in the order of ``doc_ids``.
        query_ids: ``Q`` query ids.
        doc_ids: ``N`` document ids.
        qrels: ``{query id: {document id: relevance}}``.
        dims: prefix dims ``d`` to rank at.
        shortlists: funnel shortlist sizes ``k'`` (re-ranked at full dim ``D``).

    Returns:
        ``(exact, funnel)``: ``exact[d]`` the scores of exact search at ``d``; ``funnel[d][k']`` those of the
        funnel from ``d`` (for ``d < D`` only).
    """
    full = np.shape(documents)[1]
    exact: dict[int, Metrics] = {}
    funnel: dict[int, dict[int, Metrics]] = {}
    for dim in dims:
        hits = exact_search(queries, documents, dim, RANK_DEPTH)
        exact[dim] = run_metrics(hits_to_run(hits, query_ids, doc_ids), qrels)
        if dim < full:
            funnel[dim] = {
                size: run_metrics(
                    hits_to_run(funnel_search(queries, documents, dim, size, RANK_DEPTH), query_ids, doc_ids), qrels
                )
                for size in shortlists
            }
    return exact, funnel


def score_retrieval(
    encoder: Encoder,
    data: RetrievalData,
    dims: Sequence[int],
    store: EmbeddingStore | None = None,
    task: str | None = None,
    shortlists: Sequence[int] = DEFAULT_SHORTLISTS,
) -> TaskScores:
    """Encode every document and query once at full dim and score exact and funnel search at every dim.

    Args:
        encoder: the model (see :func:`mic.evaluation.load_encoder`).
        data: one split of a retrieval benchmark (:func:`mic.data.load_beir`).
        dims: the prefix dims ``d`` to rank at.
        store: where the embeddings come from; both lists are persisted in its disk cache (``None``: a fresh
            :class:`~mic.cache.EmbeddingStore` on ``$MIC_CACHE_DIR``).
        task: names the result (default: the data's source).
        shortlists: funnel shortlist sizes ``k'``.
    """
    start = time.perf_counter()
    store = store or EmbeddingStore()
    documents = store.embed(encoder, data.documents, persist=True).numpy()
    queries = store.embed(encoder, data.queries, persist=True).numpy()
    exact, funnel = retrieval_scores(queries, documents, data.query_ids, data.doc_ids, data.qrels, dims, shortlists)
    counts: dict[str, int | None] = {"documents": len(data.doc_ids), "queries": len(data.query_ids)}
    seconds = time.perf_counter() - start
    return TaskScores(task or data.source, "retrieval", data.source, counts, seconds, list(METRICS), exact, funnel)
