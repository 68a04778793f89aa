"""The thread-spread benchmark on synthetic run records: the spread is max − min per task and dim, each thread count
runs at its count in its own cache, and the head-to-head's record stands only for the count it was recorded at.
Nothing is trained."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

import thread_spread
from common import runs, settings
from common.runs import read_record, write_record
from common.training import run_cache

SETTING, METHOD, SEED = "scifact-corpus", "mrl", 0
TRAIN_QUERIES = {"scifact_train": {"8": 5.0, "384": 63.0}}
SCORES = {
    1: {"stsb": {"8": 70.0, "384": 82.0}, "scifact": {"8": 4.0, "384": 62.0}, **TRAIN_QUERIES},
    2: {"stsb": {"8": 70.5, "384": 82.0}, "scifact": {"8": 4.0012, "384": 61.9}, **TRAIN_QUERIES},
    4: {"stsb": {"8": 69.8, "384": 82.0}, "scifact": {"8": 4.0, "384": 62.0}, **TRAIN_QUERIES},
}
"""Scores x100 by thread count: STS-B at 8 dims spreads 0.7 (max − min, not last − first), SciFact by 0.0012 / 0.1."""


def record(threads: int, scores: dict) -> dict:
    """A run record as :func:`common.training.run_one` writes it, recorded at ``threads`` threads."""
    fields = {"setting": SETTING, "method": METHOD, "seed": SEED, "scores": scores, "train_seconds": 1.0,
              "total_seconds": 2.0, "config": None}  # fmt: skip
    made = runs.new_record("key", "test", fields)
    made["provenance"]["threads"] = threads
    return made


def test_the_spread_is_max_minus_min_over_the_thread_counts(tmp_path: Path) -> None:
    records = {count: record(count, scores) for count, scores in SCORES.items()}
    data = thread_spread.write_report(tmp_path, records, "python benchmarks/thread_spread.py --threads 1 2 4")
    assert data["threads"] == [1, 2, 4]
    assert data["scores"]["stsb"]["8"] == {"scores": {"1": 70.0, "2": 70.5, "4": 69.8}, "spread": 0.7}
    assert data["scores"]["scifact"]["8"]["spread"] == 0.0012 and data["scores"]["scifact"]["384"]["spread"] == 0.1
    assert data["scores"]["stsb"]["384"]["spread"] == 0.0
    assert data["max_spread"] == {"spread": 0.7, "task": "stsb", "dim": "8"}
    assert data["splits"]["stsb"] == settings.TEST_SPLITS["stsb"] and data["splits"]["scifact_train"] == "scifact:train"
    assert data["runs"]["2"]["provenance"]["threads"] == 2
    assert data["runs"]["4"]["cache"] == "thread-spread/threads-4/runs/scifact-corpus/mrl/seed-0.json"
    assert json.loads((tmp_path / "thread-spread.json").read_text())["max_spread"]["spread"] == 0.7
    markdown = (tmp_path / "thread-spread.md").read_text()
    assert "| stsb | spread | 0.7000 | 0.0000 |" in markdown and "| scifact | 2 | 4.0012 | 61.9000 |" in markdown
    assert "**Largest spread: 0.7000** (`stsb` at 8 dims)" in markdown
    assert "Command: `python benchmarks/thread_spread.py --threads 1 2 4`" in markdown


def test_each_thread_count_runs_at_its_count_in_its_own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    head_to_head = record(1, SCORES[1])
    write_record(run_cache(tmp_path, SETTING, METHOD, SEED), head_to_head)
    calls = []

    def fake_run_one(
        setting: str, method: str, seed: int, data_dir: str, tasks: dict, mic: dict, cache: Path, extras: bool
    ) -> dict:
        assert extras  # the head-to-head's setting asks for the retrieval extras: so does its rerun
        calls.append((cache, torch.get_num_threads(), cache.is_file(), tasks))
        made = read_record(cache) or record(torch.get_num_threads(), SCORES[2])
        write_record(cache, made)
        return made

    monkeypatch.setattr(thread_spread, "run_one", fake_run_one)
    before = torch.get_num_threads()
    records = {count: thread_spread.run_at(tmp_path, count, SETTING, METHOD, SEED, "data") for count in (1, 2)}
    assert torch.get_num_threads() == before
    caches = [cache for cache, *_ in calls]
    assert caches == [tmp_path / "thread-spread" / f"threads-{count}" / "runs" / SETTING / METHOD / "seed-0.json"
                      for count in (1, 2)]  # fmt: skip
    assert [threads for _, threads, *_ in calls] == [1, 2]
    assert [existed for *_, existed, _ in calls] == [True, False]  # recorded at 1 thread: stands for 1 only
    assert calls[0][3] == settings.run_tasks(SETTING) and "scifact_train" in calls[0][3]
    assert records[1] == head_to_head and records[2]["provenance"]["threads"] == 2
    assert read_record(run_cache(tmp_path, SETTING, METHOD, SEED)) == head_to_head


@pytest.mark.parametrize(
    ("threads", "message"),
    [(["2", "2"], "--threads 2: a spread needs two thread counts or more"), (["0", "1"], "'0' is not a thread count")],
)
def test_bad_thread_counts_are_refused(
    threads: list[str], message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["thread_spread.py", "--data-dir", "data", "--threads", *threads])
    with pytest.raises(SystemExit) as exit_info:
        thread_spread.main()
    assert exit_info.value.code == 2 and message in capsys.readouterr().err
