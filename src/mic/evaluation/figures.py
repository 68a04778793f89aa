"""PNG figures of the diagnostics: variance profiles, prefix/residual cross-correlation, score vs dim.

Each figure carries its title, axis labels and legend, so it reads on its own. Figures are drawn with
matplotlib's object API (``Figure`` + Agg), which leaves pyplot's global state and backend alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter
from torch import Tensor

VARIANCE_FLOOR = 1e-6
"""Variances below this fraction of the largest are drawn at it, so dead dimensions stay on a log axis."""
DPI = 120


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


def plot_variance_profiles(
    profiles: Mapping[str, Sequence[float]], path: str | Path, dims: Sequence[int] = (), title: str | None = None
) -> Path:
    """Per-dimension variance of the sentence embeddings of several models on one log-log axis.

    Args:
        profiles: ``{model: D variances}`` (see :func:`mic.geometry.variance_profile`), in dimension order.
        path: the PNG to write.
        dims: Matryoshka dims to mark with dotted vertical lines.
        title: the figure title (default names the quantity).

    Returns:
        ``path``.
    """
    figure = Figure(figsize=(7.5, 4.5))
    axis = figure.subplots()
    peak = max(max(profile) for profile in profiles.values())
    floor = VARIANCE_FLOOR * peak if peak > 0 else VARIANCE_FLOOR
    for model, profile in profiles.items():
        values = np.maximum(np.asarray(profile, dtype=float), floor)
        axis.plot(np.arange(1, len(values) + 1), values, label=model, linewidth=1.2)
    for dim in dims:
        axis.axvline(dim, color="0.7", linestyle=":", linewidth=0.8)
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("embedding dimension index (1 = first coordinate)")
    axis.set_ylabel(f"variance over sentences (floored at {VARIANCE_FLOOR:g} x max)")
    axis.set_title(title or "Per-dimension variance profile of the sentence embeddings")
    axis.grid(True, which="major", alpha=0.3)
    axis.legend(title="model", fontsize="small")
    return _save(figure, path)


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
    scores: Mapping[str, Mapping[str, Mapping[int, float]]], path: str | Path, metric: str = "Spearman x100"
) -> Path:
    """Score against embedding dim, one panel per task, one line per model; dashed: each model's full-dim score.

    Args:
        scores: ``{task: {model: {dim: score}}}``; a model's largest dim is taken as its full dim.
        path: the PNG to write.
        metric: the y-axis label.

    Returns:
        ``path``.
    """
    figure = Figure(figsize=(5.5 * len(scores), 4.2), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, len(scores)))
    colors = {}
    for axis, (task, by_model) in zip(axes, scores.items(), strict=True):
        all_dims: set[int] = set()
        for model, by_dim in by_model.items():
            dims = sorted(by_dim)
            all_dims.update(dims)
            color = colors.setdefault(model, f"C{len(colors) % 10}")
            axis.plot(dims, [by_dim[dim] for dim in dims], marker="o", color=color, label=model)
            axis.axhline(by_dim[dims[-1]], color=color, linestyle="--", linewidth=0.9, alpha=0.8)
        _dim_axis(axis, sorted(all_dims))
        axis.set_xlabel("embedding dim (prefix size m, log scale)")
        axis.set_ylabel(metric)
        axis.set_title(task)
        axis.grid(True, alpha=0.3)
    handles = [Line2D([], [], color=color, marker="o", label=model) for model, color in colors.items()]
    handles.append(Line2D([], [], color="0.3", linestyle="--", label="full-dim score (per model)"))
    axes[-1].legend(handles=handles, fontsize="small", loc="lower right")
    figure.suptitle(f"STS {metric} of the truncated embeddings vs dim")
    return _save(figure, path)
