"""``mic serve``: an index behind an HTTP JSON API, with the encoder and the index loaded once.

:func:`create_app` opens an index folder and loads its query encoder (:func:`mic.retrieval.index.load_query_encoder`),
then answers over FastAPI:

    POST /search    ``{"query": TEXT}`` or ``{"queries": [TEXT, ...]}``, optional ``k`` and ``shortlist``:
                    each query's best ``k`` documents (id and full-dim cosine), best first, by the same funnel
                    as ``mic search`` (:func:`mic.retrieval.index.search_encoded`)
    GET /health     ``ok`` and what the index is: documents, dims, precision, kind, backend, model
    GET /docs       the OpenAPI documentation (``/openapi.json`` is the schema)

The index keeps document ids, not texts, so hits carry ids and scores. Every request is validated before
anything is encoded: at most :data:`MAX_QUERIES` queries of 1 to :data:`MAX_QUERY_CHARS` characters (not only
whitespace), ``1 <= k <= min(documents, MAX_K)``, ``k <= shortlist <= MAX_SHORTLIST``; a bad one gets a 422
naming the field and the limit. Without ``shortlist`` the depth is ``mic search``'s default, the index's
calibrated depth (:meth:`mic.retrieval.index.SearchIndex.default_shortlist`); a shortlist longer than the index
is the whole index (exact search). An unexpected failure inside one request answers 500 with its message and the
service keeps serving.

FastAPI runs the sync ``/search`` on a thread pool, and the encoder may not be called from two threads at
once: it switches the model's truncation while it encodes (``SentenceTransformer.truncate_embeddings``), and a
Hugging Face fast tokenizer refuses concurrent use ("Already borrowed"); the Qdrant Edge shard makes no
promise either. One lock serialises encoding and searching (a request is compute-bound, so on one core this
costs nothing); ``/health`` is async and never waits for it.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Literal

import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from mic import __version__
from mic.retrieval.backends import Kind, Precision
from mic.retrieval.corpus import Document
from mic.retrieval.defaults import DEFAULT_K
from mic.retrieval.errors import RetrievalError
from mic.retrieval.index import (
    QueryEncoder,
    SearchIndex,
    load_query_encoder,
    open_index,
    search_encoded,
)

MAX_QUERIES = 256
"""Queries in one request: bounds the work one request does while it holds the lock."""
MAX_QUERY_CHARS = 10_000
"""Characters of one query; the encoder reads only its first few hundred tokens anyway."""
MAX_K = 1_000
"""Hits per query."""
MAX_SHORTLIST = 10_000
"""Shortlist depth: every shortlisted full vector is gathered and re-scored, per query."""


def has_text(text: str) -> str:
    """``text`` itself, unless it is only whitespace."""
    if not text.strip():
        raise ValueError("a query is only whitespace; give it some text")
    return text


QueryText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_QUERY_CHARS), AfterValidator(has_text)]


class SearchRequest(BaseModel):
    """One or many queries, and how many hits each gets."""

    model_config = ConfigDict(extra="forbid", strict=True)

    query: QueryText | None = Field(None, description="one query text (give this or `queries`)")
    queries: list[QueryText] | None = Field(
        None, min_length=1, max_length=MAX_QUERIES, description=f"1 to {MAX_QUERIES} query texts"
    )
    k: int = Field(DEFAULT_K, ge=1, le=MAX_K, description="hits per query (at most the index's documents)")
    shortlist: int | None = Field(
        None,
        ge=1,
        le=MAX_SHORTLIST,
        description=f"candidates found on the prefix and re-ranked at full dim: k to {MAX_SHORTLIST} "
        "(default: the depth calibrated when the index was built, at least k)",
    )

    @model_validator(mode="after")
    def one_form_and_k_within_shortlist(self) -> SearchRequest:
        if (self.query is None) == (self.queries is None):
            raise ValueError("give exactly one of `query` (a text) or `queries` (a list of texts)")
        if self.shortlist is not None and self.k > self.shortlist:
            raise ValueError(f"k {self.k} is more than the shortlist {self.shortlist}; need k <= shortlist")
        return self

    @property
    def texts(self) -> list[str]:
        return [self.query] if self.query is not None else list(self.queries or [])


class Hit(BaseModel):
    """One document: its id in the index and its full-dim cosine to the query."""

    id: str
    score: float


class QueryHits(BaseModel):
    """One query's hits, best first."""

    query: str
    hits: list[Hit]


class SearchResponse(BaseModel):
    """The hits of every query of the request, in request order."""

    k: int
    shortlist: int = Field(description="the depth searched: the request's or the index's default, cut to its size")
    results: list[QueryHits]


