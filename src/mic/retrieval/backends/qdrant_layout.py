"""The point layout both Qdrant backends share (the server via qdrant-client, and Qdrant Edge in-process).

Each document is a point (id = its row number) with two named cosine vectors: ``prefix`` (``d`` dims,
searched for the shortlist at the index's precision) and ``full`` (``D`` dims, float16, only re-scores). A
search is one multi-stage query: a prefetch of ``k'`` candidates on ``prefix``, re-scored on ``full``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np

from mic.retrieval.errors import RetrievalError
from mic.retrieval.search import Hits

PREFIX_VECTOR = "prefix"
FULL_VECTOR = "full"


class ScoredPoint(Protocol):
    """What both Qdrant APIs return per hit."""

    @property
    def id(self) -> object: ...

    @property
    def score(self) -> float: ...


def require_float16_rerank(rerank_precision: str) -> None:
    """Refuse a re-rank precision Qdrant does not store (its full vectors are float16).

    Raises:
        RetrievalError: for ``rerank_precision`` other than ``float16``.
    """
    if rerank_precision != "float16":
        raise RetrievalError(
            f"the qdrant backend keeps full vectors as float16; --rerank-precision {rerank_precision} "
            "is for the faiss backend."
        )


def points_to_hits(responses: Iterable[Sequence[ScoredPoint]], queries: int, width: int) -> Hits:
    """``(queries, width)`` hits from one list of scored points per query (``-1`` / ``-inf`` pad short lists)."""
    indices = np.full((queries, width), -1, dtype=np.int64)
    scores = np.full((queries, width), -np.inf, dtype=np.float32)
    for row, points in enumerate(responses):
        for column, point in enumerate(points[:width]):
            indices[row, column], scores[row, column] = int(point.id), point.score  # type: ignore[call-overload]
    return Hits(scores, indices)
