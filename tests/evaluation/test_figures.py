"""The variance-profile figure: dead dimensions left out and named, prefix guide lines in every version."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mic.evaluation import analyze as analyze_module
from mic.evaluation.analyze import dead_dimension_warnings
from mic.evaluation.figures import variance_profile_figure

LIVE = [2.5e-3, 1.1e-3, 3.0e-3, 2.0e-3, 7.6e-4, 2.8e-3, 1.9e-3, 2.2e-3]


def legend_texts(figure: object) -> list[str]:
    return [text.get_text() for text in figure.axes[0].get_legend().get_texts()]  # type: ignore[attr-defined]


def test_dead_dimensions_do_not_stretch_the_log_axis_and_are_named() -> None:
    profile = list(LIVE)
    profile[2], profile[5] = 5e-66, 2e-17  # MiniLM's dead coordinates are this small
    figure = variance_profile_figure({"minilm": profile, "other": LIVE})
    low, _ = figure.axes[0].get_ylim()
    assert low > 1e-4  # the live variances span 7.6e-4 .. 3e-3; before: the axis reached down to ~1e-66
    texts = legend_texts(figure)
    assert "minilm (dead: 3, 6)" in texts and "other" in texts
    assert any("dead dimension (variance <= 0.0001 x median), not drawn" in text for text in texts)


def test_no_dead_marker_in_the_legend_without_dead_dimensions() -> None:
    assert not any("dead" in text for text in legend_texts(variance_profile_figure({"a": LIVE})))


@pytest.mark.parametrize("dims", [[8, 4, 2], []])
def test_prefix_dims_are_drawn_as_guide_lines(dims: list[int]) -> None:
    figure = variance_profile_figure({"a": LIVE}, dims=dims)
    vertical = [line for line in figure.axes[0].get_lines() if list(line.get_xdata()) in ([d, d] for d in dims)]
    assert len(vertical) == len(dims)
    assert ("prefix dims m" in legend_texts(figure)) == bool(dims)


def test_the_single_model_figure_of_mic_analyze_has_the_prefix_lines(
    tiny_model: object, pairs_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mic.data import load_pairs_task
    from mic.evaluation import Encoder, analyze_encoder, write_analysis

    calls = []
    monkeypatch.setattr(analyze_module, "plot_variance_profiles", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setattr(analyze_module, "plot_cross_correlation", lambda *args, **kwargs: tmp_path / "c.png")
    analysis = analyze_encoder(Encoder("tiny", tiny_model), load_pairs_task(str(pairs_file)), [32, 16, 8])
    write_analysis(analysis, tmp_path)
    assert calls == [{"dims": [8, 16, 32]}]


def test_dead_dimensions_are_a_warning_of_the_analysis() -> None:
    profile = torch.tensor(LIVE, dtype=torch.float64)
    assert dead_dimension_warnings(profile) == []
    profile[[2, 5]] = 0.0
    (warning,) = dead_dimension_warnings(profile)
    assert warning.startswith("2 dead dimension(s)") and ": 3, 6 (1 = first coordinate)" in warning
