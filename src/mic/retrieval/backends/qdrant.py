"""The server backend: one collection on a Qdrant server or cluster, the funnel done by the engine there.

The collection has the layout of :mod:`mic.retrieval.backends.qdrant_layout` (payload ``{"id": document id}``
besides): named vectors ``prefix`` (``d`` dims) and ``full`` (``D`` dims), both cosine. A search is one
``query_points`` call per query batch: a ``prefetch`` of ``k'`` candidates on ``prefix``, re-scored on ``full``
(Qdrant's documented multi-stage query). The prefetch ranks by the quantized prefixes alone (``rescore=False``,
``hnsw_ef = k'``), the funnel Qdrant Edge runs. Building an index waits until the server has indexed the collection
(status green), so the calibration measures the index as it will be served. The prefix carries the index's
precision as Qdrant quantization (``int8``: scalar, ``binary``: binary quantization; ``float32``: none) and, for
``kind="flat"``, no HNSW graph (``m=0``: exact scan); the full vector is stored as float16 on disk and never
graphed (it only re-scores). The index folder keeps only the metadata naming the URL and collection. Without a URL
the index is an embedded Qdrant Edge shard instead (:mod:`mic.retrieval.backends.qdrant_edge`).
"""

from __future__ import annotations

import os
import time
import uuid
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException

from mic.retrieval.backends import HNSW_M, Array, Layout
from mic.retrieval.backends.qdrant_layout import FULL_VECTOR, PREFIX_VECTOR, points_to_hits, require_float16_rerank
from mic.retrieval.errors import IndexFileError, RetrievalError
from mic.retrieval.search import Hits, prefix

API_KEY_ENV = "QDRANT_API_KEY"
OPTIMIZE_TIMEOUT = 3600.0
"""Seconds :meth:`QdrantWriter.finish` waits for the server to build the collection's graph and quantized prefixes."""
OPTIMIZE_POLL = 1.0
"""Seconds between two looks at the collection's status."""
# qdrant-client reports an unreachable server twice more, from its version-check thread and when it closes the
# client; the first request already says it in one line (``reachable``). Its version-mismatch warning stays.
warnings.filterwarnings("ignore", message="Failed to obtain server version", category=UserWarning)
warnings.filterwarnings("ignore", message="Unable to close http connection", category=RuntimeWarning)


@contextmanager
def reachable(url: str) -> Iterator[None]:
    """Turn a failed connection to the server at ``url`` into a one-line :class:`RetrievalError`."""
    try:
        yield
    except ResponseHandlingException as error:
        raise RetrievalError(
            f"Qdrant server unreachable at {url}: {error}; start it, or pass the right --url."
        ) from None


def connect(url: str) -> QdrantClient:
    """A client of the server at ``url`` (API key from ``$QDRANT_API_KEY``)."""
    return QdrantClient(url=url, api_key=os.environ.get(API_KEY_ENV))


def prefix_quantization(layout: Layout) -> models.ScalarQuantization | models.BinaryQuantization | None:
    """Qdrant's quantization of the prefix vector for the index precision."""
    if layout.precision == "int8":
        return models.ScalarQuantization(scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8))
    if layout.precision == "binary":
        return models.BinaryQuantization(binary=models.BinaryQuantizationConfig())
    return None


