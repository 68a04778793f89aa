"""Training-step overhead of MICLoss over sentence-transformers' MatryoshkaLoss.

One step = forward + backward of a batch of sentence pairs with MultipleNegativesRankingLoss at 7 dims,
all-MiniLM-L6-v2 (the offline PyPI package). The two losses are timed alternately in one process, so a
slower or busier machine affects both alike; the result is the ratio of median step times.

    python benchmarks/overhead.py --data-dir ../shared/data

writes benchmarks/results/overhead.json (top-level "ratio" = MIC step time / MRL step time) and overhead.md.
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch
from sentence_transformers.sentence_transformer.losses import MatryoshkaLoss, MultipleNegativesRankingLoss

from mic.data import load_stsb
from mic.losses import MICLoss
from mic.models import load_model
from mic.provenance import package_versions

DIMS = [8, 16, 32, 64, 128, 256, 384]
RESULTS = Path(__file__).parent / "results"


def step_seconds(loss: torch.nn.Module, features: list[dict], model: torch.nn.Module) -> float:
    """Wall time of one forward + backward."""
    model.zero_grad(set_to_none=True)
    start = time.perf_counter()
    value = loss(features, None)
    total = sum(value.values()) if isinstance(value, dict) else value
    total.backward()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="folder with stsbenchmark/ (else $MIC_DATA_DIR)")
    parser.add_argument("--batch-size", type=int, default=32, help="sentence pairs per step")
    parser.add_argument("--steps", type=int, default=15, help="timed steps per loss (after 2 warm-up steps each)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(torch.get_num_threads())
    model = load_model("default", device="cpu")
    model.max_seq_length = 128
    model.train()
    pairs = load_stsb("train", args.data_dir)
    batches = [
        [
            model.preprocess(pairs.sentences1[start : start + args.batch_size]),
            model.preprocess(pairs.sentences2[start : start + args.batch_size]),
        ]
        for start in range(0, (args.steps + 2) * args.batch_size, args.batch_size)
    ]
    base = MultipleNegativesRankingLoss(model)
    contenders = {"mrl": MatryoshkaLoss(model, base, DIMS), "mic": MICLoss(model, base, DIMS)}

    times: dict[str, list[float]] = {name: [] for name in contenders}
    for index, features in enumerate(batches):
        order = list(contenders) if index % 2 == 0 else list(reversed(contenders))
        for name in order:
            seconds = step_seconds(contenders[name], features, model)
            if index >= 2:
                times[name].append(seconds)

    medians = {name: statistics.median(values) for name, values in times.items()}
    result = {
        "ratio": round(medians["mic"] / medians["mrl"], 4),
        "median_step_seconds": {name: round(value, 4) for name, value in medians.items()},
        "step_seconds": {name: [round(v, 4) for v in values] for name, values in times.items()},
        "mic_config": contenders["mic"].get_config_dict(),
        "batch_pairs": args.batch_size,
        "dims": DIMS,
        "data": "STS-B train, first pairs in file order",
        "seed": args.seed,
        "threads": torch.get_num_threads(),
        "command": shlex.join([sys.executable.rsplit("/", 1)[-1], *sys.argv]),
        "versions": package_versions(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "overhead.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    table = [
        "# Training-step overhead: MICLoss vs MatryoshkaLoss",
        "",
        f"all-MiniLM-L6-v2, MultipleNegativesRankingLoss, {args.batch_size} STS-B train pairs per step, dims {DIMS},",
        f"CPU ({torch.get_num_threads()} threads), {args.steps} timed steps each, alternating, seed {args.seed}.",
        f"Command: `{result['command']}`",
        "",
        "| loss | median step (s) |",
        "|---|---|",
        f"| MatryoshkaLoss | {medians['mrl']:.3f} |",
        f"| MICLoss (γ={contenders['mic'].gamma}, layers {list(contenders['mic'].layers)}) | {medians['mic']:.3f} |",
        f"| **ratio MIC / MRL** | **{result['ratio']:.3f}** (target ≤ 1.10) |",
        "",
    ]
    (RESULTS / "overhead.md").write_text("\n".join(table), encoding="utf-8")
    print("\n".join(table))


if __name__ == "__main__":
    main()
