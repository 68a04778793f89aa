"""The head-to-head: MIC vs truncation, PCA, fine-tuning, MRL and 2DMSE, with ablations, at every dim.

A setting is a partial training config in ``benchmarks/settings/SETTING.yaml`` (data, recipe, budget); a method
adds its loss (``METHODS``), and a MIC method trains over the ``mic:`` block of its setting's ready config
(``configs/mic-simcse.yaml`` for the unsup-simcse settings, ``configs/mic-stsb.yaml`` for stsb-cosent), the
weights ``benchmarks/sweep.py`` chose on the dev splits only (STS-B dev, SICK trial). Every config is read by
``mic.training.config.load_config`` and trained by ``mic.training.recipe.train`` (the same as ``mic train``), with
the same budget for every method within a setting. Every score is ``mic eval``'s headline metric x100 at every dim
(``mic.evaluation.runner.evaluate_encoder``): Spearman on STS-B test and SICK-R test, nDCG@10 on SciFact test.
Each finished (setting, method, seed) is cached as ``benchmarks/results/runs/SETTING/METHOD/seed-N.json`` and
reused on rerun while its training config is unchanged and it has every test task, so the run can be done in pieces.

    python benchmarks/quality.py --data-dir ../shared/data            # everything (hours on 2 CPU cores)
    python benchmarks/quality.py --data-dir ../shared/data --quick    # one seed, truncate/mrl/mic, 250 steps
    python benchmarks/quality.py --data-dir ../shared/data --report   # rebuild tables/plots from the cache

``unsup-simcse-paper`` is unsup-simcse at the paper's budget, 5 epochs; it is not run by default (hours on CPU):

    python benchmarks/quality.py --data-dir ../shared/data --settings unsup-simcse-paper --methods mrl mic mic-paper
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import statistics
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from mic.data.tasks import load_pairs_task, parse_task
from mic.evaluation.analyze import analyze_encoder
from mic.evaluation.encoders import Encoder, load_encoder
from mic.evaluation.figures import plot_scores_vs_dim, plot_variance_profiles
from mic.evaluation.report import markdown_table
from mic.evaluation.retrieval import METRICS as RETRIEVAL_METRICS
from mic.evaluation.runner import evaluate_encoder, load_tasks
from mic.evaluation.sts import METRICS as STS_METRICS
from mic.losses import resolve_layers
from mic.provenance import package_versions
from mic.staging import write_atomic
from mic.training.config import MICWeights, TrainConfig, load_config, method_md_weights
from mic.training.folders import newest_loadable_checkpoint, work_dir_for
from mic.training.recipe import train

RESULTS = Path(__file__).parent / "results"
SETTINGS_DIR = Path(__file__).parent / "settings"
CONFIGS = Path(__file__).resolve().parents[1] / "configs"
DIMS = [8, 16, 32, 64, 128, 256, 384]
TEST_TASKS = {"stsb": "stsb:test", "sickr": "sick:test", "scifact": "scifact:test"}
DEV_TASKS = {"stsb": "stsb:dev", "sickr": "sick:trial"}
TEST_SPLITS = {
    "stsb": "STS-B test (sts-test.csv)",
    "sickr": "SICK test (SICK_test_annotated.txt)",
    "scifact": "SciFact test (BEIR: corpus.jsonl, queries.jsonl, qrels/test.tsv)",
}


@dataclass(frozen=True)
class Setting:
    """A benchmark setting: a partial training config file, ``key=value`` overrides on it (e.g. a shorter
    budget), and the ready config whose ``mic:`` block is MIC's tuned weights there."""

    config: Path
    tuned_mic: Path
    overrides: tuple[str, ...] = ()

    def load(self, overrides: Sequence[str] = ()) -> TrainConfig:
        """The setting's training config with ``overrides`` on top (later ones win; dotted keys reach nested
        fields)."""
        return load_config(self.config, [*self.overrides, *overrides])

    def with_overrides(self, *overrides: str) -> Setting:
        """This setting with more overrides, e.g. ``max_steps=200`` for a dev sweep."""
        return replace(self, overrides=(*self.overrides, *overrides))


