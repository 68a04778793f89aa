"""Specification of the prefix diagnostics against closed-form cases, and of the dim/PCA helpers."""

from __future__ import annotations

import math

import pytest
import torch

from mic.data import ScoredPairs
from mic.evaluation import (
    EvaluationError,
    default_dims,
    fit_pca,
    heatmap_dim,
    parse_dims,
    positive_pairs,
    prefix_geometry,
    resolve_dims,
    short_labels,
)
from mic.geometry import correlation, token_correlation


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
    with pytest.raises(EvaluationError, match="at least 2 sentences, got 1"):
        prefix_geometry(gaussian(1, 4), 2)
    with pytest.raises(EvaluationError, match="outside 1..4"):
        prefix_geometry(gaussian(10, 4), 5)


def test_positive_pairs_use_the_top_fifth_of_the_scale() -> None:
    pairs = ScoredPairs(["a", "b", "c"], ["x", "y", "z"], [4.0, 3.9, 5.0], "toy", (0.0, 5.0))
    assert positive_pairs(pairs) == [("a", "x"), ("c", "z")]


@pytest.mark.parametrize(
    ("full", "expected"),
    [
        (384, [8, 16, 32, 64, 128, 256, 384]),
        (768, [8, 16, 32, 64, 128, 256, 512, 768]),
        (32, [8, 16, 32]),
        (6, [1, 2, 4, 6]),
    ],
)
def test_default_dims(full: int, expected: list[int]) -> None:
    assert default_dims(full) == expected


def test_resolve_and_parse_dims() -> None:
    assert resolve_dims(parse_dims("8, 384,32,8"), 384) == [8, 32, 384]
    assert resolve_dims(None, 32) == [8, 16, 32]
    assert parse_dims(None) is None
    with pytest.raises(EvaluationError, match="dim 512 is larger than the 384-dim embeddings of m; allowed: 1..384"):
        resolve_dims([512], 384, "m")
    with pytest.raises(EvaluationError, match="not a positive"):
        resolve_dims([0], 384)
    with pytest.raises(EvaluationError, match="comma-separated integers"):
        parse_dims("64,abc")


def test_heatmap_dim() -> None:
    assert heatmap_dim([384, 256, 128, 8], 384) == 128
    assert heatmap_dim([32, 16, 8], 32) == 16
    assert heatmap_dim([64], 64) == 32


def test_pca_orders_axes_by_variance_and_is_a_rotation() -> None:
    scales = torch.tensor([0.5, 3.0, 1.0, 2.0], dtype=torch.float64)
    embeddings = gaussian(5000, 4) * scales + 7.0
    projection = fit_pca(embeddings.float())
    components = projection.components.double()
    assert components @ components.T == pytest.approx(torch.eye(4, dtype=torch.float64), abs=1e-5)
    variances = projection.apply(embeddings.float()).var(dim=0)
    assert variances.tolist() == sorted(variances.tolist(), reverse=True)
    assert math.sqrt(float(variances[0])) == pytest.approx(3.0, rel=0.05)
    assert projection.apply(embeddings.float()).mean(dim=0).abs().max() < 1e-3
    with pytest.raises(EvaluationError, match="at least 4 fit sentences, got 3"):
        fit_pca(embeddings[:3].float())


def test_short_labels_keep_prefixes_and_resolve_collisions() -> None:
    labels = short_labels(["pca:/runs/a/final", "/runs/b/final", "/runs/c/final", "stsb:dev", "default"])
    assert labels == {
        "pca:/runs/a/final": "pca:final",
        "/runs/b/final": "/runs/b/final",
        "/runs/c/final": "/runs/c/final",
        "stsb:dev": "stsb:dev",
        "default": "default",
    }
