"""The engine backend: one Qdrant collection with two named vectors, and the funnel done by the engine.

Each document is a point (id = its row number, payload ``{"id": document id}``) with the named vectors
``prefix`` (``d`` dims) and ``full`` (``D`` dims), both cosine. A search is one ``query_points`` call per
query batch: a ``prefetch`` of ``k'`` candidates on ``prefix``, re-scored on ``full`` (Qdrant's documented
multi-stage query). The prefix carries the index's precision as Qdrant quantization (``int8``: scalar,
``binary``: binary quantization; ``float32``: none) and, for ``kind="flat"``, no HNSW graph (``m=0``: exact
scan); the full vector is stored as float16 on disk and never graphed (it only re-scores).

Without a URL the collection lives in Qdrant's local, in-process mode under ``qdrant/`` of the index folder
(tests, laptops). With ``url`` it is created on that server or cluster, and the index folder keeps only the
metadata naming it. Local mode scans exactly (quantization and graphs apply on a server only).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from qdrant_client import QdrantClient, models

from mic.retrieval.backends import HNSW_M, Array, Layout
from mic.retrieval.errors import IndexFileError, RetrievalError
from mic.retrieval.search import Hits, prefix

LOCAL_FOLDER = "qdrant"
PREFIX_VECTOR = "prefix"
FULL_VECTOR = "full"
API_KEY_ENV = "QDRANT_API_KEY"


def connect(folder: Path, url: str | None) -> QdrantClient:
    """A client of the server at ``url`` (API key from ``$QDRANT_API_KEY``), else of the local store in ``folder``."""
    if url:
        return QdrantClient(url=url, api_key=os.environ.get(API_KEY_ENV))
    return QdrantClient(path=str(folder / LOCAL_FOLDER))


def prefix_quantization(layout: Layout) -> models.ScalarQuantization | models.BinaryQuantization | None:
    """Qdrant's quantization of the prefix vector for the index precision."""
    if layout.precision == "int8":
        return models.ScalarQuantization(scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8))
    if layout.precision == "binary":
        return models.BinaryQuantization(binary=models.BinaryQuantizationConfig())
    return None


class QdrantWriter:
    """Creates the collection and upserts each chunk's prefix and full vectors."""

    def __init__(self, folder: Path, layout: Layout, url: str | None = None, collection: str | None = None) -> None:
        if layout.rerank_precision != "float16":
            raise RetrievalError(
                f"the qdrant backend keeps full vectors as float16; --rerank-precision {layout.rerank_precision} "
                "is for the faiss backend."
            )
        self.layout, self.url = layout, url
        self.collection = collection or f"mic-{uuid.uuid4().hex[:12]}"
        self.client = connect(folder, url)
        if self.client.collection_exists(self.collection):
            self.client.close()
            raise RetrievalError(f"Qdrant collection {self.collection!r} already exists at {url}; choose another name.")
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
        self.client.upload_collection(
            self.collection,
            vectors={PREFIX_VECTOR: prefix(full, self.layout.dim), FULL_VECTOR: full},
            payload=[{"id": identifier} for identifier in ids],
            ids=list(range(self.count, self.count + len(full))),
            wait=True,
        )
        self.count += len(full)

    def finish(self) -> dict[str, object]:
        self.client.close()
        return {"collection": self.collection, "url": self.url}

    def abort(self) -> None:
        if self.url:  # a server collection lives outside the temporary folder: remove the one we created
            self.client.delete_collection(self.collection)
        self.client.close()


class QdrantReader:
    """Runs the funnel as one multi-stage ``query_batch_points`` call."""

    def __init__(self, folder: Path, layout: Layout, count: int, fields: dict[str, object], url: str | None) -> None:
        self.layout = layout
        self.collection = str(fields.get("collection"))
        url = url or fields.get("url")  # type: ignore[assignment]
        if not url and not (folder / LOCAL_FOLDER).is_dir():
            raise IndexFileError(f"{folder / LOCAL_FOLDER}: missing; the index is incomplete, build it again.")
        self.client = connect(folder, url)  # type: ignore[arg-type]
        if not self.client.collection_exists(self.collection):
            self.client.close()
            raise IndexFileError(f"Qdrant collection {self.collection!r} not found at {url or folder}; build it again.")
        found = self.client.count(self.collection, exact=True).count
        if found != count:
            self.client.close()
            raise IndexFileError(
                f"Qdrant collection {self.collection!r} holds {found} points, the metadata says {count}; "
                "build it again."
            )

    def search(self, queries: Array, k: int, shortlist: int) -> Hits:
        parts = prefix(queries, self.layout.dim)
        requests = [
            models.QueryRequest(
                prefetch=models.Prefetch(query=part.tolist(), using=PREFIX_VECTOR, limit=shortlist),
                query=full.tolist(),
                using=FULL_VECTOR,
                limit=k,
            )
            for part, full in zip(parts, queries, strict=True)
        ]
        responses = self.client.query_batch_points(self.collection, requests=requests)
        width = min(k, shortlist)
        indices = np.full((len(queries), width), -1, dtype=np.int64)
        scores = np.full((len(queries), width), -np.inf, dtype=np.float32)
        for row, response in enumerate(responses):
            for column, point in enumerate(response.points[:width]):
                indices[row, column], scores[row, column] = int(point.id), point.score
        return Hits(scores, indices)

    def close(self) -> None:
        self.client.close()
