"""Batch statistics of embeddings and token hidden states, shared by the MIC losses and the diagnostics.

Every function here is a pure tensor function: no model, no distributed logic, differentiable, and
dtype-agnostic (float64 for ``gradcheck``). A loss and a figure that call the same function show the same
quantity, so what ``mic analyze`` plots is exactly what training optimises.

Shapes: ``B`` sentences, ``T`` tokens, ``D`` features. Masks are ``(B, T)`` with 1 for real tokens.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

EPS = 1e-6


def masked_mean_pool(hidden: Tensor, mask: Tensor) -> Tensor:
    """Mean of each sentence's valid token vectors.

    Args:
        hidden: ``(B, T, D)`` token hidden states.
        mask: ``(B, T)`` attention mask (1 = token, 0 = padding).

    Returns:
        ``(B, D)`` pooled vectors; a sentence without valid tokens pools to zeros.
    """
    weights = mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)


def masked_token_moments(hidden: Tensor, mask: Tensor, eps: float = EPS) -> tuple[Tensor, Tensor]:
    """Standardise every feature over each sentence's own valid tokens.

    ``x̃_{i,t,d} = (x_{i,t,d} - μ_{i,d}) / sqrt(σ²_{i,d} + eps)``, with the mean and the (population) variance
    taken over the ``N_i`` valid tokens of sentence ``i``. Padding positions are zero in the output. A
    sentence with a single valid token has ``σ² = 0``: its standardised features are exactly 0, so it adds
    nothing to a correlation instead of dividing by zero.

    Args:
        hidden: ``(B, T, D)`` token hidden states.
        mask: ``(B, T)`` attention mask.
        eps: added to the variance before the square root.

    Returns:
        ``(standardized (B, T, D), std (B, D))`` where ``std = sqrt(σ²)`` is the unstandardised token std.
    """
    weights = mask.to(hidden.dtype).unsqueeze(-1)
    counts = weights.sum(dim=1).clamp_min(1.0)
    mean = (hidden * weights).sum(dim=1, keepdim=True) / counts.unsqueeze(1)
    centered = (hidden - mean) * weights
    variance = centered.pow(2).sum(dim=1) / counts
    standardized = centered / (variance + eps).sqrt().unsqueeze(1)
    # Exact sqrt(σ²); sqrt's derivative is infinite at 0, so a constant feature (σ² = 0) gets std 0, gradient 0.
    constant = variance == 0
    std = torch.where(constant, 0.0, variance.masked_fill(constant, 1.0).sqrt())
    return standardized, std


def token_correlation_sum(standardized: Tensor, mask: Tensor, rows: int | None = None) -> Tensor:
    """Sum over sentences of each sentence's token-level correlation matrix.

    ``Σ_i (1/N_i) Σ_t x̃_{i,t} x̃_{i,t}ᵀ``; divide by ``B`` for the batch cross-correlation of ``docs/method.md`` §1.1.
    Returned as a sum so that shards of a batch can be added before dividing (see ``mic.distributed``).
    The prefix/residual block for dim ``m`` is ``[:m, m:]``: standardisation is per feature, so one
    ``(D, D)`` matrix serves every prefix dim.

    Args:
        standardized: ``(B, T, D)`` output of :func:`masked_token_moments`.
        mask: ``(B, T)`` attention mask.
        rows: compute only the first ``rows`` rows, all that prefixes up to that size need (saves time).

    Returns:
        ``(rows or D, D)`` tensor.
    """
    counts = mask.to(standardized.dtype).sum(dim=1).clamp_min(1.0)
    # One (B*T, D) matmul; padding rows are zero after standardisation. 5x faster than a 3-operand einsum.
    tokens = (standardized * counts.rsqrt()[:, None, None]).reshape(-1, standardized.shape[-1])
    return tokens[:, :rows].T @ tokens


def token_correlation(hidden: Tensor, mask: Tensor, eps: float = EPS) -> Tensor:
    """Batch-mean token-level correlation matrix ``C = (1/B) Σ_i (1/N_i) Σ_t x̃_{i,t} x̃_{i,t}ᵀ``.

    Args:
        hidden: ``(B, T, D)`` token hidden states.
        mask: ``(B, T)`` attention mask.
        eps: see :func:`masked_token_moments`.

    Returns:
        ``(D, D)`` matrix; ``[:m, m:]`` is the prefix/residual cross-correlation of Figure 2 of the paper.
    """
    standardized, _ = masked_token_moments(hidden, mask, eps)
    return token_correlation_sum(standardized, mask) / hidden.shape[0]


def soft_threshold_penalty(values: Tensor, tolerance: float) -> Tensor:
    """Mean of ``max(0, |v| - tolerance)²`` over all entries: the soft decorrelation penalty of SCR."""
    return F.relu(values.abs() - tolerance).pow(2).mean()


def variance_profile(embeddings: Tensor) -> Tensor:
    """Per-dimension variance over the batch (population variance), ``(B, D) -> (D,)``."""
    return embeddings.var(dim=0, unbiased=False)


DEAD_VARIANCE_RATIO = 1e-4
"""A dimension whose variance is at most this fraction of the median dimension's is dead (constant)."""


