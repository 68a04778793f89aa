"""Specification of SIR (docs/method.md §1.2): balanced variance profile and uniform directions of every prefix."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import hadamard

from mic.geometry import uniformity, variance_cv
from mic.losses import SpectralIsotropyRegularizer

PROPERTY = settings(max_examples=25, deadline=None)
seeds = st.integers(min_value=0, max_value=2**31 - 1)


def random_embeddings(seed: int, batch: int = 8, features: int = 12) -> torch.Tensor:
    return torch.randn(batch, features, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_variance_cv_is_zero_for_equal_per_dimension_variances() -> None:
    # Hadamard columns: every dimension has variance exactly 1 (and they are uncorrelated).
    embeddings = torch.from_numpy(hadamard(16)[:, 1:]).to(torch.float64) * 2.0
    parts = SpectralIsotropyRegularizer([4, 8, 15]).terms(embeddings)
    assert parts["variance_cv"].item() == pytest.approx(0.0, abs=1e-12)


def test_variance_cv_is_large_when_one_dimension_dominates() -> None:
    embeddings = random_embeddings(0, batch=64, features=16) * 1e-3
    embeddings[:, 0] *= 1e4
    parts = SpectralIsotropyRegularizer([4, 8]).terms(embeddings)
    # one dim holding all the variance of an m-dim prefix gives sqrt(m - 1)
    assert parts["variance_cv"].item() == pytest.approx((math.sqrt(3) + math.sqrt(7)) / 2, rel=1e-3)
    balanced = SpectralIsotropyRegularizer([4, 8]).terms(random_embeddings(0, batch=64, features=16))
    assert parts["variance_cv"].item() > 5 * balanced["variance_cv"].item()


def test_uniformity_is_lower_for_spread_out_than_clustered_points() -> None:
    generator = torch.Generator().manual_seed(0)
    spread = torch.randn(64, 16, generator=generator)
    clustered = torch.randn(16, generator=generator) + 0.1 * torch.randn(64, 16, generator=generator)
    sir = SpectralIsotropyRegularizer([4, 8])
    assert sir.terms(spread)["uniformity"].item() < sir.terms(clustered)["uniformity"].item() - 1.0


@PROPERTY
@given(seed=seeds, temperature=st.floats(0.5, 4.0))
def test_sir_is_half_the_dim_averaged_cv_plus_uniformity(seed: int, temperature: float) -> None:
    embeddings = random_embeddings(seed)
    sir = SpectralIsotropyRegularizer([2, 5, 12], temperature=temperature)
    cv = sum(variance_cv(embeddings[:, :m]) for m in (2, 5, 12)) / 3
    unif = sum(uniformity(embeddings[:, :m], temperature) for m in (2, 5, 12)) / 3
    parts = sir.terms(embeddings)
    torch.testing.assert_close(parts["variance_cv"], cv)
    torch.testing.assert_close(parts["uniformity"], unif)
    torch.testing.assert_close(sir(embeddings), 0.5 * (cv + unif))


@PROPERTY
@given(seed=seeds)
def test_sir_only_sees_the_prefixes(seed: int) -> None:
    embeddings = random_embeddings(seed)
    changed = embeddings.clone()
    changed[:, 6:] = torch.randn(8, 6, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64) * 9
    sir = SpectralIsotropyRegularizer([3, 6])
    torch.testing.assert_close(sir(changed), sir(embeddings))


@pytest.mark.parametrize("case", ["constant_column", "identical_rows", "all_zero"])
def test_degenerate_batches_give_finite_values_and_gradients(case: str) -> None:
    embeddings = random_embeddings(1)
    if case == "constant_column":
        embeddings[:, 1] = 2.0
    elif case == "identical_rows":
        embeddings[:] = embeddings[0]
    else:
        embeddings = torch.zeros_like(embeddings)
    embeddings.requires_grad_()
    loss = SpectralIsotropyRegularizer([2, 6])(embeddings)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(embeddings.grad).all()


def test_sir_passes_gradcheck_in_float64() -> None:
    sir = SpectralIsotropyRegularizer([2, 4, 6])
    assert torch.autograd.gradcheck(sir, (random_embeddings(2, batch=5, features=6).requires_grad_(),))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dims": []}, "at least one dimension"),
        ({"dims": [8, 4]}, "ascending order"),
        ({"dims": [4, 4]}, "must not repeat"),
        ({"dims": [0]}, "positive integers"),
        ({"dims": [4], "temperature": 0.0}, "temperature must be a finite number > 0"),
        ({"dims": [4], "temperature": -2.0}, "temperature must be a finite number > 0"),
        ({"dims": [4], "eps": -1e-6}, "eps must be a finite number > 0"),
    ],
)
def test_invalid_arguments_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SpectralIsotropyRegularizer(**kwargs)


@pytest.mark.parametrize(
    ("embeddings", "match"),
    [
        (torch.randn(1, 8), "at least 2 rows, got a batch of 1"),
        (torch.randn(4, 3, 8), r"expects \(B, D\) embeddings"),
        (torch.randn(8), r"expects \(B, D\) embeddings"),
        (torch.randn(4, 3), "dim 4 is larger than the feature size 3"),
    ],
)
def test_invalid_batches_raise(embeddings: torch.Tensor, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SpectralIsotropyRegularizer([2, 4])(embeddings)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_embeddings_raise_with_the_term_name(bad: float) -> None:
    embeddings = torch.randn(4, 8)
    embeddings[1, 0] = bad
    with pytest.raises(ValueError, match=r"SpectralIsotropyRegularizer.*NaN or inf"):
        SpectralIsotropyRegularizer([2, 4])(embeddings)
