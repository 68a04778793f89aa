"""Result files: JSON that stays valid (no NaN) and readable labels."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path


def finite_or_none(value: float) -> float | None:
    """``value``, or ``None`` for NaN/inf (a correlation of constant input), which JSON cannot hold."""
    return value if math.isfinite(value) else None


def short_labels(names: Sequence[str]) -> dict[str, str]:
    """Readable labels for models and tasks: the last path component (``pca:runs/mic/final`` -> ``pca:final``).

    Names whose labels would collide keep their full spelling.
    """

    def short(name: str) -> str:
        prefix, colon, rest = name.partition(":")
        if colon and rest and "/" not in prefix:
            return f"{prefix}:{Path(rest).name or rest}"
        return Path(name).name or name

    labels = {name: short(name) for name in names}
    counts = Counter(labels.values())
    return {name: label if counts[label] == 1 else name for name, label in labels.items()}
