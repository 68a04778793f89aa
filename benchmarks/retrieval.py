"""Cost at scale of the funnel (shortlist at a low dim, re-rank at 384) against flat 384-d search, at 1M vectors.

The corpus is **resampled**, not encoded: SciFact's 5,183 real document embeddings of the stock model
(all-MiniLM-L6-v2, from the embedding cache) drawn with replacement, each plus Gaussian noise shaped like
the corpus (``noise * Sigma^(1/2) z``, ``Sigma`` the covariance of the real embeddings), re-normalised.
Queries are SciFact's 300 real test query embeddings. Every index is the library's own (FAISS layouts of
:mod:`mic.retrieval.backends.faiss`, the same functions ``mic search`` runs), re-ranked from float16 full
vectors held in memory.

For the reference (flat 384-d float32) and each funnel configuration (flat or HNSW prefix at 16/32/64 dims,
float32/int8/binary, shortlist 100/200, and 500/1000): queries per second and p50/p99 latency of one query at
a time on one thread (query encoding excluded, measured apart), split into prefix search and re-rank; index
bytes per vector; build time; recall@10 against the exact 384-d result on the same corpus; and SciFact test
nDCG@10 of the same configuration on the real 5,183-document corpus (pytrec_eval,
:mod:`mic.evaluation.retrieval`). Timings alternate the configurations: every round visits all of them in a
fresh random order, each on its own slice of the queries. A second section times flat vs HNSW at several
corpus sizes (the measurement behind :data:`mic.retrieval.index.AUTO_HNSW_MIN_DOCUMENTS`).

HNSW graphs are built at 1M only for the ``--hnsw`` layouts (default: float32 at 32 and 64 dims, int8 at 64):
each takes about five minutes to build on this machine's 2 shared cores; flat layouts cover every dim and
precision. Add others with e.g. ``--hnsw float32:16,binary:64``.

Qdrant Edge (the engine of ``mic index --backend qdrant`` without ``--url``,
:mod:`mic.retrieval.backends.qdrant_edge`) is a contender beside FAISS: for each ``--edge`` layout
(``KIND:PRECISION:DIM``) the same vectors go into an Edge shard through the library's own writer, searched one
query at a time through its reader on a one-thread search pool (``max_search_threads=1``; HNSW builds on
``--build-threads``); its rows give QPS, recall@10 against the exact fp32 384-d search, build time and bytes on
disk (the whole shard: prefix, quantized prefix, graph, float16 full vectors) beside the FAISS row of the same
layout (prefix index plus the float16 ``full.bin``).

Threads: FAISS runs queries on 1 OpenMP thread (``faiss.omp_set_num_threads(1)``; start the script with
``OMP_NUM_THREADS=1`` so BLAS and torch agree) and builds HNSW graphs on ``--build-threads``.

    OMP_NUM_THREADS=1 python benchmarks/retrieval.py                 # 1M vectors, ~20 min on 2 cores
    OMP_NUM_THREADS=1 python benchmarks/retrieval.py --n 50000 --out /tmp/retrieval   # quick check

writes ``retrieval.json`` (top-level ``"target"``), ``retrieval.md``, ``retrieval-qps.png`` and
``retrieval-bytes.png`` into ``--out`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from common import settings
from common.funnel_report import REFERENCE, choose_target, markdown, plot
from common.provenance import run_provenance
from common.settings import RESULTS
from mic.cache import cached_encode
from mic.data import load_beir
from mic.evaluation import load_encoder
from mic.evaluation.retrieval import hits_to_run, run_metrics
from mic.retrieval import exact_search, prefix, rerank
from mic.retrieval.backends import PRECISIONS, Layout
from mic.retrieval.backends.faiss import FaissReader, FaissWriter, index_input, new_prefix_index, shortlist_rows
from mic.retrieval.backends.qdrant_edge import EdgeReader, EdgeWriter, engine_version
from mic.staging import write_atomic

FULL_DIM = settings.DIMS[-1]
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
    return Layout(dim, FULL_DIM, precision, kind, "float16")  # type: ignore[arg-type]


def resampled_chunks(documents: np.ndarray, count: int, noise: float, seed: int, chunk: int):
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


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def timing_summary(total: list[float], prefix_part: list[float], rerank_part: list[float]) -> dict[str, float]:
    mean = statistics.fmean(total)
    return {
        "qps": 1.0 / mean,
        "p50_ms": 1e3 * percentile(total, 50),
        "p99_ms": 1e3 * percentile(total, 99),
        "prefix_ms": 1e3 * statistics.fmean(prefix_part),
        "rerank_ms": 1e3 * statistics.fmean(rerank_part),
        "timed_queries": len(total),
    }


def crossover(
    prefixes: np.ndarray, queries: np.ndarray, sizes: list[int], timed: int, build_threads: int
) -> list[dict]:
    """Flat vs HNSW 32-d float32 shortlists of 100 at several corpus sizes: latency, build time, shortlist recall."""
    # The indexes take the 32-d prefixes themselves (a 32-of-32 layout), so only those are kept in memory.
    flat_layout = Layout(32, 32, "float32", "flat", "float16")
    hnsw_layout = Layout(32, 32, "float32", "hnsw", "float16")
    queries = prefix(queries, 32)
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
                shortlist_rows(index, item, query[None], 100)
                latency[name].append(time.perf_counter() - start)
        exact = shortlist_rows(flat, flat_layout, queries, 100)
        approximate = shortlist_rows(graph, hnsw_layout, queries, 100)
        rows.append({
            "documents": size,
            "flat_ms": 1e3 * statistics.fmean(latency["flat"]),
            "hnsw_ms": 1e3 * statistics.fmean(latency["hnsw"]),
            "hnsw_build_s": build,
            "hnsw_shortlist_recall": recall_at_k(approximate, exact),
        })  # fmt: skip
        print(f"crossover {rows[-1]}", flush=True)
    return rows


def edge_contenders(
    shards: dict[Layout, tuple[Path, dict[str, object], float]],
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
    seconds: dict[Config, list[float]] = {config: [] for config in configs}
    for config in configs:
        readers[config.layout].search(queries[:1], K, config.shortlist)  # warm-up: page the shard in
    rng = np.random.default_rng(seed)
    for round_number in range(rounds):
        for position in rng.permutation(len(configs)):
            config = configs[position]
            for offset in range(timed):
                query = queries[(round_number * timed + offset) % len(queries)][None]
                start = time.perf_counter()
                readers[config.layout].search(query, K, config.shortlist)
                seconds[config].append(time.perf_counter() - start)
    rows = []
    for config in configs:
        item = config.layout
        folder, _, build_s = shards[item]
        faiss_row = faiss_rows.get(config.name)
        rows.append({
            "config": f"edge-{config.name}",
            "faiss_config": config.name,
            "qps": 1.0 / statistics.fmean(seconds[config]),
            "p50_ms": 1e3 * percentile(seconds[config], 50),
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="resampled corpus size")
    parser.add_argument("--noise", type=float, default=0.5, help="noise scale, in units of the corpus covariance root")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds; each visits every config once")
    parser.add_argument("--timed-queries", type=int, default=100, help="queries per config per round")
    parser.add_argument("--build-threads", type=int, default=2, help="OpenMP threads for HNSW graph builds")
    parser.add_argument("--hnsw", default="float32:32,float32:64,int8:64",
                        help="HNSW prefix layouts PRECISION:DIM at --n (minutes each at 1M)")  # fmt: skip
    parser.add_argument(
        "--edge",
        default="flat:float32:32,hnsw:float32:32,hnsw:int8:64",
        help="Qdrant Edge contenders KIND:PRECISION:DIM (each also in the FAISS grid; '' for none)",
    )
    parser.add_argument("--crossover", default="30000,100000,300000", help="corpus sizes for flat vs HNSW")
    parser.add_argument("--chunk", type=int, default=100_000, help="vectors generated and added per step")
    parser.add_argument("--data-dir", default=None, help="folder holding scifact/ (else $MIC_DATA_DIR)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    started = time.perf_counter()
    faiss.omp_set_num_threads(1)

    data = load_beir("scifact", args.data_dir)
    encoder = load_encoder("default", device="cpu")
    documents = prefix(cached_encode(encoder, data.documents).numpy(), FULL_DIM)
    queries = prefix(cached_encode(encoder, data.queries).numpy(), FULL_DIM)
    start = time.perf_counter()
    for query in data.queries[:50]:
        encoder.encode([query])
    query_encode_ms = 1e3 * (time.perf_counter() - start) / 50

    layouts = [layout("flat", dim, precision) for dim in DIMS for precision in PRECISIONS]
    for spec in filter(None, args.hnsw.split(",")):
        precision, dim = spec.split(":")
        layouts.append(layout("hnsw", int(dim), precision))
    edge_layouts = [layout(kind, int(dim), precision) for kind, precision, dim in
                    (spec.split(":") for spec in filter(None, args.edge.split(",")))]  # fmt: skip
    for item in edge_layouts:
        if item not in layouts:
            parser.error(f"--edge {item.kind}:{item.precision}:{item.dim} has no FAISS counterpart; add it to --hnsw")
    shard_root = Path(tempfile.mkdtemp(prefix="mic-edge-"))
    edge_writers = {item: EdgeWriter(shard_root / f"{item.kind}-{item.precision}-{item.dim}", item,
                                     build_threads=args.build_threads, search_threads=1)
                    for item in edge_layouts}  # fmt: skip
    edge_build = dict.fromkeys(edge_layouts, 0.0)
    ndcg = scifact_quality(layouts, documents, queries, data)
    print(
        f"SciFact done ({time.perf_counter() - started:.0f} s): reference nDCG@10 {ndcg[REFERENCE][0]:.2f}", flush=True
    )

    crossover_sizes = [size for size in map(int, filter(None, args.crossover.split(","))) if size < args.n]
    keep32 = max(crossover_sizes, default=0)
    reference = faiss.IndexFlatIP(FULL_DIM)
    full = np.empty((args.n, FULL_DIM), dtype=np.float16)
    prefixes32 = np.empty((keep32, 32), dtype=np.float32)
    indexes = {item: new_prefix_index(item) for item in layouts}
    build = dict.fromkeys([REFERENCE, *layouts], 0.0)
    row = 0
    for chunk in resampled_chunks(documents, args.n, args.noise, args.seed, args.chunk):
        start = time.perf_counter()
        reference.add(chunk)
        build[REFERENCE] += time.perf_counter() - start
        full[row : row + len(chunk)] = chunk
        if row < keep32:
            prefixes32[row : row + len(chunk)] = prefix(chunk, 32)[: keep32 - row]
        for item, index in indexes.items():
            faiss.omp_set_num_threads(args.build_threads if item.kind == "hnsw" else 1)
            start = time.perf_counter()
            if not index.is_trained:
                index.train(chunk)
            index.add(index_input(chunk, item))
            build[item] += time.perf_counter() - start
        faiss.omp_set_num_threads(1)
        for item, writer in edge_writers.items():
            start = time.perf_counter()
            writer.add(chunk, [])
            edge_build[item] += time.perf_counter() - start
        row += len(chunk)
        print(f"built {row:,}/{args.n:,} ({time.perf_counter() - started:.0f} s)", flush=True)

    edge_shards = {}
    for item, writer in edge_writers.items():
        start = time.perf_counter()
        fields = writer.finish()  # the engine builds the graph and the quantized prefixes here
        edge_shards[item] = (writer.path.parent, fields, edge_build[item] + time.perf_counter() - start)
    configs = [Config(None, K)] + [Config(item, size) for item in layouts for size in SHORTLISTS]
    exact = reference.search(queries, K)[1]

    def run(config: Config, batch: np.ndarray) -> tuple[np.ndarray, float, float]:
        start = time.perf_counter()
        if config.layout is None:
            rows = reference.search(batch, K)[1]
            return rows, time.perf_counter() - start, 0.0
        candidates = shortlist_rows(indexes[config.layout], config.layout, batch, config.shortlist)
        middle = time.perf_counter()
        rows = rerank(batch, full, candidates, K).indices
        return rows, middle - start, time.perf_counter() - middle

    recall = {config.name: recall_at_k(run(config, queries)[0], exact) for config in configs}
    print(f"recall done ({time.perf_counter() - started:.0f} s)", flush=True)

    rng = np.random.default_rng(args.seed)
    timings: dict[str, dict[str, list[float]]] = {c.name: {"total": [], "prefix": [], "rerank": []} for c in configs}
    for config in configs:
        run(config, queries[:1])  # warm-up: page in the index and the re-rank rows
    for round_number in range(args.rounds):
        for position in rng.permutation(len(configs)):
            config = configs[position]
            for offset in range(args.timed_queries):
                query = queries[(round_number * args.timed_queries + offset) % len(queries)][None]
                _, prefix_seconds, rerank_seconds = run(config, query)
                timings[config.name]["total"].append(prefix_seconds + rerank_seconds)
                timings[config.name]["prefix"].append(prefix_seconds)
                timings[config.name]["rerank"].append(rerank_seconds)
        print(f"timing round {round_number + 1}/{args.rounds} ({time.perf_counter() - started:.0f} s)", flush=True)

    rows: dict[str, dict] = {}
    for config in configs:
        item = config.layout
        measured = timings[config.name]
        summary = timing_summary(measured["total"], measured["prefix"], measured["rerank"])
        index = reference if item is None else indexes[item]
        rows[config.name] = {
            "kind": "flat" if item is None else item.kind,
            "dim": FULL_DIM if item is None else item.dim,
            "precision": "float32" if item is None else item.precision,
            "shortlist": None if item is None else config.shortlist,
            **summary,
            "bytes_per_vector": index_bytes(index) / args.n,
            "build_s": build[REFERENCE if item is None else item],
            "recall_at_10": recall[config.name],
            "ndcg10": ndcg[config.name][0],
            "scifact_recall_at_10": ndcg[config.name][1],
        }
    for row_values in rows.values():
        row_values["qps_ratio"] = row_values["qps"] / rows[REFERENCE]["qps"]
        row_values["ndcg10_ratio"] = row_values["ndcg10"] / rows[REFERENCE]["ndcg10"]

    results = {
        "schema": "mic-bench-retrieval/1",
        "command": shlex.join([sys.executable.rsplit("/", 1)[-1], *sys.argv]),
        "seed": args.seed,
        "provenance": run_provenance(shlex.join([sys.executable.rsplit("/", 1)[-1], *sys.argv])),
        "split": "SciFact test (qrels/test.tsv) for queries and nDCG@10; nothing tuned",
        "threads": f"queries on 1 FAISS thread, HNSW builds on {args.build_threads}",
        "faiss": faiss.__version__,
        "qdrant_edge": engine_version(),
        "corpus": {
            "documents": args.n,
            "resampled": True,
            "how": f"SciFact's {len(documents):,} real document embeddings (all-MiniLM-L6-v2) drawn with replacement, "
            f"plus noise {args.noise} x Sigma^(1/2) z (Sigma: their covariance), re-normalised; seed {args.seed}",
        },
        "queries": len(queries),
        "scifact_documents": len(documents),
        "k": K,
        "query_encode_ms": query_encode_ms,
        "rerank_vectors": "float16, in memory",
        "hnsw": {"M": 16, "efConstruction": 40, "efSearch": "= shortlist"},
        "configs": rows,
        "crossover": crossover(prefixes32, queries, crossover_sizes, args.timed_queries, args.build_threads),
        "edge": edge_contenders(edge_shards, args.n, queries, exact, rows, args.rounds, args.timed_queries, args.seed),
        "seconds": None,
    }
    shutil.rmtree(shard_root)
    graph32 = layout("hnsw", 32, "float32")
    if graph32 in indexes:  # the full-size point of the flat vs HNSW sweep, from the main grid's indexes
        flat32 = layout("flat", 32, "float32")
        exact_shortlist = shortlist_rows(indexes[flat32], flat32, queries, 100)
        graph_shortlist = shortlist_rows(indexes[graph32], graph32, queries, 100)
        results["crossover"].append({
            "documents": args.n,
            "flat_ms": rows["flat-32-float32-k100"]["prefix_ms"],
            "hnsw_ms": rows["hnsw-32-float32-k100"]["prefix_ms"],
            "hnsw_build_s": build[graph32],
            "hnsw_shortlist_recall": recall_at_k(graph_shortlist, exact_shortlist),
        })  # fmt: skip
    results["target"] = choose_target(rows)
    results["seconds"] = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out / "retrieval.json", (json.dumps(results, indent=2) + "\n").encode())
    write_atomic(args.out / "retrieval.md", markdown(results).encode())
    plot(rows, args.out)
    print(markdown(results))


if __name__ == "__main__":
    main()
