"""``mic compare``: STS and geometry of several models (and the truncation/PCA baselines) in one report.

Writes into ``out``: ``report.md`` (tables side by side, figures embedded), ``comparison.json`` and the PNGs
``scores_vs_dim.png``, ``variance_profile.png`` and ``cross_correlation.png``. The JSON
(``schema: "mic-compare/1"``) holds ``models``, ``eval`` (``{model: mic-eval/1 object}``), ``analyze``
(``{model: mic-analyze/1 object}``), ``heatmap_dim``, ``files`` and the provenance fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from mic.evaluation.analyze import Analysis, analyze_encoder, heatmap_dim
from mic.evaluation.encoders import EvaluationError, load_encoder, resolve_dims
from mic.evaluation.figures import plot_cross_correlation, plot_scores_vs_dim, plot_variance_profiles
from mic.evaluation.records import provenance, short_labels, write_json
from mic.evaluation.report import render_report
from mic.evaluation.sts import DEFAULT_TASKS, EvalResult, evaluate_encoder, load_task, split_tasks

SCHEMA = "mic-compare/1"


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
    spearman: dict[str, dict[str, dict[int, float]]] = {}
    for result in evals:
        for name, scores in result.tasks.items():
            by_dim = {dim: values["spearman"] for dim, values in scores.scores.items()}
            spearman.setdefault(task[name], {})[model[result.model]] = by_dim
    dim = comparison.heatmap_dim
    layer = analyses[0].layer if len({analysis.layer for analysis in analyses}) == 1 else None
    figures = {
        "STS Spearman vs dim (dashed: each model's full-dim score)": plot_scores_vs_dim(
            spearman, out / "scores_vs_dim.png"
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
    data: str = "stsb",
    layer: int | None = None,
    data_dir: str | Path | None = None,
    fit_data: str | None = None,
    batch_size: int = 64,
    device: str | None = None,
    show_progress_bar: bool | None = None,
    seed: int = 0,
    command: str | None = None,
) -> Comparison:
    """Evaluate and analyse every model, then write the report (see the module docstring).

    Data and models are all loaded and the dims checked against every model before any long computation,
    so a mistake in the last argument fails in seconds.

    Args:
        models: model specs (``default``, folders, hub ids, ``truncation[:MODEL]``, ``pca[:MODEL]``).
        out: the output folder (created).
        tasks: STS task specs (see :mod:`mic.evaluation.sts`).
        dims: prefix sizes (``None``: the defaults of each model's size).
        data: the scored pairs the geometry is measured on (see :func:`mic.evaluation.run_analyze`).
        layer: see :func:`mic.evaluation.analyze_encoder`.
        data_dir: folder of the benchmark files (``None``: ``$MIC_DATA_DIR``).
        fit_data: the sentences ``pca:`` models are fitted on (default STS-B train).
        batch_size: encoding batch size.
        device: torch device.
        show_progress_bar: encoding progress bars.
        seed: seeds torch and the uniformity sample; recorded.
        command: the command line, recorded.

    Raises:
        EvaluationError, DataError, ModelError: for user-fixable problems.
    """
    if not models:
        raise EvaluationError("Give at least one model to compare.")
    repeated = sorted({model for model in models if list(models).count(model) > 1})
    if repeated:
        raise EvaluationError(f"Model(s) {repeated} given more than once; each column needs its own model.")
    torch.manual_seed(seed)
    loaded, mteb_names = split_tasks(tasks.split(",") if isinstance(tasks, str) else tasks, data_dir)
    pairs = load_task(data, data_dir)
    encoders = [
        load_encoder(
            spec,
            fit_data=fit_data,
            data_dir=data_dir,
            batch_size=batch_size,
            device=device,
            show_progress_bar=show_progress_bar,
        )
        for spec in models
    ]
    for encoder in encoders:
        resolve_dims(dims, encoder.dim, encoder.name)
    record = provenance(command, seed)
    evals, analyses = [], []
    for encoder in encoders:
        evals.append(
            evaluate_encoder(
                encoder,
                loaded,
                dims,
                mteb_tasks=mteb_names,
                batch_size=batch_size,
                show_progress_bar=show_progress_bar,
                command=command,
                seed=seed,
            )
        )
        analyses.append(
            analyze_encoder(
                encoder,
                pairs,
                dims,
                layer=layer,
                batch_size=batch_size,
                show_progress_bar=bool(show_progress_bar),
                seed=seed,
                command=command,
            )
        )
    smallest = min(encoder.dim for encoder in encoders)
    comparison = Comparison(evals, analyses, heatmap_dim(evals[0].dims, smallest), provenance=record)
    write_comparison(comparison, out)
    return comparison
