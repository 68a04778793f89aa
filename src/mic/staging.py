"""Outputs written all-or-nothing: build a temporary file or folder beside the target, then rename.

Callers decide first whether an existing target may be replaced (only something mic wrote); this module
only guarantees that a reader sees the old file or folder or the complete new one, never a half-written one.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_folder(path: Path) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``path``; when the block succeeds it replaces ``path``.

    On failure (an exception, Ctrl-C) the temporary folder is removed and ``path`` is untouched.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.{os.getpid()}.saving")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
        previous = path.with_name(f".{path.name}.{os.getpid()}.old")
        if path.exists():
            os.replace(path, previous)
        os.replace(staging, path)
        shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` (text as UTF-8) to a temporary file beside ``path``, then rename it: readers see all of it or
    nothing, even another process reading while it is written. Missing parent folders are created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_json(data: dict[str, object], path: str | Path) -> Path:
    """Write ``data`` as indented JSON with :func:`write_atomic`; refuses NaN so every file parses everywhere."""
    path = Path(path)
    write_atomic(path, json.dumps(data, indent=2, allow_nan=False) + "\n")
    return path
