"""Specification of the index backends on fixed vectors: the FAISS layouts and Qdrant agree with numpy.

The reference is brute force in numpy: shortlist by the cosine of the re-normalised ``d``-dim prefixes,
re-rank by the full-dim cosine of the stored (float16) vectors. The vectors are drawn so that no two of the
scores that decide a top-k are closer than the float16 rounding of the stored vectors (checked below).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mic.retrieval.backends import Layout
from mic.retrieval.backends.faiss import FaissReader, FaissWriter
from mic.retrieval.backends.qdrant import QdrantReader, QdrantWriter

FULL, DIM, K = 24, 8, 5
GAP = 1e-3
"""Smallest allowed gap between consecutive top-(k+1) full-dim scores: well above float16 rounding (~1e-4)."""
SHORTLISTS = (30, 40, 60)


def unit(matrix: np.ndarray) -> np.ndarray:
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


def brute_force(queries: np.ndarray, documents: np.ndarray, stored: np.ndarray, dim: int, shortlist: int) -> np.ndarray:
    """Top-k rows: shortlist on the ``dim`` prefixes of ``documents``, re-ranked on the ``stored`` full vectors."""
    candidates = np.argsort(-(unit(queries[:, :dim]) @ unit(documents[:, :dim]).T), axis=1)[:, :shortlist]
    full = unit(stored.astype(np.float32))
    rescored = np.einsum("qd,qkd->qk", unit(queries), full[candidates])
    return np.take_along_axis(candidates, np.argsort(-rescored, axis=1)[:, :K], 1)


def well_separated(queries: np.ndarray, documents: np.ndarray) -> bool:
    """No near-tie among each query's top ``k + 1`` full-dim scores, nor at the prefix shortlist cut-offs."""
    top = -np.sort(-(queries @ documents.T), axis=1)[:, : K + 1]
    low = -np.sort(-(unit(queries[:, :DIM]) @ unit(documents[:, :DIM]).T), axis=1)
    cuts = [low[:, size - 1] - low[:, size] for size in SHORTLISTS]
    return bool(np.min(-np.diff(top, axis=1)) > GAP and np.min(cuts) > 1e-5)


@pytest.fixture(scope="module")
def vectors() -> tuple[np.ndarray, np.ndarray]:
    """6 queries and 200 documents from the first seed whose scores have no near-ties."""
    for seed in range(1000):
        rng = np.random.default_rng(seed)
        queries, documents = unit(rng.standard_normal((6, FULL))), unit(rng.standard_normal((200, FULL)))
        if well_separated(queries, documents):
            return queries, documents
    raise AssertionError("no seed without near-ties")


def build_faiss(folder: Path, documents: np.ndarray, layout: Layout, chunk: int = 70) -> FaissReader:
    writer = FaissWriter(folder, layout, documents)  # calibrated on the whole corpus
    for start in range(0, len(documents), chunk):  # several chunks, as a streamed corpus arrives
        rows = documents[start : start + chunk]
        writer.add(rows, [str(row) for row in range(start, start + len(rows))])
    return FaissReader(folder, layout, len(documents), writer.finish())


def layout(precision: str = "float32", kind: str = "flat", rerank: str = "float16", dim: int = DIM) -> Layout:
    return Layout(dim, FULL, precision, kind, rerank)  # type: ignore[arg-type]


def test_flat_float32_funnel_equals_brute_force(tmp_path: Path, vectors: tuple[np.ndarray, np.ndarray]) -> None:
    queries, documents = vectors
    hits = build_faiss(tmp_path, documents, layout()).search(queries, K, 30)
    np.testing.assert_array_equal(hits.indices, brute_force(queries, documents, documents.astype(np.float16), DIM, 30))
    assert np.all(np.diff(hits.scores, axis=1) <= 0)


