"""``mic compare``: STS, retrieval and geometry of several models (and the truncation/PCA baselines) in one report.

Writes into ``out``: ``report.md`` (tables side by side, figures embedded), ``comparison.json`` and the PNGs
``scores_vs_dim.png`` (each task's headline metric: Spearman, nDCG@10), ``variance_profile.png`` and
``cross_correlation.png``. The JSON (``schema: "mic-compare/2"``) holds ``models``, ``eval``
(``{model: mic-eval/2 object}``, :mod:`mic.evaluation.results`), ``analyze`` (``{model: mic-analyze/1 object}``),
``heatmap_dim``, ``files`` and the provenance fields.

One :class:`~mic.cache.EmbeddingStore` serves the whole command: a text list is encoded once per
base model, whether ``MODEL``, ``truncation:MODEL`` or ``pca:MODEL`` asks for it, and a task equal to the
geometry data is scored with the outputs of the geometry's forward pass. Each encoder still runs its own
forward pass with hidden states for the geometry (a ``pca:`` model's token states are rotated per batch).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from mic.data import DEFAULT_TASKS, load_pairs_task
from mic.defaults import DEFAULT_PAIRS
from mic.encoders import EvaluationError, resolve_dims
from mic.evaluation.analyze import Analysis, analyze_encoder, heatmap_dim
from mic.evaluation.figures import plot_cross_correlation, plot_scores_vs_dim, plot_variance_profiles
from mic.evaluation.options import DEFAULT_OPTIONS, EvalOptions
from mic.evaluation.records import short_labels
from mic.evaluation.report import render_report
from mic.evaluation.results import EvalResult
from mic.evaluation.runner import evaluate_encoder, load_tasks
from mic.provenance import provenance
from mic.staging import write_json

SCHEMA = "mic-compare/2"


@dataclass
class Comparison:
    """The per-model results of a comparison and the files written."""

    evals: list[EvalResult]
    analyses: list[Analysis]
    heatmap_dim: int
    files: list[Path] = field(default_factory=list)
    provenance: dict[str, object] = field(default_factory=dict)

    @property
    def models(self) -> list[str]:
        return [result.model for result in self.evals]

    def to_dict(self) -> dict[str, object]:
        return {
            "schema": SCHEMA,
            "models": self.models,
            "eval": {result.model: result.to_dict() for result in self.evals},
            "analyze": {analysis.model: analysis.to_dict() for analysis in self.analyses},
            "heatmap_dim": self.heatmap_dim,
            "files": [path.name for path in self.files],
            **self.provenance,
        }


def write_comparison(comparison: Comparison, out: str | Path) -> list[Path]:
    """Draw the three figures and write ``report.md`` and ``comparison.json`` into ``out``."""
    out = Path(out)
    evals, analyses = comparison.evals, comparison.analyses
    model = short_labels(comparison.models)
    task = short_labels(list(dict.fromkeys(name for result in evals for name in result.tasks)))
    headline: dict[str, dict[str, dict[int, float]]] = {}
    metrics: dict[str, str] = {}
    for result in evals:
        for name, scores in result.tasks.items():
            by_dim = {dim: values[scores.headline] for dim, values in scores.scores.items()}
            headline.setdefault(task[name], {})[model[result.model]] = by_dim
            metrics[task[name]] = f"{scores.headline} x100"
    dim = comparison.heatmap_dim
    layer = analyses[0].layer if len({analysis.layer for analysis in analyses}) == 1 else None
    figures = {
        "Score vs dim (dashed: each model's full-dim score)": plot_scores_vs_dim(
            headline, out / "scores_vs_dim.png", metrics
        ),
        "Per-dimension variance profile": plot_variance_profiles(
            {model[analysis.model]: analysis.variance_profile for analysis in analyses},
            out / "variance_profile.png",
            dims=evals[0].dims,
        ),
        f"Token-level prefix/residual cross-correlation at m = {dim}": plot_cross_correlation(
            {model[analysis.model]: analysis.cross_correlation(dim) for analysis in analyses},
            dim,
            out / "cross_correlation.png",
            layer=layer,
        ),
    }
    report = out / "report.md"
    markdown = render_report(
        evals, analyses, {caption: path.name for caption, path in figures.items()}, comparison.provenance
    )
    report.write_text(markdown, encoding="utf-8")
    comparison.files = [report, out / "comparison.json", *figures.values()]
    write_json(comparison.to_dict(), out / "comparison.json")
    return comparison.files


def run_compare(
    models: Sequence[str],
    out: str | Path,
    tasks: str | Sequence[str] = DEFAULT_TASKS,
    dims: Sequence[int] | None = None,
    *,
    data: str = DEFAULT_PAIRS,
    layer: int | None = None,
    options: EvalOptions = DEFAULT_OPTIONS,
) -> Comparison:
    """Evaluate and analyse every model, then write the report (see the module docstring).

    Data and models are all loaded and the dims checked against every model before any long computation,
    so a mistake in the last argument fails in seconds.

    Args:
        models: model specs (``default``, folders, hub ids, ``truncation[:MODEL]``, ``pca[:MODEL]``).
        out: the output folder (created).
        tasks: STS and retrieval task specs (see :mod:`mic.data.tasks`).
        dims: prefix sizes (``None``: the defaults of each model's size).
        data: the scored pairs the geometry is measured on (see :func:`mic.evaluation.run_analyze`).
        layer: see :func:`mic.evaluation.analyze_encoder`.
        options: data folder, PCA fit data, encoding settings, seed (torch and the uniformity sample) and
            command, all recorded.

    Raises:
        MICError: for user-fixable problems.
    """
    if not models:
        raise EvaluationError("Give at least one model to compare.")
    repeated = sorted({model for model in models if list(models).count(model) > 1})
    if repeated:
        raise EvaluationError(f"Model(s) {repeated} given more than once; each column needs its own model.")
    torch.manual_seed(options.seed)
    loaded, mteb_names = load_tasks(tasks, options.data_dir)
    pairs = load_pairs_task(data, options.data_dir)
    store = options.store()
    encoders = [options.load_encoder(spec, store) for spec in models]
    for encoder in encoders:
        resolve_dims(dims, encoder.dim, encoder.name)
    evals, analyses = [], []
    for encoder in encoders:
        analyses.append(analyze_encoder(encoder, pairs, dims, layer=layer, options=options, store=store))
        evals.append(evaluate_encoder(encoder, loaded, dims, mteb_tasks=mteb_names, options=options, store=store))
    smallest = min(encoder.dim for encoder in encoders)
    record = provenance(options.command, options.seed)
    comparison = Comparison(evals, analyses, heatmap_dim(evals[0].dims, smallest), provenance=record)
    write_comparison(comparison, out)
    return comparison
