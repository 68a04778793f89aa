"""MIC: elastic-dimension (Matryoshka) sentence embeddings that stay strong at 8-64 dims.

The losses and ``__version__`` are resolved lazily (PEP 562 module ``__getattr__``): ``import mic`` and the
``mic`` command line stay fast, and torch / sentence-transformers load only when a loss is first used.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mic.losses import MICLoss, PrefixSelfDistillation, SoftCollapseRegularizer, SpectralIsotropyRegularizer

__all__ = [
    "MICLoss",
    "PrefixSelfDistillation",
    "SoftCollapseRegularizer",
    "SpectralIsotropyRegularizer",
    "__version__",
]
_FROM_LOSSES = frozenset(__all__) - {"__version__"}


def __getattr__(name: str) -> object:
    if name == "__version__":  # the installed distribution's version: pyproject.toml holds the one number
        from importlib import metadata

        return metadata.version("mic-embeddings")
    if name not in _FROM_LOSSES:
        raise AttributeError(f"module 'mic' has no attribute {name!r}")
    return getattr(import_module("mic.losses"), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
