"""An index a user builds once and queries many times: a low-dim prefix search, re-ranked at full dim.

:func:`build_index` encodes a corpus with one model (chunk by chunk, so it never has to fit in memory, into the
embedding cache that ``mic eval`` and ``mic adapt`` share, so a second index of the same corpus and model
encodes nothing), and stores each document's ``d``-dim prefix for the shortlist and its full ``D``-dim vector
for the re-rank in one folder, through a backend (:mod:`mic.retrieval.backends`: FAISS in-process, or a Qdrant
collection):

    INDEX/meta.json     what the index is (schema ``mic-index/1``): the model (a local folder by its absolute
                        path, so the index opens from any working directory) and its fingerprint, the dims,
                        precision (and bytes per vector of the shortlist codes), kind and backend, the document
                        ids in row order, the mic version
    INDEX/...           the backend's files (``prefix.faiss`` + ``full.bin``, or a Qdrant Edge shard)

:func:`open_index` reads it back and checks it is whole; :meth:`SearchIndex.search` runs the funnel on query
embeddings and :func:`search_texts` on query texts, encoded with the index's own model (a different model
or embedding size is refused, naming both). The folder is written under a temporary name and renamed when
complete, so an interrupted build leaves nothing at ``INDEX``; an existing folder is only replaced when
``overwrite`` is set and it holds nothing but a mic index (:mod:`mic.staging`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mic import __version__
from mic.cache import cached_encode_chunks
from mic.encoders import Encoder, absolute_spec, encoder_fingerprint, load_encoder
from mic.progress import Progress
from mic.retrieval.backends import (
    BACKENDS,
    KINDS,
    PRECISIONS,
    RERANK_PRECISIONS,
    Array,
    Kind,
    Layout,
    Precision,
    Reader,
    RerankPrecision,
    open_reader,
    open_writer,
)
from mic.retrieval.corpus import Document, chunked, iter_documents
from mic.retrieval.errors import IndexFileError, RetrievalError
from mic.retrieval.search import Hits, prefix
from mic.staging import OutputKind, check_output, staged_output

SCHEMA = "mic-index/1"
SEARCH_SCHEMA = "mic-search/1"
META_FILE = "meta.json"
INDEX_OUTPUT = OutputKind("index", META_FILE, lambda meta: meta.get("schema") == SCHEMA)
"""An index folder; one built before ``mic_output.json`` existed is known by its ``meta.json`` schema."""
DEFAULT_CHUNK_SIZE = 10_000
"""Documents encoded and added per step: about 15 MB of float32 vectors at 384 dims."""
CALIBRATION_SAMPLE = 50_000
"""Documents the int8 quantizers are trained on (per-dim min/max): evenly spaced over the whole corpus, so the
ranges do not depend on ``chunk_size`` or on which documents come first (77 MB of vectors at 384 dims)."""
DEFAULT_K = 10
DEFAULT_SHORTLIST = 100
AUTO_HNSW_MIN_DOCUMENTS = 250_000
"""``kind="auto"`` builds HNSW from this many documents on, flat (exact) below.

Measured on one core (``benchmarks/retrieval.py``, section "flat vs HNSW": 32-dim float32 prefixes of the
resampled SciFact corpus, shortlist 100, HNSW M=16, efSearch=100; ``benchmarks/results/retrieval.md``):

    documents   flat ms   HNSW ms   HNSW build s (2 threads)   HNSW shortlist recall vs flat
    30,000      0.20      0.17       1.4                        0.91
    100,000     0.45      0.22       4.4                        0.86
    300,000     1.46      0.30      15.1                        0.79
    1,000,000   8.75      0.65      97.5                        0.69

Below a few hundred thousand documents the exact scan stays near a millisecond, so a graph saves under a
millisecond per query while losing 10-20% of the shortlist; past that the scan grows linearly (5x slower
than HNSW at 300k, 13x at 1M) and the graph pays for itself.
"""


class IndexMeta(BaseModel):
    """The metadata of an index folder (``meta.json``)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    schema_: str = Field(SCHEMA, alias="schema")
    mic_version: str
    backend: str
    model: str
    fingerprint: str
    full_dim: int
    dim: int
    precision: Precision
    kind: Kind
    rerank_precision: RerankPrecision
    bytes_per_vector: int | None = Field(
        None, description="bytes of one document's prefix code in the shortlist index (derived from the layout)"
    )
    normalisation: str = "unit length at every dim: prefixes and full vectors are re-normalised, scores are cosines"
    count: int
    backend_fields: dict[str, object]
    doc_ids: list[str]

    @property
    def layout(self) -> Layout:
        return Layout(self.dim, self.full_dim, self.precision, self.kind, self.rerank_precision)

    @model_validator(mode="after")
    def _derive_bytes_per_vector(self) -> IndexMeta:
        """Fill ``bytes_per_vector`` from the layout (an index written before the field existed has none)."""
        derived = self.layout.prefix_bytes
        if self.bytes_per_vector not in (None, derived):
            raise ValueError(f"bytes_per_vector {self.bytes_per_vector} does not match the layout's {derived}")
        self.bytes_per_vector = derived
        return self