SETTINGS: dict[str, Setting] = {
    "unsup-simcse": Setting(SETTINGS_DIR / "unsup-simcse.yaml", CONFIGS / "mic-simcse.yaml"),
    "unsup-simcse-paper": Setting(SETTINGS_DIR / "unsup-simcse-paper.yaml", CONFIGS / "mic-simcse.yaml"),
    "stsb-cosent": Setting(SETTINGS_DIR / "stsb-cosent.yaml", CONFIGS / "mic-stsb.yaml"),
}
# --quick: the paper's setting at half the steps, so truncate/mrl/mic finish in under 15 minutes on 2 CPU cores
# (the full 500 steps take about 16). Its own setting name keeps its runs apart from the full ones.
SETTINGS["unsup-simcse-quick"] = SETTINGS["unsup-simcse"].with_overrides("max_steps=250")
MAIN_SETTINGS = ["stsb-cosent", "unsup-simcse"]

# Method -> config changes; None = no training (a pseudo-model evaluated as is).
METHODS: dict[str, dict | None] = {
    "truncate": None,
    "pca": None,
    "plain": {"loss": "plain"},
    "mrl": {"loss": "mrl"},
    "2d": {"loss": "2d"},
    "mic": {"loss": "mic"},
    "mic-paper": {"loss": "mic", "mic": method_md_weights().model_dump()},  # METHOD.md's untuned form: SCR + SIR
    "mic-no-scr": {"loss": "mic", "mic": {"scr_weight": 0.0}},
    "mic-no-sir": {"loss": "mic", "mic": {"sir_weight": 0.0}},
    "mic-no-varfloor": {"loss": "mic", "mic": {"variance_floor_weight": 0.0}},
    "mic-last-layer": {"loss": "mic", "mic": {"layers": "last"}},
    "mic-no-sd": {"loss": "mic", "mic": {"distill_weight": 0.0}},
}
MULTI_SEED = {"mrl", "mic"}


def sweep_path(setting: str) -> Path:
    """The dev sweep's summary for a setting; always under benchmarks/results, whatever ``--results-dir`` is."""
    return RESULTS / f"sweep-{setting}.json"


def mic_defaults(setting: str) -> dict[str, object]:
    """MIC's tuned weights in a setting, in full: the ``mic:`` block of its ready config (a test checks that it is
    the dev sweep's choice, ``results/sweep-SETTING.json``)."""
    return load_config(SETTINGS[setting].tuned_mic).mic.model_dump()


def to_overrides(values: Mapping[str, object], prefix: str = "") -> list[str]:
    """Nested config values as ``load_config`` overrides: ``{"mic": {"gamma": 1.0}}`` -> ``["mic.gamma=1.0"]``
    (each value written as JSON, which the overrides' YAML reads back)."""
    overrides = []
    for key, value in values.items():
        if isinstance(value, Mapping):
            overrides += to_overrides(value, f"{prefix}{key}.")
        else:
            overrides.append(f"{prefix}{key}={json.dumps(value)}")
    return overrides


def run_config(setting: str, method: str, seed: int, data_dir: str, output_dir: Path, mic: dict) -> TrainConfig:
    """One run's training config: the setting's, then for a MIC method the weights ``mic``, then the method's
    changes (an ablation's one choice), then the seed and the paths."""
    changes = METHODS[method] or {}
    tuned = {"mic": mic} if changes.get("loss") == "mic" else {}
    run = {"seed": seed, "output_dir": str(output_dir), "data": {"data_dir": data_dir}}
    return SETTINGS[setting].load([*to_overrides(tuned), *to_overrides(changes), *to_overrides(run)])


def metric_label(task: str) -> str:
    """The headline metric of a test task as ``mic eval`` reports it (Spearman for STS, nDCG@10 for retrieval)."""
    metrics = STS_METRICS if parse_task(TEST_TASKS[task]).kind == "sts" else list(RETRIEVAL_METRICS)
    return f"{metrics[0]} x100"


