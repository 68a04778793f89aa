"""Specification of SCR (docs/method.md §1.1): decorrelation of prefix and residual, variance floor, robustness."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import hadamard

from mic.losses import SoftCollapseRegularizer

PROPERTY = settings(max_examples=25, deadline=None)
seeds = st.integers(min_value=0, max_value=2**31 - 1)


def walsh(tokens: int) -> torch.Tensor:
    """``(T, T-1)`` Walsh functions: per-column mean 0, std 1, mutually orthogonal (exact correlation = I)."""
    return torch.from_numpy(hadamard(tokens)[:, 1:]).to(torch.float64)


def sentences_from_columns(columns: torch.Tensor, batch: int, seed: int = 0) -> torch.Tensor:
    """``(B, T, D)``: each sentence a token permutation of ``columns`` plus a per-sentence offset.

    Permuting tokens and shifting keep every per-sentence mean, std and correlation of ``columns``.
    """
    generator = torch.Generator().manual_seed(seed)
    tokens, features = columns.shape
    return torch.stack(
        [
            columns[torch.randperm(tokens, generator=generator)]
            + torch.randn(features, generator=generator, dtype=torch.float64)
            for _ in range(batch)
        ]
    )


def random_batch(seed: int, batch: int = 4, tokens: int = 6, features: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Random float64 hidden states with right padding (every sentence has at least 2 valid tokens)."""
    generator = torch.Generator().manual_seed(seed)
    hidden = torch.randn(batch, tokens, features, generator=generator, dtype=torch.float64)
    lengths = torch.randint(2, tokens + 1, (batch,), generator=generator)
    mask = (torch.arange(tokens)[None, :] < lengths[:, None]).to(torch.float64)
    return hidden, mask


# --- the correlation part -------------------------------------------------------------------------------------


def test_correlation_is_near_zero_for_independent_prefix_and_residual() -> None:
    generator = torch.Generator().manual_seed(0)
    batch, tokens = 32, 128
    hidden = torch.randn(batch, tokens, 16, generator=generator, dtype=torch.float64)
    mask = torch.ones(batch, tokens)
    hard = SoftCollapseRegularizer([8], tolerance=0.0).terms(hidden, mask)["correlation"]
    assert hard.item() < 3.0 / (batch * tokens)  # each C_uv has variance ~ 1/(B·T)
    assert SoftCollapseRegularizer([8], tolerance=0.1).terms(hidden, mask)["correlation"].item() == 0.0


@pytest.mark.parametrize("tolerance", [0.0, 0.1, 0.5, 1.0])
def test_copied_residual_columns_cost_exactly_one_minus_tolerance_squared(tolerance: float) -> None:
    # Prefix: Walsh functions 0-3. Residual: copies of them (one negated, one rescaled) then Walsh functions 4-6.
    # Exactly 4 of the 4 x 7 cross-correlations are +-1, the rest are exactly 0.
    w = walsh(16)
    columns = torch.cat([w[:, :4], w[:, :1], -w[:, 1:2], 3.0 * w[:, 2:3], w[:, 3:4], w[:, 4:7]], dim=1)
    hidden = sentences_from_columns(columns, batch=5)
    scr = SoftCollapseRegularizer([4], tolerance=tolerance, eps=1e-12)
    expected = 4 * (1 - tolerance) ** 2 / (4 * 7)
    assert scr.terms(hidden, torch.ones(5, 16))["correlation"].item() == pytest.approx(expected, abs=1e-10)


def test_correlation_is_averaged_over_prefix_dims() -> None:
    # Columns W0 W1 W2 W3 | W0 -W1 3W2 W3 W4 W5 W6: at m=2 the residual holds copies of W0, W1 (2 of 2 x 9
    # entries are +-1); at m=4, copies of W0..W3 (4 of 4 x 7).
    w = walsh(16)
    columns = torch.cat([w[:, :4], w[:, :1], -w[:, 1:2], 3.0 * w[:, 2:3], w[:, 3:4], w[:, 4:7]], dim=1)
    hidden = sentences_from_columns(columns, batch=3, seed=1)
    scr = SoftCollapseRegularizer([2, 4], tolerance=0.2, eps=1e-12)
    expected = 0.8**2 * (2 / 18 + 4 / 28) / 2
    assert scr.terms(hidden, torch.ones(3, 16))["correlation"].item() == pytest.approx(expected, abs=1e-10)


