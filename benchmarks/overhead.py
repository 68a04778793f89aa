"""Training-step overhead of MICLoss over sentence-transformers' MatryoshkaLoss.

One step = forward + backward of a batch of sentence pairs with MultipleNegativesRankingLoss at 7 dims,
all-MiniLM-L6-v2 (the offline PyPI package). The contenders are timed in rotation in one process, so a
slower or busier machine affects all alike; the results are ratios of median step times to MRL's:
MICLoss with its defaults (SCR and self-distillation from the frozen initial model, whose forward without
gradients is the main cost in a first epoch), and the same in a later epoch, when the frozen teacher's memo
already holds each text; the defaults without self-distillation and with each other teacher (the student's own
full embedding; its EMA, another forward); and the defaults with the finiteness check per term instead of the one
fused check per step, with the number of device→host syncs each makes (free on a CPU, a stall on a GPU).

    python benchmarks/overhead.py --data-dir ../shared/data

writes benchmarks/results/overhead.json (top-level "ratio" = MIC step time / MRL step time, "ratios" for every
contender) and overhead.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import time
from collections.abc import Callable
from unittest import mock

import torch
from sentence_transformers.sentence_transformer.losses import MatryoshkaLoss, MultipleNegativesRankingLoss

import mic.losses.distill as distill_module
import mic.losses.mic as mic_module
import mic.losses.scr as scr_module
import mic.losses.sir as sir_module
import mic.losses.validation as validation
from common.provenance import command_line, run_provenance
from common.settings import DIMS, RESULTS
from mic.data import load_stsb
from mic.losses import MICLoss
from mic.models import load_model

WARM = "mic, 2nd epoch on"
"""MICLoss with its defaults once the frozen teacher's memo holds every text of the batches (a later epoch)."""

SYNCS = [0]
"""Finiteness checks that reached the host (``check_finite`` outside ``deferred_finite_checks``, or the fused one)."""


def counting(function: Callable) -> Callable:
    def counted(*args: object, **kwargs: object) -> object:
        if not validation._DEFERRED.get():
            SYNCS[0] += 1
        return function(*args, **kwargs)

    return counted


class PerTermChecks(torch.nn.Module):
    """MICLoss as it was before the fused check: every term checks its own value (one sync each)."""

    def __init__(self, loss: MICLoss) -> None:
        super().__init__()
        self.loss = loss

    def forward(self, features: list[dict], labels: None) -> dict:
        with mock.patch.object(mic_module, "deferred_finite_checks", contextlib.nullcontext):
            return self.loss(features, labels)


def step_seconds(loss: torch.nn.Module, features: list[dict], model: torch.nn.Module) -> tuple[float, int]:
    """Wall time of one forward + backward, and the finiteness checks that synced."""
    model.zero_grad(set_to_none=True)
    SYNCS[0] = 0
    start = time.perf_counter()
    value = loss(features, None)
    total = sum(value.values()) if isinstance(value, dict) else value
    total.backward()
    return time.perf_counter() - start, SYNCS[0]


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
    mic = MICLoss(model, base, DIMS)
    contenders: dict[str, torch.nn.Module] = {"mrl": MatryoshkaLoss(model, base, DIMS), "mic": mic}
    contenders["mic without SD"] = MICLoss(model, base, DIMS, distill_weight=0.0)
    for teacher in ("full", "ema"):  # the defaults' teacher is the frozen initial model
        contenders[f"mic+sd({teacher})"] = MICLoss(model, base, DIMS, distill_teacher=teacher)
    contenders["mic, per-term checks"] = PerTermChecks(MICLoss(model, base, DIMS))  # its own teacher memo
    contenders[WARM] = MICLoss(model, base, DIMS)
    with torch.no_grad():  # a later epoch: the frozen teacher's memo already holds every text
        for features in batches:
            contenders[WARM](features, None)
    validation.check_finite = counting(validation.check_finite)
    for module in (mic_module, scr_module, sir_module, distill_module):
        if hasattr(module, "check_finite"):
            module.check_finite = validation.check_finite
    mic_module.check_all_finite = counting(mic_module.check_all_finite)

    times: dict[str, list[float]] = {name: [] for name in contenders}
    syncs: dict[str, int] = {}
    for index, features in enumerate(batches):
        names = list(contenders)
        order = names[index % len(names) :] + names[: index % len(names)]
        for name in order:
            seconds, synced = step_seconds(contenders[name], features, model)
            syncs[name] = synced
            if index >= 2:
                times[name].append(seconds)

    medians = {name: statistics.median(values) for name, values in times.items()}
    ratios = {name: round(value / medians["mrl"], 4) for name, value in medians.items()}
    result = {
        "ratio": ratios["mic"],
        "ratios": ratios,
        "finite_check_syncs_per_step": syncs,
        "median_step_seconds": {name: round(value, 4) for name, value in medians.items()},
        "step_seconds": {name: [round(v, 4) for v in values] for name, values in times.items()},
        "mic_config": mic.get_config_dict(),
        "batch_pairs": args.batch_size,
        "dims": DIMS,
        "data": "STS-B train, first pairs in file order",
        "seed": args.seed,
        "threads": torch.get_num_threads(),
        "command": command_line(),
    }
    result["provenance"] = run_provenance(result["command"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "overhead.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    table = [
        "# Training-step overhead: MICLoss vs MatryoshkaLoss",
        "",
        f"all-MiniLM-L6-v2, MultipleNegativesRankingLoss, {args.batch_size} STS-B train pairs per step, dims {DIMS},",
        f"CPU ({torch.get_num_threads()} threads), {args.steps} timed steps each, alternating, seed {args.seed}.",
        f"Command: `{result['command']}`",
        "",
        f"MICLoss defaults: γ={mic.gamma}, layers {list(mic.layers)}, λ_SD {mic.distill_weight} with teacher "
        f"{mic.distill_teacher}; `+sd(T)`: the same with teacher T. Target of the defaults without SD: ratio ≤ 1.10.",
        "",
        "| loss | median step (s) | ratio to MRL | finiteness syncs per step |",
        "|---|---|---|---|",
        *[f"| {name} | {medians[name]:.3f} | {ratios[name]:.3f} | {syncs[name]} |" for name in contenders],
        "",
    ]
    (RESULTS / "overhead.md").write_text("\n".join(table), encoding="utf-8")
    print("\n".join(table))


if __name__ == "__main__":
    main()
