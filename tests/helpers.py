"""Helpers shared by tests that drive the ``mic`` command line in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


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
