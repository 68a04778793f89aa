"""MIC's ablations against MRL, seed 0: each ablation's test score minus MRL seed 0's, from the head-to-head's run
records (:func:`common.training.run_cache`, written by ``benchmarks/quality.py``); trains nothing. A row needs both
records, neither from other code nor trained with a config that is no longer its method's (stale). A run from before
records carried their code is used for the tasks this code reproduces (:data:`common.runs.LEGACY_TASKS`) and named
under the table; its other cells are ``—``.

    python benchmarks/ablations.py   # writes results/ablations.md and README's ablation table
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from common.provenance import git_dirty
from common.report import README, TABLE_NOTES, origin_entry, origin_lines, replace_block
from common.runs import OTHER_CODE, kept_scores, read_record
from common.settings import RESULTS
from common.training import run_cache, trained_as_configured
from mic.provenance import git_commit

ABLATIONS = {
    "unsup-simcse-paper": ["mic", "mic-paper"],
    "unsup-simcse": ["mic", "mic-paper", "mic-no-sd", "mic-no-scr", "mic-no-varfloor", "mic-last-layer"],
    "stsb-cosent": ["mic", "mic-paper", "mic-no-sd", "mic-no-scr", "mic-no-varfloor", "mic-last-layer"],
}
"""The runs compared with MRL per setting (the paper's budget ran only the tuned and the untuned MIC)."""
TASKS = {"stsb": "STS-B", "sickr": "SICK-R", "scifact": "SciFact"}
LOW_DIMS = ["8", "16", "32"]
FULL_DIM = "384"
SEED = 0
STALE = "stale"
ORIGIN_NOTES = {**TABLE_NOTES, OTHER_CODE: "their rows left out; `benchmarks/quality.py` retrains them"}
README_START, README_END = "<!-- ablations:start -->", "<!-- ablations:end -->"


def row(setting: str, method: str, mrl: Mapping[str, dict], scores: Mapping[str, dict]) -> str:
    """One table row: per task the differences at 8 / 16 / 32 and 384, then SciFact's worst dim; ``—`` for a task
    one of the two lacks (a run without a code fingerprint keeps only :data:`common.runs.LEGACY_TASKS`)."""
    cells = []
    for task in TASKS:
        if task not in scores or task not in mrl:
            cells.append("—")
            continue
        low = " / ".join(f"{scores[task][d] - mrl[task][d]:+.2f}" for d in LOW_DIMS)
        cells.append(f"{low}, {scores[task][FULL_DIM] - mrl[task][FULL_DIM]:+.2f}")
    if "scifact" not in scores or "scifact" not in mrl:
        return f"| {setting} | `{method}` | {' | '.join(cells)} | — |"
    diffs = {dim: scores["scifact"][dim] - mrl["scifact"][dim] for dim in scores["scifact"]}
    worst = min(diffs, key=diffs.__getitem__)
    return f"| {setting} | `{method}` | {' | '.join(cells)} | {diffs[worst]:+.2f} at {worst} |"


def table(results: Path = RESULTS) -> str:
    """The Markdown table of every ablation of :data:`ABLATIONS` whose record and MRL's are usable, then the
    lines naming the runs not from this code and those not run yet."""
    rows, origins, missing = [], {}, []
    for setting, methods in ABLATIONS.items():
        records = {m: read_record(run_cache(results, setting, m, SEED)) for m in ["mrl", *methods]}
        usable: set[str] = set()  # there, trained as its method is configured today, and not from other code
        for method, record in records.items():
            name = f"{setting} {method} seed {SEED}"
            if record is None:
                missing.append(name)
            elif not trained_as_configured(record):
                origins.setdefault(OTHER_CODE, []).append(f"{name} (trained with a config no longer its method's)")
            else:
                kind, entry = origin_entry(name, record)
                origins.setdefault(kind, []).append(entry)
                if kind != OTHER_CODE:
                    usable.add(method)
        for method in methods:
            mrl, record = records["mrl"], records[method]
            if not {"mrl", method} <= usable:
                continue
            rows.append(row(setting, method, kept_scores(mrl), kept_scores(record)))
    header = " | ".join(f"{name} 8 / 16 / 32, 384" for name in TASKS.values())
    lines = [
        f"| setting | run | {header} | SciFact, worst dim |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        *origin_lines(origins, ORIGIN_NOTES),
    ]
    if missing:
        lines += [f"**Not run yet** (rows left out): {'; '.join(missing)}.", ""]
    return "\n".join(lines).rstrip()


def report(results: Path = RESULTS) -> str:
    """``ablations.md``: the title, where the numbers come from, and :func:`table`."""
    lines = [
        f"# MIC's ablations: MIC − MRL, seed {SEED}, test (8 / 16 / 32 dims, then 384)",
        "",
        "From `benchmarks/results/runs/SETTING/METHOD/seed-0.json` (`python benchmarks/ablations.py`); "
        f"written at commit {git_commit()} (uncommitted changes: {git_dirty()}). STS-B and SICK-R: Spearman x100; "
        "SciFact: nDCG@10 x100.",
        "",
        table(results),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    markdown = report()
    (RESULTS / "ablations.md").write_text(markdown)
    replace_block(README, README_START, README_END, table())
    print(markdown)


if __name__ == "__main__":
    main()