def _choose(value: str, allowed: Sequence[str], option: str) -> None:
    if value not in allowed:
        raise RetrievalError(f"{option} {value!r} is not one of {', '.join(allowed)}.")


def resolve_kind(kind: str, count: int) -> Kind:
    """``flat`` or ``hnsw`` as asked, or for ``auto`` by the corpus size (:data:`AUTO_HNSW_MIN_DOCUMENTS`)."""
    _choose(kind, (*KINDS, "auto"), "--kind")
    if kind == "auto":
        return "hnsw" if count >= AUTO_HNSW_MIN_DOCUMENTS else "flat"
    return kind  # type: ignore[return-value]


def read_meta(folder: Path) -> IndexMeta:
    """The metadata of the index in ``folder``.

    Raises:
        IndexFileError: for a missing folder or ``meta.json``, or one that is not a whole mic index's.
    """
    path = folder / META_FILE
    if not path.is_file():
        raise IndexFileError(f"{folder}: not a mic index (no {META_FILE}); build one with mic index.")
    try:
        meta = IndexMeta.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError, ValidationError) as error:
        reason = str(error).splitlines()[0]
        raise IndexFileError(f"{path}: unreadable index metadata ({reason}); build the index again.") from None
    if meta.schema_ != SCHEMA or len(meta.doc_ids) != meta.count:
        raise IndexFileError(f"{path}: not {SCHEMA} metadata for {meta.count} documents; build the index again.")
    return meta


