"""``mic eval``: score one model on STS and retrieval tasks at every dim, each task by its kind's evaluator.

Tasks are parsed and loaded by :mod:`mic.data.tasks`; ``sts`` tasks are scored by :mod:`mic.evaluation.sts`,
``retrieval`` tasks by :mod:`mic.evaluation.retrieval`, ``mteb`` ones by :mod:`mic.evaluation.mteb`. The result
and its JSON schema are :mod:`mic.evaluation.results`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from mic.cache import EmbeddingStore
from mic.data import DEFAULT_TASKS, RetrievalData, load_task, parse_tasks
from mic.data.tasks import TaskData
from mic.encoders import Encoder, resolve_dims
from mic.evaluation.mteb import evaluate_mteb
from mic.evaluation.options import DEFAULT_OPTIONS, EvalOptions
from mic.evaluation.results import EvalResult
from mic.evaluation.retrieval import score_retrieval
from mic.evaluation.sts import score_pairs
from mic.provenance import provenance


def load_tasks(tasks: str | Sequence[str], data_dir: str | Path | None = None) -> tuple[dict[str, TaskData], list[str]]:
    """Load every task that :mod:`mic.data` reads and list the MTEB task names (``mteb`` = all its STS tasks).

    Raises:
        DataError: for an unknown spec, a missing file or folder, or a malformed row.
    """
    loaded: dict[str, TaskData] = {}
    mteb_names: list[str] = []
    for task in parse_tasks(tasks):
        if task.mteb:
            mteb_names.extend(task.mteb)
        else:
            loaded[task.spec] = load_task(task, data_dir)
    return loaded, list(dict.fromkeys(mteb_names))


def evaluate_encoder(
    encoder: Encoder,
    tasks: Mapping[str, TaskData],
    dims: Sequence[int] | None = None,
    *,
    mteb_tasks: Sequence[str] = (),
    options: EvalOptions = DEFAULT_OPTIONS,
    store: EmbeddingStore | None = None,
) -> EvalResult:
    """Score ``encoder`` on loaded tasks at every dim.

    Args:
        encoder: the model (see :func:`mic.evaluation.load_encoder`).
        tasks: ``{task name: scored pairs or retrieval data}`` (see :func:`load_tasks`).
        dims: prefix sizes; ``None`` gives the defaults of :func:`mic.evaluation.default_dims`.
        mteb_tasks: MTEB task names to run as well (see :func:`mic.evaluation.mteb.evaluate_mteb`).
        options: batch size, seed and command (recorded).
        store: the embeddings of this command (``None``: ``options.store()``).

    Raises:
        EvaluationError: for a dim larger than the model.
    """
    start = time.perf_counter()
    chosen = resolve_dims(dims, encoder.dim, encoder.name)
    store = store or options.store()
    results = {
        name: (
            score_retrieval(encoder, data, chosen, store, task=name)
            if isinstance(data, RetrievalData)
            else score_pairs(encoder, data, chosen, store, task=name)
        )
        for name, data in tasks.items()
    }
    if mteb_tasks:
        results |= evaluate_mteb(encoder, mteb_tasks, chosen, options.batch_size)
    return EvalResult(
        model=encoder.name,
        embedding_dim=encoder.dim,
        dims=chosen,
        tasks=results,
        seconds=time.perf_counter() - start,
        batch_size=options.batch_size,
        pca_fit_sentences=encoder.projection.fit_sentences if encoder.projection is not None else None,
        backend=encoder.backend,
        provenance=provenance(options.command, options.seed),
    )


def run_eval(
    model: str,
    tasks: str | Sequence[str] = DEFAULT_TASKS,
    dims: Sequence[int] | None = None,
    options: EvalOptions = DEFAULT_OPTIONS,
) -> EvalResult:
    """``mic eval``: load the tasks, then the model, then score every dim (tasks first, so typos fail fast).

    Args:
        model: a model spec (see :mod:`mic.encoders`: ``default``, a folder, a hub id,
            ``truncation[:MODEL]``, ``pca[:MODEL]``).
        tasks: task specs, a list or one comma-separated string (see :mod:`mic.data.tasks`).
        dims: prefix sizes (``None``: defaults for the model's size).
        options: data folder, PCA fit data, encoding settings, seed (seeds torch) and command.

    Raises:
        MICError: for user-fixable problems (see the messages).

    Example:
        >>> options = EvalOptions(data_dir="../shared/data")
        >>> result = run_eval("default", "stsb,scifact", [384, 64], options)  # doctest: +SKIP
        >>> result.score("stsb", 64), result.score("scifact", 64)  # doctest: +SKIP
    """
    torch.manual_seed(options.seed)
    loaded, mteb_names = load_tasks(tasks, options.data_dir)
    store = options.store()
    encoder = options.load_encoder(model, store)
    return evaluate_encoder(encoder, loaded, dims, mteb_tasks=mteb_names, options=options, store=store)