def evaluate(encoder: Encoder, tasks: Mapping[str, str], data_dir: str) -> dict[str, dict[str, float]]:
    """Each task's headline score x100 (``mic eval``'s) at every dim, by the JSON's task names and dims (strings)."""
    loaded, _ = load_tasks(list(tasks.values()), data_dir)
    result = evaluate_encoder(encoder, loaded, DIMS)
    return {name: {str(dim): round(result.score(spec, dim), 4) for dim in DIMS} for name, spec in tasks.items()}


GEOMETRY_DATA = "stsb:dev"
GEOMETRY_STATS = {
    "isotropy": "isotropy",
    "variance_cv": "variance CV",
    "sentence_correlation_mean_abs": "mean |corr| prefix/residual (output)",
    "token_correlation_mean_abs": "mean |corr| prefix/residual (tokens, first SCR layer)",
}


def geometry(encoder: Encoder, data_dir: str) -> dict:
    """``mic analyze`` of a trained model on STS-B dev: the output's per-dim variance profile and, per dim, what
    SIR and SCR act on (``GEOMETRY_STATS``); the token-level prefix/residual correlation is read at the first of
    MIC's middle layers, where SCR works, the rest on the output embeddings."""
    pairs = load_pairs_task(GEOMETRY_DATA, data_dir)
    layer = resolve_layers("middle", encoder.num_layers)[0]
    output = analyze_encoder(encoder, pairs, DIMS)
    tokens = analyze_encoder(encoder, pairs, DIMS, layer=layer)
    prefixes = {}
    for dim in DIMS:
        stats = {name: getattr(output.prefixes[dim], name) for name in GEOMETRY_STATS}
        stats["token_correlation_mean_abs"] = tokens.prefixes[dim].token_correlation_mean_abs
        prefixes[str(dim)] = stats
    profile = output.variance_profile
    return {"data": GEOMETRY_DATA, "token_layer": layer, "variance_profile": profile, "prefixes": prefixes}


def is_regularized(mic: dict) -> bool:
    """Whether a MIC config (partial or full) adds anything to MRL: SCR or SIR with γ > 0, or self-distillation."""
    full = MICWeights(**mic)
    return (full.gamma > 0 and (full.scr_weight > 0 or full.sir_weight > 0)) or full.distill_weight > 0


def training_key(config: dict) -> dict:
    """What decides a run's outcome: the config without its paths, and a MIC config with every regularizer off
    written as the ``MatryoshkaLoss`` it then is exactly (``MICLoss`` returns MatryoshkaLoss's value, a test
    checks loss and gradients to 1e-6), and one with self-distillation off without the distillation knobs (its
    teacher, objective, τ_d: a default changed since changes nothing)."""
    key = {name: value for name, value in config.items() if name != "output_dir"}
    key["data"] = {name: value for name, value in config["data"].items() if name != "data_dir"}
    if key["loss"] == "mic" and not is_regularized(key["mic"]):
        key["loss"] = "mrl"
    if key["loss"] == "mic" and key["mic"]["distill_weight"] == 0:  # the distillation knobs do nothing with it off
        key["mic"] = {
            name: value
            for name, value in key["mic"].items()
            if name == "distill_weight" or not name.startswith("distill_")
        }
    if key["loss"] != "mic":
        key.pop("mic", None)  # MIC's weights do not touch a baseline's training (nor change with their defaults)
    return key


def same_run(cached: dict | None, config: TrainConfig | None) -> bool:
    """Whether a cached record was trained with ``config`` (or one that trains identically)."""
    if cached is None or config is None:
        return cached is not None
    if cached["config"] is None:
        return False
    # The cached config is read through today's schema, so a field added since (at its default) changes nothing.
    then = TrainConfig.model_validate(cached["config"]).model_dump(mode="json")
    return training_key(then) == training_key(config.model_dump(mode="json"))


def reusable(cached: dict | None, config: TrainConfig | None, tasks: Mapping[str, str]) -> bool:
    """Whether a cached record stands for this run: the same training (:func:`same_run`) and scored on every task
    (the models are not kept, so a task added since means training again)."""
    return same_run(cached, config) and tasks.keys() <= cached["scores"].keys()


