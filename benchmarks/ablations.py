"""MIC's ablations against MRL, seed 0: each ablation's test score minus MRL seed 0's, from the head-to-head's run
records (:func:`common.training.run_cache`, written by ``benchmarks/quality.py``); trains nothing. A row needs both
records, neither from other code (stale); runs without a code fingerprint are used and named under the table.

    python benchmarks/ablations.py   # writes results/ablations.md (README's ablation table)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from common.provenance import git_dirty
from common.report import origin_entry, origin_lines
from common.runs import OTHER_CODE, read_record
from common.settings import RESULTS
from common.training import run_cache
from mic.provenance import git_commit

SETTINGS = ["unsup-simcse", "stsb-cosent"]
ABLATIONS = ["mic", "mic-paper", "mic-no-sd", "mic-no-scr", "mic-no-varfloor", "mic-last-layer"]
LOW_DIMS = ["8", "16", "32"]
FULL_DIM = "384"
SEED = 0
ORIGIN_NOTES = {OTHER_CODE: "their rows left out; `benchmarks/quality.py` retrains them"}


def row(setting: str, method: str, mrl: Mapping[str, dict], scores: Mapping[str, dict]) -> str:
    """One table row: STS-B and SICK-R differences at 8 / 16 / 32 and 384, SciFact's worst dim."""
    cells = []
    for task in ("stsb", "sickr"):
        low = " / ".join(f"{scores[task][d] - mrl[task][d]:+.2f}" for d in LOW_DIMS)
        cells.append(f"{low}, {scores[task][FULL_DIM] - mrl[task][FULL_DIM]:+.2f}")
    diffs = {dim: scores["scifact"][dim] - mrl["scifact"][dim] for dim in scores["scifact"]}
    worst = min(diffs, key=diffs.__getitem__)
    return f"| {setting} | `{method}` | {cells[0]} | {cells[1]} | {diffs[worst]:+.2f} at {worst} |"


def report(results: Path = RESULTS) -> str:
    """The Markdown table of every ablation of :data:`SETTINGS` whose record and MRL's are usable, then the
    origin lines of the runs not from this code."""
    rows, origins, missing = [], {}, []
    for setting in SETTINGS:
        records = {m: read_record(run_cache(results, setting, m, SEED)) for m in ["mrl", *ABLATIONS]}
        for method, record in records.items():
            if record is None:
                missing.append(f"{setting} {method}")
                continue
            kind, entry = origin_entry(f"{setting} {method} seed {SEED}", record)
            origins.setdefault(kind, []).append(entry)
        mrl = records["mrl"]
        for method in ABLATIONS:
            record = records[method]
            usable = [r for r in (mrl, record) if r is not None and origin_entry("", r)[0] != OTHER_CODE]
            if len(usable) == 2:
                rows.append(row(setting, method, mrl["scores"], record["scores"]))
    lines = [
        f"# MIC's ablations: MIC − MRL, seed {SEED}, test (8 / 16 / 32 dims, then 384)",
        "",
        "From `benchmarks/results/runs/SETTING/METHOD/seed-0.json` (`python benchmarks/ablations.py`); "
        f"written at commit {git_commit()} (uncommitted changes: {git_dirty()}).",
        "",
        "| setting | run | STS-B | SICK-R | SciFact, worst dim |",
        "|---|---|---|---|---|",
        *rows,
        "",
        *origin_lines(origins, ORIGIN_NOTES),
    ]
    if missing:
        lines += [f"**Not run yet** (rows left out): {'; '.join(missing)}.", ""]
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    markdown = report()
    (RESULTS / "ablations.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
