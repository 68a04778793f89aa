"""One (setting, method, seed) of the head-to-head, trained (unless a pseudo-model) and scored once, then read
from the run cache (:mod:`common.runs`): the quality benchmark and both dev sweeps run through :func:`run_one`.

Every config is read by ``mic.training.config.load_config`` and trained by ``mic.training.recipe.train`` (the same
as ``mic train``); every score is ``mic eval``'s (:func:`common.scoring.evaluate`).
"""

from __future__ import annotations

import shlex
import shutil
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from common.provenance import command_line
from common.retrieval_extras import made_as_today, retrieval_extras
from common.runs import new_record, read_record, run_key, write_record
from common.scoring import evaluate, geometry
from common.settings import METHODS, SETTINGS, mic_defaults, run_config, training_key
from mic.encoders import load_encoder
from mic.training.config import TrainConfig
from mic.training.folders import newest_loadable_checkpoint, work_dir_for
from mic.training.recipe import train


def pca_fit_sources(setting: str) -> list[str]:
    """What the ``pca`` baseline of a setting is fitted on: the setting's training data."""
    return SETTINGS[setting].load().data.train


def run_cache(folder: Path, setting: str, method: str, seed: int) -> Path:
    """Where the run of one (setting, method, seed) is cached under ``folder``:
    ``folder/runs/SETTING/METHOD/seed-N.json`` (:func:`common.results.collect` reads them back)."""
    return folder / "runs" / setting / method / f"seed-{seed}.json"


def method_key(setting: str, method: str, seed: int, config: TrainConfig | None) -> str:
    """The run key of one (setting, method, seed): its :func:`~common.settings.training_key`, or for a
    pseudo-model the encoder it evaluates (and what a PCA is fitted on)."""
    if config is not None:
        return run_key(training_key(config.model_dump(mode="json")), seed)
    identity = {"encoder": f"{'pca' if method == 'pca' else 'truncation'}:default"}
    if method == "pca":
        identity["fit_data"] = pca_fit_sources(setting)
    return run_key(identity, seed)


def same_run(cached: dict | None, config: TrainConfig | None) -> bool:
    """Whether a cached record was trained with ``config`` (or one that trains identically), whatever code
    trained it (that is :func:`common.runs.origin`'s question)."""
    if cached is None or config is None:
        return cached is not None
    if cached["config"] is None:
        return False
    # The cached config is read through today's schema, so a field added since (at its default) changes nothing.
    then = TrainConfig.model_validate(cached["config"]).model_dump(mode="json")
    return training_key(then) == training_key(config.model_dump(mode="json"))


def reusable(cached: dict | None, key: str, tasks: Mapping[str, str], extras: bool = False) -> bool:
    """Whether a cached record stands for this run: the same run key, scored on every task and, with ``extras``,
    holding retrieval extras made as today (the models are not kept, so a task added since means training again)."""
    if cached is None or cached.get("key") != key or not tasks.keys() <= cached["scores"].keys():
        return False
    return not extras or (cached.get("retrieval") is not None and made_as_today(cached["retrieval"]))


def identical_run(cache: Path, key: str, tasks: Mapping[str, str], extras: bool = False) -> dict | None:
    """A finished run of another method, same setting and seed, with the run key ``key``, scored on ``tasks`` and
    holding the retrieval extras when ``extras``."""
    for sibling in sorted(cache.parent.parent.glob(f"*/{cache.name}")):
        record = read_record(sibling)
        if sibling != cache and "identical_to" not in record and reusable(record, key, tasks, extras):
            return record
    return None


def run_one(
    setting: str,
    method: str,
    seed: int,
    data_dir: str,
    tasks: Mapping[str, str],
    mic: dict,
    cache: Path,
    analyze: bool = False,
    extras: bool = False,
) -> dict:
    """Train (unless a pseudo-model) and evaluate one (setting, method, seed); cache the record at ``cache``, with
    :func:`~common.scoring.geometry` of a trained model when ``analyze`` and, with ``extras``, the
    :func:`~common.retrieval_extras.retrieval_extras` under ``"retrieval"`` (computed before the model is deleted).
    The extras are test-split numbers: the head-to-head asks for them where its setting does
    (``Setting.retrieval_extras``), a dev sweep never.

    A cached record is reused only under the same run key (config, seed, code, versions), if scored on every
    task and holding the extras when asked for; a sibling method's record under the same key is reused as
    this method's; otherwise the run is redone.
    """
    model_dir = cache.parent / f"{cache.stem}-model"
    config = None if METHODS[method] is None else run_config(setting, method, seed, data_dir, model_dir, mic)
    key = method_key(setting, method, seed, config)
    cached = read_record(cache)
    if reusable(cached, key, tasks, extras):
        return cached
    twin = None if config is None else identical_run(cache, key, tasks, extras)
    if cached is not None and twin is None:
        print(f"  {cache} is from other code or config, or lacks a task or the retrieval extras: rerunning", flush=True)
    if twin is not None:  # e.g. an ablation that switches off a term the dev sweep already switched off
        print(f"  same training config as {twin['method']}: reusing its scores", flush=True)
        record = {**twin, "method": method, "identical_to": twin["method"], "total_seconds": 0.0}
        write_record(cache, record)
        return record
    start = time.perf_counter()
    train_seconds = 0.0
    fit_sources = pca_fit_sources(setting) if method == "pca" else None
    if method == "truncate":
        encoder = load_encoder("truncation:default")
    elif method == "pca":
        encoder = load_encoder("pca:default", fit_data=fit_sources, data_dir=data_dir)
    else:
        work = work_dir_for(model_dir)  # an interrupted run continues from its last checkpoint
        resume = work.is_dir() and newest_loadable_checkpoint(work)[0] is not None
        result = train(config, resume=resume, overwrite=not resume, command=shlex.join(sys.argv))
        train_seconds = result.seconds
        encoder = load_encoder(str(model_dir))
    fields = {
        "setting": setting,
        "method": method,
        "seed": seed,
        "scores": evaluate(encoder, tasks, data_dir),
        "geometry": geometry(encoder, data_dir) if analyze and config is not None else None,
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.perf_counter() - start, 1),
        "config": config.model_dump(mode="json") if config is not None else None,
        "pca_fit": fit_sources,
        **({"retrieval": retrieval_extras(encoder, data_dir)} if extras else {}),
    }
    record = new_record(key, command_line(), fields)
    write_record(cache, record)
    shutil.rmtree(model_dir, ignore_errors=True)
    return record


def trained_as_configured(record: dict) -> bool:
    """Whether a cached run was trained with today's config for its (setting, method, seed) — e.g. not with MIC
    weights a newer dev sweep has replaced. Pseudo-models (truncate, pca) always are."""
    if record["config"] is None:
        return True
    setting, method = record["setting"], record["method"]
    if setting not in SETTINGS or method not in METHODS:
        return False
    config = run_config(setting, method, record["seed"], "data", Path("model"), mic_defaults(setting))
    return same_run(record, config)
