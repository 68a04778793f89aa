"""Tune MIC's self-distillation on the dev splits only (STS-B dev, SICK trial): teacher, objective and λ_SD.

Around each setting's dev-tuned MIC (``results/sweep-SETTING.json``, where the coordinate search of ``sweep.py``
ended), whose best candidate the setting's ``configs/mic-*.yaml`` then holds (a test checks it):

1. λ_SD on a log grid (``LAMBDAS``) with the frozen initial model as teacher and row-KL (the form a probe
   found live in an earlier probe), continued up ``EXTEND`` while the largest λ so far is the best and still improving
   (a large task loss such as CoSENT's can need a larger weight);
2. each other teacher (the student's own full embedding, its EMA) and each other objective (cosine-matrix
   agreement, token-relation CKA) at step 1's best λ if that beat the base by ``common.sweeps.MARGIN``, else at λ_SD
   ``PROBE`` (a weight at which step 1's term visibly acts);
3. if one of those beats the base by ``common.sweeps.MARGIN``, the rest of the λ grid for it.

Selection is ``sweep.py``'s: mean dev Spearman at dims 8/16/32 over both dev tasks, among candidates whose
384-dim dev score is at most 0.3 below MRL's at the same budget; the base (λ_SD 0) is a candidate too, so
"off" wins unless a distillation run beats it by ``common.sweeps.MARGIN``. Runs are cached under
``benchmarks/results/sweep/SETTING-STEPSsteps-distill/`` (the base and MRL are read from the coordinate
search's folder when they are there). ``L_SD`` is the mean over the regularised dims (``docs/method.md``); the
coordinate search's single ``distill_weight=1.0`` run predates that and summed over them.

    python benchmarks/distill_sweep.py --data-dir ../shared/data --setting unsup-simcse --steps 200

writes benchmarks/results/distill-sweep-SETTING-STEPSsteps.{json,md}; a setting's ready config follows the sweep
with the most steps (:func:`common.sweeps.governing_summary`).
"""

from __future__ import annotations

import json
from pathlib import Path

from common.provenance import command_line, run_provenance
from common.report import record_origin_lines, record_origins
from common.settings import sweep_path
from common.sweeps import (
    MARGIN,
    anchored,
    dev_scores,
    distill_summary_path,
    earlier_records,
    eligible,
    full_dim_score,
    low_dim_score,
    name_of,
    parse_sweep_args,
    run_candidate,
    search_folder,
)
from mic.staging import write_atomic

LAMBDAS = [0.01, 0.03, 0.1, 0.3, 1.0]
EXTEND = [3.0, 10.0, 30.0, 100.0]
PROBE = 0.1
FIRST = {"distill_teacher": "initial", "distill_objective": "kl"}
OTHERS = [
    {"distill_teacher": "full", "distill_objective": "kl"},
    {"distill_teacher": "ema", "distill_objective": "kl"},
    {"distill_teacher": "initial", "distill_objective": "cosine"},
    {"distill_teacher": "initial", "distill_objective": "cka"},
]


