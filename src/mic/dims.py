"""Matryoshka dims, in one place: the default prefix sizes and their validation, always in ascending order.

Training configs, the loss terms, evaluation and the adapter all read dims through this module, so a dims list
means the same everywhere: ascending, distinct, positive, at most the embedding size. Where a user may type
dims in any order (``--dims 384,64,8``), :func:`resolve_dims` sorts them; a config or a loss, where the order is
part of what was written, must already be ascending (:func:`check_dims` says which order to use).
"""

from __future__ import annotations

from collections.abc import Sequence

from mic.errors import MICError


class DimsError(MICError):
    """A dims list a user typed cannot be read."""


SMALLEST_DEFAULT_DIM = 8
"""The smallest default prefix: METHOD.md's Matryoshka dims for a 384-dim model are 8, 16, ..., 256, 384."""


def default_dims(full_dim: int) -> list[int]:
    """The powers of two from 8 below ``full_dim``, then ``full_dim``: 384 -> 8, 16, 32, 64, 128, 256, 384.

    A model of 8 dims or fewer starts at 1.
    """
    lowest = SMALLEST_DEFAULT_DIM if full_dim > SMALLEST_DEFAULT_DIM else 1
    return [*(1 << k for k in range(full_dim.bit_length()) if lowest <= 1 << k < full_dim), full_dim]


def check_dims(dims: Sequence[int], name: str = "dims", max_dim: int | None = None) -> tuple[int, ...]:
    """Validate a dims list as written: non-empty, positive integers, strictly ascending, at most ``max_dim``.

    Raises:
        ValueError: naming the offending value and what is allowed.
    """
    dims = tuple(dims)
    if not dims:
        raise ValueError(f"{name} must list at least one dimension, got an empty list.")
    for dim in dims:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0:
            raise ValueError(f"{name} must be positive integers, got {dim!r} in {list(dims)}.")
    if len(set(dims)) != len(dims):
        raise ValueError(f"{name} must not repeat a dimension, got {list(dims)}.")
    if list(dims) != sorted(dims):
        raise ValueError(f"{name} must be in ascending order, got {list(dims)}; use {sorted(dims)}.")
    if max_dim is not None and dims[-1] > max_dim:
        raise ValueError(
            f"{name} contains {dims[-1]}, larger than the embedding size {max_dim}; allowed: 1..{max_dim}."
        )
    return dims


def resolve_dims(dims: Sequence[int] | None, full_dim: int, model: str = "the model") -> list[int]:
    """Requested dims for a ``full_dim`` model, in any order, as the ascending distinct list; ``None``: the defaults.

    Raises:
        ValueError: for an empty list, a dim that is not a positive integer, or one larger than ``full_dim``.
    """
    if dims is None:
        return default_dims(full_dim)
    if not dims:
        raise ValueError("--dims lists no dimension; give e.g. --dims 8,64,384.")
    for dim in dims:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim {dim!r} is not a positive number of dimensions.")
        if dim > full_dim:
            allowed = f"allowed: 1..{full_dim}"
            raise ValueError(f"dim {dim} is larger than the {full_dim}-dim embeddings of {model}; {allowed}.")
    return sorted(set(dims))


def parse_dims(text: str | None) -> list[int] | None:
    """``"8,64,384"`` -> ``[8, 64, 384]``; ``None`` (the option not given) -> ``None`` (the defaults).

    Raises:
        DimsError: for a text that names no dim, or a part that is not an integer.
    """
    if text is None:
        return None
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise DimsError(
            f"--dims {text!r} names no dim; give comma-separated dims, e.g. --dims 8,64,384, or leave --dims out "
            "for the defaults."
        )
    try:
        return [int(part) for part in parts]
    except ValueError:
        raise DimsError(f"--dims must be comma-separated integers, e.g. 8,64,384; got {text!r}.") from None
