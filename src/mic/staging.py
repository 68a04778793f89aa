"""Folder outputs written all-or-nothing: build in a temporary folder beside the target, then rename.

Callers decide first whether an existing target may be replaced (only something mic wrote); this module
only guarantees that a reader sees the old folder or the complete new one, never a half-written one.
"""

from __future__ import annotations

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
