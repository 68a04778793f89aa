"""Flat vs HNSW at several corpus sizes (the measurement behind :data:`mic.retrieval.index.AUTO_HNSW_MIN_DOCUMENTS`):
32-d float32 prefixes, shortlists of 100, latency, build time and the graph's shortlist recall."""

from __future__ import annotations

import statistics
import time

import faiss
import numpy as np

from common.funnel import layout, recall_at_k
from mic.retrieval import prefix
from mic.retrieval.backends import Layout
from mic.retrieval.backends.faiss import new_prefix_index, shortlist_rows

DIM = 32
SHORTLIST = 100


def crossover_row(documents: int, flat: tuple[faiss.Index, Layout], graph: tuple[faiss.Index, Layout],
                  queries: np.ndarray, flat_ms: float, hnsw_ms: float, build_s: float) -> dict:  # fmt: skip
    """One size's row: the latencies and build time given, and the graph's shortlist recall against the flat one."""
    exact = shortlist_rows(*flat, queries, SHORTLIST)
    approximate = shortlist_rows(*graph, queries, SHORTLIST)
    return {
        "documents": documents,
        "flat_ms": flat_ms,
        "hnsw_ms": hnsw_ms,
        "hnsw_build_s": build_s,
        "hnsw_shortlist_recall": recall_at_k(approximate, exact),
    }


def crossover(
    prefixes: np.ndarray, queries: np.ndarray, sizes: list[int], timed: int, build_threads: int
) -> list[dict]:
    """A row per corpus size, on the first ``size`` of ``prefixes`` (the 32-d prefixes themselves, a 32-of-32
    layout, so only those are kept in memory)."""
    flat_layout = Layout(DIM, DIM, "float32", "flat", "float16")
    hnsw_layout = Layout(DIM, DIM, "float32", "hnsw", "float16")
    queries = prefix(queries, DIM)
    rows = []
    for size in sizes:
        flat = new_prefix_index(flat_layout)
        flat.add(prefixes[:size])
        graph = new_prefix_index(hnsw_layout)
        faiss.omp_set_num_threads(build_threads)
        start = time.perf_counter()
        graph.add(prefixes[:size])
        build = time.perf_counter() - start
        faiss.omp_set_num_threads(1)
        latency: dict[str, list[float]] = {"flat": [], "hnsw": []}
        for query in queries[:timed]:
            for name, index, item in (("flat", flat, flat_layout), ("hnsw", graph, hnsw_layout)):
                start = time.perf_counter()
                shortlist_rows(index, item, query[None], SHORTLIST)
                latency[name].append(time.perf_counter() - start)
        rows.append(crossover_row(size, (flat, flat_layout), (graph, hnsw_layout), queries,
                                  1e3 * statistics.fmean(latency["flat"]), 1e3 * statistics.fmean(latency["hnsw"]),
                                  build))  # fmt: skip
        print(f"crossover {rows[-1]}", flush=True)
    return rows


def full_size_row(documents: int, indexes: dict[Layout, faiss.Index], rows: dict[str, dict],
                  build: dict, queries: np.ndarray) -> dict | None:  # fmt: skip
    """The full-size point of the sweep from the main grid's indexes and timings, or None without a 32-d graph."""
    flat32, graph32 = layout("flat", DIM, "float32"), layout("hnsw", DIM, "float32")
    if graph32 not in indexes:
        return None
    return crossover_row(documents, (indexes[flat32], flat32), (indexes[graph32], graph32), queries,
                         rows[f"flat-{DIM}-float32-k{SHORTLIST}"]["prefix_ms"],
                         rows[f"hnsw-{DIM}-float32-k{SHORTLIST}"]["prefix_ms"], build[graph32])  # fmt: skip
