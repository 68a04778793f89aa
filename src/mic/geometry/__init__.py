"""Batch statistics shared by the MIC losses and the geometry diagnostics."""

from mic.geometry.prefix import PrefixGeometry, prefix_geometry
from mic.geometry.stats import (
    DEAD_VARIANCE_RATIO,
    alignment,
    correlation,
    covariance,
    dead_dimensions,
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
    "DEAD_VARIANCE_RATIO",
    "PrefixGeometry",
    "alignment",
    "correlation",
    "covariance",
    "dead_dimensions",
    "effective_rank",
    "eigen_spectrum",
    "masked_mean_pool",
    "masked_token_moments",
    "pairwise_cosine",
    "prefix_geometry",
    "soft_threshold_penalty",
    "token_correlation",
    "token_correlation_sum",
    "uniformity",
    "variance_cv",
    "variance_profile",
]
