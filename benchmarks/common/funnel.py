"""The grid of ``benchmarks/retrieval.py``: the timed configurations, the resampled corpus, index sizes, recall
against the exact search, and SciFact quality of every funnel through the library's own FAISS index files."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from common.funnel_report import FULL_DIM, REFERENCE
from mic.evaluation.retrieval import hits_to_run, run_metrics
from mic.retrieval import exact_search, prefix
from mic.retrieval.backends import Layout
from mic.retrieval.backends.faiss import FaissReader, FaissWriter

DIMS = (16, 32, 64)
SHORTLISTS = (100, 200, 500, 1000)
"""The shortlists the funnel is judged at (100 and 200), and two larger ones that show what recall more buys."""
K = 10


@dataclass(frozen=True)
class Config:
    """One timed search: a prefix layout and a shortlist (``layout=None``: the flat 384-d reference)."""

    layout: Layout | None
    shortlist: int

    @property
    def name(self) -> str:
        if self.layout is None:
            return REFERENCE
        return f"{self.layout.kind}-{self.layout.dim}-{self.layout.precision}-k{self.shortlist}"


def layout(kind: str, dim: int, precision: str) -> Layout:
    """A prefix layout of ``dim`` dims re-ranked from float16 full vectors."""
    return Layout(dim, FULL_DIM, precision, kind, "float16")  # type: ignore[arg-type]


def resampled_chunks(documents: np.ndarray, count: int, noise: float, seed: int, chunk: int) -> Iterator[np.ndarray]:
    """``count`` unit vectors in chunks: real rows drawn with replacement plus corpus-shaped Gaussian noise."""
    rng = np.random.default_rng(seed)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(documents.T))
    root = eigenvectors * np.sqrt(np.maximum(eigenvalues, 0.0))  # Sigma^(1/2) up to rotation: root @ root.T = Sigma
    for start in range(0, count, chunk):
        size = min(chunk, count - start)
        rows = documents[rng.integers(0, len(documents), size)]
        yield prefix(rows + noise * rng.standard_normal((size, FULL_DIM)).astype(np.float32) @ root.T, FULL_DIM)


def index_bytes(index: faiss.Index | faiss.IndexBinary) -> int:
    """Serialized size of a FAISS index: what it takes on disk and, to within a few bytes, in memory."""
    if isinstance(index, faiss.IndexBinary):
        return int(faiss.serialize_index_binary(index).nbytes)
    return int(faiss.serialize_index(index).nbytes)


def disk_bytes(folder: Path) -> int:
    """Bytes a folder takes on disk (allocated blocks: the engine's sparse, preallocated files count what they use)."""
    return sum(path.stat().st_blocks * 512 for path in folder.rglob("*") if path.is_file())


def recall_at_k(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean over queries of ``|found top-k & exact top-k| / k``."""
    return float(np.mean([len(set(a) & set(b)) / exact.shape[1] for a, b in zip(found, exact, strict=True)]))


def scifact_quality(
    layouts: list[Layout], documents: np.ndarray, queries: np.ndarray, data
) -> dict[str, tuple[float, float]]:
    """``(nDCG@10 x100, recall@10 vs exact 384-d)`` on SciFact test of the reference and of every (layout, shortlist).

    The funnels run through the library's own FAISS index files (:class:`FaissWriter`, :class:`FaissReader`).
    """
    reference = exact_search(queries, documents, FULL_DIM, K)
    ndcg = run_metrics(hits_to_run(reference, data.query_ids, data.doc_ids), data.qrels)["ndcg@10"]
    scores = {REFERENCE: (ndcg, 1.0)}
    for item in layouts:
        with tempfile.TemporaryDirectory() as folder:
            writer = FaissWriter(Path(folder), item, documents)
            writer.add(documents, data.doc_ids)
            reader = FaissReader(Path(folder), item, len(documents), writer.finish())
            for shortlist in SHORTLISTS:
                hits = reader.search(queries, K, shortlist)
                ndcg = run_metrics(hits_to_run(hits, data.query_ids, data.doc_ids), data.qrels)["ndcg@10"]
                scores[Config(item, shortlist).name] = (ndcg, recall_at_k(hits.indices, reference.indices))
    return scores
