"""Where an index keeps its vectors: FAISS in-process (the default), or Qdrant (Qdrant Edge in-process, or a server).

Every backend stores, per document, the ``d``-dim prefix (the shortlist is searched on it, at the index's
precision) and the full ``D``-dim vector (the shortlist is re-scored on it), and answers
``search(queries, k, shortlist)`` with the funnel: ``shortlist`` candidates by the prefix, the best ``k`` of
them by the full-dim cosine. A writer receives the corpus chunk by chunk, so no backend holds it all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from mic.retrieval.backends.qdrant_layout import require_float16_rerank
from mic.retrieval.errors import IndexFileError, RetrievalError
from mic.retrieval.search import Array, Hits

Precision = Literal["float32", "int8", "binary"]
Kind = Literal["flat", "hnsw"]
RerankPrecision = Literal["float16", "int8"]
BACKENDS = ("faiss", "qdrant")
KINDS = ("flat", "hnsw")
PRECISIONS: tuple[Precision, ...] = ("float32", "int8", "binary")
RERANK_PRECISIONS: tuple[RerankPrecision, ...] = ("float16", "int8")
PRECISION_BITS: dict[str, int] = {"float32": 32, "int8": 8, "binary": 1}
"""Bits of one prefix dim in the shortlist index, per precision (``binary``: the sign bit)."""
HNSW_M = 16
"""HNSW graph degree: FAISS's usual setting and the one sentence-transformers' ``semantic_search_faiss`` uses."""


@dataclass(frozen=True)
class Layout:
    """What an index stores: prefix ``dim`` of ``full_dim``, how the prefix is searched, how full vectors are kept."""

    dim: int
    full_dim: int
    precision: Precision
    kind: Kind
    rerank_precision: RerankPrecision

    def __post_init__(self) -> None:
        if self.precision == "binary" and self.dim % 8:
            allowed = [str(dim) for dim in range(8, self.full_dim + 1, 8)]
            listed = ", ".join(allowed if len(allowed) <= 4 else [*allowed[:3], "...", allowed[-1]])
            raise RetrievalError(
                f"--precision binary packs 8 dims per byte; --dim {self.dim} is not a multiple of 8 (allowed: "
                f"{listed or f'none, the embedding has {self.full_dim} dims; use --precision float32 or int8'})."
            )

    @property
    def prefix_bytes(self) -> int:
        """Bytes of one document's code in the shortlist index: ``4d`` float32, ``d`` int8, ``d / 8`` binary."""
        return self.dim * PRECISION_BITS[self.precision] // 8


class Writer(Protocol):
    """Receives ``(n, D)`` unit-norm full-dim vectors and their ids chunk by chunk, then writes what it holds."""

    def add(self, full: Array, ids: Sequence[str]) -> None: ...

    def finish(self) -> dict[str, object]:
        """Store everything; return the backend's fields for the index metadata."""
        ...

    def abort(self) -> None:
        """Release resources and remove anything written outside the index folder; also after :meth:`finish`."""
        ...


class Reader(Protocol):
    """Answers funnel queries over a stored index."""

    def search(self, queries: Array, k: int, shortlist: int) -> Hits:
        """Top ``k`` of a ``shortlist`` found on the prefix, re-scored at full dim; ``queries`` is ``(Q, D)``."""
        ...

    def close(self) -> None: ...


def check_options(backend: str, rerank_precision: str, options: Mapping[str, object]) -> None:
    """Refuse writer options that do not fit ``backend``; :func:`mic.retrieval.index.build_index` asks before it
    encodes anything.

    Raises:
        RetrievalError: for Qdrant, a re-rank precision other than float16, or ``options["collection"]`` without
            ``options["url"]``.
    """
    if backend != "qdrant":
        return
    require_float16_rerank(rerank_precision)
    collection = options.get("collection")
    if collection is not None and not options.get("url"):
        raise RetrievalError(
            f"--collection {collection} names a collection on a Qdrant server; give its --url, or leave "
            "--collection out for an embedded Qdrant Edge index."
        )


def open_writer(backend: str, folder: Path, layout: Layout, options: dict[str, object], sample: Array) -> Writer:
    """A writer of ``backend`` that stores into ``folder`` (the temporary index folder).

    ``sample``: ``(n, D)`` unit full vectors drawn across the whole corpus, that the FAISS quantizers are trained on.

    ``qdrant`` with ``options["url"]`` creates a collection on that server (named ``options["collection"]``),
    without it a Qdrant Edge shard in ``folder``.

    Raises:
        RetrievalError: for options that do not fit the backend (:func:`check_options`).
    """
    check_options(backend, layout.rerank_precision, options)
    if backend == "qdrant":
        url, collection = options.get("url"), options.get("collection")
        if url:
            from mic.retrieval.backends.qdrant import QdrantWriter

            return QdrantWriter(layout, str(url), None if collection is None else str(collection))
        from mic.retrieval.backends.qdrant_edge import EdgeWriter

        return EdgeWriter(folder, layout)
    from mic.retrieval.backends.faiss import FaissWriter

    return FaissWriter(folder, layout, sample)


def check_url(folder: Path, backend: str, fields: Mapping[str, object], url: str | None) -> None:
    """Refuse a server ``url`` for the index in ``folder`` when its vectors are local files (faiss, or an embedded
    Qdrant Edge shard: ``fields`` holds ``shard``), which would ignore it.

    Raises:
        RetrievalError: naming the index, what it is and what ``--url`` is for.
    """
    if url and (backend != "qdrant" or "shard" in fields):
        what = "an embedded Qdrant Edge" if backend == "qdrant" else f"a {backend}"
        raise RetrievalError(
            f"{folder} is {what} index, whose vectors are local files; --url {url} is for an index built on a "
            "Qdrant server (mic index --backend qdrant --url URL)."
        )


def open_reader(
    backend: str, folder: Path, layout: Layout, count: int, fields: dict[str, object], url: str | None
) -> Reader:
    """A reader of the index in ``folder`` holding ``count`` documents (``fields``: what its writer returned).

    For a Qdrant server index, ``url`` overrides the server it was built on.

    Raises:
        RetrievalError: for a ``url`` given with an index whose vectors are local files (faiss, Qdrant Edge).
        IndexFileError: for a Qdrant index of qdrant-client's local mode, which mic no longer reads.
    """
    check_url(folder, backend, fields, url)
    if backend == "qdrant":
        if "shard" in fields:
            from mic.retrieval.backends.qdrant_edge import EdgeReader

            return EdgeReader(folder, layout, count, fields)
        server = url or fields.get("url")
        if not server:
            raise IndexFileError(
                f"{folder}: a Qdrant index of qdrant-client's local mode, which mic no longer reads; build it again "
                "with mic index --backend qdrant (now Qdrant Edge)."
            )
        from mic.retrieval.backends.qdrant import QdrantReader

        return QdrantReader(layout, count, fields, str(server))
    from mic.retrieval.backends.faiss import FaissReader

    return FaissReader(folder, layout, count, fields)
