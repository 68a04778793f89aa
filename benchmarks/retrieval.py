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
import shutil
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from common.crossover import DIM as CROSSOVER_DIM
from common.crossover import crossover, full_size_row
from common.edge import EdgeShards, edge_contenders
from common.funnel import (
    DIMS,
    SHORTLISTS,
    Config,
    FunnelGrid,
    K,
    layout,
    recall_at_k,
    resampled_chunks,
    scifact_quality,
)
from common.funnel_report import FULL_DIM, REFERENCE, choose_target, markdown, plot
from common.provenance import command_line, run_provenance
from common.settings import RESULTS
from common.timing import alternate, funnel_summary
from mic.cache import cached_encode
from mic.data import load_beir
from mic.evaluation import load_encoder
from mic.retrieval import prefix
from mic.retrieval.backends import PRECISIONS
from mic.retrieval.backends.qdrant_edge import engine_version
from mic.staging import write_atomic


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
    edge = EdgeShards(edge_layouts, shard_root, args.build_threads)
    ndcg = scifact_quality(layouts, documents, queries, data)
    print(
        f"SciFact done ({time.perf_counter() - started:.0f} s): reference nDCG@10 {ndcg[REFERENCE][0]:.2f}", flush=True
    )

    crossover_sizes = [size for size in map(int, filter(None, args.crossover.split(","))) if size < args.n]
    keep32 = max(crossover_sizes, default=0)
    prefixes32 = np.empty((keep32, CROSSOVER_DIM), dtype=np.float32)
    grid = FunnelGrid(layouts, args.n, args.build_threads)
    for chunk in resampled_chunks(documents, args.n, args.noise, args.seed, args.chunk):
        row = grid.count
        if row < keep32:
            prefixes32[row : row + len(chunk)] = prefix(chunk, CROSSOVER_DIM)[: keep32 - row]
        grid.add(chunk)
        edge.add(chunk)
        print(f"built {grid.count:,}/{args.n:,} ({time.perf_counter() - started:.0f} s)", flush=True)

    edge_shards = edge.finish()
    configs = [Config(None, K)] + [Config(item, size) for item in layouts for size in SHORTLISTS]
    exact = grid.reference.search(queries, K)[1]
    recall = {config.name: recall_at_k(grid.search(config, queries)[0], exact) for config in configs}
    print(f"recall done ({time.perf_counter() - started:.0f} s)", flush=True)

    timings = alternate(configs, lambda config, query: grid.search(config, query)[1:], queries, args.rounds,
                        args.timed_queries, args.seed)  # fmt: skip

    rows: dict[str, dict] = {}
    for config in configs:
        item = config.layout
        summary = funnel_summary(timings[config])
        rows[config.name] = {
            "kind": "flat" if item is None else item.kind,
            "dim": FULL_DIM if item is None else item.dim,
            "precision": "float32" if item is None else item.precision,
            "shortlist": None if item is None else config.shortlist,
            **summary,
            "bytes_per_vector": grid.bytes_per_vector(item),
            "build_s": grid.build[REFERENCE if item is None else item],
            "recall_at_10": recall[config.name],
            "ndcg10": ndcg[config.name][0],
            "scifact_recall_at_10": ndcg[config.name][1],
        }
    for row_values in rows.values():
        row_values["qps_ratio"] = row_values["qps"] / rows[REFERENCE]["qps"]
        row_values["ndcg10_ratio"] = row_values["ndcg10"] / rows[REFERENCE]["ndcg10"]

    results = {
        "schema": "mic-bench-retrieval/1",
        "command": command_line(),
        "seed": args.seed,
        "provenance": run_provenance(command_line()),
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
    full_size = full_size_row(args.n, grid.indexes, rows, grid.build, queries)
    if full_size is not None:  # the full-size point of the flat vs HNSW sweep, from the main grid's indexes
        results["crossover"].append(full_size)
    results["target"] = choose_target(rows)
    results["seconds"] = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out / "retrieval.json", (json.dumps(results, indent=2) + "\n").encode())
    write_atomic(args.out / "retrieval.md", markdown(results).encode())
    plot(rows, args.out)
    print(markdown(results))


if __name__ == "__main__":
    main()
