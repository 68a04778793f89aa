"""The funnel grid of ``benchmarks/retrieval.py`` and ``benchmarks/search.py``: the timed configurations, the
resampled corpus, the prefix indexes built over it (:class:`FunnelGrid`), index sizes, recall against the exact
search, and SciFact quality of every funnel through the library's own FAISS index files."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from common.funnel_report import FULL_DIM, REFERENCE
from mic.evaluation.retrieval import hits_to_run, run_metrics
from mic.retrieval import Hits, exact_search, prefix, rerank
from mic.retrieval.backends import Layout
from mic.retrieval.backends.faiss import FaissReader, FaissWriter, index_input, new_prefix_index, shortlist_rows

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


class FunnelGrid:
    """The flat 384-d float32 reference and a prefix index per layout over one corpus added chunk by chunk, re-ranked
    from its float16 full vectors held in memory; ``build`` holds the seconds each index took to build (the
    reference under :data:`REFERENCE`).

    HNSW graphs are built on ``build_threads`` OpenMP threads, everything else on one. Builds are timed in wall
    seconds, searches by ``clock`` (``time.process_time``: the CPU seconds of the process, without the waits for a
    core on a shared machine).
    """

    def __init__(
        self, layouts: Sequence[Layout], count: int, build_threads: int, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.reference = faiss.IndexFlatIP(FULL_DIM)
        self.indexes = {item: new_prefix_index(item) for item in layouts}
        self.full = np.empty((count, FULL_DIM), dtype=np.float16)
        self.build: dict[Layout | str, float] = dict.fromkeys([REFERENCE, *layouts], 0.0)
        self.build_threads = build_threads
        self.clock = clock
        self.count = 0

    def add(self, chunk: np.ndarray) -> None:
        """Add ``(n, 384)`` unit vectors to the reference, the full vectors and every prefix index."""
        start = time.perf_counter()
        self.reference.add(chunk)
        self.build[REFERENCE] += time.perf_counter() - start
        self.full[self.count : self.count + len(chunk)] = chunk
        for item, index in self.indexes.items():
            faiss.omp_set_num_threads(self.build_threads if item.kind == "hnsw" else 1)
            start = time.perf_counter()
            if not index.is_trained:
                index.train(chunk)
            index.add(index_input(chunk, item))
            self.build[item] += time.perf_counter() - start
        faiss.omp_set_num_threads(1)
        self.count += len(chunk)

    def search(self, config: Config, batch: np.ndarray) -> tuple[np.ndarray, float, float]:
        """``(rows (Q, K), prefix seconds, re-rank seconds)`` of ``config`` for ``(Q, 384)`` unit queries, by the
        grid's clock; the reference's whole search counts as its prefix part."""
        start = self.clock()
        if config.layout is None:
            rows = self.reference.search(batch, K)[1]
            return rows, self.clock() - start, 0.0
        candidates = shortlist_rows(self.indexes[config.layout], config.layout, batch, config.shortlist)
        middle = self.clock()
        rows = rerank(batch, self.full, candidates, K).indices
        return rows, middle - start, self.clock() - middle

    def bytes_per_vector(self, item: Layout | None) -> float:
        """Serialized bytes per vector of a layout's prefix index (``None``: the reference)."""
        return index_bytes(self.reference if item is None else self.indexes[item]) / self.count


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
    layouts: list[Layout], documents: np.ndarray, queries: np.ndarray, data, exact: Hits | None = None
) -> dict[str, tuple[float, float]]:
    """``(nDCG@10 x100, recall@10 vs exact 384-d)`` on SciFact test of the reference and of every (layout, shortlist).

    The funnels run through the library's own FAISS index files (:class:`FaissWriter`, :class:`FaissReader`).
    ``exact``: the hits recall is measured against (default: the exact 384-d search of these ``documents``, which
    is also the reference row).
    """
    reference = exact_search(queries, documents, FULL_DIM, K)
    exact = reference if exact is None else exact
    ndcg = run_metrics(hits_to_run(reference, data.query_ids, data.doc_ids), data.qrels)["ndcg@10"]
    scores = {REFERENCE: (ndcg, recall_at_k(reference.indices, exact.indices))}
    for item in layouts:
        with tempfile.TemporaryDirectory() as folder:
            writer = FaissWriter(Path(folder), item, documents)
            writer.add(documents, data.doc_ids)
            reader = FaissReader(Path(folder), item, len(documents), writer.finish())
            for shortlist in SHORTLISTS:
                hits = reader.search(queries, K, shortlist)
                ndcg = run_metrics(hits_to_run(hits, data.query_ids, data.doc_ids), data.qrels)["ndcg@10"]
                scores[Config(item, shortlist).name] = (ndcg, recall_at_k(hits.indices, exact.indices))
    return scores
