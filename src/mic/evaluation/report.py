"""Tables of the results: rich tables for the terminal and the Markdown report of ``mic compare``.

Models are columns and dims rows, so several models read side by side; the best value of each row is bold
(every model that reaches it at the printed precision).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from rich.table import Table

from mic.evaluation.analyze import Analysis
from mic.evaluation.records import short_labels
from mic.evaluation.results import EvalResult, TaskScores

FUNNEL_SHORTLIST = 100
"""The funnel shortlist ``k'`` the Markdown report tabulates (the JSON holds every one)."""

GeometryMetric = tuple[str, str, bool | None]
"""Heading, format, and whether higher is better (``None``: neither) of a geometry statistic."""

GEOMETRY_METRICS: dict[str, GeometryMetric] = {
    "isotropy": ("Isotropy = effective rank / m (1 = variance spread evenly)", "{:.3f}", True),
    "effective_rank": ("Effective rank of the prefix covariance", "{:.1f}", True),
    "token_correlation_mean_abs": ("Token-level mean |C| between prefix and residual (SCR target)", "{:.3f}", False),
    "sentence_correlation_mean_abs": ("Sentence-level mean |corr| between prefix and residual", "{:.3f}", False),
    "variance_cv": ("Coefficient of variation of the per-dim variance (SIR target)", "{:.3f}", False),
    "uniformity": ("Uniformity, Wang & Isola (lower = more uniform)", "{:.3f}", False),
    "alignment": ("Alignment of positive pairs, Wang & Isola (lower = closer)", "{:.3f}", False),
}


def _cell(value: float | None, fmt: str) -> str:
    return "–" if value is None or not math.isfinite(value) else fmt.format(value)


def _best(values: Sequence[float | None], higher: bool | None) -> float | None:
    present = [value for value in values if value is not None and math.isfinite(value)]
    if higher is None or len(present) < 2:
        return None
    return max(present) if higher else min(present)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table, first column left-aligned and the others right-aligned."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join([":---", *["---:"] * (len(header) - 1)]) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _by_dim_table(
    models: Sequence[str],
    dims: Sequence[int],
    value: Callable[[int, int], float | None],
    fmt: str,
    higher: bool | None,
) -> str:
    """Rows = dims, columns = models; ``value(model_index, dim)``; the best of each row in bold.

    Ties are judged at the printed precision: every cell that prints as the best value is bold, so of two
    models that both print ``83.73`` neither is singled out.
    """
    rows = []
    for dim in dims:
        values = [value(index, dim) for index in range(len(models))]
        best = _best(values, higher)
        best_cell = _cell(best, fmt) if best is not None else None
        cells = [_cell(item, fmt) for item in values]
        rows.append([str(dim), *[f"**{cell}**" if cell == best_cell else cell for cell in cells]])
    return markdown_table(["dim", *models], rows)


def _union_dims(dim_lists: Sequence[Sequence[int]]) -> list[int]:
    return sorted({dim for dims in dim_lists for dim in dims})


Pick = Callable[[TaskScores, int], float | None]
"""One column of a task's scores: ``pick(scores, dim)``, ``None`` where the task has no value."""


def _metric_pick(metric: str) -> Pick:
    return lambda scores, dim: scores.scores.get(dim, {}).get(metric)


def _funnel_pick(size: int) -> Pick:
    return lambda scores, dim: scores.funnel.get(dim, {}).get(size, {}).get(scores.headline)


def task_columns(scores: TaskScores, shortlists: Sequence[int]) -> list[tuple[str, Pick]]:
    """A task's columns: each metric, then for retrieval the funnel's headline metric at each of ``shortlists``."""
    columns = [(metric, _metric_pick(metric)) for metric in scores.metrics]
    if scores.kind == "retrieval":
        columns += [(f"{scores.headline}, funnel k'={size}", _funnel_pick(size)) for size in shortlists]
    return columns


def _across_models(evals: Sequence[EvalResult], task: str, pick: Pick) -> Callable[[int, int], float | None]:
    def value(index: int, dim: int) -> float | None:
        scores = evals[index].tasks.get(task)
        return pick(scores, dim) if scores is not None else None

    return value


def scores_markdown(evals: Sequence[EvalResult], funnel_shortlist: int = FUNNEL_SHORTLIST) -> str:
    """Markdown tables per task and metric, one column per model, one row per dim (x100).

    Retrieval tasks add the funnel's headline metric: a shortlist of ``funnel_shortlist`` documents at dim ``d``,
    re-ranked at full dim.
    """
    labels = short_labels([result.model for result in evals])
    models = [labels[result.model] for result in evals]
    dims = _union_dims([result.dims for result in evals])
    tasks = list(dict.fromkeys(task for result in evals for task in result.tasks))
    task_labels = short_labels(tasks)
    sections = []
    for task in tasks:
        first = next(result.tasks[task] for result in evals if task in result.tasks)
        for caption, pick in task_columns(first, [funnel_shortlist]):
            heading = f"#### {task_labels[task]}: {caption} x100\n\nsource: `{first.source}`\n"
            table = _by_dim_table(models, dims, _across_models(evals, task, pick), "{:.2f}", True)
            sections.append(heading + "\n" + table)
    return "\n\n".join(sections)