class QdrantWriter:
    """Creates the collection on the server and upserts each chunk's prefix and full vectors."""

    def __init__(self, layout: Layout, url: str, collection: str | None = None) -> None:
        require_float16_rerank(layout.rerank_precision)
        self.layout, self.url = layout, url
        self.collection = collection or f"mic-{uuid.uuid4().hex[:12]}"
        self.client = connect(url)
        with reachable(url):
            if self.client.collection_exists(self.collection):
                self.client.close()
                raise RetrievalError(
                    f"Qdrant collection {self.collection!r} already exists at {url}; choose another name."
                )
            graph = models.HnswConfigDiff(m=HNSW_M if layout.kind == "hnsw" else 0)
            self.client.create_collection(
                self.collection,
                vectors_config={
                    PREFIX_VECTOR: models.VectorParams(
                        size=layout.dim,
                        distance=models.Distance.COSINE,
                        hnsw_config=graph,
                        quantization_config=prefix_quantization(layout),
                    ),
                    FULL_VECTOR: models.VectorParams(
                        size=layout.full_dim,
                        distance=models.Distance.COSINE,
                        hnsw_config=models.HnswConfigDiff(m=0),
                        on_disk=True,
                        datatype=models.Datatype.FLOAT16,
                    ),
                },
            )
        self.count = 0

    def add(self, full: Array, ids: Sequence[str]) -> None:
        with reachable(self.url):
            self.client.upload_collection(
                self.collection,
                vectors={PREFIX_VECTOR: prefix(full, self.layout.dim), FULL_VECTOR: full},
                payload=[{"id": identifier} for identifier in ids],
                ids=list(range(self.count, self.count + len(full))),
                wait=True,
            )
        self.count += len(full)

    def finish(self) -> dict[str, object]:
        """Wait until the server has indexed the collection (:func:`wait_until_optimized`), so what is searched
        next (the calibration) is the index as it will be served."""
        with reachable(self.url):
            wait_until_optimized(self.client, self.collection, self.url)
        self.client.close()
        return {"collection": self.collection, "url": self.url}

    def abort(self) -> None:
        """Remove the collection this writer created (it lives outside the temporary folder), if the server
        answers; also after :meth:`finish`, which closed the writer's own client."""
        self.client.close()
        client = connect(self.url)
        try:
            with reachable(self.url):
                client.delete_collection(self.collection)
        finally:
            client.close()


def wait_until_optimized(
    client: QdrantClient,
    collection: str,
    url: str,
    timeout: float = OPTIMIZE_TIMEOUT,
    poll: float = OPTIMIZE_POLL,
) -> None:
    """Return once ``collection``'s status is green: every segment indexed (``upload_collection(wait=True)`` only
    waits for the points to be stored). A grey collection (optimizations pending, not started) is asked to start
    them by an empty optimizer update, as Qdrant's documentation advises.

    Raises:
        RetrievalError: when the server reports the optimization failed (red), or it is not done after ``timeout``.
    """
    deadline = time.monotonic() + timeout
    while (status := client.get_collection(collection).status) != models.CollectionStatus.GREEN:
        if status == models.CollectionStatus.RED:
            raise RetrievalError(
                f"Qdrant collection {collection!r} at {url} failed to build its index (status red); "
                "see the server's log, then build the index again."
            )
        if time.monotonic() >= deadline:
            raise RetrievalError(
                f"Qdrant collection {collection!r} at {url} is still building its index (status {status.value}) "
                f"after {timeout:.0f} s; build the index again when the server is less busy."
            )
        if status == models.CollectionStatus.GREY:
            client.update_collection(collection, optimizers_config=models.OptimizersConfigDiff())
        time.sleep(poll)


class QdrantReader:
    """Runs the funnel as one multi-stage ``query_batch_points`` call."""

    def __init__(self, layout: Layout, count: int, fields: dict[str, object], url: str) -> None:
        self.layout, self.url = layout, url
        self.collection = str(fields.get("collection"))
        self.client = connect(url)
        with reachable(url):
            if not self.client.collection_exists(self.collection):
                self.client.close()
                raise IndexFileError(f"Qdrant collection {self.collection!r} not found at {url}; build it again.")
            found = self.client.count(self.collection, exact=True).count
        if found != count:
            self.client.close()
            raise IndexFileError(
                f"Qdrant collection {self.collection!r} holds {found} points, the metadata says {count}; "
                "build it again."
            )

    def search(self, queries: Array, k: int, shortlist: int) -> Hits:
        parts = prefix(queries, self.layout.dim)
        # the shortlist is the quantized prefixes' own ranking, as in Qdrant Edge: the full vectors re-score it
        params = models.SearchParams(hnsw_ef=shortlist, quantization=models.QuantizationSearchParams(rescore=False))
        requests = [
            models.QueryRequest(
                prefetch=models.Prefetch(query=part.tolist(), using=PREFIX_VECTOR, limit=shortlist, params=params),
                query=full.tolist(),
                using=FULL_VECTOR,
                limit=k,
            )
            for part, full in zip(parts, queries, strict=True)
        ]
        with reachable(self.url):
            responses = self.client.query_batch_points(self.collection, requests=requests)
        return points_to_hits((response.points for response in responses), len(queries), min(k, shortlist))

    def close(self) -> None:
        self.client.close()
