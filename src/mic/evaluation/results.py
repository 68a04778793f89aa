"""The result of ``mic eval``: every task's scores at every dim, one schema for STS and retrieval tasks.

JSON schema (``schema: "mic-eval/2"``), written by :meth:`EvalResult.to_dict`::

    {"schema": "mic-eval/2", "model": "default", "embedding_dim": 384, "dims": [8, 16, ..., 384],
     "tasks": {
       "stsb": {"kind": "sts", "source": ".../sts-test.csv", "counts": {"pairs": 1379, "sentences": 2758},
                "seconds": 9.8, "metrics": ["spearman", "pearson"],
                "scores": {"384": {"spearman": 82.03, "pearson": 83.42}, "256": {...}, ...}, "funnel": {}},
       "scifact": {"kind": "retrieval", "source": ".../scifact:test",
                   "counts": {"documents": 5183, "queries": 300}, "seconds": 7.9,
                   "metrics": ["ndcg@10", "recall@100"],
                   "scores": {"384": {"ndcg@10": 64.51, "recall@100": 92.5}, ...},
                   "funnel": {"32": {"100": {"ndcg@10": 57.82, "recall@100": 69.77}, "50": {...}, ...}, ...}}},
     "seconds": 21.3, "batch_size": 64, "pca_fit_sentences": null, "backend": "torch",
     "command": "mic eval default", "seed": 0, "versions": {"torch": "...", ...}, "git_commit": "..."}

Every score is x100. ``metrics`` lists the task's metrics, headline first (what tables and figures compare).
``funnel`` (retrieval only) maps a shortlist dim ``d`` below full size and a shortlist size ``k'`` to the
scores after re-ranking the ``k'`` candidates at full dim. A re-rank changes the order, not the set, so the
funnel's Recall@100 equals the exact search's at ``d`` for ``k' = 100`` and is at most that for ``k' < 100``.
Dims and ``k'`` are JSON object keys, so strings; a correlation that is undefined (constant similarities) is
``null``; the ``counts`` of MTEB tasks, whose data MTEB loads itself, are ``null``. Version 1 had
``pairs``/``sentences`` in place of ``counts`` and no ``kind``, ``metrics`` or ``funnel``. ``backend`` is the
encoder backend the embeddings were computed with (:mod:`mic.onnx`: ``torch``, ``onnx``, ``onnx-int8``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mic.evaluation.records import finite_or_none
from mic.onnx import DEFAULT_BACKEND

SCHEMA = "mic-eval/2"

Metrics = dict[str, float]
"""``{metric name: value x100}`` at one dim."""


def _metrics_dict(values: Metrics) -> dict[str, float | None]:
    return {name: finite_or_none(value) for name, value in values.items()}


@dataclass
class TaskScores:
    """One task's scores at every dim.

    Attributes:
        task: the spec as given (``stsb``, a path, ``scifact``, ``mteb:STS12``).
        kind: ``"sts"`` or ``"retrieval"`` (see :mod:`mic.data.tasks`).
        source: where the data came from (a file path, a folder and split, a dataset name, ``mteb``).
        counts: sizes of the data (``pairs``/``sentences`` or ``documents``/``queries``; ``None`` for MTEB).
        seconds: wall time of encoding and scoring.
        metrics: the metric names, headline first.
        scores: ``{dim: {metric: x100}}``.
        funnel: ``{d: {k': {metric: x100}}}`` of the funnel from dim ``d`` (retrieval only).
    """

    task: str
    kind: str
    source: str
    counts: dict[str, int | None]
    seconds: float
    metrics: list[str]
    scores: dict[int, Metrics]
    funnel: dict[int, dict[int, Metrics]] = field(default_factory=dict)

    @property
    def headline(self) -> str:
        """The metric tables and figures compare (Spearman for STS, nDCG@10 for retrieval)."""
        return self.metrics[0]

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "source": self.source,
            "counts": self.counts,
            "seconds": round(self.seconds, 3),
            "metrics": self.metrics,
            "scores": {str(dim): _metrics_dict(values) for dim, values in self.scores.items()},
            "funnel": {
                str(dim): {str(size): _metrics_dict(values) for size, values in by_size.items()}
                for dim, by_size in self.funnel.items()
            },
        }


@dataclass
class EvalResult:
    """Scores of one model at every dim on every task; :meth:`to_dict` gives the documented JSON."""

    model: str
    embedding_dim: int
    dims: list[int]
    tasks: dict[str, TaskScores]
    seconds: float
    batch_size: int
    pca_fit_sentences: int | None = None
    backend: str = DEFAULT_BACKEND
    provenance: dict[str, object] = field(default_factory=dict)

    def score(self, task: str, dim: int, metric: str | None = None) -> float:
        """``metric`` x100 (default: the task's headline metric) of ``task`` at ``dim``."""
        scores = self.tasks[task]
        return scores.scores[dim][metric or scores.headline]

    def to_dict(self) -> dict[str, object]:
        return {
            "schema": SCHEMA,
            "model": self.model,
            "embedding_dim": self.embedding_dim,
            "dims": self.dims,
            "tasks": {name: scores.to_dict() for name, scores in self.tasks.items()},
            "seconds": round(self.seconds, 3),
            "batch_size": self.batch_size,
            "pca_fit_sentences": self.pca_fit_sentences,
            "backend": self.backend,
            **self.provenance,
        }