def geometry_markdown(analyses: Sequence[Analysis]) -> str:
    """One Markdown table per geometry statistic, one column per model."""
    labels = short_labels([analysis.model for analysis in analyses])
    models = [labels[analysis.model] for analysis in analyses]
    dims = _union_dims([analysis.dims for analysis in analyses])
    sections = []
    for name, (heading, fmt, higher) in GEOMETRY_METRICS.items():

        def value(index: int, dim: int, name: str = name) -> float | None:
            geometry = analyses[index].prefixes.get(dim)
            return getattr(geometry, name) if geometry is not None else None

        sections.append(f"#### {heading}\n\n" + _by_dim_table(models, dims, value, fmt, higher))
    return "\n\n".join(sections)


def render_report(
    evals: Sequence[EvalResult],
    analyses: Sequence[Analysis],
    figures: Mapping[str, str],
    provenance: Mapping[str, object],
    title: str = "MIC comparison",
) -> str:
    """The Markdown report of ``mic compare``: scores, geometry tables, embedded figures and provenance.

    Args:
        evals: one STS result per model.
        analyses: one geometry analysis per model (same order).
        figures: ``{caption: path relative to the report}``.
        provenance: command, seed, versions and commit (see :func:`mic.provenance.provenance`).
        title: the top heading.
    """
    labels = short_labels([result.model for result in evals])
    models = ", ".join(f"{label} = `{model}`" for model, label in labels.items())
    data = analyses[0].data if analyses else "–"
    layer = analyses[0].layer if analyses else "–"
    lines = [
        f"# {title}",
        "",
        f"Models: {models}. STS: cosine similarity of the first m coordinates (re-normalised) against gold; "
        "retrieval: exact cosine search over the whole corpus with the first m coordinates, and the funnel "
        "(shortlist at m, re-rank at full dim). "
        f"Geometry on the unique sentences of `{data}` (token statistics at layer {layer}). "
        "Best value of each row in bold (all of the tied ones, at the printed precision).",
        "",
    ]
    for caption, path in figures.items():
        lines += [f"![{caption}]({path})", "", f"*{caption}*", ""]
    lines += ["## Scores at every dim", "", scores_markdown(evals), "", "## Geometry of each prefix", ""]
    lines += [geometry_markdown(analyses), ""]
    warnings = [f"- `{analysis.model}`: {warning}" for analysis in analyses for warning in analysis.warnings]
    if warnings:
        lines += ["## Warnings", "", *warnings, ""]
    versions = provenance.get("versions", {})
    version_text = ", ".join(f"{name} {version}" for name, version in versions.items()) if versions else "–"
    lines += [
        "## Provenance",
        "",
        f"- command: `{provenance.get('command') or '–'}`",
        f"- seed: {provenance.get('seed')}",
        f"- git commit: {provenance.get('git_commit') or '–'}",
        f"- versions: {version_text}",
        "",
    ]
    return "\n".join(lines)


def scores_table(result: EvalResult, task: str) -> Table:
    """A rich table of one model's scores on one task: one row per dim, the columns of :func:`task_columns`.

    Retrieval tasks show the funnel's headline metric at every shortlist size it was measured at.
    """
    scores = result.tasks[task]
    sizes = sorted({size for by_size in scores.funnel.values() for size in by_size})
    columns = task_columns(scores, sizes)
    table = Table(title=f"{result.model} on {task}: x100 per dim")
    table.add_column("dim", justify="right")
    for name, _ in columns:
        table.add_column(name.replace(f"{scores.headline}, ", ""), justify="right")
    for dim in result.dims:
        table.add_row(str(dim), *[_cell(pick(scores, dim), "{:.2f}") for _, pick in columns])
    return table


def geometry_table(analysis: Analysis) -> Table:
    """A rich table of one model's prefix geometry: one row per dim, one column per statistic."""
    table = Table(title=f"{analysis.model}: geometry on {analysis.sentences} sentences (layer {analysis.layer})")
    columns = {
        "effective_rank": "eff. rank",
        "isotropy": "isotropy",
        "variance_cv": "var. CV",
        "token_correlation_mean_abs": "token |C|",
        "sentence_correlation_mean_abs": "sent. |corr|",
        "uniformity": "uniformity",
        "alignment": "alignment",
    }
    table.add_column("dim", justify="right")
    for label in columns.values():
        table.add_column(label, justify="right")
    for dim, geometry in analysis.prefixes.items():
        cells = [_cell(getattr(geometry, name), GEOMETRY_METRICS[name][1]) for name in columns]
        table.add_row(str(dim), *cells)
    return table


def comparison_table(evals: Sequence[EvalResult], task: str, metric: str | None = None) -> Table:
    """A rich table of one task across models: one row per dim, one column per model (default: headline metric)."""
    labels = short_labels([result.model for result in evals])
    chosen = metric or next(result.tasks[task].headline for result in evals if task in result.tasks)
    table = Table(title=f"{short_labels([task])[task]}: {chosen} x100 at every dim")
    table.add_column("dim", justify="right")
    for result in evals:
        table.add_column(labels[result.model], justify="right")
    value = _across_models(evals, task, _metric_pick(chosen))
    for dim in _union_dims([result.dims for result in evals]):
        table.add_row(str(dim), *[_cell(value(index, dim), "{:.2f}") for index in range(len(evals))])
    return table
