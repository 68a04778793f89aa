"""PNG figures of the diagnostics: variance profiles, prefix/residual cross-correlation, score vs dim.

Each figure carries its title, axis labels and legend, so it reads on its own. Figures are drawn with
matplotlib's object API (``Figure`` + Agg), which leaves pyplot's global state and backend alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter
from torch import Tensor

from mic.geometry import DEAD_VARIANCE_RATIO, dead_dimensions

DPI = 120
DEAD_LISTED = 6
"""A legend lists the dead dimensions of a model when there are at most this many, else counts them."""


def _save(figure: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI, bbox_inches="tight")
    return path


def _dim_axis(axis: Axes, dims: Sequence[int]) -> None:
    """Log-2 x axis with a tick at each Matryoshka dim."""
    axis.set_xscale("log", base=2)
    axis.xaxis.set_major_locator(FixedLocator(sorted(dims)))
    axis.xaxis.set_minor_locator(NullLocator())
    axis.xaxis.set_major_formatter(ScalarFormatter())


def _dead_label(model: str, dead: Sequence[int]) -> str:
    if not dead:
        return model
    listed = ", ".join(str(index + 1) for index in dead) if len(dead) <= DEAD_LISTED else f"{len(dead)} dims"
    return f"{model} (dead: {listed})"


def plot_variance_profiles(
    profiles: Mapping[str, Sequence[float]], path: str | Path, dims: Sequence[int] = (), title: str | None = None
) -> Path:
    """Write :func:`variance_profile_figure` to the PNG ``path`` and return ``path``."""
    return _save(variance_profile_figure(profiles, dims, title), path)


def variance_profile_figure(
    profiles: Mapping[str, Sequence[float]], dims: Sequence[int] = (), title: str | None = None
) -> Figure:
    """Per-dimension variance of the sentence embeddings of several models on one log-log axis.

    Dead dimensions (:func:`mic.geometry.dead_dimensions`: variance at most ``DEAD_VARIANCE_RATIO`` x the
    median) are left out of the lines, which would otherwise stretch the log axis down to their ~1e-17, and
    marked with a cross on the bottom edge; the legend names them (1-based, as the x axis).

    Args:
        profiles: ``{model: D variances}`` (see :func:`mic.geometry.variance_profile`), in dimension order.
        dims: Matryoshka dims to mark with dotted vertical lines (the prefix boundaries).
        title: the figure title (default names the quantity).
    """
    figure = Figure(figsize=(7.5, 4.5))
    axis = figure.subplots()
    any_dead = False
    for position, (model, profile) in enumerate(profiles.items()):
        values = torch.as_tensor(profile, dtype=torch.float64)
        dead = dead_dimensions(values).tolist()
        any_dead = any_dead or bool(dead)
        live = values.clone()
        live[dead] = float("nan")  # a gap in the line, not a plunge to the dead dimension's variance
        color = f"C{position % 10}"
        index = np.arange(1, len(values) + 1)
        axis.plot(index, live.numpy(), label=_dead_label(model, dead), color=color, linewidth=1.2)
        if dead:
            axis.plot(index[dead], [0.02] * len(dead), "x", color=color, transform=axis.get_xaxis_transform())
    for dim in dims:
        axis.axvline(dim, color="0.7", linestyle=":", linewidth=0.8)
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("embedding dimension index (1 = first coordinate)")
    axis.set_ylabel("variance over sentences")
    axis.set_title(title or "Per-dimension variance profile of the sentence embeddings")
    axis.grid(True, which="major", alpha=0.3)
    handles, _ = axis.get_legend_handles_labels()
    if dims:
        handles.append(Line2D([], [], color="0.7", linestyle=":", label="prefix dims m"))
    if any_dead:
        label = f"dead dimension (variance <= {DEAD_VARIANCE_RATIO:g} x median), not drawn"
        handles.append(Line2D([], [], color="0.3", marker="x", linestyle="none", label=label))
    axis.legend(handles=handles, title="model", fontsize="small")
    return figure


def plot_cross_correlation(
    matrices: Mapping[str, Tensor | np.ndarray], dim: int, path: str | Path, layer: int | None = None
) -> Path:
    """Heatmaps of the prefix/residual cross-correlation ``C[:m, m:]`` of each model, on one colour scale.

    Args:
        matrices: ``{model: (m, D - m) block}`` (see :meth:`mic.evaluation.Analysis.cross_correlation`).
        dim: the prefix size ``m`` the blocks were taken at.
        path: the PNG to write.
        layer: the encoder layer the token states came from, for the title.

    Returns:
        ``path``.
    """
    blocks = {model: np.asarray(matrix, dtype=float) for model, matrix in matrices.items()}
    scale = max(float(np.abs(block).max()) for block in blocks.values()) or 1.0
    figure = Figure(figsize=(4.2 * len(blocks) + 1.0, 4.2), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(blocks)))
    image = None
    for axis, (model, block) in zip(axes, blocks.items(), strict=True):
        # 1-based feature numbers on the axes: rows are prefix features 1..m, columns residual features m+1..D.
        extent = (dim + 0.5, dim + block.shape[1] + 0.5, block.shape[0] + 0.5, 0.5)
        image = axis.imshow(
            block, cmap="RdBu_r", vmin=-scale, vmax=scale, aspect="auto", interpolation="nearest", extent=extent
        )
        axis.set_title(f"{model}\nmean |C| = {np.abs(block).mean():.3f}", fontsize="medium")
        axis.set_xlabel(f"residual dimension ({dim + 1}..{dim + block.shape[1]})")
        axis.set_ylabel(f"prefix dimension (1..{dim})")
    where = f" at layer {layer}" if layer is not None else ""
    figure.suptitle(f"Token-level prefix/residual cross-correlation, m = {dim}{where}")
    figure.colorbar(image, ax=list(axes), label="correlation C[u, v]")
    return _save(figure, path)


def plot_scores_vs_dim(
    scores: Mapping[str, Mapping[str, Mapping[int, float]]],
    path: str | Path,
    metrics: Mapping[str, str] | None = None,
) -> Path:
    """Score against embedding dim, one panel per task, one line per model; dashed: each model's full-dim score.

    Args:
        scores: ``{task: {model: {dim: score}}}``; a model's largest dim is taken as its full dim.
        path: the PNG to write.
        metrics: ``{task: y-axis label}``, e.g. ``"spearman x100"`` or ``"ndcg@10 x100"`` (default: ``score``).

    Returns:
        ``path``.
    """
    figure = Figure(figsize=(5.5 * len(scores), 4.2), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(scores)))
    models = list(dict.fromkeys(model for by_model in scores.values() for model in by_model))
    palette = colormaps["tab10" if len(models) <= 10 else "tab20"]
    colors = {model: palette(index % palette.N) for index, model in enumerate(models)}
    for axis, (task, by_model) in zip(axes, scores.items(), strict=True):
        all_dims: set[int] = set()
        for model, by_dim in by_model.items():
            dims = sorted(by_dim)
            all_dims.update(dims)
            color = colors[model]
            axis.plot(dims, [by_dim[dim] for dim in dims], marker="o", color=color, label=model)
            axis.axhline(by_dim[dims[-1]], color=color, linestyle="--", linewidth=0.9, alpha=0.8)
        _dim_axis(axis, sorted(all_dims))
        axis.set_xlabel("embedding dim (prefix size m, log scale)")
        axis.set_ylabel((metrics or {}).get(task, "score"))
        axis.set_title(task)
        axis.grid(True, alpha=0.3)
    handles = [Line2D([], [], color=color, marker="o", label=model) for model, color in colors.items()]
    handles.append(Line2D([], [], color="0.3", linestyle="--", label="full-dim score (per model)"))
    axes[-1].legend(handles=handles, fontsize="small", loc="best")
    figure.suptitle("Score of the truncated embeddings vs dim")
    return _save(figure, path)
