"""Specification of binary prefixes: sign bits of the ``d``-dim prefix in FAISS binary indexes, Hamming distance.

The reference is numpy: the codes are the signs of the first ``d`` coordinates, the distance the number of
differing bits. Codes tie often (``d + 1`` possible distances), so results are compared by distance, not by id.
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from mic.retrieval.backends import Layout
from mic.retrieval.backends.faiss import FaissReader, FaissWriter, shortlist_rows, sign_bits
from mic.retrieval.errors import RetrievalError

FULL, K = 64, 10
HNSW_RECALL_FLOOR = 0.9
"""Tie-aware recall@10 of ``IndexBinaryHNSW`` (M=16, efSearch=k'=10) against ``IndexBinaryFlat`` on 32-bit codes of
2,000 clustered vectors (measured: 1.0)."""


def unit(matrix: np.ndarray) -> np.ndarray:
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


def clustered(count: int, seed: int) -> np.ndarray:
    """Unit vectors around 50 centres, variance decaying with the dim as in a Matryoshka embedding."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(0).standard_normal((50, FULL))
    scale = 1 / np.sqrt(np.arange(1, FULL + 1))
    return unit((centres[rng.integers(0, 50, count)] + 0.5 * rng.standard_normal((count, FULL))) * scale)


def hamming(queries: np.ndarray, documents: np.ndarray, dim: int) -> np.ndarray:
    """``(Q, N)`` numbers of differing signs among the first ``dim`` coordinates."""
    return ((queries[:, None, :dim] > 0) != (documents[None, :, :dim] > 0)).sum(axis=2)


def build(folder: Path, documents: np.ndarray, layout: Layout) -> FaissReader:
    folder.mkdir()
    writer = FaissWriter(folder, layout, documents)
    writer.add(documents, [str(row) for row in range(len(documents))])
    return FaissReader(folder, layout, len(documents), writer.finish())


@pytest.mark.parametrize("dim", [8, 24, 64])
def test_flat_binary_returns_the_hamming_top_k_of_the_prefix_signs(tmp_path: Path, dim: int) -> None:
    documents, queries = clustered(500, seed=1), clustered(20, seed=2)
    reader = build(tmp_path / "idx", documents, Layout(dim, FULL, "binary", "flat", "float16"))
    assert isinstance(reader.index, faiss.IndexBinaryFlat) and reader.index.code_size == dim // 8
    distances, rows = reader.index.search(sign_bits(queries, dim), K)
    reference = hamming(queries, documents, dim)
    np.testing.assert_array_equal(distances, np.sort(reference, axis=1)[:, :K])
    np.testing.assert_array_equal(np.take_along_axis(reference, rows, 1), distances)  # each id at its distance


def test_sign_bits_pack_the_prefix_signs_eight_to_a_byte() -> None:
    rows = np.array([[1.0, -1, 0, 2, -3, 4, 5, -6, 7, 0.5, -1, -1, -1, -1, -1, -1]], dtype=np.float32)
    np.testing.assert_array_equal(sign_bits(rows, 16), [[0b10010110, 0b11000000]])
    np.testing.assert_array_equal(sign_bits(rows, 8), [[0b10010110]])


def test_binary_hnsw_keeps_the_flat_hamming_top_10(tmp_path: Path) -> None:
    documents, queries = clustered(2000, seed=3), clustered(100, seed=4)
    dim = 32
    flat = build(tmp_path / "flat", documents, Layout(dim, FULL, "binary", "flat", "float16"))
    graph = build(tmp_path / "hnsw", documents, Layout(dim, FULL, "binary", "hnsw", "float16"))
    assert isinstance(graph.index, faiss.IndexBinaryHNSW)
    kth = flat.index.search(sign_bits(queries, dim), K)[0][:, -1:]
    found = shortlist_rows(graph.index, graph.layout, queries, K)
    # A hit counts when it is as close as the flat k-th: any of several codes at the same distance is right.
    distances = np.take_along_axis(hamming(queries, documents, dim), found, 1)
    assert np.mean(distances <= kth) >= HNSW_RECALL_FLOOR


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_a_binary_shortlist_of_the_whole_corpus_is_exact_full_dim_search(tmp_path: Path, kind: str) -> None:
    documents, queries = clustered(300, seed=5), clustered(10, seed=6)
    reader = build(tmp_path / "idx", documents, Layout(16, FULL, "binary", kind, "float16"))  # type: ignore[arg-type]
    hits = reader.search(queries, K, len(documents))
    exact = np.sort(queries @ documents.T, axis=1)[:, ::-1][:, :K]
    np.testing.assert_allclose(hits.scores, exact, atol=2e-3)  # float16 re-rank vectors
    np.testing.assert_array_equal(hits.indices, np.argsort(-(queries @ documents.T), axis=1)[:, :K])


def test_bytes_per_vector_follow_the_precision() -> None:
    assert [
        Layout(64, 384, precision, "flat", "float16").prefix_bytes for precision in ("float32", "int8", "binary")
    ] == [
        256,
        64,
        8,
    ]


@pytest.mark.parametrize(
    ("dim", "full_dim", "allowed"),
    [(12, 384, "8, 16, 24, ..., 384"), (20, 24, "8, 16, 24"), (4, 6, "none, the embedding has 6 dims")],
)
def test_binary_dims_that_are_not_whole_bytes_are_refused_naming_the_allowed(
    dim: int, full_dim: int, allowed: str
) -> None:
    with pytest.raises(RetrievalError, match=rf"--dim {dim} is not a multiple of 8 \(allowed: {allowed}"):
        Layout(dim, full_dim, "binary", "flat", "float16")