class Health(BaseModel):
    """The service is up, and what it serves."""

    status: Literal["ok"] = "ok"
    mic_version: str
    index: str
    documents: int
    dim: int = Field(description="the prefix dim the shortlist is searched at")
    full_dim: int
    precision: Precision
    kind: Kind
    backend: str
    model: str
    fingerprint: str
    encoder_backend: str


class ErrorMessage(BaseModel):
    """Why a request failed."""

    detail: str


def create_app(
    index_path: str | Path,
    *,
    url: str | None = None,
    device: str | None = None,
    encoder_backend: str | None = None,
    allow_backend_mismatch: bool = False,
) -> FastAPI:
    """The search service of the index at ``index_path``: opened, and its encoder loaded, before this returns.

    Args:
        index_path: an index folder written by :func:`mic.retrieval.index.build_index`.
        url: Qdrant server URL overriding the one a server index was built on.
        device: torch device of the query encoder.
        encoder_backend: the query encoder's backend (default: the index's).
        allow_backend_mismatch: let queries be encoded by another backend than the index's documents.

    Raises:
        IndexFileError: for a missing or damaged index.
        RetrievalError: for a backend other than the index's without ``allow_backend_mismatch``.
        ModelError: when the index's model cannot be loaded.
    """
    index = open_index(index_path, url=url)
    try:
        encoder = load_query_encoder(
            index, device=device, encoder_backend=encoder_backend, allow_backend_mismatch=allow_backend_mismatch
        )
    except BaseException:
        index.close()
        raise
    lock = threading.Lock()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        index.close()

    app = FastAPI(
        title="mic search",
        version=__version__,
        summary=f"Funnel search over {index.meta.count} documents of {index.path}, encoded by {index.meta.model}.",
        lifespan=lifespan,
    )

    @app.exception_handler(Exception)
    async def internal_error(_: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": internal_error_message(error)}, status_code=500)

    @app.post("/search", responses={422: {"model": ErrorMessage}, 500: {"model": ErrorMessage}})
    def search(request: SearchRequest) -> SearchResponse:
        """Each query's best ``k`` documents: shortlisted on the prefix, re-ranked at full dim."""
        try:
            return run_search(index, encoder, request, lock)
        except HTTPException:
            raise
        except Exception as error:
            # Answered here rather than by the app's handler, which re-raises to uvicorn, and uvicorn then
            # drops the client's keep-alive connection.
            logging.getLogger("uvicorn.error").exception("POST /search failed")
            raise HTTPException(500, internal_error_message(error)) from None

    @app.get("/health")
    async def health() -> Health:
        """``ok`` and what the index is."""
        meta = index.meta
        return Health(mic_version=__version__, index=str(index.path), documents=meta.count, dim=meta.dim,
                      full_dim=meta.full_dim, precision=meta.precision, kind=meta.kind, backend=meta.backend,
                      model=meta.model, fingerprint=meta.fingerprint, encoder_backend=meta.encoder_backend)  # fmt: skip

    return app


def internal_error_message(error: Exception) -> str:
    """What a client is told of an unexpected failure: its type and message."""
    return f"internal error: {type(error).__name__}: {error}"


def run_search(
    index: SearchIndex, encoder: QueryEncoder, request: SearchRequest, lock: threading.Lock
) -> SearchResponse:
    """Answer one validated request under ``lock``; a ``k`` beyond the index, or a query it refuses, is a 422."""
    try:
        index.meta.check_k(request.k)
    except RetrievalError as error:
        raise HTTPException(422, str(error)) from None
    shortlist = min(
        index.default_shortlist(request.k) if request.shortlist is None else request.shortlist, index.meta.count
    )
    queries = [Document(str(row), text, f"query {row}") for row, text in enumerate(request.texts)]
    try:
        with lock:
            results = search_encoded(index, encoder, queries, k=request.k, shortlist=shortlist)
    except RetrievalError as error:
        raise HTTPException(422, str(error)) from None
    return SearchResponse(
        k=request.k,
        shortlist=shortlist,
        results=[
            QueryHits(query=result.query, hits=[Hit(id=identifier, score=score) for identifier, score in result.hits])
            for result in results
        ],
    )


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (``port`` 0: any free port) and listening.

    Raises:
        RetrievalError: when the address cannot be bound (in use, or not this machine's), naming it.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that name it, and without it every
    # keep-alive response waits ~40 ms for the client's delayed ACK (Nagle's algorithm).
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(2048)
    except OSError as error:
        listener.close()
        reason = error.strerror or str(error)
        raise RetrievalError(f"cannot listen on {host}:{port} ({reason}); choose another --host or --port.") from None
    return listener


def server(app: FastAPI, log_level: str = "info") -> uvicorn.Server:
    """A uvicorn server for ``app``; run it with ``server.run(sockets=[listen(host, port)])``."""
    return uvicorn.Server(uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=5))
