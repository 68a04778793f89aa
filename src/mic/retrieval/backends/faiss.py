"""The embedded backend: a FAISS index over the prefixes and a file of full-dim vectors for the re-rank.

Files in the index folder:

- ``prefix.faiss``: the ``d``-dim unit prefixes, searched by inner product (= cosine). ``float32``:
  ``IndexFlatIP`` / ``IndexHNSWFlat``; ``int8``: FAISS's 8-bit scalar quantizer (``IndexScalarQuantizer`` /
  ``IndexHNSWSQ``, per-dim min/max trained on the first chunk); ``binary``: the sign bits packed by
  sentence-transformers' ``quantize_embeddings(..., "ubinary")`` in ``IndexBinaryFlat`` / ``IndexBinaryHNSW``
  (Hamming distance; ``d`` must be a multiple of 8).
- ``full.bin``: the ``(N, D)`` full vectors, row-major, ``float16`` or ``int8``; int8 is
  ``quantize_embeddings(..., "int8", ranges)`` with the per-dim ``ranges`` (min, max) of the first chunk saved
  in ``ranges.npy`` and clipped beyond them. Read through a memory map, so only shortlisted rows are touched.

HNSW searches with ``efSearch = k'``: the beam is the shortlist itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np
from sentence_transformers.util import quantize_embeddings
from sentence_transformers.util.quantization import _dequantize_embeddings

from mic.retrieval.backends import HNSW_M, Array, Layout
from mic.retrieval.errors import IndexFileError
from mic.retrieval.search import Hits, prefix, rescore

PREFIX_FILE = "prefix.faiss"
FULL_FILE = "full.bin"
RANGES_FILE = "ranges.npy"
FULL_DTYPES = {"float16": np.float16, "int8": np.int8}


def new_prefix_index(layout: Layout) -> faiss.Index | faiss.IndexBinary:
    """An empty FAISS index for the layout's prefix dim, precision and kind."""
    dim, hnsw = layout.dim, layout.kind == "hnsw"
    if layout.precision == "binary":
        return faiss.IndexBinaryHNSW(dim, HNSW_M) if hnsw else faiss.IndexBinaryFlat(dim)
    if layout.precision == "int8":
        if hnsw:
            return faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        return faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    return faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT) if hnsw else faiss.IndexFlatIP(dim)


def prefix_codes(full: Array, layout: Layout) -> np.ndarray:
    """What the prefix index takes: unit ``d``-dim prefixes, as packed sign bits for ``binary``."""
    part = prefix(full, layout.dim)
    return quantize_embeddings(part, "ubinary") if layout.precision == "binary" else part


def shortlist_rows(
    index: faiss.Index | faiss.IndexBinary, layout: Layout, queries: Array, shortlist: int
) -> np.ndarray:
    """``(Q, k')`` rows of the best ``shortlist`` prefixes for ``(Q, D)`` unit queries (``-1`` pads a small index)."""
    if layout.kind == "hnsw":
        index.hnsw.efSearch = shortlist
    _, candidates = index.search(prefix_codes(queries, layout), min(shortlist, index.ntotal))
    return candidates


def rescore_rows(full: np.ndarray, ranges: np.ndarray | None, queries: Array, candidates: np.ndarray, k: int) -> Hits:
    """The best ``k`` of ``candidates`` by the full-dim cosine to the stored (float16, or int8 with ``ranges``) rows."""
    gathered = full[np.maximum(candidates, 0)]
    if ranges is not None:
        gathered = _dequantize_embeddings(gathered, "int8", ranges)
    return rescore(queries, gathered, candidates, k)


class FaissWriter:
    """Adds chunks to the prefix index and appends their full vectors to ``full.bin``."""

    def __init__(self, folder: Path, layout: Layout) -> None:
        self.folder, self.layout = folder, layout
        self.index = new_prefix_index(layout)
        self.ranges: np.ndarray | None = None
        self.full_handle = (folder / FULL_FILE).open("wb")

    def add(self, full: Array, ids: Sequence[str]) -> None:
        if not self.index.is_trained:
            self.index.train(prefix(full, self.layout.dim))
        self.index.add(prefix_codes(full, self.layout))
        if self.layout.rerank_precision == "int8":
            if self.ranges is None:
                self.ranges = np.vstack((full.min(axis=0), full.max(axis=0))).astype(np.float32)
            stored = quantize_embeddings(full, "int8", ranges=self.ranges)
        else:
            stored = full.astype(np.float16)
        self.full_handle.write(np.ascontiguousarray(stored).tobytes())

    def finish(self) -> dict[str, object]:
        self.full_handle.close()
        if isinstance(self.index, faiss.IndexBinary):
            faiss.write_index_binary(self.index, str(self.folder / PREFIX_FILE))
        else:
            faiss.write_index(self.index, str(self.folder / PREFIX_FILE))
        if self.ranges is not None:
            np.save(self.folder / RANGES_FILE, self.ranges)
        names = [PREFIX_FILE, FULL_FILE] + ([RANGES_FILE] if self.ranges is not None else [])
        return {"files": {name: (self.folder / name).stat().st_size for name in names}}

    def abort(self) -> None:
        self.full_handle.close()


class FaissReader:
    """Searches ``prefix.faiss`` for the shortlist and re-scores it on the memory-mapped ``full.bin``."""

    def __init__(self, folder: Path, layout: Layout, count: int, fields: dict[str, object]) -> None:
        self.layout = layout
        files = fields.get("files")
        if not isinstance(files, dict):
            raise IndexFileError(f"{folder}: the metadata lists no files; the index is corrupted, build it again.")
        for name, size in files.items():
            path = folder / name
            if not path.is_file() or path.stat().st_size != size:
                found = path.stat().st_size if path.is_file() else "no file"
                raise IndexFileError(
                    f"{path}: expected {size} bytes, found {found}; the index is truncated or corrupted, "
                    "build it again."
                )
        reader = faiss.read_index_binary if layout.precision == "binary" else faiss.read_index
        try:
            self.index = reader(str(folder / PREFIX_FILE))
        except RuntimeError:
            raise IndexFileError(
                f"{folder / PREFIX_FILE}: not a readable FAISS index; build the index again."
            ) from None
        if self.index.ntotal != count or self.index.d != layout.dim:
            raise IndexFileError(
                f"{folder / PREFIX_FILE}: holds {self.index.ntotal} vectors of {self.index.d} dims, the metadata says "
                f"{count} of {layout.dim}; build the index again."
            )
        dtype = FULL_DTYPES[layout.rerank_precision]
        self.full = np.memmap(folder / FULL_FILE, dtype=dtype, mode="r", shape=(count, layout.full_dim))
        self.ranges = np.load(folder / RANGES_FILE) if layout.rerank_precision == "int8" else None

    def search(self, queries: Array, k: int, shortlist: int) -> Hits:
        candidates = shortlist_rows(self.index, self.layout, queries, shortlist)
        return rescore_rows(self.full, self.ranges, queries, candidates, k)

    def close(self) -> None:
        """Nothing to release: the memory map closes with the object."""