def main() -> None:
    args = parse_sweep_args(__doc__.splitlines()[0], ["unsup-simcse", "stsb-cosent"], "unsup-simcse")
    searched = search_folder(args.setting, args.steps)
    folder = searched.with_name(f"{searched.name}-distill")

    used: set[Path] = set()

    def run(method: str, mic: dict, cache_folder: str | None = None) -> dict | None:
        name = "mrl" if method == "mrl" else name_of(mic)
        cache = (searched if cache_folder == "search" else folder) / f"{name}.json"
        used.add(cache)
        return run_candidate(args, "distill sweep", method, anchored(mic), cache)

    reference = run("mrl", {}, "search")
    base = json.loads(sweep_path(args.setting).read_text())["chosen"]  # where the coordinate search ended

    def label(choice: dict, weight: float) -> str:
        return f"{choice['distill_teacher']}, {choice['distill_objective']}, λ {weight}"

    records = {"base (λ_SD 0)": run("mic", base, "search")}
    for weight in LAMBDAS:
        records[label(FIRST, weight)] = run("mic", {**base, **FIRST, "distill_weight": weight})

    def score(name: str) -> float:
        record = records[name]
        return low_dim_score(record) if eligible(record, reference) else float("-inf")

    grid = list(LAMBDAS)
    for weight in EXTEND:
        names = [label(FIRST, w) for w in grid]
        if any(records[name] is None for name in names) or max(names, key=score) != names[-1]:
            break
        records[label(FIRST, weight)] = run("mic", {**base, **FIRST, "distill_weight": weight})
        grid.append(weight)

    best_first = max(grid, key=lambda weight: score(label(FIRST, weight)))
    gain = score(label(FIRST, best_first)) >= score("base (λ_SD 0)") + MARGIN
    probe = best_first if gain else PROBE
    for other in OTHERS:
        records[label(other, probe)] = run("mic", {**base, **other, "distill_weight": probe})
    probed = [choice for choice in OTHERS if records[label(choice, probe)] is not None]
    if records["base (λ_SD 0)"] is not None and probed:
        strongest = max(probed, key=lambda choice: score(label(choice, probe)))
        if score(label(strongest, probe)) >= max(score("base (λ_SD 0)"), score(label(FIRST, probe))) + MARGIN:
            for weight in grid:
                if weight != probe:
                    records[label(strongest, weight)] = run("mic", {**base, **strongest, "distill_weight": weight})
    done = {name: record for name, record in records.items() if record is not None}
    done.update({f"{name} (earlier path)": record for name, record in earlier_records(folder, used).items()})
    chosen = [name for name in done if name in records]
    best = max(chosen, key=lambda name: score(name) if name == "base (λ_SD 0)" else score(name) - MARGIN)
    summary = {
        "setting": args.setting,
        "steps": args.steps,
        "seed": args.seed,
        "base": base,
        "selection": f"mean dev Spearman at 8/16/32 over STS-B dev and SICK trial; 384-dim within 0.3 of MRL; "
        f"a distillation candidate must beat the base by {MARGIN}",
        "reference_mrl": dev_scores(reference),
        "candidates": {
            name: {"mic": record["config"]["mic"], **dev_scores(record), "scores": record["scores"]}
            for name, record in done.items()
        },
        "best": best,
        "command": command_line(),
        "run_origins": record_origins({"MRL": reference, **done}),
        "provenance": run_provenance(command_line()),
    }
    path = distill_summary_path(args.setting, args.steps)
    write_atomic(path, json.dumps(summary, indent=2))
    lines = [
        f"# Self-distillation dev sweep ({args.setting}, {args.steps} steps, seed {args.seed}; dev splits only)",
        "",
        f"Command: `{summary['command']}`. Base: the setting's dev-tuned MIC `{json.dumps(base)}`; "
        "teacher / objective / λ_SD added to it.",
        "",
        "| candidate | dev low-dim (8/16/32) | dev 384 | Δ low-dim vs MRL | Δ 384 vs MRL |",
        "|---|---|---|---|---|",
        f"| MRL (reference) | {low_dim_score(reference):.2f} | {full_dim_score(reference):.2f} | | |",
    ]
    for name, record in done.items():
        low, full = low_dim_score(record) - low_dim_score(reference), full_dim_score(record) - full_dim_score(reference)
        marker = " **(best)**" if name == best else ""
        scores = f"{low_dim_score(record):.2f} | {full_dim_score(record):.2f}"
        lines.append(f"| {name}{marker} | {scores} | {low:+.2f} | {full:+.2f} |")
    lines += ["", *record_origin_lines({"MRL": reference, **done})][:-1]  # runs not from this code, if any
    write_atomic(path.with_suffix(".md"), "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
