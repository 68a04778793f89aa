"""Evaluation of elastic-dimension embeddings: STS and retrieval at every dim, prefix geometry, figures and reports.

``run_eval``, ``run_analyze`` and ``run_compare`` are the library side of ``mic eval``, ``mic analyze`` and
``mic compare``, all configured by one :class:`EvalOptions`. Tasks are parsed and loaded by
:mod:`mic.data.tasks`, scored by the evaluator of their kind (:mod:`mic.evaluation.sts`,
:mod:`mic.evaluation.retrieval`, the optional :mod:`mic.evaluation.mteb`) into one result schema
(:mod:`mic.evaluation.results`). The pieces (``load_encoder``, ``evaluate_encoder``, ``analyze_encoder``,
``sts_scores``, ``retrieval_scores``, ``prefix_geometry``, the ``plot_*`` functions) are public for use from Python.

Names are resolved on first use (PEP 562 module ``__getattr__``, as in :mod:`mic`), so importing one submodule,
e.g. :mod:`mic.evaluation.retrieval`, does not import matplotlib or the runners.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mic.lazy import lazy_exports

if TYPE_CHECKING:
    from mic.cache import EmbeddingStore, cached_encode
    from mic.data.tasks import load_task, parse_tasks
    from mic.dims import default_dims, parse_dims
    from mic.encoders import (
        Encoder,
        EvaluationError,
        PCAProjection,
        fit_pca,
        load_encoder,
        resolve_dims,
    )
    from mic.evaluation.analyze import (
        Analysis,
        analyze_encoder,
        heatmap_dim,
        positive_pairs,
        run_analyze,
        write_analysis,
    )
    from mic.evaluation.compare import Comparison, run_compare, write_comparison
    from mic.evaluation.figures import plot_cross_correlation, plot_scores_vs_dim, plot_variance_profiles
    from mic.evaluation.options import EvalOptions
    from mic.evaluation.records import short_labels
    from mic.evaluation.report import comparison_table, geometry_table, render_report, scores_table
    from mic.evaluation.results import EvalResult, TaskScores
    from mic.evaluation.retrieval import retrieval_scores, run_metrics, score_retrieval
    from mic.evaluation.runner import evaluate_encoder, load_tasks, run_eval
    from mic.evaluation.sts import prefix_cosine, score_pairs, sts_scores
    from mic.geometry import PrefixGeometry, prefix_geometry
    from mic.staging import write_json

__all__ = [
    "Analysis",
    "Comparison",
    "EmbeddingStore",
    "Encoder",
    "EvalOptions",
    "EvalResult",
    "EvaluationError",
    "PCAProjection",
    "PrefixGeometry",
    "TaskScores",
    "analyze_encoder",
    "cached_encode",
    "comparison_table",
    "default_dims",
    "evaluate_encoder",
    "fit_pca",
    "geometry_table",
    "heatmap_dim",
    "load_encoder",
    "load_task",
    "load_tasks",
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
    "retrieval_scores",
    "run_analyze",
    "run_compare",
    "run_eval",
    "run_metrics",
    "score_pairs",
    "score_retrieval",
    "scores_table",
    "short_labels",
    "sts_scores",
    "write_analysis",
    "write_comparison",
    "write_json",
]
_HOMES = {
    "Analysis": "mic.evaluation.analyze",
    "Comparison": "mic.evaluation.compare",
    "EmbeddingStore": "mic.cache",
    "Encoder": "mic.encoders",
    "EvalOptions": "mic.evaluation.options",
    "EvalResult": "mic.evaluation.results",
    "EvaluationError": "mic.encoders",
    "PCAProjection": "mic.encoders",
    "PrefixGeometry": "mic.geometry",
    "TaskScores": "mic.evaluation.results",
    "analyze_encoder": "mic.evaluation.analyze",
    "cached_encode": "mic.cache",
    "comparison_table": "mic.evaluation.report",
    "default_dims": "mic.dims",
    "evaluate_encoder": "mic.evaluation.runner",
    "fit_pca": "mic.encoders",
    "geometry_table": "mic.evaluation.report",
    "heatmap_dim": "mic.evaluation.analyze",
    "load_encoder": "mic.encoders",
    "load_task": "mic.data.tasks",
    "load_tasks": "mic.evaluation.runner",
    "parse_dims": "mic.dims",
    "parse_tasks": "mic.data.tasks",
    "plot_cross_correlation": "mic.evaluation.figures",
    "plot_scores_vs_dim": "mic.evaluation.figures",
    "plot_variance_profiles": "mic.evaluation.figures",
    "positive_pairs": "mic.evaluation.analyze",
    "prefix_cosine": "mic.evaluation.sts",
    "prefix_geometry": "mic.geometry",
    "render_report": "mic.evaluation.report",
    "resolve_dims": "mic.encoders",
    "retrieval_scores": "mic.evaluation.retrieval",
    "run_analyze": "mic.evaluation.analyze",
    "run_compare": "mic.evaluation.compare",
    "run_eval": "mic.evaluation.runner",
    "run_metrics": "mic.evaluation.retrieval",
    "score_pairs": "mic.evaluation.sts",
    "score_retrieval": "mic.evaluation.retrieval",
    "scores_table": "mic.evaluation.report",
    "short_labels": "mic.evaluation.records",
    "sts_scores": "mic.evaluation.sts",
    "write_analysis": "mic.evaluation.analyze",
    "write_comparison": "mic.evaluation.compare",
    "write_json": "mic.staging",
}
"""The module each public name is imported from on first use."""

__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
