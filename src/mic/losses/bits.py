"""Sign-bit codes of every prefix that keep the teacher's neighbours: the objective of a binary shortlist.

A shortlist searched on the sign bits of the ``m``-dim prefix (FAISS binary indexes, Hamming distance) ranks
documents by ``1 − 2h/m``. This term makes those bits a faithful hash of the teacher: for each prefix dim ``m``
the relaxed codes ``c = tanh(√m · norm(y_{:m}) / τ)`` (:func:`mic.geometry.soft_sign_codes`) should have
code similarities equal to the teacher's angular similarities, and be balanced and decorrelated bits:

    agreement     = mean_m mean_{i≠j} (c_i·c_j/m − (1 − 2·arccos(S(t)_ij)/π))²
    balance       = mean_m mean_k (mean_i c_ik)²
    decorrelation = mean_m mean_{k≠l} (cᵀc/B)_kl²

All statistics are per batch (in-batch pairs), on one device.

References:
    Charikar 2002 (SimHash); Gong & Lazebnik, Iterative quantization, CVPR 2011.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from mic.geometry import bit_balance, bit_decorrelation, code_agreement, soft_sign_codes
from mic.losses.validation import check_positive


class SignCodeRegularizer(nn.Module):
    """The three terms of the module docstring, by name, for the prefix dims ``dims``.

    Args:
        dims: prefix dims whose sign bits are searched.
        temperature: ``τ`` of the relaxation (smaller: closer to the hard sign, flatter gradients).

    Raises:
        ValueError: for an empty ``dims`` or a non-positive temperature.

    Example:
        >>> import torch
        >>> from mic.geometry import pairwise_cosine
        >>> rows = torch.randn(16, 32)
        >>> sorted(SignCodeRegularizer([16, 32])(rows, pairwise_cosine(rows)))
        ['agreement', 'balance', 'decorrelation']
    """

    def __init__(self, dims: Sequence[int], temperature: float = 0.5) -> None:
        super().__init__()
        if not dims:
            raise ValueError("SignCodeRegularizer needs at least one prefix dim.")
        self.dims = tuple(dims)
        self.temperature = check_positive(temperature, "temperature")

    def forward(self, embeddings: Tensor, teacher_cosines: Tensor) -> dict[str, Tensor]:
        """Terms for ``(B, D)`` embeddings whose prefixes become codes, against ``(B, B)`` teacher cosines."""
        codes = [soft_sign_codes(embeddings[:, :m], self.temperature) for m in self.dims]
        return {
            "agreement": torch.stack([code_agreement(code, teacher_cosines) for code in codes]).mean(),
            "balance": torch.stack([bit_balance(code) for code in codes]).mean(),
            "decorrelation": torch.stack([bit_decorrelation(code) for code in codes]).mean(),
        }
