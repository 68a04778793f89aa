"""Helpers shared by tests: driving the ``mic`` command line in a subprocess, and one torch thread for tiny tensors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch


def run_cli(*args: str, cwd: Path) -> subprocess.Popen:
    """Start `python -m mic ARGS` offline, with stdout and stderr merged into one text pipe."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "mic", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_checkpoint(process: subprocess.Popen, work_dir: Path, timeout: float = 120) -> None:
    """Block until the run has written a complete checkpoint (or fail if it died or took too long)."""
    deadline = time.time() + timeout
    while not any(work_dir.glob("checkpoint-*/trainer_state.json")):
        assert process.poll() is None, process.stdout.read()
        assert time.time() < deadline, "no checkpoint appeared"
        time.sleep(0.2)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    """Tiny tensors on shared CPU cores: one intra-op thread avoids oversubscription (a conftest imports it)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def write_beir(
    folder: Path, documents: dict[str, str], queries: dict[str, str], qrels: list[str], split: str = "test"
) -> Path:
    """A tiny BEIR folder: ``documents`` and ``queries`` as id -> text, ``qrels`` of ``split`` as
    "query<TAB>doc<TAB>score"."""
    (folder / "qrels").mkdir(parents=True)
    rows = [json.dumps({"_id": key, "title": "", "text": text}) for key, text in documents.items()]
    (folder / "corpus.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    rows = [json.dumps({"_id": key, "text": text}) for key, text in queries.items()]
    (folder / "queries.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (folder / "qrels" / f"{split}.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(qrels) + "\n")
    return folder
