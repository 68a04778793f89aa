"""Evaluation of elastic-dimension embeddings: STS at every dim, prefix geometry, figures and reports.

``run_eval``, ``run_analyze`` and ``run_compare`` are the library side of ``mic eval``, ``mic analyze`` and
``mic compare``; the pieces they are built from (``load_encoder``, ``evaluate_encoder``, ``analyze_encoder``,
``sts_scores``, ``prefix_geometry``, the ``plot_*`` functions) are public for use from Python.
"""

from mic.evaluation.analyze import (
    Analysis,
    PrefixGeometry,
    analyze_encoder,
    heatmap_dim,
    positive_pairs,
    prefix_geometry,
    run_analyze,
    write_analysis,
)
from mic.evaluation.compare import Comparison, run_compare, write_comparison
from mic.evaluation.encoders import (
    Encoder,
    EvaluationError,
    PCAProjection,
    default_dims,
    fit_pca,
    load_encoder,
    parse_dims,
    resolve_dims,
)
from mic.evaluation.figures import plot_cross_correlation, plot_scores_vs_dim, plot_variance_profiles
from mic.evaluation.records import short_labels, write_json
from mic.evaluation.report import comparison_table, geometry_table, render_report, scores_table
from mic.evaluation.sts import (
    EvalResult,
    TaskScores,
    evaluate_encoder,
    load_task,
    parse_tasks,
    prefix_cosine,
    run_eval,
    score_pairs,
    sts_scores,
)

__all__ = [
    "Analysis",
    "Comparison",
    "Encoder",
    "EvalResult",
    "EvaluationError",
    "PCAProjection",
    "PrefixGeometry",
    "TaskScores",
    "analyze_encoder",
    "comparison_table",
    "default_dims",
    "evaluate_encoder",
    "fit_pca",
    "geometry_table",
    "heatmap_dim",
    "load_encoder",
    "load_task",
    "parse_dims",
    "parse_tasks",
    "plot_cross_correlation",
    "plot_scores_vs_dim",
    "plot_variance_profiles",
    "positive_pairs",
    "prefix_cosine",
    "prefix_geometry",
    "render_report",
    "resolve_dims",
    "run_analyze",
    "run_compare",
    "run_eval",
    "score_pairs",
    "scores_table",
    "short_labels",
    "sts_scores",
    "write_analysis",
    "write_comparison",
    "write_json",
]
