"""Specification of the evaluation helpers: positive pairs, dims resolved against a model, PCA, labels."""

from __future__ import annotations

import math

import pytest
import torch

from mic.data import ScoredPairs
from mic.evaluation import (
    EvaluationError,
    fit_pca,
    heatmap_dim,
    positive_pairs,
    resolve_dims,
    short_labels,
)


def gaussian(rows: int, width: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(rows, width, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_positive_pairs_use_the_top_fifth_of_the_scale() -> None:
    pairs = ScoredPairs(["a", "b", "c"], ["x", "y", "z"], [4.0, 3.9, 5.0], "toy", (0.0, 5.0))
    assert positive_pairs(pairs) == [("a", "x"), ("c", "z")]


def test_resolve_dims() -> None:
    assert resolve_dims([8, 384, 32, 8], 384) == [8, 32, 384]
    assert resolve_dims(None, 32) == [8, 16, 32]
    with pytest.raises(EvaluationError, match="dim 512 is larger than the 384-dim embeddings of m; allowed: 1..384"):
        resolve_dims([512], 384, "m")
    with pytest.raises(EvaluationError, match="not a positive"):
        resolve_dims([0], 384)


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