@pytest.mark.parametrize("precision", ["float32", "int8", "binary"])
def test_a_shortlist_of_the_whole_corpus_is_exact_full_dim_search(
    tmp_path: Path, vectors: tuple[np.ndarray, np.ndarray], precision: str
) -> None:
    queries, documents = vectors
    hits = build_faiss(tmp_path, documents, layout(precision)).search(queries, K, len(documents))
    exact = np.argsort(-(queries @ documents.T), axis=1)[:, :K]
    np.testing.assert_array_equal(hits.indices, exact)


def test_hnsw_with_the_whole_corpus_as_beam_equals_flat(tmp_path: Path, vectors: tuple[np.ndarray, np.ndarray]) -> None:
    queries, documents = vectors
    flat = build_faiss(_folder(tmp_path / "flat"), documents, layout()).search(queries, K, 200)
    graph = build_faiss(_folder(tmp_path / "hnsw"), documents, layout(kind="hnsw"))
    np.testing.assert_array_equal(graph.search(queries, K, 200).indices, flat.indices)


def scalar_quantized(documents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """8-bit codes and reconstruction of each dim between its min and max, as FAISS's ``QT_8bit`` defines them."""
    low, high = documents.min(axis=0), documents.max(axis=0)
    codes = np.floor(255 * np.clip((documents - low) / (high - low), 0, 1)).astype(np.uint8)
    return codes, low + (codes + np.float32(0.5)) / 255 * (high - low)


def test_int8_rerank_vectors_rank_like_their_dequantised_values(
    tmp_path: Path, vectors: tuple[np.ndarray, np.ndarray]
) -> None:
    queries, documents = vectors
    hits = build_faiss(tmp_path, documents, layout(rerank="int8"), chunk=200).search(queries, K, 40)
    codes, stored = scalar_quantized(documents)
    np.testing.assert_array_equal(hits.indices, brute_force(queries, documents, stored, DIM, 40))
    np.testing.assert_array_equal(np.fromfile(tmp_path / "full.bin", dtype=np.uint8).reshape(codes.shape), codes)


@pytest.mark.parametrize("precision", ["float32", "int8", "binary"])
def test_the_stored_index_does_not_depend_on_the_chunk_size(
    tmp_path: Path, vectors: tuple[np.ndarray, np.ndarray], precision: str
) -> None:
    queries, documents = vectors
    one = build_faiss(_folder(tmp_path / "one"), documents, layout(precision, rerank="int8"), chunk=1)
    whole = build_faiss(_folder(tmp_path / "whole"), documents, layout(precision, rerank="int8"), chunk=200)
    for name in ("prefix.faiss", "rerank.faiss", "full.bin"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
    np.testing.assert_array_equal(one.search(queries, K, 30).indices, whole.search(queries, K, 30).indices)


def test_binary_prefixes_need_whole_bytes_of_dims(tmp_path: Path, vectors: tuple[np.ndarray, np.ndarray]) -> None:
    queries, documents = vectors
    hits = build_faiss(tmp_path, documents, layout("binary", dim=16)).search(queries, K, 60)
    assert hits.indices.shape == (len(queries), K) and np.all(hits.indices >= 0)


def test_qdrant_local_mode_returns_the_faiss_top_k(tmp_path: Path, vectors: tuple[np.ndarray, np.ndarray]) -> None:
    queries, documents = vectors
    faiss_hits = build_faiss(_folder(tmp_path / "faiss"), documents, layout()).search(queries, K, 30)
    writer = QdrantWriter(_folder(tmp_path / "qdrant"), layout(), collection="docs")
    writer.add(documents[:120], [str(row) for row in range(120)])
    writer.add(documents[120:], [str(row) for row in range(120, 200)])
    reader = QdrantReader(tmp_path / "qdrant", layout(), len(documents), writer.finish(), url=None)
    try:
        qdrant_hits = reader.search(queries, K, 30)
    finally:
        reader.close()
    np.testing.assert_array_equal(qdrant_hits.indices, faiss_hits.indices)
    np.testing.assert_allclose(qdrant_hits.scores, faiss_hits.scores, atol=1e-3)


def _folder(path: Path) -> Path:
    path.mkdir()
    return path
