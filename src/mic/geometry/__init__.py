"""Batch statistics shared by the MIC losses and the geometry diagnostics."""

from mic.geometry.stats import (
    alignment,
    correlation,
    covariance,
    effective_rank,
    eigen_spectrum,
    masked_mean_pool,
    masked_token_moments,
    pairwise_cosine,
    soft_threshold_penalty,
    token_correlation,
    token_correlation_sum,
    uniformity,
    variance_cv,
    variance_profile,
)

__all__ = [
    "alignment",
    "correlation",
    "covariance",
    "effective_rank",
    "eigen_spectrum",
    "masked_mean_pool",
    "masked_token_moments",
    "pairwise_cosine",
    "soft_threshold_penalty",
    "token_correlation",
    "token_correlation_sum",
    "uniformity",
    "variance_cv",
    "variance_profile",
]