def build_index(
    model: str,
    corpus: str,
    out: str | Path,
    *,
    dim: int,
    precision: str = "float32",
    kind: str = "auto",
    backend: str = "faiss",
    rerank_precision: str = "float16",
    url: str | None = None,
    collection: str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    batch_size: int = 64,
    data_dir: str | Path | None = None,
    device: str | None = None,
    overwrite: bool = False,
    show_progress_bar: bool | None = False,
    cache_dir: str | Path | None = None,
) -> IndexMeta:
    """Encode ``corpus`` with ``model`` and store its ``dim``-prefix and full vectors as an index at ``out``.

    Args:
        model: the encoder (see :func:`mic.encoders.load_encoder`: ``default``, a folder, ``pca:MODEL``, ...).
        corpus: the documents (see :mod:`mic.retrieval.corpus`: ``scifact``, a BEIR folder, a file).
        out: the index folder to create.
        dim: the prefix dim ``d`` the shortlist is searched at (``1..D``; a multiple of 8 for ``binary``).
        precision: ``float32``, ``int8`` or ``binary`` prefix vectors.
        kind: ``flat`` (exact scan), ``hnsw`` (graph) or ``auto`` (by size, :data:`AUTO_HNSW_MIN_DOCUMENTS`).
        backend: ``faiss`` (in-process files) or ``qdrant`` (a Qdrant Edge shard in ``out``, or the server at ``url``).
        rerank_precision: how full vectors are kept for the re-rank: ``float16`` or ``int8``.
        url: Qdrant server or cluster URL (``qdrant`` backend); ``None``: Qdrant Edge in-process.
        collection: Qdrant collection name on the server at ``url`` (default: ``mic-`` and a random suffix).
        chunk_size: documents encoded and added per step (memory use is one chunk); the quantizers are trained
            on a sample of the whole corpus (:data:`CALIBRATION_SAMPLE`), whatever the chunk size.
        batch_size: encoding batch size.
        data_dir: folder of the named benchmarks (``None``: ``$MIC_DATA_DIR``).
        device: torch device of the encoder.
        overwrite: replace an existing index at ``out``.
        show_progress_bar: progress of encoding and adding (:class:`mic.progress.Progress`: ``True`` or ``None`` a
            bar on a terminal and plain lines in a log, ``False`` nothing).
        cache_dir: the embedding cache (:mod:`mic.cache`, shared with ``mic eval`` and ``mic adapt``;
            ``None``: ``$MIC_CACHE_DIR``, else ``~/.cache/mic``): a corpus already encoded by the model is read
            from it, so a new dim or precision does not encode it again.

    Raises:
        RetrievalError: for a bad option value or a ``dim`` outside the model.
        OutputError: for an ``out`` that may not be written or replaced (see :func:`mic.staging.check_output`).
        DataError: for a missing or empty corpus, a malformed line or a document without text (nothing is written).
        ModelError: when the model cannot be loaded.
    """
    _choose(precision, PRECISIONS, "--precision")
    _choose(backend, BACKENDS, "--backend")
    _choose(rerank_precision, RERANK_PRECISIONS, "--rerank-precision")
    resolve_kind(kind, 0)
    if chunk_size < 1:
        raise RetrievalError(f"--chunk-size must be a positive number of documents, got {chunk_size}.")
    out = check_output(out, INDEX_OUTPUT, overwrite=overwrite, option="--out")  # before any encoding
    doc_ids = [document.id for document in iter_documents(corpus, data_dir)]  # validates every row first
    encoder = load_encoder(model, data_dir=data_dir, device=device)
    full_dim = encoder.dim
    if not 1 <= dim <= full_dim:
        raise RetrievalError(f"--dim {dim} is outside 1..{full_dim}, the embedding size of {model}.")
    layout = Layout(dim, full_dim, precision, resolve_kind(kind, len(doc_ids)), rerank_precision)  # type: ignore[arg-type]
    options = {"url": url, "collection": collection} if backend == "qdrant" else {}

    def texts() -> Iterator[list[str]]:
        return (
            [document.text for document in chunk] for chunk in chunked(iter_documents(corpus, data_dir), chunk_size)
        )

    count = len(doc_ids)
    with Progress(count, "Encoding", "documents", show=show_progress_bar) as progress:
        outputs = cached_encode_chunks(encoder, texts, count, cache_dir, batch_size=batch_size, on_rows=progress.update)
    calibration = np.unique(np.linspace(0, count - 1, min(count, CALIBRATION_SAMPLE)).round().astype(np.int64))
    with staged_output(out, INDEX_OUTPUT, overwrite=overwrite, option="--out") as folder:
        writer = open_writer(backend, folder, layout, options, unit_vectors(encoder, outputs[calibration]))
        try:
            with Progress(count, "Indexing", "documents", show=show_progress_bar) as progress:
                for start in range(0, count, chunk_size):
                    stop = min(start + chunk_size, count)
                    writer.add(unit_vectors(encoder, outputs[start:stop]), doc_ids[start:stop])
                    progress.update(stop - start)
            fields = writer.finish()
        except BaseException:
            writer.abort()
            raise
        meta = IndexMeta(
            mic_version=__version__,
            backend=backend,
            model=absolute_spec(model),
            fingerprint=encoder_fingerprint(encoder),
            full_dim=full_dim,
            dim=dim,
            precision=layout.precision,
            kind=layout.kind,
            rerank_precision=layout.rerank_precision,
            count=len(doc_ids),
            backend_fields=fields,
            doc_ids=doc_ids,
        )
        (folder / META_FILE).write_text(meta.model_dump_json(by_alias=True, indent=1) + "\n", encoding="utf-8")
    return meta


def unit_vectors(encoder: Encoder, outputs: npt.ArrayLike) -> Array:
    """Unit full-dim vectors of ``(n, D)`` model outputs, rotated first for a ``pca:`` encoder."""
    import torch

    rows = torch.from_numpy(np.array(outputs, dtype=np.float32))
    if encoder.projection is not None:
        rows = encoder.projection.apply(rows)
    return prefix(rows.numpy(), rows.shape[1])


