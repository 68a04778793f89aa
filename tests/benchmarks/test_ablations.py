"""The ablation table on synthetic run records: MIC − MRL per row, rows from other code left out and named."""

from __future__ import annotations

from pathlib import Path

import ablations
from common import runs
from common.runs import write_record
from common.training import run_cache

TASKS = ("stsb", "sickr", "scifact")


def record(score: float, *, code: str | None = None, legacy: bool = False) -> dict:
    """A run record scoring ``score`` at every task and dim; from other ``code``, or with no provenance."""
    scores = {task: {dim: score for dim in ("8", "16", "32", "64", "384")} for task in TASKS}
    fields = runs.new_record("k", "test", {"scores": scores})
    if legacy:
        fields.pop("provenance")
    elif code is not None:
        fields["provenance"]["code_fingerprint"] = code
    return fields


def test_rows_are_differences_to_mrl_and_stale_runs_are_left_out_and_named(tmp_path: Path) -> None:
    for setting in ablations.SETTINGS:
        write_record(run_cache(tmp_path, setting, "mrl", 0), record(70.0))
        write_record(run_cache(tmp_path, setting, "mic", 0), record(71.5))
        write_record(run_cache(tmp_path, setting, "mic-no-sd", 0), record(69.0, legacy=True))
        write_record(run_cache(tmp_path, setting, "mic-paper", 0), record(90.0, code="0123456789abcdef"))
    markdown = ablations.report(tmp_path)
    gain = "+1.50 / +1.50 / +1.50, +1.50"
    assert f"| stsb-cosent | `mic` | {gain} | {gain} | +1.50 at 8 |" in markdown
    assert "| unsup-simcse | `mic-no-sd` | -1.00 / -1.00 / -1.00, -1.00" in markdown
    assert "`mic-paper`" not in markdown.split("\n\n**")[0]
    assert "stsb-cosent mic-paper seed 0 (commit" in markdown and "their rows left out" in markdown
    assert "No code fingerprint" in markdown and "unsup-simcse mic-no-sd seed 0" in markdown
    assert "**Not run yet** (rows left out): unsup-simcse mic-no-scr;" in markdown
