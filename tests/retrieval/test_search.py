"""Specification of exact and funnel search: agreement with a brute-force numpy reference."""

from __future__ import annotations

import numpy as np
import pytest

from mic.retrieval import exact_search, funnel_search, prefix, rerank

TIE = 1e-5
"""Scores closer than this are a tie: float32 search may order them either way (BLAS, threads, FMA)."""


def cosines(queries: np.ndarray, documents: np.ndarray, dim: int) -> np.ndarray:
    """The float64 reference: ``(Q, N)`` cosines of the ``dim``-prefixes."""
    q = queries[:, :dim].astype(np.float64)
    d = documents[:, :dim].astype(np.float64)
    return (q / np.linalg.norm(q, axis=1, keepdims=True)) @ (d / np.linalg.norm(d, axis=1, keepdims=True)).T


def brute_force(queries: np.ndarray, documents: np.ndarray, dim: int, k: int) -> np.ndarray:
    return np.argsort(-cosines(queries, documents, dim), axis=1, kind="stable")[:, :k]


def assert_top_k(indices: np.ndarray, reference: np.ndarray) -> None:
    """``indices`` hold, in order, documents with the ``k`` best reference scores, up to ties (:data:`TIE`)."""
    best = -np.sort(-reference, axis=1)[:, : indices.shape[1]]
    np.testing.assert_allclose(np.take_along_axis(reference, indices, axis=1), best, rtol=0, atol=TIE)


@pytest.fixture
def vectors() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((20, 48)).astype(np.float32), rng.standard_normal((300, 48)).astype(np.float32)


@pytest.mark.parametrize("dim", [4, 16, 48])
def test_exact_search_equals_brute_force(vectors: tuple[np.ndarray, np.ndarray], dim: int) -> None:
    queries, documents = vectors
    hits = exact_search(queries, documents, dim, 10)
    assert_top_k(hits.indices, cosines(queries, documents, dim))
    assert np.all(np.diff(hits.scores, axis=1) <= 1e-6)


def test_funnel_reranks_the_low_dim_shortlist_at_full_dim(vectors: tuple[np.ndarray, np.ndarray]) -> None:
    queries, documents = vectors
    hits = funnel_search(queries, documents, 8, 30, 10)
    low = cosines(queries, documents, 8)
    ranked = -np.sort(-low, axis=1)
    assert np.all(ranked[:, 29] - ranked[:, 30] > 10 * TIE)  # the shortlist of 30 is the same at any precision
    shortlist = brute_force(queries, documents, 8, 30)
    full = cosines(queries, documents, 48)
    outside = np.ones_like(full, dtype=bool)
    np.put_along_axis(outside, shortlist, False, axis=1)
    assert_top_k(hits.indices, np.where(outside, -np.inf, full))


def test_funnel_with_the_whole_corpus_as_shortlist_is_exact_full_dim_search(
    vectors: tuple[np.ndarray, np.ndarray],
) -> None:
    queries, documents = vectors
    funnel = funnel_search(queries, documents, 8, len(documents), 10)
    assert_top_k(funnel.indices, cosines(queries, documents, 48))


def test_k_larger_than_the_corpus_returns_every_document(vectors: tuple[np.ndarray, np.ndarray]) -> None:
    queries, documents = vectors
    assert exact_search(queries, documents[:5], 16, 10).indices.shape == (20, 5)


def test_rerank_ignores_padding(vectors: tuple[np.ndarray, np.ndarray]) -> None:
    queries, documents = vectors
    hits = rerank(queries[:1], documents, np.array([[3, -1, 7]]), 3)
    assert set(hits.indices[0][:2]) == {3, 7} and hits.scores[0][2] == -np.inf


def test_prefix_rejects_a_dim_outside_the_embeddings() -> None:
    with pytest.raises(ValueError, match="dim 9 is outside 1..8"):
        prefix(np.ones((2, 8)), 9)