def dead_dimensions(profile: Tensor, ratio: float = DEAD_VARIANCE_RATIO) -> Tensor:
    """0-based indices of the dead dimensions of a variance profile: ``v_j <= ratio * median(v)``, ascending.

    A dead dimension is (numerically) constant over the sentences: it carries no information, and on a log
    axis its variance (all-MiniLM-L6-v2 has three, near 1e-17 and below, against a median of 2.5e-3) dwarfs
    the spread of the live ones. The median, not the maximum, is the reference, so one loud dimension does
    not make the quiet ones dead.

    Args:
        profile: ``(D,)`` per-dimension variances (see :func:`variance_profile`).
        ratio: the relative threshold.

    Example:
        >>> dead_dimensions(torch.tensor([1.0, 0.0, 2.0, 1e-9, 1.5])).tolist()
        [1, 3]
    """
    return torch.nonzero(profile <= ratio * profile.median()).flatten()


def variance_cv(embeddings: Tensor, eps: float = EPS) -> Tensor:
    """Coefficient of variation of the variance profile: ``sqrt(mean_j (v_j - v̄)²) / (v̄ + eps)``.

    0 when every dimension has the same variance; large when a few dimensions hold all of it.

    Args:
        embeddings: ``(B, D)``.
        eps: keeps the ratio finite for a constant batch.
    """
    profile = variance_profile(embeddings)
    return profile.std(unbiased=False) / (profile.mean() + eps)


def pairwise_cosine(embeddings: Tensor) -> Tensor:
    """``(B, D) -> (B, B)`` cosine similarities of the L2-normalised rows."""
    unit = F.normalize(embeddings, dim=-1)
    return unit @ unit.T


def uniformity(embeddings: Tensor, t: float = 2.0) -> Tensor:
    """Wang & Isola (2020) hyperspherical uniformity of the normalised rows.

    ``log( 1/(B(B-1)) Σ_{i≠j} exp(-2t (1 - S_ij)) )`` with ``S`` the cosine matrix (``2 - 2S`` is the
    squared distance of unit vectors). Computed with log-sum-exp, so it needs no ``eps``; lower is more
    uniform, the minimum for a large batch on ``S^{D-1}`` approaches ``-2t``.

    Args:
        embeddings: ``(B, D)`` with ``B >= 2``.
        t: the kernel's temperature (2 in the paper and in Wang & Isola).

    References:
        https://arxiv.org/abs/2005.10242
    """
    batch = embeddings.shape[0]
    logits = -2.0 * t * (1.0 - pairwise_cosine(embeddings))
    off_diagonal = ~torch.eye(batch, dtype=torch.bool, device=embeddings.device)
    return torch.logsumexp(logits[off_diagonal], dim=0) - math.log(batch * (batch - 1))


def alignment(anchors: Tensor, positives: Tensor, alpha: float = 2.0) -> Tensor:
    """Wang & Isola (2020) alignment: mean ``||norm(a_i) - norm(p_i)||^alpha`` over positive pairs."""
    return (F.normalize(anchors, dim=-1) - F.normalize(positives, dim=-1)).norm(dim=-1).pow(alpha).mean()


def covariance(embeddings: Tensor) -> Tensor:
    """``(B, D) -> (D, D)`` batch covariance (population normalisation)."""
    centered = embeddings - embeddings.mean(dim=0, keepdim=True)
    return centered.T @ centered / embeddings.shape[0]


def correlation(embeddings: Tensor, eps: float = EPS) -> Tensor:
    """``(B, D) -> (D, D)`` Pearson correlation between features across the batch."""
    cov = covariance(embeddings)
    std = cov.diagonal().clamp_min(0).add(eps).sqrt()
    return cov / std.unsqueeze(0) / std.unsqueeze(1)


def eigen_spectrum(embeddings: Tensor) -> Tensor:
    """Eigenvalues of the batch covariance, descending and clipped at 0, ``(B, D) -> (D,)``."""
    return torch.linalg.eigvalsh(covariance(embeddings)).flip(0).clamp_min(0)


def effective_rank(embeddings: Tensor) -> Tensor:
    """``exp(H(p))`` with ``p`` the normalised covariance eigenvalues (Roy & Vetterli 2007).

    ``D`` for isotropic data, 1 for rank-1 data, 0 for a constant batch.
    """
    spectrum = eigen_spectrum(embeddings)
    total = spectrum.sum()
    if total <= 0:
        return total
    p = spectrum / total
    return torch.exp(-(p * torch.log(p.clamp_min(1e-30))).sum())
