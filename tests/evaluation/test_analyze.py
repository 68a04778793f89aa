"""Specification of ``analyze_encoder``, the figures and the Markdown report on the tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer

from mic.data import ScoredPairs
from mic.evaluation import (
    Encoder,
    EvalOptions,
    EvaluationError,
    analyze_encoder,
    evaluate_encoder,
    fit_pca,
    load_task,
    plot_cross_correlation,
    plot_scores_vs_dim,
    plot_variance_profiles,
    positive_pairs,
    render_report,
    write_analysis,
)
from mic.geometry import masked_mean_pool, token_correlation

ANALYZE_KEYS = {
    "schema", "model", "embedding_dim", "dims", "data", "sentences", "positive_pairs", "layer", "statistics_on",
    "variance_profile", "uniformity_sentences", "prefixes", "warnings", "seconds", "command", "seed", "versions",
    "git_commit",
}  # fmt: skip
PREFIX_KEYS = {
    "effective_rank", "isotropy", "variance_cv", "uniformity", "alignment", "token_correlation_mean_abs",
    "token_correlation_max_abs", "sentence_correlation_mean_abs", "eigen_spectrum",
}  # fmt: skip


def test_analysis_schema_and_files(tiny_model: SentenceTransformer, pairs_file: Path, tmp_path: Path) -> None:
    pairs = load_task(str(pairs_file))
    analysis = analyze_encoder(Encoder("tiny", tiny_model), pairs, [32, 16, 4], options=EvalOptions(seed=1))
    written = write_analysis(analysis, tmp_path / "out")
    data = json.loads((tmp_path / "out" / "analysis.json").read_text())
    assert set(data) == ANALYZE_KEYS and data["schema"] == "mic-analyze/1"
    assert (
        data["layer"] == 3
        and data["statistics_on"] == "output"
        and data["positive_pairs"] == len(positive_pairs(pairs)) >= 12
    )
    assert set(data["prefixes"]) == {"32", "16", "4"}
    assert set(data["prefixes"]["16"]) == PREFIX_KEYS
    assert data["prefixes"]["32"]["token_correlation_mean_abs"] is None
    assert len(data["prefixes"]["16"]["eigen_spectrum"]) == 16 and len(data["variance_profile"]) == 32
    assert all(path.is_file() and path.stat().st_size > 0 for path in written)
    assert {path.name for path in written} >= {"variance_profile.png", "cross_correlation.png"}
    assert np.load(tmp_path / "out" / "token_correlation.npy").shape == (32, 32)


def test_token_correlation_is_the_geometry_statistic_of_the_chosen_layer(
    tiny_model: SentenceTransformer, pairs_file: Path
) -> None:
    """One batch holding every sentence: the diagnostic must equal mic.geometry on that layer's states."""
    pairs = load_task(str(pairs_file))
    encoder = Encoder("tiny", tiny_model)
    analysis = analyze_encoder(encoder, pairs, [16], layer=2, options=EvalOptions(batch_size=1000))
    unique = list(dict.fromkeys([*pairs.sentences1, *pairs.sentences2]))
    (batch,) = list(encoder.layer_batches(unique, 2, batch_size=1000))
    expected = token_correlation(batch.hidden.double(), batch.mask)
    assert analysis.token_correlation == pytest.approx(expected.float(), abs=1e-5)
    pooled = masked_mean_pool(batch.hidden.double(), batch.mask)
    order = batch.indices.argsort()
    assert analysis.variance_profile == pytest.approx(pooled[order].var(dim=0, unbiased=False).tolist(), rel=1e-5)
    assert analysis.statistics_on == "mean-pooled layer 2"
    assert analysis.cross_correlation(16).shape == (16, 16)


def test_analysis_rejects_too_few_sentences_and_missing_layers(tiny_model: SentenceTransformer) -> None:
    encoder = Encoder("tiny", tiny_model)
    one_sentence = ScoredPairs(["same words"], ["same words"], [5.0], "toy.tsv", (0.0, 5.0))
    with pytest.raises(EvaluationError, match="toy.tsv: 1 distinct sentence.*at least 2"):
        analyze_encoder(encoder, one_sentence)
    pairs = ScoredPairs(["a cat", "a dog"], ["the bird", "the man"], [1.0, 2.0], "toy.tsv", (0.0, 5.0))
    with pytest.raises(EvaluationError, match="layer 7 does not exist: tiny has layers 0..3"):
        analyze_encoder(encoder, pairs, layer=7)
    few = analyze_encoder(encoder, pairs, [8])
    assert any("capped" in warning for warning in few.warnings)
    assert any("no alignment" in warning for warning in few.warnings)


def test_a_static_model_is_analyzed_on_its_token_vectors() -> None:
    """WordLlama has no layers: its one set of token states (layer 0) is the token vectors it averages."""
    from mic.models import load_model

    encoder = Encoder("wordllama", load_model("wordllama"))
    pairs = ScoredPairs(["a cat sits on the mat", "a dog runs"], ["the bird sings", "the man reads a book"],
                        [1.0, 2.0], "toy.tsv", (0.0, 5.0))  # fmt: skip
    analysis = analyze_encoder(encoder, pairs, [8, 16])
    assert analysis.layer == 0 and encoder.num_layers == 0
    assert np.isfinite(analysis.token_correlation.numpy()).all()
    with pytest.raises(EvaluationError, match="layer 1 does not exist: wordllama has layers 0..0"):
        analyze_encoder(encoder, pairs, layer=1)


def test_pca_encoder_prefix_holds_the_top_components(tiny_model: SentenceTransformer, pairs_file: Path) -> None:
    pairs = load_task(str(pairs_file))
    sentences = list(dict.fromkeys([*pairs.sentences1, *pairs.sentences2]))
    encoder = Encoder("pca:tiny", tiny_model)
    encoder.projection = fit_pca(encoder.encode(sentences))
    profile = analyze_encoder(encoder, pairs, [32, 8]).variance_profile
    assert profile == pytest.approx(sorted(profile, reverse=True), rel=1e-3)
    assert evaluate_encoder(encoder, {"toy": pairs}, [8]).pca_fit_sentences == len(sentences)


def test_figures_and_report(tiny_model: SentenceTransformer, pairs_file: Path, tmp_path: Path) -> None:
    block = torch.linspace(-1, 1, 8 * 24).reshape(8, 24)
    paths = [
        plot_variance_profiles({"a": [1.0, 0.5, 0.0, 0.1], "b": [0.2, 0.2, 0.2, 0.2]}, tmp_path / "v.png", dims=[2, 4]),
        plot_cross_correlation({"a": block, "b": block.numpy() / 2}, 8, tmp_path / "c.png", layer=3),
        plot_scores_vs_dim({"stsb": {"a": {8: 60.0, 32: 80.0}, "b": {8: 70.0, 32: 79.0}}, "sickr": {"a": {32: 75.0}}},
                           tmp_path / "s.png"),
    ]  # fmt: skip
    assert all(path.is_file() and path.stat().st_size > 1000 for path in paths)
    pairs = load_task(str(pairs_file))
    encoder = Encoder("tiny", tiny_model)
    report = render_report(
        [evaluate_encoder(encoder, {"toy": pairs}, [32, 8])],
        [analyze_encoder(encoder, pairs, [32, 8])],
        {"Score vs dim": "s.png"},
        {"command": "mic compare tiny", "seed": 0, "versions": {"torch": torch.__version__}},
    )
    assert "![Score vs dim](s.png)" in report and "#### toy: spearman x100" in report
    assert "| dim | tiny |" in report and "Isotropy" in report and "mic compare tiny" in report
