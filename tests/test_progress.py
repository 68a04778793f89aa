"""Progress bars: none in log files, and no per-file ``Loading weights`` / ``Writing model shards`` bars."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from transformers.utils import logging as transformers_logging

from mic.models import load_model
from mic.progress import Progress, no_transformers_bars, progress_bars


def test_no_bars_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress_bars() is False


def test_progress_in_a_log_is_a_plain_line_each_tenth_of_the_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    log = io.StringIO()
    with Progress(1_000, "Indexing", "documents", stream=log) as progress:
        for _ in range(250):
            progress.update(4)
    lines = log.getvalue().splitlines()
    assert len(lines) == 10 and "\r" not in log.getvalue() and sys.stderr.getvalue() == ""
    assert lines[0].startswith("Indexing: 100/1,000 documents (10%), ") and "s left" in lines[0]
    assert lines[-1].startswith("Indexing: 1,000/1,000 documents (100%), ")
    quiet = io.StringIO()
    with Progress(10, "Indexing", "documents", show=False, stream=quiet) as progress:
        progress.update(10)
    assert quiet.getvalue() == ""


def test_index_and_adapt_logs_show_progress_lines_and_no_bars(tmp_path: Path, tiny_st_dir: Path) -> None:
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("".join(f"sentence number {row} about topic {row % 7}\n" for row in range(40)))
    commands = [
        ["index", str(tiny_st_dir), str(sentences), "--dim", "8", "--out", "idx"],
        ["adapt", str(tiny_st_dir), "--data", str(sentences), "--out", "adapted", "--dims", "8",
         "--set", "fit.steps=20", "--set", "fit.batch_size=16"],
    ]  # fmt: skip
    logs = [
        subprocess.run(
            [sys.executable, "-m", "mic", *command],
            cwd=tmp_path,
            env={**os.environ, "HF_HUB_OFFLINE": "1", "MIC_CACHE_DIR": str(tmp_path / command[0])},  # no shared hit
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
        ).stdout
        for command in commands
    ]
    index_log, adapt_log = logs
    assert "Encoding: 40/40 documents (100%)" in index_log and "Indexing: 40/40 documents (100%)" in index_log
    assert "Encoding: 40/40 texts (100%)" in adapt_log and "Fitting adapter: 20/20 steps (100%)" in adapt_log
    for log in logs:
        for noise in ("Loading weights", "Writing model shards", "\x1b[A", "it/s]", "\r"):
            assert noise not in log, log


def test_transformers_bars_are_off_inside_the_block_and_restored_after() -> None:
    assert transformers_logging.is_progress_bar_enabled()
    with no_transformers_bars():
        assert not transformers_logging.is_progress_bar_enabled()
    assert transformers_logging.is_progress_bar_enabled()


def test_loading_a_model_draws_no_bar(tiny_st_dir: Path, capfd: pytest.CaptureFixture[str]) -> None:
    load_model(str(tiny_st_dir))
    captured = capfd.readouterr()
    assert "Loading weights" not in captured.err + captured.out


def test_a_training_log_file_has_no_bar_escapes(tmp_path: Path, tiny_st_dir: Path) -> None:
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("4.2\tA man plays a guitar.\tSomeone plays music.\n0.3\tA dog runs.\tA cat sleeps.\n" * 16)
    config = {
        "model": str(tiny_st_dir),
        "max_seq_length": 32,
        "data": {"train": [str(pairs)], "kind": "scored", "dev": str(pairs)},
        "dims": [8, 16, 32],
        "batch_size": 4,
        "max_steps": 2,
        "save_steps": 1,
        "eval_steps": 1,
        "logging_steps": 1,
        "output_dir": str(tmp_path / "out"),
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    log = subprocess.run(
        [sys.executable, "-m", "mic", "train", "config.yaml"],
        cwd=tmp_path,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    ).stdout
    assert "Saved" in log, log
    assert "'loss'" in log  # the trainer prints its log lines instead of a bar
    for noise in ("Loading weights", "Writing model shards", "\x1b[A", "it/s]"):
        assert noise not in log, log


def test_an_eval_log_file_has_no_encoding_bar(tmp_path: Path, tiny_st_dir: Path) -> None:
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("4.2\tA man plays a guitar.\tSomeone plays music.\n0.3\tA dog runs.\tA cat sleeps.\n" * 40)
    log = subprocess.run(
        [sys.executable, "-m", "mic", "eval", str(tiny_st_dir), "--tasks", str(pairs), "--dims", "32,8",
         "--batch-size", "4"],
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    ).stdout  # fmt: skip
    assert "spearman" in log and "texts (100%)" in log, log
    for noise in ("Batches", "Loading weights", "it/s]", "\r"):
        assert noise not in log, log