def identical_run(cache: Path, config: TrainConfig | None, tasks: Mapping[str, str]) -> dict | None:
    """A finished run of another method, same setting and seed, trained with exactly ``config`` and scored on
    ``tasks``."""
    if config is None:
        return None
    for sibling in sorted(cache.parent.parent.glob(f"*/{cache.name}")):
        record = json.loads(sibling.read_text())
        if sibling != cache and "identical_to" not in record and reusable(record, config, tasks):
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
) -> dict:
    """Train (unless a pseudo-model) and evaluate one (setting, method, seed); cache the result as JSON, with
    :func:`geometry` of a trained model when ``analyze``.

    A cached record is reused only if it was trained with the same config (e.g. MIC's tuned weights unchanged)
    and scored on every task; otherwise the run is redone.
    """
    model_dir = cache.parent / f"{cache.stem}-model"
    config = None if METHODS[method] is None else run_config(setting, method, seed, data_dir, model_dir, mic)
    cached = json.loads(cache.read_text()) if cache.is_file() else None
    if reusable(cached, config, tasks):
        return cached
    twin = identical_run(cache, config, tasks)
    if cached is not None and twin is None:
        print(f"  {cache} was trained with another config or lacks a task: rerunning", flush=True)
    if twin is not None:  # e.g. an ablation that switches off a term the dev sweep already switched off
        print(f"  same training config as {twin['method']}: reusing its scores", flush=True)
        record = {**twin, "method": method, "identical_to": twin["method"], "total_seconds": 0.0}
        write_atomic(cache, json.dumps(record, indent=2))
        return record
    start = time.perf_counter()
    train_seconds = 0.0
    fit_sources = SETTINGS[setting].load().data.train if method == "pca" else None
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
    record = {
        "setting": setting,
        "method": method,
        "seed": seed,
        "scores": evaluate(encoder, tasks, data_dir),
        "geometry": geometry(encoder, data_dir) if analyze and config is not None else None,
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.perf_counter() - start, 1),
        "config": config.model_dump(mode="json") if config is not None else None,
        "pca_fit": fit_sources,
        "versions": package_versions(),
    }
    write_atomic(cache, json.dumps(record, indent=2))
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


def collect(folder: Path) -> dict:
    """Every run cached under ``folder/runs`` that was trained as its setting is configured today; a record lacking
    a task (cached before it was added) adds nothing to that task, and a run trained with an earlier config is
    listed under ``stale`` instead (the next run of the benchmark retrains it).

    Shaped ``{"settings": {S: {"methods": {M: {TASK: {DIM: {SEED: score}}}}, "train_seconds": {M: [...]},
    "identical_to": {M: M'}, "stale": ["M seed N", ...], "geometry": {M: {SEED: geometry(...)}}}},
    "compute_seconds": ...}``.
    """
    settings: dict = {}
    compute_seconds = 0.0
    for path in sorted((folder / "runs").glob("*/*/seed-*.json")):
        record = json.loads(path.read_text())
        compute_seconds += record["total_seconds"]
        block = settings.setdefault(record["setting"], {"methods": {}, "train_seconds": {}})
        if not trained_as_configured(record):
            block.setdefault("stale", []).append(f"{record['method']} seed {record['seed']}")
            continue
        per_task = block["methods"].setdefault(record["method"], {})
        for task, per_dim in record["scores"].items():
            for dim, score in per_dim.items():
                per_task.setdefault(task, {}).setdefault(dim, {})[str(record["seed"])] = score
        block["train_seconds"].setdefault(record["method"], []).append(record["train_seconds"])
        if record.get("geometry"):
            block.setdefault("geometry", {}).setdefault(record["method"], {})[str(record["seed"])] = record["geometry"]
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


def mean_std(values: list[float]) -> str:
    """``mean ± std`` over seeds, or the one value."""
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def mean_by_dim(block: dict, method: str, task: str) -> dict[int, float]:
    """A method's mean score over seeds at every dim."""
    return {int(dim): statistics.mean(by_seed.values()) for dim, by_seed in block["methods"][method][task].items()}


BAR_STS_TASKS, BAR_LOW_DIMS, BAR_GAIN, BAR_FULL_DIM, BAR_FULL_LOSS = ["stsb", "sickr"], [8, 16, 32], 1.0, 384, 0.3
BAR_RETRIEVAL_TASK, BAR_RETRIEVAL_LOSS = "scifact", 0.5
BAR_SEEDS = 3


