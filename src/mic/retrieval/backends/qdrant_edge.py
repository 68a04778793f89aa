"""The embedded engine backend: Qdrant's own engine in-process (Qdrant Edge), its shard inside the index folder.

Qdrant Edge (PyPI ``qdrant-edge-py``) is the Qdrant engine as a library: no server, no network. The index
folder holds one Edge shard under ``qdrant-edge/`` with the layout of :mod:`mic.retrieval.backends.qdrant_layout`
(named vectors ``prefix`` and ``full``, a prefetch of ``k'`` on ``prefix`` re-scored on ``full``), the same
the server path creates. What the engine does with it:

- ``kind="hnsw"``: an HNSW graph on ``prefix`` (``m`` = :data:`~mic.retrieval.backends.HNSW_M`), searched with
  ``hnsw_ef = k'``; ``kind="flat"``: no graph (``m=0``), an exact scan.
- ``precision``: ``int8`` is Qdrant's scalar quantization of ``prefix``, ``binary`` its 1-bit binary
  quantization; the shortlist is ranked on the quantized vectors (no rescoring with the originals: the full
  vectors re-rank it). ``float32``: none.
- ``full`` is stored as float16 and never graphed.

The engine builds graphs and quantized vectors when it optimizes a segment, and by default only for segments
past an indexing threshold of megabytes; the writer sets that threshold to :data:`INDEXING_THRESHOLD_KB` and
runs the optimizer before it closes the shard, so every index, however small, is searched the way it says.

The engine takes no lock on a shard it reads: several ``mic search`` processes may open one index at once.
It does not notice files that were truncated after it wrote them (it memory-maps them and reads past the end,
or aborts the process), so the writer records every data file's size in the metadata and the reader checks
them before it loads the shard.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

import qdrant_edge as edge

from mic.retrieval.backends import HNSW_M, Array, Layout
from mic.retrieval.backends.qdrant_layout import FULL_VECTOR, PREFIX_VECTOR, points_to_hits, require_float16_rerank
from mic.retrieval.errors import IndexFileError
from mic.retrieval.search import Hits, prefix

SHARD_FOLDER = "qdrant-edge"
ENGINE = "qdrant-edge"
ENGINE_PACKAGE = "qdrant-edge-py"
INDEXING_THRESHOLD_KB = 1
"""Segments with at least this many KB of vectors get their graph and quantization (Qdrant's default: 10 MB)."""
EF_CONSTRUCT = 100
"""HNSW build beam: Qdrant's default."""
FULL_SCAN_THRESHOLD_KB = 10_000
"""Below this many KB of vectors a *filtered* search scans instead of walking the graph: Qdrant's default."""


def engine_version() -> str:
    """The installed ``qdrant-edge-py`` version."""
    return version(ENGINE_PACKAGE)


def prefix_quantization(layout: Layout) -> edge.ScalarQuantizationConfig | edge.BinaryQuantizationConfig | None:
    """Qdrant Edge's quantization of the prefix vector for the index precision."""
    if layout.precision == "int8":
        return edge.ScalarQuantizationConfig(type=edge.ScalarType.Int8)
    if layout.precision == "binary":
        return edge.BinaryQuantizationConfig()
    return None


def shard_config(layout: Layout, build_threads: int = 0, search_threads: int | None = None) -> edge.EdgeConfig:
    """The shard's configuration: the two named vectors, the graph and the quantization the layout asks for.

    Args:
        layout: the index layout.
        build_threads: threads for HNSW builds (``0``: the engine's choice, by CPU count).
        search_threads: the shard's search thread pool (``None``: the engine's choice, by CPU count).
    """

    def graph(m: int) -> edge.HnswIndexConfig:
        return edge.HnswIndexConfig(
            m=m,
            ef_construct=EF_CONSTRUCT,
            full_scan_threshold=FULL_SCAN_THRESHOLD_KB,
            max_indexing_threads=build_threads,
        )

    return edge.EdgeConfig(
        vectors={
            PREFIX_VECTOR: edge.EdgeVectorParams(
                size=layout.dim,
                distance=edge.Distance.Cosine,
                hnsw_config=graph(HNSW_M if layout.kind == "hnsw" else 0),
                quantization_config=prefix_quantization(layout),
            ),
            FULL_VECTOR: edge.EdgeVectorParams(
                size=layout.full_dim,
                distance=edge.Distance.Cosine,
                datatype=edge.VectorStorageDatatype.Float16,
                hnsw_config=graph(0),
            ),
        },
        optimizers=edge.EdgeOptimizersConfig(indexing_threshold=INDEXING_THRESHOLD_KB),
        max_search_threads=search_threads,
        wal_enabled=False,  # a build is all-or-nothing (staged folder): durable once finish() flushes
    )


def data_file_sizes(shard: Path) -> dict[str, int]:
    """Size of every data file of the shard by relative path; JSON state files are left out (the engine rewrites
    them when it loads the shard)."""
    return {
        path.relative_to(shard).as_posix(): path.stat().st_size
        for path in sorted(shard.rglob("*"))
        if path.is_file() and path.suffix != ".json"
    }


@contextmanager
def engine_errors(shard: Path, built_with: str | None = None) -> Iterator[None]:
    """Turn the engine's failures on ``shard`` into one-line :class:`IndexFileError` messages that say what to do.

    The engine raises a bare ``Exception`` (``Service runtime error: ...``), or pyo3's ``PanicException`` (a
    ``BaseException``) when it panics; both are caught, interrupts are not.
    """
    try:
        yield
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # noqa: BLE001 - the engine's panic is a BaseException
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        installed = engine_version()
        if built_with is not None and built_with != installed:
            raise IndexFileError(
                f"{shard}: written by {ENGINE_PACKAGE} {built_with}, this is {installed}, which cannot read it "
                f"({reason}); install {ENGINE_PACKAGE}=={built_with}, or build the index again."
            ) from None
        if "version" in reason.lower():
            raise IndexFileError(
                f"{shard}: a Qdrant Edge shard of another engine version ({reason}); install the {ENGINE_PACKAGE} "
                "it was built with, or build the index again."
            ) from None
        raise IndexFileError(f"{shard}: damaged Qdrant Edge shard ({reason}); build the index again.") from None


class EdgeWriter:
    """Creates the shard in the index folder, upserts each chunk, and has the engine index it at the end."""

    def __init__(
        self, folder: Path, layout: Layout, *, build_threads: int = 0, search_threads: int | None = None
    ) -> None:
        require_float16_rerank(layout.rerank_precision)
        self.layout, self.path = layout, folder / SHARD_FOLDER
        with engine_errors(self.path):
            self.shard = edge.EdgeShard.create(str(self.path), shard_config(layout, build_threads, search_threads))
        self.count = 0

    def add(self, full: Array, ids: Sequence[str]) -> None:
        parts = prefix(full, self.layout.dim)
        points = [
            edge.Point(row, {PREFIX_VECTOR: part.tolist(), FULL_VECTOR: vector.tolist()})
            for row, part, vector in zip(range(self.count, self.count + len(full)), parts, full, strict=True)
        ]
        self.shard.update(edge.UpdateOperation.upsert_points(points))
        self.count += len(full)

    def finish(self) -> dict[str, object]:
        self.shard.optimize()  # builds the graph and the quantized prefixes
        self.shard.close()  # flushes
        return {
            "engine": ENGINE,
            "engine_version": engine_version(),
            "shard": SHARD_FOLDER,
            "files": data_file_sizes(self.path),
        }

    def abort(self) -> None:
        self.shard.close()  # the shard lives in the temporary index folder, which is removed


class EdgeReader:
    """Checks the shard's files against the metadata, loads it, and runs the funnel as one batch of queries."""

    def __init__(self, folder: Path, layout: Layout, count: int, fields: dict[str, object]) -> None:
        self.layout, path = layout, folder / str(fields.get("shard", SHARD_FOLDER))
        if not path.is_dir():
            raise IndexFileError(f"{path}: missing; the index is incomplete, build it again.")
        expected: dict[str, int] = fields.get("files") or {}  # type: ignore[assignment]
        found = data_file_sizes(path)
        for name, size in expected.items():
            if found.get(name) != size:
                state = "missing" if name not in found else f"{found[name]} bytes, written as {size}"
                raise IndexFileError(f"{path / name}: {state}; damaged Qdrant Edge shard, build the index again.")
        built_with = str(fields.get("engine_version"))
        with engine_errors(path, built_with):
            self.shard = edge.EdgeShard.load(str(path))
            stored = self.shard.info().points_count
        if stored != count:
            self.shard.close()
            raise IndexFileError(f"{path}: holds {stored} points, the metadata says {count}; build the index again.")
        self.path, self.built_with = path, built_with

    def search(self, queries: Array, k: int, shortlist: int) -> Hits:
        params = edge.SearchParams(hnsw_ef=shortlist, quantization=edge.QuantizationSearchParams(rescore=False))
        requests = [
            edge.QueryRequest(
                limit=k,
                query=edge.Query.Nearest(full.tolist(), using=FULL_VECTOR),
                prefetches=[
                    edge.Prefetch(
                        limit=shortlist, query=edge.Query.Nearest(part.tolist(), using=PREFIX_VECTOR), params=params
                    )
                ],
            )
            for part, full in zip(prefix(queries, self.layout.dim), queries, strict=True)
        ]
        with engine_errors(self.path, self.built_with):
            responses = self.shard.query_batch(edge.QueryBatchRequest(requests))
        return points_to_hits(responses, len(queries), min(k, shortlist))

    def close(self) -> None:
        self.shard.close()
