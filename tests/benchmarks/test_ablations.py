"""The ablation table on synthetic run records: MIC − MRL per row, rows from other code left out and named."""

from __future__ import annotations

from pathlib import Path

import ablations
from common import runs
from common.runs import write_record
from common.training import run_cache

DIMS = ("8", "16", "32", "64", "384")


def record(score: float, *, code: str | None = None, legacy: bool = False, config: dict | None = None) -> dict:
    """A run record scoring ``score`` at every task and dim; from other ``code``, with no provenance (``legacy``),
    or trained with ``config`` (None: as its method is configured, like a pseudo-model)."""
    scores = {task: dict.fromkeys(DIMS, score) for task in ablations.TASKS}
    fields = {"setting": "x", "method": "mrl", "seed": 0, "config": config, "scores": scores}
    made = runs.new_record("k", "test", fields)
    if legacy:
        made.pop("provenance")
    elif code is not None:
        made["provenance"]["code_fingerprint"] = code
    return made


def test_rows_are_differences_to_mrl_and_stale_runs_are_left_out_and_named(tmp_path: Path) -> None:
    for setting in ablations.ABLATIONS:
        write_record(run_cache(tmp_path, setting, "mrl", 0), record(70.0))
        write_record(run_cache(tmp_path, setting, "mic", 0), record(71.5))
        write_record(run_cache(tmp_path, setting, "mic-paper", 0), record(90.0, code="0123456789abcdef"))
    write_record(run_cache(tmp_path, "unsup-simcse", "mrl", 0), record(70.0, legacy=True))
    write_record(run_cache(tmp_path, "unsup-simcse", "mic-no-sd", 0), record(69.0, legacy=True))
    stale = {**record(60.0), "config": {"loss": "mic", "mic": {"gamma": 123.0}}, "setting": "stsb-cosent",
             "method": "mic-no-sd"}  # fmt: skip
    write_record(run_cache(tmp_path, "stsb-cosent", "mic-no-sd", 0), stale)
    markdown = ablations.report(tmp_path)
    table = markdown.split("\n\n**")[0]
    gain = "+1.50 / +1.50 / +1.50, +1.50"
    assert f"| stsb-cosent | `mic` | {gain} | {gain} | {gain} | +1.50 at 8 |" in table
    assert f"| unsup-simcse-paper | `mic` | {gain}" in table
    minus = "-1.00 / -1.00 / -1.00, -1.00"  # runs without a fingerprint: STS only (their SciFact was at 128 tokens)
    assert f"| unsup-simcse | `mic-no-sd` | {minus} | {minus} | — | — |" in table
    assert "`mic-paper`" not in table and "stsb-cosent | `mic-no-sd`" not in table
    assert "stsb-cosent mic-paper seed 0 (commit" in markdown and "their rows left out" in markdown
    assert "stsb-cosent mic-no-sd seed 0 (trained with a config no longer its method's)" in markdown
    assert "No code fingerprint" in markdown and "unsup-simcse mic-no-sd seed 0" in markdown
    assert "**Not run yet** (rows left out): unsup-simcse mic-no-scr seed 0;" in markdown
    # MRL without a fingerprint, MIC from this code: compared on the tasks both keep (STS), SciFact left blank
    assert f"| unsup-simcse | `mic` | {gain} | {gain} | — | — |" in table
    assert "unsup-simcse-paper mic-no-sd" not in markdown  # the paper's budget ran the tuned and untuned MIC only