def verdict(met: bool, seeds: int) -> str:
    """``yes`` / ``**no**``, provisional (``N of 3 seeds``) until the bar's number of seeds is in."""
    answer = "yes" if met else "**no**"
    return answer if seeds >= BAR_SEEDS else f"{answer} ({seeds} of {BAR_SEEDS} seeds)"


def shared_seeds(block: dict, task: str) -> list[str]:
    """The seeds both MIC and MRL were scored with on ``task`` in one setting."""
    return sorted(set(seeds_on(block, "mic", task)) & set(seeds_on(block, "mrl", task)), key=int)


def mic_minus_mrl(block: dict, task: str, dim: int) -> list[float]:
    """MIC − MRL per shared seed, at one task and dim."""
    mic, mrl = block["methods"]["mic"][task][str(dim)], block["methods"]["mrl"][task][str(dim)]
    return [mic[seed] - mrl[seed] for seed in shared_seeds(block, task)]


def sts_bar_rows(setting: str, block: dict) -> list[list[str]]:
    """Per STS task: mean MIC − MRL at 8/16/32 and 384 dims, and whether the STS bar is met."""
    rows = []
    for task in BAR_STS_TASKS:
        if not shared_seeds(block, task):
            continue
        means = {dim: statistics.mean(mic_minus_mrl(block, task, dim)) for dim in [*BAR_LOW_DIMS, BAR_FULL_DIM]}
        met = all(means[dim] >= BAR_GAIN for dim in BAR_LOW_DIMS) and means[BAR_FULL_DIM] >= -BAR_FULL_LOSS
        cells = [f"{value:+.2f}" for value in means.values()]
        seeds = len(shared_seeds(block, task))
        rows.append([setting, task, str(seeds), *cells, verdict(met, seeds)])
    return rows


def retrieval_bar_row(setting: str, block: dict) -> list[str]:
    """The worst mean MIC − MRL over dims on SciFact, and whether it is within the retrieval bar."""
    seeds = shared_seeds(block, BAR_RETRIEVAL_TASK)
    if not seeds:
        return [setting, "0", "", "", "not run"]
    means = {dim: statistics.mean(mic_minus_mrl(block, BAR_RETRIEVAL_TASK, dim)) for dim in DIMS}
    worst = min(means, key=means.__getitem__)
    met = means[worst] >= -BAR_RETRIEVAL_LOSS
    return [setting, str(len(seeds)), str(worst), f"{means[worst]:+.2f}", verdict(met, len(seeds))]


def bar_check(results: dict) -> list[str]:
    """The issue's target, cell by cell: on STS, mean over seeds of MIC − MRL ≥ +1.0 at 8/16/32 dims and ≥ −0.3 at
    384; on SciFact, mean MIC − MRL ≥ −0.5 at every dim; a verdict on fewer than 3 shared seeds says so. Settings
    without both MIC and MRL are left out."""
    blocks = {name: block for name, block in results["settings"].items() if {"mic", "mrl"} <= block["methods"].keys()}
    sts_header = ["setting", "task", "seeds", *map(str, [*BAR_LOW_DIMS, BAR_FULL_DIM]), "met"]
    sts_rows = [row for setting, block in blocks.items() for row in sts_bar_rows(setting, block)]
    retrieval_header = ["setting", "seeds", "worst dim", "MIC − MRL there", "met"]
    retrieval_rows = [retrieval_bar_row(setting, block) for setting, block in blocks.items()]
    return [
        f"## The bar: mean MIC − MRL ≥ +{BAR_GAIN} at {'/'.join(map(str, BAR_LOW_DIMS))} dims, ≥ −{BAR_FULL_LOSS} at "
        f"{BAR_FULL_DIM}",
        "",
        markdown_table(sts_header, sts_rows),
        "",
        f"## The retrieval bar: SciFact nDCG@10 no more than {BAR_RETRIEVAL_LOSS} below MRL at any dim",
        "",
        markdown_table(retrieval_header, retrieval_rows),
        "",
    ]


