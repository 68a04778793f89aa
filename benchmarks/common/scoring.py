"""Scores as ``mic eval`` computes them (:func:`mic.evaluation.runner.evaluate_encoder`), the geometry as ``mic
analyze`` computes it, and the summaries every report prints."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

from common.settings import DIMS, TEST_TASKS
from mic.cache import EmbeddingStore
from mic.data.tasks import TaskData, load_pairs_task, parse_task
from mic.encoders import Encoder
from mic.evaluation.analyze import analyze_encoder
from mic.evaluation.retrieval import METRICS as RETRIEVAL_METRICS
from mic.evaluation.runner import evaluate_encoder, load_tasks
from mic.evaluation.sts import METRICS as STS_METRICS
from mic.losses import resolve_layers

Scores = dict[str, dict[str, float]]
"""``{task: {dim (str): headline score x100}}``."""


def metric_label(task: str) -> str:
    """The headline metric of a test task as ``mic eval`` reports it (Spearman for STS, nDCG@10 for retrieval)."""
    metrics = STS_METRICS if parse_task(TEST_TASKS[task]).kind == "sts" else list(RETRIEVAL_METRICS)
    return f"{metrics[0]} x100"


def score_loaded(
    encoder: Encoder, tasks: Mapping[str, TaskData], dims: Sequence[int] = DIMS, store: EmbeddingStore | None = None
) -> Scores:
    """Each loaded task's headline score x100 (``mic eval``'s) at every dim, by the tasks' names and dims
    (strings); ``store`` shares encodings between encoders of one model."""
    result = evaluate_encoder(encoder, tasks, list(dims), store=store)
    return {name: {str(dim): round(result.score(name, dim), 4) for dim in dims} for name in tasks}


def load_named(tasks: Mapping[str, str], data_dir: str | None = None) -> dict[str, TaskData]:
    """The tasks ``{name: spec}`` read from ``data_dir`` (``None``: ``$MIC_DATA_DIR``), by name."""
    loaded, _ = load_tasks(list(tasks.values()), data_dir)
    return {name: loaded[spec] for name, spec in tasks.items()}


def evaluate(encoder: Encoder, tasks: Mapping[str, str], data_dir: str) -> Scores:
    """Each task (``{name: spec}``) read from ``data_dir`` and scored by :func:`score_loaded` at :data:`DIMS`."""
    return score_loaded(encoder, load_named(tasks, data_dir))


GEOMETRY_DATA = "stsb:dev"
GEOMETRY_STATS = {
    "isotropy": "isotropy",
    "variance_cv": "variance CV",
    "sentence_correlation_mean_abs": "mean |corr| prefix/residual (output)",
    "token_correlation_mean_abs": "mean |corr| prefix/residual (tokens, first SCR layer)",
}


def geometry(encoder: Encoder, data_dir: str, dims: Sequence[int] = DIMS) -> dict:
    """``mic analyze`` of a trained model on STS-B dev: the output's per-dim variance profile and, per dim, what
    SIR and SCR act on (``GEOMETRY_STATS``); the token-level prefix/residual correlation is read at the first of
    MIC's middle layers, where SCR works, the rest on the output embeddings."""
    pairs = load_pairs_task(GEOMETRY_DATA, data_dir)
    layer = resolve_layers("middle", encoder.num_layers)[0]
    output = analyze_encoder(encoder, pairs, dims)
    tokens = analyze_encoder(encoder, pairs, dims, layer=layer)
    prefixes = {}
    for dim in dims:
        stats = {name: getattr(output.prefixes[dim], name) for name in GEOMETRY_STATS}
        stats["token_correlation_mean_abs"] = tokens.prefixes[dim].token_correlation_mean_abs
        prefixes[str(dim)] = stats
    profile = output.variance_profile
    return {"data": GEOMETRY_DATA, "token_layer": layer, "variance_profile": profile, "prefixes": prefixes}


def mean_std(values: Sequence[float]) -> str:
    """``mean ± std`` over seeds, or the one value."""
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"
