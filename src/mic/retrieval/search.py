"""Search over elastic embeddings: exact cosine search at a prefix dim, and the funnel.

The funnel (adaptive retrieval, Kusupati et al. 2022) shortlists ``k'`` candidates by the cosine of the
``d``-dim prefixes, then re-ranks the shortlist by the cosine of the full vectors. Every function takes
full-dim embeddings and truncates and re-normalises them itself, so one encoding serves every dim.
Exact search is FAISS's flat inner-product index over unit vectors (cosine); scores are float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Hits:
    """The top ``k`` documents of each query, best first.

    Attributes:
        scores: ``(Q, k)`` cosine similarities (at the dim that ranked them: full dim after a re-rank).
        indices: ``(Q, k)`` row numbers into the document matrix.
    """

    scores: Array
    indices: npt.NDArray[np.int64]


def prefix(embeddings: npt.ArrayLike, dim: int) -> Array:
    """``norm(x[:, :dim])`` as contiguous float32: ``(N, D) -> (N, dim)``; an all-zero prefix stays zero.

    Raises:
        ValueError: for a 1-d input or a ``dim`` outside ``1..D``.
    """
    matrix = np.asarray(embeddings, dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError(f"embeddings must be a (rows, dims) matrix, got shape {matrix.shape}.")
    if not 1 <= dim <= matrix.shape[1]:
        raise ValueError(f"dim {dim} is outside 1..{matrix.shape[1]}, the width of the embeddings.")
    part = np.ascontiguousarray(matrix[:, :dim])
    norms = np.linalg.norm(part, axis=1, keepdims=True)
    return part / np.maximum(norms, np.finfo(np.float32).tiny)


def exact_search(queries: npt.ArrayLike, documents: npt.ArrayLike, dim: int, k: int) -> Hits:
    """The ``k`` documents of highest ``dim``-prefix cosine for each query (all of them when ``k >= N``).

    Args:
        queries: ``(Q, D)`` full-dim query embeddings.
        documents: ``(N, D)`` full-dim document embeddings.
        dim: the prefix ``d`` that ranks.
        k: how many hits per query.
    """
    corpus = prefix(documents, dim)
    index = faiss.IndexFlatIP(dim)
    index.add(corpus)
    scores, indices = index.search(prefix(queries, dim), min(k, corpus.shape[0]))
    return Hits(scores, indices.astype(np.int64))


def rerank(queries: npt.ArrayLike, documents: npt.ArrayLike, candidates: npt.ArrayLike, k: int) -> Hits:
    """Re-order each query's ``candidates`` by full-dim cosine and keep the best ``k``.

    Args:
        queries: ``(Q, D)`` full-dim query embeddings.
        documents: ``(N, D)`` full-dim document embeddings (or any ``(N, D)`` stand-in, e.g. dequantised).
        candidates: ``(Q, k')`` row numbers into ``documents`` (a shortlist); ``-1`` entries are ignored.
        k: how many hits per query (at most ``k'``).
    """
    shortlist = np.asarray(candidates, dtype=np.int64)
    # Only the shortlisted rows are gathered: the corpus may be millions of rows.
    return rescore(queries, np.asarray(documents)[np.maximum(shortlist, 0)], shortlist, k)


def rescore(queries: npt.ArrayLike, gathered: npt.ArrayLike, candidates: npt.ArrayLike, k: int) -> Hits:
    """Re-order each query's ``candidates`` by the full-dim cosine to their already gathered vectors.

    Args:
        queries: ``(Q, D)`` full-dim query embeddings.
        gathered: ``(Q, k', D)`` the full-dim vectors of the candidates (any scale: they are re-normalised).
        candidates: ``(Q, k')`` their row numbers; ``-1`` entries are ignored.
        k: how many hits per query (at most ``k'``).
    """
    full_queries = prefix(queries, np.shape(queries)[1])
    shortlist = np.asarray(candidates, dtype=np.int64)
    gathered = np.asarray(gathered, dtype=np.float32)
    gathered = gathered / np.maximum(np.linalg.norm(gathered, axis=2, keepdims=True), np.finfo(np.float32).tiny)
    scores = np.einsum("qd,qkd->qk", full_queries, gathered)
    scores[shortlist < 0] = -np.inf
    keep = min(k, shortlist.shape[1])
    order = np.argsort(-scores, axis=1, kind="stable")[:, :keep]
    return Hits(np.take_along_axis(scores, order, 1), np.take_along_axis(shortlist, order, 1))


def funnel_search(queries: npt.ArrayLike, documents: npt.ArrayLike, dim: int, shortlist: int, k: int) -> Hits:
    """Shortlist ``shortlist`` documents per query at ``dim``, then re-rank them at full dim; best ``k`` kept.

    With ``shortlist >= N`` this is exact full-dim search.
    """
    candidates = exact_search(queries, documents, dim, shortlist).indices
    return rerank(queries, documents, candidates, k)