@PROPERTY
@given(seed=seeds, scales=st.lists(st.floats(0.1, 10.0), min_size=8, max_size=8))
def test_correlation_is_invariant_to_positive_per_feature_rescaling(seed: int, scales: list[float]) -> None:
    hidden, mask = random_batch(seed)
    # The guard changes C by about eps/σ², which rescaling changes: keep it negligible even for a nearly
    # constant feature of a two-token sentence.
    scr = SoftCollapseRegularizer([2, 5], tolerance=0.05, eps=1e-300)
    shift = torch.randn(4, 1, 8, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    scaled = hidden * torch.tensor(scales, dtype=torch.float64) + shift
    before = scr.terms(hidden, mask)["correlation"]
    assert before.item() > 0
    torch.testing.assert_close(scr.terms(scaled, mask)["correlation"], before, rtol=1e-9, atol=1e-12)


@PROPERTY
@given(seed=seeds, extra=st.integers(0, 4), garbage=st.floats(1.0, 1e6))
def test_padding_tokens_never_change_scr(seed: int, extra: int, garbage: float) -> None:
    hidden, mask = random_batch(seed)
    noise = torch.randn(4, 6 + extra, 8, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * garbage
    padded_mask = torch.cat([mask, torch.zeros(4, extra, dtype=torch.float64)], dim=1)
    padded = torch.where(padded_mask[..., None] == 1, torch.cat([hidden, noise[:, 6:]], dim=1), noise)
    padded.requires_grad_()
    scr = SoftCollapseRegularizer([2, 5], tolerance=0.05)
    clean, dirty = scr.terms(hidden, mask), scr.terms(padded, padded_mask)
    for name in ("correlation", "variance_floor"):
        torch.testing.assert_close(dirty[name], clean[name], rtol=1e-9, atol=1e-12)
    (dirty["correlation"] + dirty["variance_floor"]).backward()
    assert torch.equal(padded.grad[padded_mask == 0], torch.zeros_like(padded.grad[padded_mask == 0]))


@PROPERTY
@given(seed=seeds)
def test_scr_does_not_depend_on_the_order_of_sentences_or_tokens(seed: int) -> None:
    hidden, _ = random_batch(seed)
    mask = torch.ones(4, 6)
    scr = SoftCollapseRegularizer([3], tolerance=0.0)
    generator = torch.Generator().manual_seed(seed + 1)
    shuffled = hidden[torch.randperm(4, generator=generator)][:, torch.randperm(6, generator=generator)]
    torch.testing.assert_close(scr(shuffled, mask), scr(hidden, mask))


# --- the variance floor ---------------------------------------------------------------------------------------


def test_variance_floor_is_zero_for_unit_or_larger_token_std() -> None:
    scales = torch.tensor([1.0, 1.0, 2.0, 1.0, 5.0, 1.0, 1.5], dtype=torch.float64)
    hidden = sentences_from_columns(walsh(8) * scales, batch=3)
    scr = SoftCollapseRegularizer([1, 3, 6])
    assert scr.terms(hidden, torch.ones(3, 8))["variance_floor"].item() == 0.0


@pytest.mark.parametrize(
    ("prefix_std", "residual_std", "expected"),
    [(0.5, 0.5, 0.5 + 0.5 * 0.5), (2.0, 0.2, 0.5 * 0.8), (0.1, 3.0, 0.9), (0.0, 0.0, 1.5)],
)
def test_variance_floor_known_values_for_shrunken_features(
    prefix_std: float, residual_std: float, expected: float
) -> None:
    scales = torch.tensor([prefix_std] * 3 + [residual_std] * 4, dtype=torch.float64)
    hidden = sentences_from_columns(walsh(8) * scales, batch=2)
    scr = SoftCollapseRegularizer([3], variance_floor_weight=2.0)
    parts = scr.terms(hidden, torch.ones(2, 8))
    assert parts["variance_floor"].item() == pytest.approx(expected, abs=1e-12)
    assert scr(hidden, torch.ones(2, 8)).item() == pytest.approx(parts["correlation"].item() + 2.0 * expected)


def test_variance_floor_weight_zero_leaves_only_the_correlation() -> None:
    hidden, mask = random_batch(0)
    scr = SoftCollapseRegularizer([4], variance_floor_weight=0.0)
    assert scr.terms(hidden * 0.1, mask)["variance_floor"].item() > 1.0
    torch.testing.assert_close(scr(hidden * 0.1, mask), scr.terms(hidden * 0.1, mask)["correlation"])


# --- degenerate but legal batches -----------------------------------------------------------------------------


def test_single_token_sentences_give_finite_values_and_gradients() -> None:
    hidden, mask = random_batch(3)
    mask[1, 1:] = 0
    hidden.requires_grad_()
    scr = SoftCollapseRegularizer([2, 5])
    parts = scr.terms(hidden, mask)
    (parts["correlation"] + parts["variance_floor"]).backward()
    assert all(torch.isfinite(value) for value in parts.values()) and torch.isfinite(hidden.grad).all()

    only_single = SoftCollapseRegularizer([2, 5], tolerance=0.0).terms(hidden.detach(), torch.eye(4, 6))
    assert only_single["correlation"].item() == 0.0  # no token-level std: nothing to correlate
    assert only_single["variance_floor"].item() == pytest.approx(1.5)  # std counts as 0


def test_a_single_token_sentence_adds_nothing_to_the_cross_correlation() -> None:
    hidden, mask = random_batch(4)
    mask[0, 1:] = 0
    scr = SoftCollapseRegularizer([3], tolerance=0.0, eps=1e-12)
    with_single = scr.terms(hidden, mask)["correlation"]
    without = scr.terms(hidden[1:], mask[1:])["correlation"]
    # C is divided by all B sentences, so dropping the empty contribution rescales C by (B-1)/B.
    assert with_single.item() == pytest.approx(without.item() * (3 / 4) ** 2, rel=1e-9)


@pytest.mark.parametrize("case", ["constant_column", "identical_rows", "all_constant"])
def test_degenerate_batches_give_finite_values_and_gradients(case: str) -> None:
    hidden, _ = random_batch(5)
    if case == "constant_column":
        hidden[:, :, 2] = 3.0
    elif case == "identical_rows":
        hidden[:] = hidden[0]
    else:
        hidden = torch.ones_like(hidden)
    hidden.requires_grad_()
    loss = SoftCollapseRegularizer([2, 5])(hidden, torch.ones(4, 6))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(hidden.grad).all()


def test_scr_passes_gradcheck_in_float64() -> None:
    hidden, mask = random_batch(6, batch=3, tokens=5, features=6)
    scr = SoftCollapseRegularizer([2, 4], tolerance=0.05)
    # Scaled so the mean std (about 0.5) stays clear of the floor's kink at 1.
    assert torch.autograd.gradcheck(lambda x: scr(x, mask), (0.5 * hidden).requires_grad_())


# --- bad input ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dims": []}, "at least one dimension"),
        ({"dims": [8, 4]}, "ascending order"),
        ({"dims": [4, 4]}, "must not repeat"),
        ({"dims": [0, 4]}, "positive integers"),
        ({"dims": [-2]}, "positive integers"),
        ({"dims": [2.5]}, "positive integers"),
        ({"dims": [4], "tolerance": -0.1}, "tolerance must be a finite number >= 0"),
        ({"dims": [4], "tolerance": math.nan}, "tolerance must be a finite number >= 0"),
        ({"dims": [4], "variance_floor_weight": -1.0}, "variance_floor_weight must be a finite number >= 0"),
        ({"dims": [4], "eps": 0.0}, "eps must be a finite number > 0"),
    ],
)
def test_invalid_arguments_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SoftCollapseRegularizer(**kwargs)


@pytest.mark.parametrize(
    ("hidden", "mask", "match"),
    [
        (torch.randn(1, 5, 8), torch.ones(1, 5), "at least 2 rows, got a batch of 1"),
        (torch.randn(4, 8), torch.ones(4, 5), r"expects \(B, T, D\) hidden states"),
        (torch.randn(4, 5, 8, 1), torch.ones(4, 5), r"expects \(B, T, D\) hidden states"),
        (torch.randn(4, 5, 8), torch.ones(4, 6), "mask shape"),
        (torch.randn(4, 5, 4), torch.ones(4, 5), "needs a residual"),
    ],
)
def test_invalid_batches_raise(hidden: torch.Tensor, mask: torch.Tensor, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SoftCollapseRegularizer([2, 4])(hidden, mask)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_hidden_states_raise_with_the_term_name(bad: float) -> None:
    hidden = torch.randn(4, 5, 8)
    hidden[2, 1, 3] = bad
    with pytest.raises(ValueError, match=r"SoftCollapseRegularizer.*NaN or inf"):
        SoftCollapseRegularizer([2, 4])(hidden, torch.ones(4, 5))
