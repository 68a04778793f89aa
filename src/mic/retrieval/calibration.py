"""The funnel's shortlist depth, calibrated on the index itself: no labels, the indexed documents as queries.

At build time a seeded sample of the indexed documents is searched twice: exactly, by the full-dim cosine over
every document, and by the funnel (prefix shortlist of depth ``k'``, full-dim re-rank) at each depth of
:data:`DEPTH_GRID`. The recall@``k`` of the funnel against the exact result, per depth, is stored in the index's
``meta.json`` with the smallest depth that reaches the target recall; ``mic search``, ``mic serve`` and
:meth:`mic.retrieval.index.SearchIndex.search` use that depth unless the user gives one.

The query document itself is left out of both result lists: a document always finds itself (cosine 1), which
would make every depth look better than it is. The funnel is asked for ``k + 1`` hits from ``k' + 1``
candidates, so that after the query document is dropped ``k'`` other documents were shortlisted.
"""

from __future__ import annotations

from collections.abc import Callable

import faiss
import numpy as np
from pydantic import BaseModel, ConfigDict

from mic.retrieval.defaults import DEFAULT_CALIBRATION_QUERIES, DEFAULT_TARGET_RECALL
from mic.retrieval.errors import RetrievalError
from mic.retrieval.search import Array, Hits

CALIBRATION_K = 10
"""The recall is recall@10: the first page of hits."""
DEPTH_GRID = (10, 20, 50, 100, 200, 500, 1000)
"""Shortlist depths measured, each capped at the documents other than the query (``N - 1``)."""
CHUNK_ROWS = 10_000
"""Documents scored per step of the exact search (memory: one chunk of full vectors)."""


class Calibration(BaseModel):
    """The measured funnel of an index (``meta.json``'s ``calibration``).

    Attributes:
        queries: documents sampled (seeded) as queries.
        seed: the seed of that sample.
        k: the recall is recall@``k`` against exact full-dim search, the query document left out of both.
        target_recall: the recall the chosen depth had to reach.
        recalls: the measured recall at each depth of the grid.
        depth: the smallest depth of the grid that reaches ``target_recall``, else the largest.
        reached: whether ``depth`` reaches ``target_recall``.
    """

    model_config = ConfigDict(extra="forbid")

    queries: int
    seed: int
    k: int
    target_recall: float
    recalls: dict[int, float]
    depth: int
    reached: bool

    def summary(self) -> str:
        """One line: the chosen depth and its recall, and whether it reached the target."""
        recall = self.recalls[self.depth]
        if self.reached:
            return (
                f"shortlist {self.depth}: recall@{self.k} {recall:.3f} on {self.queries} documents as queries "
                f"(target {self.target_recall})"
            )
        return (
            f"shortlist {self.depth}, the largest measured, reaches only recall@{self.k} {recall:.3f} on "
            f"{self.queries} documents as queries, short of the target {self.target_recall}"
        )


def check_calibration(queries: int, target_recall: float) -> None:
    """Refuse a calibration that cannot be run.

    Raises:
        RetrievalError: for ``queries < 1`` or a ``target_recall`` outside ``(0, 1]``.
    """
    if queries < 1:
        raise RetrievalError(f"--calibration-queries must be a positive number of documents, got {queries}.")
    if not 0 < target_recall <= 1:
        raise RetrievalError(f"--target-recall {target_recall} is outside (0, 1].")


def depth_grid(count: int, k: int = CALIBRATION_K) -> list[int]:
    """The depths of :data:`DEPTH_GRID` capped at ``count - 1`` (the other documents), at least ``k``."""
    return sorted({min(depth, count - 1) for depth in DEPTH_GRID} - set(range(k)))


def exact_neighbours(
    queries: Array, rows: np.ndarray, vectors: Callable[[int, int], Array], count: int, k: int
) -> np.ndarray:
    """``(Q, k)`` rows of the best full-dim cosines of unit ``queries`` (documents ``rows``), each leaving itself out.

    ``vectors(start, stop)`` gives the unit full-dim vectors of documents ``start:stop``; they are scored
    :data:`CHUNK_ROWS` at a time and the best kept in a FAISS result heap.
    """
    heap = faiss.ResultHeap(len(queries), k + 1, keep_max=True)
    for start in range(0, count, CHUNK_ROWS):
        block = vectors(start, min(start + CHUNK_ROWS, count))
        scores, found = faiss.knn(queries, block, min(k + 1, len(block)), metric=faiss.METRIC_INNER_PRODUCT)
        heap.add_result(scores, found + start)
    heap.finalize()
    return others(heap.I, rows, k)


def others(found: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` entries of each row of ``found`` that are not the query's own document ``rows[q]``."""
    return np.stack([[row for row in hits if row != own][:k] for hits, own in zip(found, rows, strict=True)])


def calibrate(
    search: Callable[[Array, int, int], Hits],
    vectors: Callable[[int, int], Array],
    count: int,
    *,
    queries: int = DEFAULT_CALIBRATION_QUERIES,
    seed: int = 0,
    target_recall: float = DEFAULT_TARGET_RECALL,
    k: int = CALIBRATION_K,
) -> Calibration | None:
    """Measure the funnel's recall@``k`` per depth of the grid on a seeded sample of the documents as queries.

    Args:
        search: the index's funnel, ``search(unit queries (Q, D), k, shortlist) -> Hits`` (a backend reader's).
        vectors: ``vectors(start, stop)``, the unit full-dim vectors the index holds for documents ``start:stop``.
        count: documents in the index.
        queries: documents sampled as queries (all of them when the index has fewer).
        seed: the sample's seed.
        target_recall: the recall the chosen depth must reach, in ``(0, 1]``.
        k: the recall's cut-off.

    Returns:
        The calibration, or ``None`` when the index has ``k`` documents or fewer (any shortlist is all of them).

    Raises:
        RetrievalError: for a ``target_recall`` outside ``(0, 1]`` or ``queries < 1``.
    """
    check_calibration(queries, target_recall)
    if count <= k:
        return None
    rows = np.sort(np.random.default_rng(seed).choice(count, min(queries, count), replace=False))
    sample = np.concatenate([vectors(int(row), int(row) + 1) for row in rows])
    exact = exact_neighbours(sample, rows, vectors, count, k)
    recalls = {}
    for depth in depth_grid(count, k):
        funnel = others(search(sample, k + 1, depth + 1).indices, rows, k)
        recalls[depth] = round(
            float(np.mean([len(set(a) & set(b)) / k for a, b in zip(funnel, exact, strict=True)])), 4
        )
    reaching = [depth for depth, recall in recalls.items() if recall >= target_recall]
    depth = reaching[0] if reaching else max(recalls)
    return Calibration(
        queries=len(rows),
        seed=seed,
        k=k,
        target_recall=target_recall,
        recalls=recalls,
        depth=depth,
        reached=bool(reaching),
    )