def task_table(block: dict, task: str) -> str:
    """Mean ± std over seeds per method and dim on one task, then MIC − MRL per shared seed."""
    rows = []
    for method in methods_on(block, task):
        per_dim = block["methods"][method][task]
        cells = [mean_std(list(per_dim[str(dim)].values())) for dim in DIMS]
        rows.append([method, ",".join(seeds_on(block, method, task)), *cells])
    if {"mic", "mrl"} <= set(methods_on(block, task)):
        per_dim = [mic_minus_mrl(block, task, dim) for dim in DIMS]
        for i, seed in enumerate(shared_seeds(block, task)):
            rows.append([f"MIC − MRL, seed {seed}", "", *(f"{diffs[i]:+.2f}" for diffs in per_dim)])
    return markdown_table(["method", "seeds", *map(str, DIMS)], rows)


def geometry_table(block: dict) -> str:
    """Per method and :data:`GEOMETRY_STATS` entry, the mean over seeds at every dim below the full one."""
    dims = [dim for dim in DIMS if dim < DIMS[-1]]
    rows = []
    for method, by_seed in block["geometry"].items():
        for name, label in GEOMETRY_STATS.items():
            cells = [statistics.mean(g["prefixes"][str(dim)][name] for g in by_seed.values()) for dim in dims]
            rows.append([method, ",".join(sorted(by_seed, key=int)), label, *(f"{cell:.3f}" for cell in cells)])
    return markdown_table(["method", "seeds", "statistic", *map(str, dims)], rows)


def markdown(results: dict, command: str) -> str:
    """The bar check, then mean ± std per method/task/dim and MIC − MRL per seed."""
    lines = [
        "# Quality on test: Spearman x100 (STS), nDCG@10 x100 (SciFact); mean ± std over seeds",
        "",
        f"Command: `{command}`",
        f"Total compute of the cached runs (train + eval): {results['compute_seconds'] / 60:.1f} min on this machine.",
        "",
        *bar_check(results),
    ]
    for setting, block in results["settings"].items():
        for task in TEST_TASKS:
            if methods_on(block, task):
                lines += [f"## {setting} — {task} test ({metric_label(task)})", "", task_table(block, task), ""]
        for method, twin in block.get("identical_to", {}).items():
            lines += [
                f"`{method}` trains exactly the config of `{twin}` (the tuned MIC already makes that choice): "
                "its scores are reused.",
                "",
            ]
        if block.get("stale"):
            lines += [
                f"Not shown, trained with an earlier config of {setting} (the next run retrains them): "
                f"{', '.join(block['stale'])}.",
                "",
            ]
        if block.get("geometry"):
            lines += [
                f"## {setting} — geometry at the end of training (`mic analyze` on {GEOMETRY_DATA}, mean over seeds)",
                "",
                geometry_table(block),
                "",
                f"Per-dim variance profiles: `geometry-{setting}.png`.",
                "",
            ]
        seconds = {m: round(statistics.mean(v), 1) for m, v in block["train_seconds"].items()}
        lines += [f"Train seconds per run ({setting}): {seconds}", ""]
    return "\n".join(lines)


def mean_profile(runs: Iterable[dict]) -> list[float]:
    """The per-dim variance profile of :func:`geometry` records, averaged over runs (seeds)."""
    return [statistics.mean(per_run) for per_run in zip(*(run["variance_profile"] for run in runs), strict=True)]


def plot(results: dict, folder: Path) -> None:
    """``quality-SETTING.png``: mean score against dim, one panel per test task, one line per method."""
    for setting, block in results["settings"].items():
        tasks = [task for task in TEST_TASKS if methods_on(block, task)]
        panels = {
            f"{setting}: {task} test": {method: mean_by_dim(block, method, task) for method in methods_on(block, task)}
            for task in tasks
        }
        labels = {f"{setting}: {task} test": metric_label(task) for task in tasks}
        plot_scores_vs_dim(panels, folder / f"quality-{setting}.png", labels)
        if block.get("geometry"):
            profiles = {method: mean_profile(by_seed.values()) for method, by_seed in block["geometry"].items()}
            title = f"{setting}: per-dim variance on {GEOMETRY_DATA} (mean over seeds)"
            plot_variance_profiles(profiles, folder / f"geometry-{setting}.png", dims=DIMS, title=title)


