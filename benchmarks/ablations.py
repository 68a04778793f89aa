"""MIC's ablations against MRL, seed 0: each ablation's test score minus MRL seed 0's, from the head-to-head's run
records (``results/runs/SETTING/METHOD/seed-0.json``, written by ``benchmarks/quality.py``); trains nothing.

    python benchmarks/ablations.py   # writes results/ablations.md (README's ablation table)
"""

from __future__ import annotations

import json

from common.provenance import git_dirty
from common.settings import RESULTS
from mic.provenance import git_commit

SETTINGS = ["unsup-simcse", "stsb-cosent"]
ABLATIONS = ["mic", "mic-paper", "mic-no-sd", "mic-no-scr", "mic-no-varfloor", "mic-last-layer"]
LOW_DIMS = ["8", "16", "32"]
FULL_DIM = "384"


def seed0_scores(setting: str, method: str) -> dict[str, dict[str, float]]:
    """``{task: {dim: score}}`` of one method's seed-0 run record."""
    return json.loads((RESULTS / "runs" / setting / method / "seed-0.json").read_text())["scores"]


def row(setting: str, method: str) -> str:
    """One table row: STS-B and SICK-R differences at 8 / 16 / 32 and 384, SciFact's worst dim."""
    mrl, scores = seed0_scores(setting, "mrl"), seed0_scores(setting, method)
    cells = []
    for task in ("stsb", "sickr"):
        low = " / ".join(f"{scores[task][d] - mrl[task][d]:+.2f}" for d in LOW_DIMS)
        cells.append(f"{low}, {scores[task][FULL_DIM] - mrl[task][FULL_DIM]:+.2f}")
    diffs = {dim: scores["scifact"][dim] - mrl["scifact"][dim] for dim in scores["scifact"]}
    worst = min(diffs, key=diffs.__getitem__)
    return f"| {setting} | `{method}` | {cells[0]} | {cells[1]} | {diffs[worst]:+.2f} at {worst} |"


def main() -> None:
    lines = [
        "# MIC's ablations: MIC − MRL, seed 0, test (8 / 16 / 32 dims, then 384)",
        "",
        "From `benchmarks/results/runs/SETTING/METHOD/seed-0.json` (`python benchmarks/ablations.py`); "
        f"written at commit {git_commit()} (uncommitted changes: {git_dirty()}).",
        "",
        "| setting | run | STS-B | SICK-R | SciFact, worst dim |",
        "|---|---|---|---|---|",
    ]
    lines += [row(setting, method) for setting in SETTINGS for method in ABLATIONS]
    (RESULTS / "ablations.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
