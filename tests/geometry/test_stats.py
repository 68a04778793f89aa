"""Specification of the batch statistics in ``mic.geometry``: known values, invariances, bounds, gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import hadamard

from mic.geometry import (
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

PROPERTY = settings(max_examples=25, deadline=None)
seeds = st.integers(min_value=0, max_value=2**31 - 1)


def random_mask(generator: torch.Generator, batch: int, tokens: int, min_valid: int = 1) -> torch.Tensor:
    """Right-padded ``(B, T)`` mask with between ``min_valid`` and ``T`` valid tokens per sentence."""
    lengths = torch.randint(min_valid, tokens + 1, (batch,), generator=generator)
    return (torch.arange(tokens)[None, :] < lengths[:, None]).to(torch.float64)


def non_constant_hidden(generator: torch.Generator, mask: torch.Tensor, features: int) -> torch.Tensor:
    """Random float64 hidden states whose every feature varies over each sentence's valid tokens.

    Token 0 (always valid) is set one above the largest valid value of its feature, so every per-sentence
    variance is bounded away from 0 (at least ``((N-1)/N)^2 / N``) and the ``eps`` guard is negligible.
    """
    batch, tokens = mask.shape
    hidden = torch.randn(batch, tokens, features, generator=generator, dtype=torch.float64)
    valid_max = hidden.masked_fill(mask[..., None] == 0, -math.inf).amax(dim=1)
    hidden[:, 0, :] = valid_max + 1.0
    return hidden


def walsh_features(tokens: int) -> torch.Tensor:
    """``(T, T-1)`` Walsh functions (Hadamard columns without the constant one): mean 0, std 1, orthogonal."""
    return torch.from_numpy(hadamard(tokens)[:, 1:]).to(torch.float64)


# --- masked pooling and per-sentence standardisation ---------------------------------------------------------


@PROPERTY
@given(seed=seeds, batch=st.integers(1, 4), tokens=st.integers(1, 6), features=st.integers(1, 5))
def test_masked_mean_pool_is_the_mean_of_valid_tokens(seed: int, batch: int, tokens: int, features: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    mask = random_mask(generator, batch, tokens)
    hidden = torch.randn(batch, tokens, features, generator=generator, dtype=torch.float64)
    pooled = masked_mean_pool(hidden, mask)
    for i in range(batch):
        valid = hidden[i, mask[i] == 1]
        torch.testing.assert_close(pooled[i], valid.mean(dim=0))


def test_masked_mean_pool_of_a_sentence_without_tokens_is_zero() -> None:
    hidden = torch.randn(2, 3, 4)
    mask = torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    assert torch.equal(masked_mean_pool(hidden, mask)[1], torch.zeros(4))


@PROPERTY
@given(seed=seeds, batch=st.integers(1, 4), tokens=st.integers(2, 6), features=st.integers(1, 5))
def test_masked_token_moments_standardise_each_sentence(seed: int, batch: int, tokens: int, features: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    mask = random_mask(generator, batch, tokens, min_valid=2)
    hidden = non_constant_hidden(generator, mask, features) * 3.0 + 5.0
    standardized, std = masked_token_moments(hidden, mask, eps=1e-12)
    for i in range(batch):
        valid = mask[i] == 1
        torch.testing.assert_close(std[i], hidden[i, valid].std(dim=0, unbiased=False))
        torch.testing.assert_close(standardized[i, valid].mean(dim=0), torch.zeros(features, dtype=torch.float64))
        torch.testing.assert_close(
            standardized[i, valid].var(dim=0, unbiased=False), torch.ones(features, dtype=torch.float64)
        )
        assert torch.equal(standardized[i, ~valid], torch.zeros_like(standardized[i, ~valid]))


def test_masked_token_moments_single_token_and_constant_features_are_zero_with_finite_gradient() -> None:
    hidden = torch.randn(3, 4, 5, dtype=torch.float64)
    hidden[0, :, 2] = 7.0  # a constant feature
    hidden = hidden.requires_grad_()
    mask = torch.ones(3, 4)
    mask[1, 1:] = 0  # a single valid token
    standardized, std = masked_token_moments(hidden, mask)
    assert std[0, 2] == 0 and torch.equal(std[1], torch.zeros(5, dtype=torch.float64))
    assert torch.equal(standardized[1], torch.zeros_like(standardized[1]))
    assert torch.equal(standardized[0, :, 2], torch.zeros(4, dtype=torch.float64))
    (standardized.sum() + std.sum()).backward()
    assert torch.isfinite(hidden.grad).all()


# --- token-level correlation ----------------------------------------------------------------------------------


@PROPERTY
@given(seed=seeds, batch=st.integers(1, 4), tokens=st.integers(2, 6), features=st.integers(1, 6))
def test_token_correlation_is_a_correlation_matrix(seed: int, batch: int, tokens: int, features: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    mask = random_mask(generator, batch, tokens, min_valid=2)
    corr = token_correlation(non_constant_hidden(generator, mask, features), mask)
    assert corr.shape == (features, features)
    torch.testing.assert_close(corr.diagonal(), torch.ones(features, dtype=torch.float64), atol=1e-4, rtol=0)
    torch.testing.assert_close(corr, corr.T)
    assert corr.abs().max() <= 1 + 1e-9


@PROPERTY
@given(seed=seeds, batch=st.integers(1, 4), tokens=st.integers(2, 6), features=st.integers(2, 5))
def test_token_correlation_is_the_batch_mean_of_per_sentence_pearson(
    seed: int, batch: int, tokens: int, features: int
) -> None:
    generator = torch.Generator().manual_seed(seed)
    mask = random_mask(generator, batch, tokens, min_valid=2)
    hidden = non_constant_hidden(generator, mask, features)
    expected = np.mean([np.corrcoef(hidden[i, mask[i] == 1].numpy(), rowvar=False) for i in range(batch)], axis=0)
    np.testing.assert_allclose(token_correlation(hidden, mask, eps=1e-12).numpy(), expected, atol=1e-8)


def test_token_correlation_sum_rows_is_the_top_block_of_the_full_matrix() -> None:
    generator = torch.Generator().manual_seed(0)
    mask = random_mask(generator, 4, 6, min_valid=2)
    standardized, _ = masked_token_moments(non_constant_hidden(generator, mask, 7), mask)
    full = token_correlation_sum(standardized, mask)
    assert full.shape == (7, 7)
    torch.testing.assert_close(token_correlation_sum(standardized, mask, rows=3), full[:3])


def test_token_correlation_of_walsh_features_is_the_identity() -> None:
    features = walsh_features(8)
    hidden = torch.stack([features * 2.0 + 1.0, features[torch.randperm(8)] * 0.3]).to(torch.float64)
    corr = token_correlation(hidden, torch.ones(2, 8), eps=1e-12)
    torch.testing.assert_close(corr, torch.eye(7, dtype=torch.float64))


# --- soft threshold -------------------------------------------------------------------------------------------


def test_soft_threshold_penalty_known_values() -> None:
    values = torch.tensor([0.05, -0.3, 0.5, -0.1])
    assert soft_threshold_penalty(values, 0.1).item() == pytest.approx((0.0 + 0.04 + 0.16 + 0.0) / 4)
    assert soft_threshold_penalty(values, 0.0).item() == pytest.approx((0.0025 + 0.09 + 0.25 + 0.01) / 4)
    assert soft_threshold_penalty(values, 0.5).item() == 0.0


# --- variance profile and its coefficient of variation --------------------------------------------------------


def test_variance_profile_is_the_population_variance_per_dimension() -> None:
    embeddings = torch.randn(16, 5, dtype=torch.float64)
    np.testing.assert_allclose(variance_profile(embeddings).numpy(), np.var(embeddings.numpy(), axis=0))


def test_variance_cv_is_zero_for_equal_variances() -> None:
    embeddings = walsh_features(16) * 3.0  # 15 dims, each with variance 9
    assert variance_cv(embeddings).item() == pytest.approx(0.0, abs=1e-12)


def test_variance_cv_is_sqrt_m_minus_one_when_one_dimension_holds_all_variance() -> None:
    embeddings = torch.zeros(32, 8, dtype=torch.float64)
    embeddings[:, 0] = torch.randn(32, dtype=torch.float64)
    assert variance_cv(embeddings, eps=1e-12).item() == pytest.approx(math.sqrt(7), rel=1e-9)


@PROPERTY
@given(seed=seeds, batch=st.integers(2, 16), dims=st.integers(1, 8), scale=st.floats(0.01, 100.0))
def test_variance_cv_is_bounded_and_scale_and_shift_invariant(seed: int, batch: int, dims: int, scale: float) -> None:
    generator = torch.Generator().manual_seed(seed)
    embeddings = torch.randn(batch, dims, generator=generator, dtype=torch.float64)
    embeddings = embeddings * torch.rand(dims, generator=generator, dtype=torch.float64).add(0.1)
    cv = variance_cv(embeddings, eps=1e-12)
    assert 0.0 <= cv.item() <= math.sqrt(dims - 1) + 1e-9
    shifted = embeddings * scale + torch.randn(dims, generator=generator, dtype=torch.float64)
    torch.testing.assert_close(variance_cv(shifted, eps=1e-12), cv, rtol=1e-6, atol=1e-9)


# --- uniformity and alignment ---------------------------------------------------------------------------------


def test_uniformity_is_zero_for_identical_rows() -> None:
    assert uniformity(torch.ones(6, 4)).item() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("batch", [2, 3, 5])
def test_uniformity_reaches_its_bound_on_a_regular_simplex(batch: int) -> None:
    # Σ x = 0 and equal pairwise distances: Jensen's bound -2t·B/(B-1) is attained (antipodal pair for B = 2).
    simplex = torch.eye(batch, dtype=torch.float64) - 1.0 / batch
    for t in (1.0, 2.0):
        assert uniformity(simplex, t).item() == pytest.approx(-2 * t * batch / (batch - 1), rel=1e-9)


@PROPERTY
@given(seed=seeds, batch=st.integers(2, 12), dims=st.integers(1, 6), t=st.floats(0.5, 4.0))
def test_uniformity_bounds_and_invariances(seed: int, batch: int, dims: int, t: float) -> None:
    generator = torch.Generator().manual_seed(seed)
    embeddings = torch.randn(batch, dims, generator=generator, dtype=torch.float64)
    value = uniformity(embeddings, t).item()
    # log-mean-exp >= -t · mean squared distance >= -2t·B/(B-1), which tends to -2t for a large batch
    assert -2 * t * batch / (batch - 1) - 1e-9 <= value <= 1e-9
    rotation, _ = torch.linalg.qr(torch.randn(dims, dims, generator=generator, dtype=torch.float64))
    row_scale = torch.rand(batch, 1, generator=generator, dtype=torch.float64) + 0.1
    assert uniformity(embeddings @ rotation * row_scale, t).item() == pytest.approx(value, abs=1e-9)


def test_uniformity_is_lower_for_spread_out_than_clustered_points() -> None:
    generator = torch.Generator().manual_seed(0)
    spread = torch.randn(64, 16, generator=generator)
    clustered = torch.randn(16, generator=generator) + 0.1 * torch.randn(64, 16, generator=generator)
    assert uniformity(spread).item() < uniformity(clustered).item() - 1.0


def test_alignment_known_values() -> None:
    anchors = torch.randn(5, 3)
    assert alignment(anchors, 2.0 * anchors).item() == pytest.approx(0.0, abs=1e-6)
    assert alignment(anchors, -anchors).item() == pytest.approx(4.0, rel=1e-6)  # ||2u||^2
    assert alignment(anchors, -anchors, alpha=1.0).item() == pytest.approx(2.0, rel=1e-6)


def test_pairwise_cosine_has_unit_diagonal_and_is_symmetric() -> None:
    cosine = pairwise_cosine(torch.randn(7, 4, dtype=torch.float64) * 10)
    torch.testing.assert_close(cosine.diagonal(), torch.ones(7, dtype=torch.float64))
    torch.testing.assert_close(cosine, cosine.T)


# --- covariance, spectrum, effective rank ---------------------------------------------------------------------


def test_covariance_and_correlation_match_numpy() -> None:
    embeddings = torch.randn(20, 4, dtype=torch.float64) * torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=torch.float64)
    np.testing.assert_allclose(covariance(embeddings).numpy(), np.cov(embeddings.numpy(), rowvar=False, bias=True))
    np.testing.assert_allclose(
        correlation(embeddings, eps=1e-12).numpy(), np.corrcoef(embeddings.numpy(), rowvar=False), atol=1e-9
    )


def test_eigen_spectrum_is_descending_non_negative_and_sums_to_the_total_variance() -> None:
    embeddings = torch.randn(10, 6, dtype=torch.float64) @ torch.randn(6, 6, dtype=torch.float64)
    spectrum = eigen_spectrum(embeddings)
    assert (spectrum[:-1] >= spectrum[1:]).all() and (spectrum >= 0).all()
    torch.testing.assert_close(spectrum.sum(), variance_profile(embeddings).sum())


@pytest.mark.parametrize("dims", [4, 16])
def test_effective_rank_of_isotropic_gaussian_is_close_to_d(dims: int) -> None:
    embeddings = torch.randn(4000, dims, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert dims - 0.05 * dims < effective_rank(embeddings).item() <= dims


def test_effective_rank_of_rank_one_data_is_one_and_of_a_constant_batch_zero() -> None:
    rank_one = torch.randn(50, 1, dtype=torch.float64) @ torch.randn(1, 8, dtype=torch.float64)
    assert effective_rank(rank_one).item() == pytest.approx(1.0, abs=1e-6)
    assert effective_rank(torch.ones(5, 3)).item() == 0.0


@PROPERTY
@given(seed=seeds, batch=st.integers(2, 12), dims=st.integers(1, 6), scale=st.floats(0.01, 100.0))
def test_effective_rank_is_bounded_and_rotation_and_scale_invariant(
    seed: int, batch: int, dims: int, scale: float
) -> None:
    generator = torch.Generator().manual_seed(seed)
    embeddings = torch.randn(batch, dims, generator=generator, dtype=torch.float64)
    rank = effective_rank(embeddings).item()
    assert 1.0 - 1e-9 <= rank <= min(dims, batch - 1) + 1e-6
    rotation, _ = torch.linalg.qr(torch.randn(dims, dims, generator=generator, dtype=torch.float64))
    assert effective_rank(embeddings @ rotation * scale).item() == pytest.approx(rank, rel=1e-6)


# --- gradients ------------------------------------------------------------------------------------------------


def test_statistics_pass_gradcheck_in_float64() -> None:
    generator = torch.Generator().manual_seed(0)
    mask = random_mask(generator, 3, 5, min_valid=2)
    hidden = torch.randn(3, 5, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    embeddings = torch.randn(6, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: token_correlation(x, mask), (hidden,))
    assert torch.autograd.gradcheck(lambda x: masked_token_moments(x, mask)[1], (hidden,))
    assert torch.autograd.gradcheck(variance_cv, (embeddings,))
    assert torch.autograd.gradcheck(uniformity, (embeddings,))


# --- dead dimensions ------------------------------------------------------------------------------------------


def test_dead_dimensions_are_the_constant_ones_relative_to_the_median() -> None:
    generator = torch.Generator().manual_seed(0)
    embeddings = torch.randn(200, 8, generator=generator, dtype=torch.float64)
    embeddings[:, [2, 5]] = 0.25  # constant coordinates, like MiniLM's 128, 224 and 320
    embeddings[:, 0] *= 1e3  # one loud dimension does not make the others dead
    assert dead_dimensions(variance_profile(embeddings)).tolist() == [2, 5]


def test_dead_dimension_threshold_is_relative() -> None:
    profile = torch.tensor([1.0, 1.0, 1.0, 2 * DEAD_VARIANCE_RATIO, DEAD_VARIANCE_RATIO / 2], dtype=torch.float64)
    assert dead_dimensions(profile).tolist() == [4]
    assert dead_dimensions(profile * 1e-6).tolist() == [4]
    assert dead_dimensions(torch.ones(4)).tolist() == []
