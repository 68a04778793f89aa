"""Where mic keeps what it computes once and reuses: ``$MIC_CACHE_DIR``, else ``~/.cache/mic``.

The embedding cache (:mod:`mic.cache`) and the exported encoders (:mod:`mic.onnx`) live in sub-folders of it.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_DIR_ENV = "MIC_CACHE_DIR"


def default_cache_dir() -> Path:
    """``$MIC_CACHE_DIR``, else ``~/.cache/mic``."""
    return Path(os.environ.get(CACHE_DIR_ENV) or Path.home() / ".cache" / "mic").expanduser()
