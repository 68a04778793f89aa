"""Argument and input checks shared by the MIC loss terms, so every term rejects bad input the same way."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Sequence

import torch
from torch import Tensor


def check_non_negative(value: float, name: str) -> float:
    """Reject a negative or non-finite weight/tolerance."""
    if not isinstance(value, (int, float)) or not value >= 0 or value == float("inf"):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}.")
    return float(value)


def check_positive(value: float, name: str) -> float:
    """Reject a non-positive or non-finite temperature/epsilon."""
    if not isinstance(value, (int, float)) or not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}.")
    return float(value)


def check_batch(tensor: Tensor, term: str, ndim: int, dims: Sequence[int], strict_prefix: bool) -> None:
    """Check shape, batch size (>= 2) and that every prefix dim fits the feature axis.

    Args:
        tensor: the term's input.
        term: the term's name, used in the message.
        ndim: 2 for ``(B, D)`` embeddings, 3 for ``(B, T, D)`` hidden states.
        dims: the prefix dims the term evaluates.
        strict_prefix: if True every dim must be smaller than ``D`` (a prefix needs a residual).
    """
    if tensor.ndim != ndim:
        shape = "(B, D) embeddings" if ndim == 2 else "(B, T, D) hidden states"
        raise ValueError(f"{term} expects {shape}, got a tensor of shape {tuple(tensor.shape)}.")
    if tensor.shape[0] < 2:
        raise ValueError(f"{term} is a batch statistic and needs at least 2 rows, got a batch of {tensor.shape[0]}.")
    width = tensor.shape[-1]
    if strict_prefix and dims[-1] >= width:
        raise ValueError(
            f"{term} needs a residual after every prefix: dims must be < the feature size {width}, got {dims[-1]}."
        )
    if dims[-1] > width:
        raise ValueError(f"{term}: dim {dims[-1]} is larger than the feature size {width}.")


_DEFERRED = contextvars.ContextVar("mic_deferred_finite_checks", default=False)


@contextlib.contextmanager
def deferred_finite_checks() -> Iterator[None]:
    """Inside, :func:`check_finite` does nothing: the caller checks every term at once with
    :func:`check_all_finite` (one device→host sync per step instead of one per term)."""
    token = _DEFERRED.set(True)
    try:
        yield
    finally:
        _DEFERRED.reset(token)


def check_all_finite(terms: dict[str, Tensor], inputs: Tensor) -> None:
    """One fused check of every scalar term; on failure, name the first bad term as :func:`check_finite` does."""
    if bool(torch.isfinite(torch.stack([value.detach() for value in terms.values()])).all()):
        return
    for name, value in terms.items():
        check_finite(value, f"MICLoss term {name!r}", inputs)


def check_finite(value: Tensor, term: str, inputs: Tensor) -> Tensor:
    """Raise instead of returning NaN/inf, saying whether the input or the term itself is at fault."""
    if _DEFERRED.get():
        return value
    if not torch.isfinite(value).all():
        if not torch.isfinite(inputs).all():
            raise ValueError(f"{term}: the input contains NaN or inf values, so the loss would be {value.item()}.")
        raise ValueError(f"{term} evaluated to {value.item()} on finite input; please report this batch.")
    return value
