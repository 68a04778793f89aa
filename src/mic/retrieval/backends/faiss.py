"""The embedded backend: a FAISS index over the prefixes and a file of full-dim codes for the re-rank.

Both parts are FAISS primitives, fed the ``(N, D)`` full vectors:

- ``prefix.faiss``: the shortlist index. ``float32`` and ``int8`` are an ``IndexPreTransform`` whose chain
  keeps the first ``d`` dims (``RemapDimensionsTransform``) and re-normalises them (``NormalizationTransform``),
  over ``IndexFlatIP`` / ``IndexHNSWFlat`` or FAISS's 8-bit scalar quantizer (``IndexScalarQuantizer`` /
  ``IndexHNSWSQ``, per-dim min/max); inner product of unit prefixes is their cosine. ``binary`` is the sign
  bits of the prefix (``x > 0``, packed 8 dims per byte) in ``IndexBinaryFlat`` / ``IndexBinaryHNSW``
  (Hamming distance; ``d`` must be a multiple of 8).
- ``rerank.faiss`` + ``full.bin``: the full vectors as codes of FAISS's ``ScalarQuantizer`` (``QT_fp16``, or
  ``QT_8bit`` with per-dim min/max, values beyond them clipped), kept in ``full.bin`` row-major and read
  through a memory map, so only shortlisted rows are touched; ``rerank.faiss`` is the empty, trained
  ``IndexScalarQuantizer`` that holds the quantizer. The shortlist is decoded and scored by the cosine of the
  decoded vectors (re-normalised: an int8 reconstruction is not unit length), not by ``IndexRefine``'s raw
  inner product, which would also load every code into memory.

Quantizers are trained on a calibration sample of the whole corpus (:func:`mic.retrieval.index.build_index`
draws it), so the codes do not depend on the order or the chunking of the corpus. HNSW searches with
``efSearch = k'``: the beam is the shortlist itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import faiss
import numpy as np

from mic.retrieval.backends import HNSW_M, Array, Layout
from mic.retrieval.errors import IndexFileError
from mic.retrieval.search import Hits, rescore

PREFIX_FILE = "prefix.faiss"
RERANK_FILE = "rerank.faiss"
FULL_FILE = "full.bin"
RERANK_TYPES = {"float16": faiss.ScalarQuantizer.QT_fp16, "int8": faiss.ScalarQuantizer.QT_8bit}


def new_prefix_index(layout: Layout) -> faiss.Index | faiss.IndexBinary:
    """An empty FAISS index of the layout's prefix dim, precision and kind, taking ``D``-dim full vectors
    (``binary``: the packed sign bits of the ``d``-dim prefix, see :func:`sign_bits`)."""
    dim, hnsw = layout.dim, layout.kind == "hnsw"
    if layout.precision == "binary":
        return faiss.IndexBinaryHNSW(dim, HNSW_M) if hnsw else faiss.IndexBinaryFlat(dim)
    if layout.precision == "int8":
        int8 = faiss.ScalarQuantizer.QT_8bit
        base = (
            faiss.IndexHNSWSQ(dim, int8, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            if hnsw
            else faiss.IndexScalarQuantizer(dim, int8, faiss.METRIC_INNER_PRODUCT)
        )
    else:
        base = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT) if hnsw else faiss.IndexFlatIP(dim)
    index = faiss.IndexPreTransform(faiss.NormalizationTransform(dim), base)
    index.prepend_transform(faiss.RemapDimensionsTransform(layout.full_dim, dim, False))
    return index


def sign_bits(full: Array, dim: int) -> np.ndarray:
    """``(N, dim / 8)`` uint8: the signs of the first ``dim`` coordinates (``x > 0``), 8 per byte, first dim highest."""
    return np.packbits(np.asarray(full)[:, :dim] > 0, axis=1)


def index_input(full: Array, layout: Layout) -> np.ndarray:
    """What the prefix index takes: the full vectors, or the prefix's packed sign bits for ``binary``."""
    return sign_bits(full, layout.dim) if layout.precision == "binary" else np.ascontiguousarray(full)


def new_rerank_quantizer(layout: Layout) -> faiss.IndexScalarQuantizer:
    """An empty ``IndexScalarQuantizer`` whose ``sq`` encodes full vectors at the layout's re-rank precision."""
    return faiss.IndexScalarQuantizer(
        layout.full_dim, RERANK_TYPES[layout.rerank_precision], faiss.METRIC_INNER_PRODUCT
    )