@dataclass
class SearchIndex:
    """An opened index: its metadata and the backend reader that runs the funnel."""

    path: Path
    meta: IndexMeta
    reader: Reader

    def search(self, queries: npt.ArrayLike, k: int = DEFAULT_K, shortlist: int = DEFAULT_SHORTLIST) -> Hits:
        """The funnel for ``(Q, D)`` full-dim query embeddings: ``shortlist`` by the prefix, best ``k`` at full dim.

        Raises:
            RetrievalError: for query vectors of another width than the index's, ``k < 1`` or ``shortlist < k``.
        """
        matrix = np.asarray(queries, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[1] != self.meta.full_dim:
            raise RetrievalError(
                f"{self.path} holds {self.meta.full_dim}-dim vectors of {self.meta.model}; the queries have shape "
                f"{matrix.shape}. Encode them with {self.meta.model}."
            )
        if k < 1 or shortlist < k:
            raise RetrievalError(f"need 1 <= --k <= --shortlist; got --k {k} and --shortlist {shortlist}.")
        return self.reader.search(prefix(matrix, self.meta.full_dim), k, shortlist)

    def close(self) -> None:
        self.reader.close()


def open_index(path: str | Path, url: str | None = None) -> SearchIndex:
    """Open the index folder at ``path`` (for Qdrant, ``url`` overrides the server it was built on).

    Raises:
        IndexFileError: for a missing, truncated or corrupted index.
    """
    folder = Path(path).expanduser()
    meta = read_meta(folder)
    return SearchIndex(
        folder, meta, open_reader(meta.backend, folder, meta.layout, meta.count, meta.backend_fields, url)
    )


@dataclass(frozen=True)
class QueryResult:
    """One query's hits, best first: ``(document id, full-dim cosine)`` pairs."""

    query_id: str
    query: str
    hits: list[tuple[str, float]]


def load_query_encoder(index: SearchIndex, model: str | None = None, device: str | None = None) -> Encoder:
    """The encoder of ``index``'s queries: its own model, or ``model`` when that is the same model.

    Raises:
        RetrievalError: when ``model`` is not the model the index was built with (its fingerprint or width
            differs), naming both.
        ModelError: when the model cannot be loaded.
    """
    name = model or index.meta.model
    encoder = load_encoder(name, device=device)
    fingerprint, width = encoder_fingerprint(encoder), encoder.dim
    if (fingerprint, width) != (index.meta.fingerprint, index.meta.full_dim):
        raise RetrievalError(
            f"{index.path} was built with {index.meta.model} ({index.meta.full_dim} dims, fingerprint "
            f"{index.meta.fingerprint}); the query model {name} is another ({width} dims, fingerprint {fingerprint}). "
            f"Query with {index.meta.model}, or build an index with {name}."
        )
    return encoder


def search_encoded(
    index: SearchIndex,
    encoder: Encoder,
    queries: Sequence[Document],
    *,
    k: int = DEFAULT_K,
    shortlist: int = DEFAULT_SHORTLIST,
    batch_size: int = 64,
) -> list[QueryResult]:
    """Encode ``queries`` with ``encoder`` (from :func:`load_query_encoder`) and run the funnel.

    Raises:
        RetrievalError: for a query without text, ``k < 1`` or ``shortlist < k``.
    """
    for query in queries:
        if not query.text.strip():
            raise RetrievalError(f"{query.origin}: query {query.id!r} has no text.")
    embeddings = encoder.encode([query.text for query in queries], batch_size=batch_size).numpy()
    hits = index.search(embeddings, k, shortlist)
    return [
        QueryResult(
            query.id,
            query.text,
            [(index.meta.doc_ids[row], float(score)) for row, score in zip(rows, scores, strict=True) if row >= 0],
        )
        for query, rows, scores in zip(queries, hits.indices, hits.scores, strict=True)
    ]


def search_texts(
    index: SearchIndex,
    queries: Sequence[Document],
    *,
    k: int = DEFAULT_K,
    shortlist: int = DEFAULT_SHORTLIST,
    model: str | None = None,
    batch_size: int = 64,
    device: str | None = None,
) -> list[QueryResult]:
    """Encode ``queries`` with the index's model (or ``model``, which must be the same) and run the funnel.

    Loads the model on every call; a caller that searches many times keeps :func:`load_query_encoder`'s encoder
    and calls :func:`search_encoded`.

    Raises:
        RetrievalError: for a query without text, or a ``model`` that is not the index's (naming both).
        ModelError: when the model cannot be loaded.
    """
    encoder = load_query_encoder(index, model, device)
    return search_encoded(index, encoder, queries, k=k, shortlist=shortlist, batch_size=batch_size)


def results_to_dict(index: SearchIndex, results: Sequence[QueryResult], k: int, shortlist: int) -> dict[str, object]:
    """The JSON record of a search (schema ``mic-search/1``): the index, its model and layout, and every hit."""
    meta = index.meta
    return {
        "schema": SEARCH_SCHEMA,
        "index": str(index.path),
        "model": meta.model,
        "fingerprint": meta.fingerprint,
        "backend": meta.backend,
        "dim": meta.dim,
        "full_dim": meta.full_dim,
        "precision": meta.precision,
        "kind": meta.kind,
        "k": k,
        "shortlist": shortlist,
        "results": [
            {"query_id": result.query_id, "query": result.query,
             "hits": [{"id": identifier, "score": score} for identifier, score in result.hits]}
            for result in results
        ],
    }  # fmt: skip
