"""The optional MTEB adapter: the English MTEB STS tasks at every dim, as :class:`TaskScores` of kind ``sts``.

Needs the ``mteb>=2`` package and network access for the task data; the offline benchmarks of
:mod:`mic.data.tasks` need neither.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from mic.data.tasks import MTEB_TASK
from mic.defaults import DEFAULT_BATCH_SIZE
from mic.encoders import Encoder, EvaluationError
from mic.evaluation.results import TaskScores
from mic.evaluation.sts import METRICS


def evaluate_mteb(
    encoder: Encoder, task_names: Sequence[str], dims: Sequence[int], batch_size: int = DEFAULT_BATCH_SIZE
) -> dict[str, TaskScores]:
    """MTEB STS tasks at every dim (optional: needs ``mteb>=2`` and network access for the task data).

    MTEB owns its encoding loop, so here each dim encodes again (with the model's ``truncate_dim``); the
    offline ``stsb``/``sickr`` tasks are the ones that encode once for all dims.

    Raises:
        EvaluationError: when mteb is missing or too old, the hub is switched off, or for a ``pca:`` model.
    """
    try:
        import mteb
    except ImportError:
        raise EvaluationError(
            "MTEB tasks need the optional package mteb (pip install 'mteb>=2') and network access; "
            "it is not installed. Use --tasks stsb,sickr for the offline benchmarks."
        ) from None
    if not hasattr(mteb, "evaluate"):
        raise EvaluationError(f"MTEB tasks need mteb>=2 (mteb.evaluate); found mteb {mteb.__version__}.")
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        raise EvaluationError("MTEB downloads its task data from the Hugging Face hub, but HF_HUB_OFFLINE=1 is set.")
    if encoder.projection is not None:
        raise EvaluationError(f"{encoder.name}: MTEB tasks run on plain models only, not on the PCA baseline.")
    tasks = mteb.get_tasks(tasks=list(task_names), languages=["eng"])
    results: dict[str, TaskScores] = {}
    for dim in dims:
        start = time.perf_counter()
        with encoder.model.truncate_embeddings(dim):
            outcome = mteb.evaluate(encoder.model, tasks, encode_kwargs={"batch_size": batch_size}, cache=None)
        seconds = (time.perf_counter() - start) / max(len(outcome.task_results), 1)
        for task_result in outcome.task_results:
            name = f"{MTEB_TASK}:{task_result.task_name}"
            counts: dict[str, int | None] = {"pairs": None, "sentences": None}
            scores = results.setdefault(name, TaskScores(name, "sts", MTEB_TASK, counts, 0.0, list(METRICS), {}))
            scores.seconds += seconds
            scores.scores[dim] = {
                "spearman": 100 * float(task_result.get_score(getter=lambda values: values["cosine_spearman"])),
                "pearson": 100 * float(task_result.get_score(getter=lambda values: values["cosine_pearson"])),
            }
    return results
