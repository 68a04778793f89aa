"""The sign-code statistics: exact codes give Hamming similarities, balanced and independent bits score 0."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from mic.geometry import (
    angular_similarity,
    bit_balance,
    bit_decorrelation,
    code_agreement,
    code_similarity,
    pairwise_cosine,
    soft_sign_codes,
)


def cube(bits: int) -> torch.Tensor:
    """Every ``±1`` code of ``bits`` bits once: each bit balanced, every pair of bits uncorrelated."""
    return torch.tensor(list(itertools.product([-1.0, 1.0], repeat=bits)), dtype=torch.float64)


def test_exact_codes_score_one_minus_twice_the_hamming_fraction() -> None:
    codes = cube(4)
    hamming = (codes[:, None, :] != codes[None, :, :]).sum(-1).double()
    torch.testing.assert_close(code_similarity(codes), 1 - 2 * hamming / 4)


def test_small_temperature_gives_the_hard_signs() -> None:
    prefix = torch.randn(20, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    torch.testing.assert_close(soft_sign_codes(prefix, 1e-6), torch.sign(prefix))
    assert soft_sign_codes(prefix * 100, 0.5).allclose(soft_sign_codes(prefix, 0.5))  # the scale does not matter


def test_balanced_independent_bits_score_zero_and_skewed_bits_do_not() -> None:
    codes = cube(5)
    assert bit_balance(codes).item() == 0.0 and bit_decorrelation(codes).item() == 0.0
    skewed = torch.cat([codes, torch.ones(8, 5, dtype=torch.float64)])
    assert bit_balance(skewed) > 0.01 and bit_decorrelation(skewed) > 0.01
    repeated = codes[:, [0, 0, 1, 2]]  # a duplicated bit is perfectly correlated with itself
    assert bit_balance(repeated).item() == 0.0 and bit_decorrelation(repeated) == pytest.approx(2 / 12)


def test_angular_similarity_maps_the_cosine_range_onto_itself() -> None:
    cosines = torch.tensor([1.0, 0.0, -1.0, math.cos(math.pi / 3)], dtype=torch.float64)
    torch.testing.assert_close(angular_similarity(cosines), torch.tensor([1.0, 0.0, -1.0, 1 / 3], dtype=torch.float64))


def test_agreement_is_zero_at_a_known_optimum_and_positive_away_from_it() -> None:
    hadamard = torch.tensor([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]], dtype=torch.float64)
    rows = torch.cat([hadamard, -hadamard])  # cosines 0 or ±1: angular similarity = code similarity of the signs
    codes = soft_sign_codes(rows, 1e-3)
    assert code_agreement(codes, pairwise_cosine(rows)).item() == pytest.approx(0.0, abs=1e-12)
    shuffled = codes[torch.tensor([0, 1, 2, 3, 5, 4, 7, 6])]  # same codes, given to the wrong rows
    assert code_agreement(shuffled, pairwise_cosine(rows)).item() > 0.1


def test_the_relaxed_terms_have_finite_exact_gradients() -> None:
    prefix = torch.randn(6, 8, generator=torch.Generator().manual_seed(2), dtype=torch.float64, requires_grad=True)
    cosines = pairwise_cosine(torch.randn(6, 12, generator=torch.Generator().manual_seed(3), dtype=torch.float64))

    def terms(x: torch.Tensor) -> torch.Tensor:
        codes = soft_sign_codes(x, 0.5)
        return code_agreement(codes, cosines) + bit_balance(codes) + bit_decorrelation(codes)

    assert torch.autograd.gradcheck(terms, (prefix,))
