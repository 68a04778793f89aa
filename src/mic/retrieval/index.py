"""An index a user builds once and queries many times: a low-dim prefix search, re-ranked at full dim.

:func:`build_index` encodes a corpus with one model (chunk by chunk, so it never has to fit in memory, into the
embedding cache that ``mic eval`` and ``mic adapt`` share, so a second index of the same corpus and model
encodes nothing), and stores each document's ``d``-dim prefix for the shortlist and its full ``D``-dim vector
for the re-rank in one folder, through a backend (:mod:`mic.retrieval.backends`: FAISS in-process, or a Qdrant
collection):

    INDEX/meta.json     what the index is (schema ``mic-index/1``): the model (a local folder by its absolute
                        path, so the index opens from any working directory) and its fingerprint as a torch
                        model, the encoder backend that encoded the documents, the dims, precision (and bytes
                        per vector of the shortlist codes), kind and backend, the adapter and the calibrated
                        shortlist depth when there are, the seconds of each build phase, the document ids in row
                        order, the mic version
    INDEX/adapter/      with ``adapt``: the adapter fitted on the documents (:class:`mic.adapt.Adapter`), applied
                        to documents and queries before anything is searched
    INDEX/query_encoder the light query path of an ONNX backend (:mod:`mic.retrieval.light_encoder`), if any
    INDEX/...           the backend's files (``prefix.faiss`` + ``full.bin``, or a Qdrant Edge shard)

The shortlist depth is calibrated at build time on the index itself (:mod:`mic.retrieval.calibration`) and
used whenever a search does not set one; an index built before the calibration uses :data:`DEFAULT_SHORTLIST`.

:func:`open_index` reads it back and checks it is whole; :meth:`SearchIndex.search` runs the funnel on query
embeddings and :func:`search_texts` on query texts, encoded with the index's own model on its encoder backend
(a different model or embedding size is refused, naming both, and so is another backend unless allowed). The
folder is written under a temporary name and renamed when complete, so an interrupted build leaves nothing at
``INDEX``; an existing folder is only replaced when ``overwrite`` is set and it holds nothing but a mic index
(:mod:`mic.staging`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mic import __version__
from mic.data.corpus import iter_documents
from mic.defaults import DEFAULT_BATCH_SIZE
from mic.encoder_backends import BACKENDS as ENCODER_BACKENDS
from mic.encoder_backends import DEFAULT_BACKEND, FULL_PRECISION
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
    check_options,
    open_reader,
    open_writer,
)
from mic.retrieval.calibration import Calibration, calibrate, check_calibration
from mic.retrieval.corpus import Document, chunked
from mic.retrieval.defaults import (
    DEFAULT_CALIBRATION_QUERIES,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_INDEX_BACKEND,
    DEFAULT_INDEX_ENCODER_BACKEND,
    DEFAULT_K,
    DEFAULT_KIND,
    DEFAULT_PRECISION,
    DEFAULT_RERANK_PRECISION,
    DEFAULT_SHORTLIST,
    DEFAULT_TARGET_RECALL,
)
from mic.retrieval.errors import IndexFileError, RetrievalError
from mic.retrieval.light_encoder import LightEncoder, write_light_encoder
from mic.retrieval.search import Hits, prefix
from mic.staging import OutputKind, check_output, staged_output

if TYPE_CHECKING:
    import torch

    from mic.adapt import Adapter
    from mic.encoders import Encoder

SCHEMA = "mic-index/1"
SEARCH_SCHEMA = "mic-search/1"
META_FILE = "meta.json"
INDEX_OUTPUT = OutputKind("index", META_FILE, lambda meta: meta.get("schema") == SCHEMA)
"""An index folder; one built before ``mic_output.json`` existed is known by its ``meta.json`` schema."""
CALIBRATION_SAMPLE = 50_000
"""Documents the int8 quantizers are trained on (per-dim min/max): evenly spaced over the whole corpus, so the
ranges do not depend on ``chunk_size`` or on which documents come first (77 MB of vectors at 384 dims)."""
ADAPTER_FOLDER = "adapter"
SELF_TEACHER = "self"
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


class IndexAdapter(BaseModel):
    """The adapter of an index built with ``adapt`` (``meta.json``'s ``adapter``).

    Attributes:
        folder: its folder inside the index (:meth:`mic.adapt.Adapter.save`).
        rows: documents it was fitted on (all of them, or a seeded sample).
        seed: the seed of the sample and of the fit.
        teacher: whose full embeddings of those documents its prefixes were fitted to keep: ``self`` (the index's
            own encoder's) or the fp32 backend that encoded them again for an int8 index
            (:data:`mic.encoder_backends.FULL_PRECISION`: ``onnx``), so that the adapter also corrects the
            quantization error.
    """

    model_config = ConfigDict(extra="forbid")

    folder: str = ADAPTER_FOLDER
    rows: int
    seed: int
    teacher: str = SELF_TEACHER


class IndexMeta(BaseModel):
    """The metadata of an index folder (``meta.json``)."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    schema_: str = Field(SCHEMA, alias="schema")
    mic_version: str
    backend: str
    model: str
    fingerprint: str = Field(description="the model's as a torch model, whatever backend encoded the documents")
    encoder_backend: str = DEFAULT_BACKEND
    query_encoder: str | None = Field(None, description="subfolder of the light query path (ONNX backends)")
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
    adapter: IndexAdapter | None = None
    calibration: Calibration | None = None
    build_seconds: dict[str, float] = Field(default_factory=dict)
    doc_ids: list[str]

    @property
    def layout(self) -> Layout:
        return Layout(self.dim, self.full_dim, self.precision, self.kind, self.rerank_precision)

    def check_k(self, k: int, option: str = "k") -> None:
        """Refuse ``k`` hits per query beyond the index's documents, naming ``option`` (``--k`` on the command line).

        Raises:
            RetrievalError: naming ``k``, the document count and the largest ``k`` allowed.
        """
        if k > self.count:
            raise RetrievalError(
                f"{option} {k} is more than the {self.count} documents of the index; give {option} {self.count} "
                "or less."
            )

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
    precision: str = DEFAULT_PRECISION,
    kind: str = DEFAULT_KIND,
    backend: str = DEFAULT_INDEX_BACKEND,
    rerank_precision: str = DEFAULT_RERANK_PRECISION,
    url: str | None = None,
    collection: str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    batch_size: int = DEFAULT_BATCH_SIZE,
    data_dir: str | Path | None = None,
    device: str | None = None,
    overwrite: bool = False,
    show_progress_bar: bool | None = False,
    cache_dir: str | Path | None = None,
    adapt: bool = False,
    adapt_sample: int | None = None,
    adapt_settings: Mapping[str, object] | None = None,
    calibration_queries: int = DEFAULT_CALIBRATION_QUERIES,
    target_recall: float = DEFAULT_TARGET_RECALL,
    seed: int = 0,
    report: Callable[[str], None] | None = None,
    encoder_backend: str | None = None,
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
            from it, so a new dim or precision does not encode it again. ONNX exports are kept there too.
        adapt: fit the unsupervised adapter (:func:`mic.adapt.fit`, ``mic adapt``'s default settings) on the
            documents' embeddings, store it in ``out/adapter`` and index the adapted vectors; queries are adapted
            by :meth:`SearchIndex.search`. On ``onnx-int8`` its teacher is the fp32 (``onnx``) encoding of the fit
            documents (through the embedding cache), so it also corrects the quantization error.
        adapt_sample: fit the adapter on this many documents (a seeded sample; ``None``: all of them).
        adapt_settings: fields of :class:`mic.adapt.FitSettings` other than ``mic adapt``'s defaults (``steps``...).
        calibration_queries: documents sampled as queries to calibrate the shortlist depth
            (:mod:`mic.retrieval.calibration`).
        target_recall: the recall@10 against exact full-dim search the calibrated depth must reach.
        seed: the seed of the calibration sample, the adapter's sample and its fit.
        encoder_backend: ``torch``, ``onnx`` or ``onnx-int8`` (:mod:`mic.onnx`); with an ONNX backend the index
            also stores its light query path (:mod:`mic.retrieval.light_encoder`) when the model allows.
            ``None``: :data:`~mic.retrieval.defaults.DEFAULT_INDEX_ENCODER_BACKEND` for a transformer model,
            ``torch`` for a model with no transformer to export (``wordllama``), said in a ``report`` line.
        report: called with one plain line at the end of each phase (encode, teacher for an int8 adapter, fit,
            build, calibrate) and its time.

    Raises:
        RetrievalError: for a bad option value (``encoder_backend`` included), a ``dim`` outside the model, or
            fewer documents to fit the adapter on than one batch.
        OutputError: for an ``out`` that may not be written or replaced (see :func:`mic.staging.check_output`).
        DataError: for a missing or empty corpus, a malformed line or a document without text (nothing is written).
        ModelError: when the model cannot be loaded.
    """
    _choose(precision, PRECISIONS, "--precision")
    _choose(backend, BACKENDS, "--backend")
    _choose(rerank_precision, RERANK_PRECISIONS, "--rerank-precision")
    if encoder_backend is not None:
        _choose(encoder_backend, ENCODER_BACKENDS, "--encoder-backend")
    options = {"url": url, "collection": collection} if backend == "qdrant" else {}
    check_options(backend, rerank_precision, options)
    resolve_kind(kind, 0)
    if chunk_size < 1:
        raise RetrievalError(f"--chunk-size must be a positive number of documents, got {chunk_size}.")
    if adapt_sample is not None and adapt_sample < 1:
        raise RetrievalError(f"--adapt-sample must be a positive number of documents, got {adapt_sample}.")
    check_calibration(calibration_queries, target_recall)
    out = check_output(out, INDEX_OUTPUT, overwrite=overwrite, option="--out")  # before any encoding
    doc_ids = [document.id for document in iter_documents(corpus, data_dir)]  # validates every row first
    from mic.cache import cached_encode_chunks
    from mic.encoders import absolute_spec, base_fingerprint, load_encoder, on_backend
    from mic.onnx import NotATransformerError
    from mic.progress import Progress

    tell = report or (lambda line: None)
    try:
        encoder = load_encoder(model, data_dir=data_dir, device=device, cache_dir=cache_dir,
                               backend=encoder_backend or DEFAULT_INDEX_ENCODER_BACKEND)  # fmt: skip
    except NotATransformerError:
        if encoder_backend is not None:
            raise
        tell(f"{model} has no transformer to export, so it is encoded on the torch encoder backend")
        encoder = load_encoder(model, data_dir=data_dir, device=device, backend="torch", cache_dir=cache_dir)
    full_dim = encoder.dim
    if not 1 <= dim <= full_dim:
        raise RetrievalError(f"--dim {dim} is outside 1..{full_dim}, the embedding size of {model}.")
    layout = Layout(dim, full_dim, precision, resolve_kind(kind, len(doc_ids)), rerank_precision)  # type: ignore[arg-type]

    def texts() -> Iterator[list[str]]:
        return (
            [document.text for document in chunk] for chunk in chunked(iter_documents(corpus, data_dir), chunk_size)
        )

    count = len(doc_ids)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    with Progress(count, "Encoding", "documents", show=show_progress_bar) as progress:
        outputs = cached_encode_chunks(encoder, texts, count, cache_dir, batch_size=batch_size, on_rows=progress.update)
    seconds["encode"] = round(time.perf_counter() - started, 3)
    tell(f"Encoded {count} documents (or read them from the cache) in {seconds['encode']:.1f} s")
    adapter = None
    teacher_backend = FULL_PRECISION.get(encoder.backend)
    if adapt:
        rows = adapter_rows(count, adapt_sample, seed, adapt_settings)
        teacher = None
        if teacher_backend is not None:
            started = time.perf_counter()
            teacher_encoder = on_backend(encoder, teacher_backend, cache_dir)

            def sample_texts() -> Iterator[list[str]]:
                picked = np.zeros(count, dtype=bool)
                picked[rows] = True
                documents = (document for row, document in enumerate(iter_documents(corpus, data_dir)) if picked[row])
                return ([document.text for document in chunk] for chunk in chunked(documents, chunk_size))

            with Progress(len(rows), f"Encoding the adapter's teacher ({teacher_backend})", "documents",
                          show=show_progress_bar) as progress:  # fmt: skip
                teacher_outputs = cached_encode_chunks(teacher_encoder, sample_texts, len(rows), cache_dir,
                                                       batch_size=batch_size, on_rows=progress.update)  # fmt: skip
            teacher = model_vectors(teacher_encoder, teacher_outputs)
            seconds["teacher"] = round(time.perf_counter() - started, 3)
            tell(
                f"Encoded the adapter's {len(rows)} documents in fp32 on {teacher_backend}, its teacher "
                f"(or read them from the cache) in {seconds['teacher']:.1f} s"
            )
        started = time.perf_counter()
        adapter = fit_index_adapter(encoder, outputs, rows, model, dim, seed, adapt_settings, show_progress_bar,
                                    teacher)  # fmt: skip
        seconds["fit"] = round(time.perf_counter() - started, 3)
        tell(f"Fitted the adapter on {adapter.info['rows']} documents in {seconds['fit']:.1f} s")

    def vectors(start: int, stop: int) -> Array:
        return unit_vectors(encoder, outputs[start:stop], adapter)

    quantizer_rows = np.unique(np.linspace(0, count - 1, min(count, CALIBRATION_SAMPLE)).round().astype(np.int64))
    with staged_output(out, INDEX_OUTPUT, overwrite=overwrite, option="--out") as folder:
        started = time.perf_counter()
        writer = open_writer(backend, folder, layout, options, unit_vectors(encoder, outputs[quantizer_rows], adapter))
        try:  # until meta.json points to it, a server collection is removed by the writer's abort
            with Progress(count, "Indexing", "documents", show=show_progress_bar) as progress:
                for start in range(0, count, chunk_size):
                    stop = min(start + chunk_size, count)
                    writer.add(vectors(start, stop), doc_ids[start:stop])
                    progress.update(stop - start)
            fields = writer.finish()
            if adapter is not None:
                adapter.save(folder / ADAPTER_FOLDER)
            seconds["build"] = round(time.perf_counter() - started, 3)
            tell(f"Built the {layout.kind} {dim}-dim {layout.precision} index in {seconds['build']:.1f} s")
            started = time.perf_counter()
            reader = open_reader(backend, folder, layout, count, fields, url)
            try:
                calibration = calibrate(
                    reader.search, vectors, count, queries=calibration_queries, seed=seed, target_recall=target_recall
                )
            finally:
                reader.close()
            seconds["calibrate"] = round(time.perf_counter() - started, 3)
            tell(
                f"Calibrated the shortlist in {seconds['calibrate']:.1f} s: "
                + (calibration.summary() if calibration else f"{count} documents, any shortlist is all of them")
            )
            meta = IndexMeta(
                mic_version=__version__,
                backend=backend,
                model=absolute_spec(model),
                fingerprint=base_fingerprint(encoder),
                encoder_backend=encoder.backend,
                query_encoder=write_light_encoder(encoder, folder),
                full_dim=full_dim,
                dim=dim,
                precision=layout.precision,
                kind=layout.kind,
                rerank_precision=layout.rerank_precision,
                count=len(doc_ids),
                backend_fields=fields,
                adapter=None
                if adapter is None
                else IndexAdapter(rows=adapter.info["rows"], seed=seed, teacher=teacher_backend or SELF_TEACHER),
                calibration=calibration,
                build_seconds=seconds,
                doc_ids=doc_ids,
            )
            (folder / META_FILE).write_text(meta.model_dump_json(by_alias=True, indent=1) + "\n", encoding="utf-8")
        except BaseException:
            writer.abort()
            raise
    return meta


def model_vectors(encoder: Encoder, outputs: npt.ArrayLike) -> torch.Tensor:
    """``(n, D)`` cached model outputs as the encoder gives them: rotated for a ``pca:`` encoder."""
    import torch

    rows = torch.from_numpy(np.array(outputs, dtype=np.float32))
    return rows if encoder.projection is None else encoder.projection.apply(rows)


def unit_vectors(encoder: Encoder, outputs: npt.ArrayLike, adapter: Adapter | None = None) -> Array:
    """Unit full-dim vectors of ``(n, D)`` cached model outputs, as the index holds them (adapted by ``adapter``)."""
    rows = model_vectors(encoder, outputs)
    if adapter is not None:
        rows = adapter.transform(rows)
    return prefix(rows.numpy(), rows.shape[1])


def adapter_rows(count: int, sample: int | None, seed: int, settings: Mapping[str, object] | None) -> np.ndarray:
    """The sorted rows of ``count`` documents the index's adapter is fitted on: all, or a seeded sample of ``sample``.

    Raises:
        RetrievalError: when they are fewer than one fit batch (``settings``' ``batch_size`` or the default).
    """
    from mic.adapt import FitSettings

    rows = np.arange(count)
    if sample is not None and sample < count:
        rows = np.sort(np.random.default_rng(seed).choice(count, sample, replace=False))
    batch = (settings or {}).get("batch_size", FitSettings.model_fields["batch_size"].default)
    if isinstance(batch, int) and len(rows) < batch:
        raise RetrievalError(
            f"--adapt fits the adapter on batches of {batch} documents, but it has {len(rows)} to fit on; "
            f"index more documents{' or raise --adapt-sample' if sample is not None else ''}, or leave out --adapt."
        )
    return rows


def fit_index_adapter(
    encoder: Encoder,
    outputs: npt.ArrayLike,
    rows: np.ndarray,
    model: str,
    dim: int,
    seed: int,
    settings: Mapping[str, object] | None,
    show_progress_bar: bool | None,
    teacher: torch.Tensor | None = None,
) -> Adapter:
    """``mic adapt``'s unsupervised fit on the model vectors of the documents' ``rows`` (:func:`adapter_rows`).

    The prefix dims are ``mic adapt``'s default ones and the index's ``dim``; ``teacher`` (the same documents'
    vectors from another encoding, row for row, e.g. fp32 for an int8 encoder) is the one whose similarities the
    prefixes keep (``None``: the documents' own vectors).
    """
    from mic.adapt import fit
    from mic.adapt.fit import resolve_fit_dims
    from mic.encoders import base_fingerprint

    return fit(
        model_vectors(encoder, np.asarray(outputs)[rows]),
        sorted({*resolve_fit_dims(None, encoder.dim), dim}),
        teacher_embeddings=teacher,
        base_model=model,
        base_fingerprint=base_fingerprint(encoder),
        show_progress_bar=show_progress_bar,
        **{"seed": seed, **(settings or {})},
    )


@dataclass
class SearchIndex:
    """An opened index: its metadata, the backend reader that runs the funnel, and its adapter if it has one."""

    path: Path
    meta: IndexMeta
    reader: Reader
    adapter: Adapter | None = None

    def default_shortlist(self, k: int = DEFAULT_K) -> int:
        """The shortlist depth of a search that sets none: the calibrated depth (else :data:`DEFAULT_SHORTLIST`),
        at least ``k``."""
        depth = self.meta.calibration.depth if self.meta.calibration is not None else DEFAULT_SHORTLIST
        return max(depth, k)

    def search(self, queries: npt.ArrayLike, k: int = DEFAULT_K, shortlist: int | None = None) -> Hits:
        """The funnel for ``(Q, D)`` full-dim query embeddings: ``shortlist`` by the prefix, best ``k`` at full dim.

        The queries are the model's embeddings; an index built with ``adapt`` maps them by its adapter first.
        ``shortlist``: ``None`` is :meth:`default_shortlist`.

        Raises:
            RetrievalError: for query vectors of another width than the index's, ``k < 1`` or ``shortlist < k``.
        """
        matrix = np.asarray(queries, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[1] != self.meta.full_dim:
            raise RetrievalError(
                f"{self.path} holds {self.meta.full_dim}-dim vectors of {self.meta.model}; the queries have shape "
                f"{matrix.shape}. Encode them with {self.meta.model}."
            )
        if shortlist is None:
            shortlist = self.default_shortlist(k)
        if k < 1 or shortlist < k:
            raise RetrievalError(f"need 1 <= --k <= --shortlist; got --k {k} and --shortlist {shortlist}.")
        if self.adapter is not None:
            matrix = self.adapter.transform(matrix).numpy()
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
    adapter = None
    if meta.adapter is not None:
        from mic.adapt import Adapter, AdapterError

        try:
            adapter = Adapter.load(folder / meta.adapter.folder)
        except AdapterError as error:
            raise IndexFileError(f"{error} The index is damaged; build it again.") from None
    return SearchIndex(
        folder, meta, open_reader(meta.backend, folder, meta.layout, meta.count, meta.backend_fields, url), adapter
    )


@dataclass(frozen=True)
class QueryResult:
    """One query's hits, best first: ``(document id, full-dim cosine)`` pairs."""

    query_id: str
    query: str
    hits: list[tuple[str, float]]


class QueryEncoder(Protocol):
    """What encodes queries: an :class:`~mic.encoders.Encoder`, or the index's
    :class:`~mic.retrieval.light_encoder.LightEncoder`."""

    @property
    def backend(self) -> str: ...

    def encode(self, sentences: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> npt.ArrayLike: ...


def load_query_encoder(
    index: SearchIndex,
    model: str | None = None,
    device: str | None = None,
    *,
    encoder_backend: str | None = None,
    allow_backend_mismatch: bool = False,
    cache_dir: str | Path | None = None,
) -> QueryEncoder:
    """The encoder of ``index``'s queries: its own model (or ``model`` when that is the same) on its backend.

    With neither ``model`` nor a ``device`` other than the CPU, an index that stored its light query path
    (:mod:`mic.retrieval.light_encoder`) is queried through it, without loading torch.

    Args:
        index: the opened index.
        model: the query model (default: the index's); it must be the index's model.
        device: torch device of the query model.
        encoder_backend: the query encoder's backend (default: the index's, ``meta.json``'s ``encoder_backend``).
        allow_backend_mismatch: let queries be encoded by another backend than the index's documents.
        cache_dir: where the full path's ONNX exports are kept (see :func:`mic.encoders.load_encoder`).

    Raises:
        RetrievalError: when ``model`` is not the model the index was built with (its fingerprint as a torch
            model, or its width, differs), or when ``encoder_backend`` is unknown, or not the index's and the
            mismatch is not allowed, naming both.
        ModelError: when the model cannot be loaded.
    """
    meta = index.meta
    backend = encoder_backend or meta.encoder_backend
    _choose(backend, ENCODER_BACKENDS, "--encoder-backend")
    if backend != meta.encoder_backend and not allow_backend_mismatch:
        raise RetrievalError(
            f"{index.path} was encoded by the {meta.encoder_backend} encoder backend; these queries would be "
            f"encoded by {backend}. Query with --encoder-backend {meta.encoder_backend}, or pass "
            "--allow-backend-mismatch to mix them."
        )
    if model is None and backend == meta.encoder_backend and meta.query_encoder and device in (None, "cpu"):
        return LightEncoder(index.path / meta.query_encoder)
    from mic.encoders import base_fingerprint, load_encoder

    name = model or meta.model
    encoder = load_encoder(name, device=device, backend=backend, cache_dir=cache_dir)
    fingerprint, width = base_fingerprint(encoder), encoder.dim
    if (fingerprint, width) != (meta.fingerprint, meta.full_dim):
        raise RetrievalError(
            f"{index.path} was built with {meta.model} ({meta.full_dim} dims, fingerprint "
            f"{meta.fingerprint}); the query model {name} is another ({width} dims, fingerprint {fingerprint}). "
            f"Query with {meta.model}, or build an index with {name}."
        )
    return encoder


def search_encoded(
    index: SearchIndex,
    encoder: QueryEncoder,
    queries: Sequence[Document],
    *,
    k: int = DEFAULT_K,
    shortlist: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> list[QueryResult]:
    """Encode ``queries`` with ``encoder`` (from :func:`load_query_encoder`) and run the funnel.

    ``shortlist``: ``None`` is the index's :meth:`SearchIndex.default_shortlist`.

    Raises:
        RetrievalError: for a query without text, ``k < 1`` or ``shortlist < k``.
    """
    for query in queries:
        if not query.text.strip():
            raise RetrievalError(f"{query.origin}: query {query.id!r} has no text.")
    embeddings = np.asarray(encoder.encode([query.text for query in queries], batch_size=batch_size))
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
    shortlist: int | None = None,
    model: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device: str | None = None,
    encoder_backend: str | None = None,
    allow_backend_mismatch: bool = False,
    cache_dir: str | Path | None = None,
) -> list[QueryResult]:
    """Encode ``queries`` with the index's model (or ``model``, which must be the same) and run the funnel.

    ``shortlist``: ``None`` is the index's :meth:`SearchIndex.default_shortlist`.

    Loads the encoder on every call (see :func:`load_query_encoder` for ``encoder_backend``,
    ``allow_backend_mismatch`` and ``cache_dir``); a caller that searches many times keeps
    :func:`load_query_encoder`'s encoder and calls :func:`search_encoded`.

    Raises:
        RetrievalError: for a query without text, a ``model`` that is not the index's, or a backend mismatch not
            allowed (naming both).
        ModelError: when the model cannot be loaded.
    """
    encoder = load_query_encoder(index, model, device, encoder_backend=encoder_backend,
                                 allow_backend_mismatch=allow_backend_mismatch, cache_dir=cache_dir)  # fmt: skip
    return search_encoded(index, encoder, queries, k=k, shortlist=shortlist, batch_size=batch_size)


def results_to_dict(index: SearchIndex, results: Sequence[QueryResult], k: int, shortlist: int) -> dict[str, object]:
    """The JSON record of a search (schema ``mic-search/1``): the index, its model and layout, and every hit."""
    meta = index.meta
    return {
        "schema": SEARCH_SCHEMA,
        "index": str(index.path),
        "model": meta.model,
        "fingerprint": meta.fingerprint,
        "encoder_backend": meta.encoder_backend,
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
