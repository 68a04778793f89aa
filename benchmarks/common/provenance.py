"""What produced a run: the commit (and whether the tree had uncommitted changes), a fingerprint of the code,
library versions, thread count and machine. Every run record carries it (:func:`run_provenance`)."""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path

import torch

import mic
from mic.provenance import git_commit, package_versions

CODE_ROOT = Path(mic.__file__).resolve().parent


NOT_IN_RUNS = ("cli/", "__main__.py")
"""Parts of the package no benchmark run executes (the command line): changing them changes no run."""


@functools.cache
def code_fingerprint(root: Path = CODE_ROOT) -> str:
    """A hash of every ``.py`` file under ``root`` (the ``mic`` package: the code that trains and scores a run)
    but :data:`NOT_IN_RUNS`, by relative path and content, so any change to that code, committed or not, gives
    another fingerprint."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        if path.relative_to(root).as_posix().startswith(NOT_IN_RUNS):
            continue
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


OUTPUTS = ("benchmarks/results", "README.md")
"""What the benchmarks write: changes there (the runs' own records and reports, README's results blocks, which
``benchmarks/quality.py`` rewrites after every run) leave the checkout clean; no run reads them."""


def git_dirty(root: Path = CODE_ROOT) -> bool | None:
    """Whether the checkout holding ``root`` has uncommitted changes to tracked files outside :data:`OUTPUTS`, or
    None outside a git checkout."""
    try:
        excluded = [f":(top,exclude){output}" for output in OUTPUTS]
        result = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ":(top)", *excluded],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return bool(result.stdout.strip()) if result.returncode == 0 else None


def cpu(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The processor's model name and a hash of its instruction-set flags, read from ``cpuinfo`` (Linux's; elsewhere
    the platform's processor name). Two CPUs of one model name can differ in the vector instructions the math libraries
    pick (AVX-512 with or without bf16 and fp16), which moves the last bits of a result: the flags tell them apart."""
    try:
        first = cpuinfo.read_text().split("\n\n")[0]
    except OSError:
        return platform.processor() or platform.machine()
    fields = {key.strip(): value for key, _, value in (line.partition(":") for line in first.splitlines())}
    model = fields.get("model name", platform.processor() or platform.machine()).strip()
    flags = " ".join(sorted(fields.get("flags", "").split()))
    return f"{model}, flags {hashlib.sha256(flags.encode()).hexdigest()[:8]}"


def machine() -> str:
    """The architecture, processor (:func:`cpu`), torch's CPU capability, core count, and the OpenMP thread setting
    the process started with."""
    return (
        f"{platform.machine()}, {cpu()}, torch {torch.backends.cpu.get_cpu_capability()}, {os.cpu_count()} cores, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )


def command_line() -> str:
    """The command that started this process, as a shell would take it (``python benchmarks/X.py ARGS``)."""
    return shlex.join([Path(sys.executable).name, *sys.argv])


def run_provenance(command: str | None) -> dict[str, object]:
    """The ``provenance`` block of a run record: commit, dirty tree, code fingerprint, versions, torch's thread
    count, machine and command."""
    return {
        "git_commit": git_commit(),
        "git_dirty": git_dirty(),
        "code_fingerprint": code_fingerprint(),
        "versions": package_versions(),
        "threads": torch.get_num_threads(),
        "machine": machine(),
        "command": command,
    }
