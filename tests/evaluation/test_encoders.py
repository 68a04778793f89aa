"""Specification of the model specs: plain models, the truncation baseline and the PCA baseline."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mic.evaluation import EvalOptions, load_encoder, run_eval
from mic.models import ModelError


def test_pseudo_model_specs(tiny_model_dir: Path, pairs_file: Path) -> None:
    plain = load_encoder(str(tiny_model_dir))
    truncation = load_encoder(f"truncation:{tiny_model_dir}")
    pca = load_encoder(f"pca:{tiny_model_dir}", fit_data=str(pairs_file))
    assert plain.projection is None and truncation.projection is None and truncation.name.startswith("truncation:")
    assert pca.projection is not None and pca.projection.fit_sentences == 60 and pca.dim == 32
    sentences = ["a cat sits on the table", "the dog runs"]
    assert truncation.encode(sentences) == pytest.approx(plain.encode(sentences))
    centred = plain.encode(sentences) - pca.projection.mean
    assert pca.encode(sentences) == pytest.approx(centred @ pca.projection.components.T, abs=1e-5)
    with pytest.raises(ModelError, match="write pca:MODEL"):
        load_encoder("pca:")
    with pytest.raises(ModelError, match="does not exist"):
        load_encoder(str(tiny_model_dir / "missing"))


@pytest.mark.slow
@pytest.mark.integration
def test_default_model_on_stsb_test_matches_the_published_score(data_dir: Path) -> None:
    """all-MiniLM-L6-v2 scores 82.03 Spearman on STS-B test (sentence-transformers model card, MTEB)."""
    torch.manual_seed(0)
    result = run_eval("default", ["stsb"], [384, 64], EvalOptions(data_dir=data_dir))
    assert result.score("stsb", 384) == pytest.approx(82.03, abs=0.05)
    assert 70 < result.score("stsb", 64) < result.score("stsb", 384, "spearman")
    assert result.tasks["stsb"].counts["pairs"] == 1379