README = Path(__file__).resolve().parents[1] / "README.md"
README_START, README_END = "<!-- quality:start -->", "<!-- quality:end -->"


def readme_table(results: dict) -> str:
    """The bar check, then the mean test score per method at every dim (one table per setting and task), for the
    README."""
    heading = "## "
    lines = [
        f"**{line.removeprefix(heading)}** (test, mean over seeds)" if line.startswith(heading) else line
        for line in bar_check(results)
    ]
    for setting, block in results["settings"].items():
        for task in TEST_TASKS:
            if not methods_on(block, task):
                continue
            rows = []
            for method in methods_on(block, task):
                means = mean_by_dim(block, method, task)
                rows.append([method, str(len(seeds_on(block, method, task))), *(f"{means[dim]:.2f}" for dim in DIMS)])
            lines += [f"**{setting}, {task} test** ({metric_label(task)}, mean over seeds)", ""]
            lines += [markdown_table(["method", "seeds", *map(str, DIMS)], rows), ""]
    return "\n".join(lines)


def update_readme(results: dict) -> None:
    """Replace the README's results block (between the quality markers) with the current table."""
    text = README.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        return
    head, rest = text.split(README_START, 1)
    tail = rest.split(README_END, 1)[1]
    write_atomic(README, f"{head}{README_START}\n{readme_table(results)}\n{README_END}{tail}")


def write_reports(command: str, folder: Path | None = None) -> dict:
    """quality.{json,md} and the plots from the cache under ``folder`` (default benchmarks/results); the README
    table is regenerated only from the default folder."""
    folder = folder or RESULTS
    results = collect(folder)
    results["command"] = command
    results["dims"] = DIMS
    results["splits"] = TEST_SPLITS
    write_atomic(folder / "quality.json", json.dumps(results, indent=2))
    write_atomic(folder / "quality.md", markdown(results, command))
    plot(results, folder)
    if folder == RESULTS:
        update_readme(results)
    return results


def main() -> None:
    """Run every (setting, method, seed) of the command line that is not cached yet, then write the reports."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="folder with stsbenchmark/, sick2014/ and scifact/")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one seed, truncate/mrl/mic, unsup-simcse at 250 steps (unsup-simcse-quick)",
    )
    parser.add_argument("--settings", nargs="+", choices=sorted(SETTINGS), default=MAIN_SETTINGS)
    parser.add_argument("--methods", nargs="+", choices=list(METHODS), default=list(METHODS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--report", action="store_true", help="only rebuild quality.{json,md,png} from the cache")
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=RESULTS,
        help="where runs/ and the reports go (default benchmarks/results, whose table also goes into the README)",
    )
    args = parser.parse_args()
    command = shlex.join(["python", *sys.argv])
    if args.quick:
        args.settings, args.methods, args.seeds = ["unsup-simcse-quick"], ["truncate", "mrl", "mic"], [0]
    folder = args.results_dir
    print(f"command: {command}\nseeds: {args.seeds} (one seed, the first, for {sorted(set(METHODS) - MULTI_SEED)})")
    print(f"scored on: {', '.join(TEST_SPLITS.values())}; MIC tuned on dev only ({', '.join(DEV_TASKS.values())})")
    start = time.perf_counter()
    if not args.report:
        for setting in args.settings:
            mic = mic_defaults(setting)
            for method in args.methods:
                seeds = args.seeds if method in MULTI_SEED else args.seeds[:1]
                for seed in seeds:
                    cache = folder / "runs" / setting / method / f"seed-{seed}.json"
                    print(f"[{setting}] {method} seed {seed}", flush=True)
                    run_one(setting, method, seed, args.data_dir, TEST_TASKS, mic, cache, analyze=True)
                    write_reports(command, folder)
    results = write_reports(command, folder)
    print((folder / "quality.md").read_text())
    print(f"total time of this invocation: {time.perf_counter() - start:.0f} s")
    print(f"total compute of all cached runs: {results['compute_seconds']:.0f} s")


if __name__ == "__main__":
    main()
