"""The head-to-head's cached runs read into one results structure (:func:`collect`), and the questions reports ask
of a setting's block: which methods and seeds scored a task, their means, MIC − MRL per shared seed.

Which runs count is the results pipeline's rule (:mod:`common.runs`): runs from this code are averaged; runs from
other code are named apart and never averaged; runs from before records carried their code are averaged and named,
on the tasks whose scores this code reproduces (:data:`common.runs.LEGACY_TASKS`).
"""

from __future__ import annotations

import statistics
from pathlib import Path

from common.report import origin_entry
from common.retrieval_extras import made_as_today
from common.runs import CURRENT, OTHER_CODE, commit_of, kept_scores, read_record
from common.settings import DIMS, METHODS
from common.training import trained_as_configured


def collect(folder: Path) -> dict:
    """Every run cached under ``folder/runs`` from this code (or from before records carried their code) that was
    trained as its setting is configured today; a record lacking a task (cached before it was added) adds nothing
    to that task. A run trained with an earlier config is listed under ``stale`` instead, and one from other code
    under ``origins`` (the next run of the benchmark retrains both); ``origins`` also names the runs without a code
    fingerprint, and ``commits`` the commit of every run kept (:func:`common.runs.commit_of`). Retrieval extras made
    with other parameters than today's (:func:`common.retrieval_extras.made_as_today`) are left out and the run named
    under ``stale_extras``.

    Shaped ``{"settings": {S: {"methods": {M: {TASK: {DIM: {SEED: score}}}}, "train_seconds": {M: [...]},
    "commits": {COMMIT: ["M seed N", ...]}, "identical_to": {M: M'}, "stale": ["M seed N", ...],
    "origins": {ORIGIN: ["M seed N", ...]}, "stale_extras": ["M seed N", ...], "geometry": {M: {SEED: geometry(...)}},
    "retrieval": {M: {SEED: retrieval_extras(...)}}}}, "compute_seconds": ...}``.
    """
    settings: dict = {}
    compute_seconds = 0.0
    for path in sorted((folder / "runs").glob("*/*/seed-*.json")):
        record = read_record(path)
        compute_seconds += record["total_seconds"]
        block = settings.setdefault(record["setting"], {"methods": {}, "train_seconds": {}, "commits": {}})
        name = f"{record['method']} seed {record['seed']}"
        kind, entry = origin_entry(name, record)
        if kind != CURRENT:
            block.setdefault("origins", {}).setdefault(kind, []).append(entry)
        if kind == OTHER_CODE:
            continue
        if not trained_as_configured(record):
            block.setdefault("stale", []).append(name)
            continue
        block["commits"].setdefault(commit_of(record), []).append(name)
        per_task = block["methods"].setdefault(record["method"], {})
        for task, per_dim in kept_scores(record).items():
            for dim, score in per_dim.items():
                per_task.setdefault(task, {}).setdefault(dim, {})[str(record["seed"])] = score
        block["train_seconds"].setdefault(record["method"], []).append(record["train_seconds"])
        if record.get("retrieval") and not made_as_today(record["retrieval"]):
            block.setdefault("stale_extras", []).append(name)
        for part in ("geometry", "retrieval"):
            if record.get(part) and (part != "retrieval" or (kind == CURRENT and made_as_today(record[part]))):
                block.setdefault(part, {}).setdefault(record["method"], {})[str(record["seed"])] = record[part]
        if "identical_to" in record:
            block.setdefault("identical_to", {})[record["method"]] = record["identical_to"]
    return {"settings": settings, "compute_seconds": round(compute_seconds, 1)}


def methods_on(block: dict, task: str) -> list[str]:
    """The methods of one setting scored on ``task``, in ``METHODS`` order."""
    return [method for method in METHODS if task in block["methods"].get(method, {})]


def seeds_on(block: dict, method: str, task: str) -> list[str]:
    """The seeds ``method`` was scored with on ``task`` (none if it was not)."""
    per_dim = block["methods"].get(method, {}).get(task, {})
    return sorted(per_dim.get(str(DIMS[-1]), {}), key=int)


def mean_by_dim(block: dict, method: str, task: str) -> dict[int, float]:
    """A method's mean score over seeds at every dim."""
    return {int(dim): statistics.mean(by_seed.values()) for dim, by_seed in block["methods"][method][task].items()}


def shared_seeds(block: dict, task: str) -> list[str]:
    """The seeds both MIC and MRL were scored with on ``task`` in one setting."""
    return sorted(set(seeds_on(block, "mic", task)) & set(seeds_on(block, "mrl", task)), key=int)


def mic_minus_mrl(block: dict, task: str, dim: int) -> list[float]:
    """MIC − MRL per shared seed, at one task and dim."""
    mic, mrl = block["methods"]["mic"][task][str(dim)], block["methods"]["mrl"][task][str(dim)]
    return [mic[seed] - mrl[seed] for seed in shared_seeds(block, task)]
