"""Qdrant Edge as a contender of ``benchmarks/retrieval.py``: shards written through the library's own writer
(:mod:`mic.retrieval.backends.qdrant_edge`), searched one query at a time on one search thread, each beside the
FAISS funnel of the same layout and shortlist."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from common.funnel import SHORTLISTS, Config, K, disk_bytes, recall_at_k
from common.funnel_report import FULL_DIM
from common.timing import alternate, latency_summary
from mic.retrieval.backends import Layout
from mic.retrieval.backends.qdrant_edge import EdgeReader, EdgeWriter

Shard = tuple[Path, dict[str, object], float]
"""A finished shard: its folder, the fields its reader needs, and the seconds it took to build."""


class EdgeShards:
    """One Edge shard per layout under ``root``, fed chunk by chunk, timing what each write costs."""

    def __init__(self, layouts: list[Layout], root: Path, build_threads: int) -> None:
        self.writers = {item: EdgeWriter(root / f"{item.kind}-{item.precision}-{item.dim}", item,
                                         build_threads=build_threads, search_threads=1)
                        for item in layouts}  # fmt: skip
        self.seconds = dict.fromkeys(layouts, 0.0)

    def add(self, chunk: np.ndarray) -> None:
        for item, writer in self.writers.items():
            start = time.perf_counter()
            writer.add(chunk, [])
            self.seconds[item] += time.perf_counter() - start

    def finish(self) -> dict[Layout, Shard]:
        """Every shard finished: the engine builds the graphs and the quantized prefixes here."""
        shards = {}
        for item, writer in self.writers.items():
            start = time.perf_counter()
            fields = writer.finish()
            shards[item] = (writer.path.parent, fields, self.seconds[item] + time.perf_counter() - start)
        return shards


def edge_contenders(
    shards: dict[Layout, Shard],
    count: int,
    queries: np.ndarray,
    exact: np.ndarray,
    faiss_rows: dict[str, dict],
    rounds: int,
    timed: int,
    seed: int,
) -> list[dict]:
    """QPS (one query at a time), recall@10 vs exact, build time and disk bytes of each Edge shard, beside FAISS."""
    readers = {item: EdgeReader(folder, item, count, fields) for item, (folder, fields, _) in shards.items()}
    configs = [Config(item, size) for item in shards for size in SHORTLISTS[:2]]

    def search(config: Config, query: np.ndarray) -> tuple[float]:
        start = time.perf_counter()
        readers[config.layout].search(query, K, config.shortlist)
        return (time.perf_counter() - start,)

    measured = alternate(configs, search, queries, rounds, timed, seed, label="edge timing")
    rows = []
    for config in configs:
        item = config.layout
        folder, _, build_s = shards[item]
        faiss_row = faiss_rows.get(config.name)
        summary = latency_summary([seconds for (seconds,) in measured[config]])
        rows.append({
            "config": f"edge-{config.name}",
            "faiss_config": config.name,
            "qps": summary["qps"],
            "p50_ms": summary["p50_ms"],
            "recall_at_10": recall_at_k(readers[item].search(queries, K, config.shortlist).indices, exact),
            "build_s": build_s,
            "disk_bytes_per_vector": disk_bytes(folder) / count,
            "faiss_qps": None if faiss_row is None else faiss_row["qps"],
            "faiss_recall_at_10": None if faiss_row is None else faiss_row["recall_at_10"],
            "faiss_build_s": None if faiss_row is None else faiss_row["build_s"],
            "faiss_disk_bytes_per_vector": None if faiss_row is None else faiss_row["bytes_per_vector"] + 2 * FULL_DIM,
        })  # fmt: skip
    for reader in readers.values():
        reader.close()
    return rows
