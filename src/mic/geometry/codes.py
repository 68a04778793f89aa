"""Statistics of binary codes and of their differentiable relaxation: the geometry of a sign-bit shortlist.

A ``d``-dim prefix searched as bits keeps only ``sign(x)``; two codes ``c_i, c_j ∈ {±1}^d`` at Hamming distance
``h`` have ``c_i·c_j / d = 1 − 2h/d``. For a random rotation (sign random projections, SimHash) the expected value
of that similarity is the *angular* similarity ``1 − 2θ_ij/π`` of the vectors, ``θ_ij = arccos(cos_ij)``, so that
is the target a learned code can meet exactly. Bits carry the most information when each is on for half of the
rows (balance) and the bits are uncorrelated (decorrelation), the two properties iterative quantization's
rotation and spectral hashing ask for — and the isotropy SIR and SCR ask of the float prefixes.

Shapes: ``B`` rows, ``d`` bits. Pure tensor functions, differentiable, dtype-agnostic.

References:
    Charikar, Similarity estimation techniques from rounding algorithms (SimHash), STOC 2002;
    Gong & Lazebnik, Iterative quantization, CVPR 2011; Weiss et al., Spectral hashing, NeurIPS 2008.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def soft_sign_codes(prefix: Tensor, temperature: float) -> Tensor:
    """``tanh(z / τ)``, ``z = √d · prefix / ‖prefix‖``: relaxed sign bits in ``(−1, 1)``, ``sign(prefix)`` as ``τ → 0``.

    Each row is rescaled to RMS 1 first, so ``τ`` means the same at every prefix dim and for any output scale.

    Args:
        prefix: ``(B, d)`` prefixes.
        temperature: ``τ > 0``.

    Returns:
        ``(B, d)`` codes.
    """
    return torch.tanh(F.normalize(prefix, dim=-1) * math.sqrt(prefix.shape[-1]) / temperature)


def code_similarity(codes: Tensor) -> Tensor:
    """``(B, B)`` ``c_i·c_j / d``: for exact ±1 codes ``1 − 2·Hamming(c_i, c_j)/d``."""
    return codes @ codes.T / codes.shape[-1]


def angular_similarity(cosines: Tensor) -> Tensor:
    """``1 − 2·arccos(cos)/π``: the expected code similarity of sign random projections of vectors at that cosine."""
    return 1 - 2 * torch.arccos(cosines.clamp(-1, 1)) / math.pi


def code_agreement(codes: Tensor, cosines: Tensor) -> Tensor:
    """``mean_{i≠j} (c_i·c_j/d − (1 − 2θ_ij/π))²``: 0 when the codes' Hamming distances are the teacher's angles.

    Args:
        codes: ``(B, d)`` (relaxed) codes.
        cosines: ``(B, B)`` teacher cosines ``cos_ij``.
    """
    off = ~torch.eye(len(codes), dtype=torch.bool, device=codes.device)
    return (code_similarity(codes) - angular_similarity(cosines))[off].pow(2).mean()


def bit_balance(codes: Tensor) -> Tensor:
    """``mean_k (mean_i c_ik)²``: 0 when every bit is on for as many rows as it is off."""
    return codes.mean(dim=0).pow(2).mean()


def bit_decorrelation(codes: Tensor) -> Tensor:
    """``mean_{k≠l} (cᵀc / B)_kl²``: 0 when no two bits agree more often than they disagree (for ``d >= 2``)."""
    moments = codes.T @ codes / len(codes)
    off = ~torch.eye(codes.shape[-1], dtype=torch.bool, device=codes.device)
    return moments[off].pow(2).mean()