def shortlist_rows(
    index: faiss.Index | faiss.IndexBinary, layout: Layout, queries: Array, shortlist: int
) -> np.ndarray:
    """``(Q, k')`` rows of the best ``shortlist`` prefixes for ``(Q, D)`` unit queries (``-1`` pads a small index)."""
    size, hnsw = min(shortlist, index.ntotal), layout.kind == "hnsw"
    if layout.precision == "binary":
        if hnsw:
            index.hnsw.efSearch = shortlist
        return index.search(sign_bits(queries, layout.dim), size)[1]
    beam = faiss.SearchParametersPreTransform(index_params=faiss.SearchParametersHNSW(efSearch=shortlist))
    return index.search(np.ascontiguousarray(queries), size, params=beam if hnsw else None)[1]


def rescore_rows(
    codes: np.ndarray, quantizer: faiss.ScalarQuantizer, queries: Array, candidates: np.ndarray, k: int
) -> Hits:
    """The best ``k`` of ``candidates`` by the full-dim cosine to their stored vectors, decoded from ``codes``."""
    rows = np.maximum(candidates, 0)
    gathered = quantizer.decode(np.ascontiguousarray(codes[rows.ravel()]))
    return rescore(queries, gathered.reshape(*rows.shape, -1), candidates, k)


class FaissWriter:
    """Adds chunks to the prefix index and appends their full-vector codes to ``full.bin``.

    Args:
        folder: the (temporary) index folder.
        layout: what to store.
        sample: ``(n, D)`` unit full vectors drawn from the whole corpus that the quantizers are trained on.
    """

    def __init__(self, folder: Path, layout: Layout, sample: Array) -> None:
        self.folder, self.layout = folder, layout
        self.index = new_prefix_index(layout)
        if not self.index.is_trained:
            self.index.train(np.ascontiguousarray(sample, dtype=np.float32))
        self.rerank = new_rerank_quantizer(layout)
        if not self.rerank.is_trained:
            self.rerank.train(np.ascontiguousarray(sample, dtype=np.float32))
        self.full_handle = (folder / FULL_FILE).open("wb")

    def add(self, full: Array, ids: Sequence[str]) -> None:
        self.index.add(index_input(full, self.layout))
        self.full_handle.write(self.rerank.sq.compute_codes(np.ascontiguousarray(full, dtype=np.float32)).tobytes())

    def finish(self) -> dict[str, object]:
        self.full_handle.close()
        if isinstance(self.index, faiss.IndexBinary):
            faiss.write_index_binary(self.index, str(self.folder / PREFIX_FILE))
        else:
            faiss.write_index(self.index, str(self.folder / PREFIX_FILE))
        faiss.write_index(self.rerank, str(self.folder / RERANK_FILE))
        names = [PREFIX_FILE, RERANK_FILE, FULL_FILE]
        return {"files": {name: (self.folder / name).stat().st_size for name in names}}

    def abort(self) -> None:
        self.full_handle.close()


def _read(folder: Path, name: str, binary: bool = False) -> faiss.Index | faiss.IndexBinary:
    """A FAISS index file of the folder, or :class:`IndexFileError` when it does not parse."""
    try:
        return (faiss.read_index_binary if binary else faiss.read_index)(str(folder / name))
    except RuntimeError:
        raise IndexFileError(f"{folder / name}: not a readable FAISS index; build the index again.") from None


class FaissReader:
    """Searches ``prefix.faiss`` for the shortlist and re-scores it on the memory-mapped codes of ``full.bin``."""

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
        self.index = _read(folder, PREFIX_FILE, binary=layout.precision == "binary")
        width = layout.dim if layout.precision == "binary" else layout.full_dim
        rerank = _read(folder, RERANK_FILE)
        if self.index.ntotal != count or self.index.d != width or rerank.d != layout.full_dim:
            raise IndexFileError(
                f"{folder / PREFIX_FILE}: holds {self.index.ntotal} vectors of {self.index.d} dims, the metadata says "
                f"{count} of {width}; build the index again."
            )
        self.quantizer = faiss.downcast_index(rerank).sq
        self.rerank = rerank  # owns the quantizer
        self.codes = np.memmap(folder / FULL_FILE, dtype=np.uint8, mode="r", shape=(count, self.quantizer.code_size))

    def search(self, queries: Array, k: int, shortlist: int) -> Hits:
        candidates = shortlist_rows(self.index, self.layout, queries, shortlist)
        return rescore_rows(self.codes, self.quantizer, queries, candidates, k)

    def close(self) -> None:
        """Nothing to release: the memory map closes with the object."""
