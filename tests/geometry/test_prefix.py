"""Specification of the prefix geometry against closed-form cases."""

from __future__ import annotations

import pytest
import torch

from mic.geometry import correlation, prefix_geometry, token_correlation


def gaussian(rows: int, width: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(rows, width, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_isotropic_gaussian_has_full_effective_rank_and_no_prefix_residual_correlation() -> None:
    embeddings = gaussian(4000, 16)
    geometry = prefix_geometry(embeddings, 8, sentence_correlation=correlation(embeddings))
    assert geometry.effective_rank == pytest.approx(8, rel=0.01)
    assert geometry.isotropy == pytest.approx(1.0, rel=0.01)
    assert geometry.sentence_correlation_mean_abs < 0.03
    assert geometry.variance_cv < 0.05
    assert len(geometry.eigen_spectrum) == 8


def test_rank_one_data_has_effective_rank_one() -> None:
    direction = gaussian(1, 12, seed=1)
    embeddings = gaussian(500, 1, seed=2) * direction
    geometry = prefix_geometry(embeddings, 12)
    assert geometry.effective_rank == pytest.approx(1.0, abs=1e-6)
    assert geometry.isotropy == pytest.approx(1 / 12, abs=1e-6)


def test_duplicated_columns_correlate_perfectly_between_prefix_and_residual() -> None:
    base = gaussian(400, 4)
    embeddings = torch.cat([base, base], dim=1)  # residual column j + 4 copies prefix column j
    hidden = torch.cat([gaussian(40 * 10, 4, seed=3)] * 2, dim=1).reshape(40, 10, 8)
    mask = torch.ones(40, 10)
    tokens = token_correlation(hidden, mask)
    geometry = prefix_geometry(embeddings, 4, tokens, correlation(embeddings))
    assert torch.diagonal(tokens[:4, 4:]) == pytest.approx(torch.ones(4, dtype=torch.float64), abs=1e-4)
    assert torch.diagonal(correlation(embeddings)[:4, 4:]) == pytest.approx(
        torch.ones(4, dtype=torch.float64), abs=1e-5
    )
    assert geometry.token_correlation_max_abs == pytest.approx(1.0, abs=1e-4)


def test_full_dim_has_no_residual_statistics_and_pairs_give_alignment() -> None:
    embeddings = gaussian(50, 6)
    geometry = prefix_geometry(embeddings, 6, torch.eye(6), correlation(embeddings), embeddings[:5], embeddings[:5])
    assert geometry.token_correlation_mean_abs is None and geometry.sentence_correlation_mean_abs is None
    assert geometry.alignment == pytest.approx(0.0)
    assert geometry.to_dict().keys() >= {"effective_rank", "isotropy", "uniformity", "alignment", "eigen_spectrum"}


def test_prefix_geometry_rejects_too_few_sentences_and_bad_dims() -> None:
    with pytest.raises(ValueError, match="at least 2 sentences, got 1"):
        prefix_geometry(gaussian(1, 4), 2)
    with pytest.raises(ValueError, match="outside 1..4"):
        prefix_geometry(gaussian(10, 4), 5)
