"""Specification of exact and funnel search: agreement with a brute-force numpy reference."""

from __future__ import annotations

import numpy as np
import pytest

from mic.retrieval import exact_search, funnel_search, prefix, rerank


def brute_force(queries: np.ndarray, documents: np.ndarray, dim: int, k: int) -> np.ndarray:
    q = queries[:, :dim] / np.linalg.norm(queries[:, :dim], axis=1, keepdims=True)
    d = documents[:, :dim] / np.linalg.norm(documents[:, :dim], axis=1, keepdims=True)
    return np.argsort(-(q @ d.T), axis=1, kind="stable")[:, :k]


@pytest.fixture
def vectors() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((20, 48)).astype(np.float32), rng.standard_normal((300, 48)).astype(np.float32)


@pytest.mark.parametrize("dim", [4, 16, 48])
def test_exact_search_equals_brute_force(vectors: tuple[np.ndarray, np.ndarray], dim: int) -> None:
    queries, documents = vectors
    hits = exact_search(queries, documents, dim, 10)
    np.testing.assert_array_equal(hits.indices, brute_force(queries, documents, dim, 10))
    assert np.all(np.diff(hits.scores, axis=1) <= 1e-6)


def test_funnel_reranks_the_low_dim_shortlist_at_full_dim(vectors: tuple[np.ndarray, np.ndarray]) -> None:
    queries, documents = vectors
    hits = funnel_search(queries, documents, 8, 30, 10)
    shortlist = brute_force(queries, documents, 8, 30)
    full = prefix(queries, 48) @ prefix(documents, 48).T
    for row in range(len(queries)):
        expected = shortlist[row][np.argsort(-full[row, shortlist[row]], kind="stable")][:10]
        np.testing.assert_array_equal(hits.indices[row], expected)


def test_funnel_with_the_whole_corpus_as_shortlist_is_exact_full_dim_search(
    vectors: tuple[np.ndarray, np.ndarray],
) -> None:
    queries, documents = vectors
    funnel = funnel_search(queries, documents, 8, len(documents), 10)
    np.testing.assert_array_equal(funnel.indices, exact_search(queries, documents, 48, 10).indices)


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
