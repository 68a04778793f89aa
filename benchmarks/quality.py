"""The head-to-head: MIC vs truncation, PCA, fine-tuning, MRL and 2DMSE, with ablations, at every dim.

Every trained method runs through ``mic.training.recipe.train`` (the same recipe as ``mic train``) with the
same budget within a setting; every score comes from ``mic.evaluation.sts.score_all_dims`` on STS-B test and
SICK-R test (Spearman x100). Each finished (setting, method, seed) is cached as
``benchmarks/results/runs/SETTING/METHOD/seed-N.json`` and reused on rerun while its training config is unchanged,
so the run can be done in pieces.

    python benchmarks/quality.py --data-dir ../shared/data            # everything (hours on 2 CPU cores)
    python benchmarks/quality.py --data-dir ../shared/data --quick    # one seed, truncate/mrl/mic, 250 steps
    python benchmarks/quality.py --data-dir ../shared/data --report   # rebuild tables/plots from the cache

MIC's weights per setting come from ``benchmarks/sweep.py`` (dev splits only: STS-B dev, SICK trial), which writes
results/sweep-SETTING.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from mic.data import load_scored_pairs
from mic.evaluation.encoders import Encoder, load_encoder
from mic.evaluation.sts import score_pairs
from mic.provenance import package_versions
from mic.training.config import MICWeights, TrainConfig, method_md_weights
from mic.training.recipe import train

RESULTS = Path(__file__).parent / "results"
DIMS = [8, 16, 32, 64, 128, 256, 384]
TEST_TASKS = {"stsb": "stsb:test", "sickr": "sick:test"}
DEV_TASKS = {"stsb": "stsb:dev", "sickr": "sick:trial"}
TEST_SPLITS = {"stsb": "STS-B test (sts-test.csv)", "sickr": "SICK test (SICK_test_annotated.txt)"}

SETTINGS: dict[str, dict] = {
    "unsup-simcse": {
        "data": {"train": ["stsb:train", "sick:train"], "kind": "unlabeled", "dev": None},
        "base_loss": "mnrl",
        "max_steps": 500,
    },
    "stsb-cosent": {
        "data": {"train": ["stsb:train"], "kind": "scored", "dev": None},
        "base_loss": "cosent",
        "epochs": 1,
    },
}
# --quick: the paper's setting at half the steps, so truncate/mrl/mic finish in under 15 minutes on 2 CPU cores
# (the full 500 steps take about 16). Its own setting name keeps its runs apart from the full ones.
SETTINGS["unsup-simcse-quick"] = {**SETTINGS["unsup-simcse"], "max_steps": 250}
MAIN_SETTINGS = ["stsb-cosent", "unsup-simcse"]
COMMON = {"batch_size": 16, "learning_rate": 2e-5, "warmup_ratio": 0.1, "max_seq_length": 128, "dims": DIMS}

# Method -> config overrides; None = no training (a pseudo-model evaluated as is).
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
}
MULTI_SEED = {"mrl", "mic"}


def merge(base: dict, extra: dict) -> dict:
    """Recursive dict merge (``extra`` wins)."""
    merged = dict(base)
    for key, value in extra.items():
        merged[key] = (
            merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
        )
    return merged


def sweep_path(setting: str) -> Path:
    """The dev sweep's summary for a setting; always under benchmarks/results, whatever ``--results-dir`` is."""
    return RESULTS / f"sweep-{setting}.json"


def mic_defaults(setting: str) -> dict:
    """MIC's weights for a setting: the dev sweep's choice (results/sweep-SETTING.json), else the library defaults."""
    sweep = sweep_path(setting.removesuffix("-quick"))
    if sweep.is_file():
        return json.loads(sweep.read_text())["chosen"]
    return {}


def run_config(setting: str, method: str, seed: int, data_dir: str, output_dir: Path, mic: dict) -> TrainConfig:
    overrides = merge(merge(COMMON, SETTINGS[setting]), METHODS[method] or {})
    if overrides.get("loss") == "mic":
        overrides = merge(overrides, {"mic": mic})
        overrides["mic"] = merge(mic, (METHODS[method] or {}).get("mic", {}))
    overrides = merge(overrides, {"seed": seed, "output_dir": str(output_dir), "data": {"data_dir": data_dir}})
    overrides.setdefault("save_steps", 10_000)
    return TrainConfig.model_validate(overrides)


def evaluate(encoder: Encoder, tasks: dict[str, str], data_dir: str) -> dict[str, dict[str, float]]:
    """Spearman x100 per task and dim (dims as strings, the JSON schema's keys)."""
    scores = {}
    for task, source in tasks.items():
        per_dim = score_pairs(encoder, load_scored_pairs(source, data_dir=data_dir), DIMS).scores
        scores[task] = {str(dim): round(per_dim[dim]["spearman"], 4) for dim in DIMS}
    return scores


def is_regularized(mic: dict) -> bool:
    """Whether a MIC config (partial or full) adds anything to MRL: SCR or SIR with γ > 0, or self-distillation."""
    full = MICWeights(**mic)
    return (full.gamma > 0 and (full.scr_weight > 0 or full.sir_weight > 0)) or full.distill_weight > 0


def training_key(config: dict) -> dict:
    """What decides a run's outcome: the config without its paths, and a MIC config with every regularizer off
    written as the ``MatryoshkaLoss`` it then is exactly (``MICLoss`` returns MatryoshkaLoss's value, a test
    checks loss and gradients to 1e-6)."""
    key = {name: value for name, value in config.items() if name != "output_dir"}
    key["data"] = {name: value for name, value in config["data"].items() if name != "data_dir"}
    if key["loss"] == "mic" and not is_regularized(key["mic"]):
        key["loss"] = "mrl"
    if key["loss"] != "mic":
        key.pop("mic", None)  # MIC's weights do not touch a baseline's training (nor change with their defaults)
    return key


def same_run(cached: dict | None, config: TrainConfig | None) -> bool:
    """Whether a cached record was trained with ``config`` (or one that trains identically), so it can be reused."""
    if cached is None or config is None:
        return cached is not None
    if cached["config"] is None:
        return False
    # The cached config is read through today's schema, so a field added since (at its default) changes nothing.
    then = TrainConfig.model_validate(cached["config"]).model_dump(mode="json")
    return training_key(then) == training_key(config.model_dump(mode="json"))


def write_atomic(path: Path, text: str) -> None:
    """Write via a temp file and a rename, so a concurrent reader (another benchmark process) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def identical_run(cache: Path, config: TrainConfig | None) -> dict | None:
    """A finished run of another method, same setting and seed, trained with exactly ``config``."""
    if config is None:
        return None
    for sibling in sorted(cache.parent.parent.glob(f"*/{cache.name}")):
        record = json.loads(sibling.read_text())
        if sibling != cache and "identical_to" not in record and same_run(record, config):
            return record
    return None


def run_one(setting: str, method: str, seed: int, data_dir: str, tasks: dict[str, str], mic: dict, cache: Path) -> dict:
    """Train (unless a pseudo-model) and evaluate one (setting, method, seed); cache the result as JSON.

    A cached record is reused only if it was trained with the same config (e.g. MIC's tuned weights unchanged);
    otherwise it is stale and the run is redone.
    """
    model_dir = cache.parent / f"{cache.stem}-model"
    config = None if METHODS[method] is None else run_config(setting, method, seed, data_dir, model_dir, mic)
    cached = json.loads(cache.read_text()) if cache.is_file() else None
    if same_run(cached, config):
        return cached
    if cached is not None:
        print(f"  {cache} was trained with another config: rerunning", flush=True)
    twin = identical_run(cache, config)
    if twin is not None:  # e.g. an ablation that switches off a term the dev sweep already switched off
        print(f"  same training config as {twin['method']}: reusing its scores", flush=True)
        record = {**twin, "method": method, "identical_to": twin["method"], "total_seconds": 0.0}
        write_atomic(cache, json.dumps(record, indent=2))
        return record
    start = time.perf_counter()
    train_seconds = 0.0
    if method == "truncate":
        encoder = load_encoder("truncation:default")
    elif method == "pca":
        fit_sources = SETTINGS[setting]["data"]["train"]
        encoder = load_encoder("pca:default", fit_data=fit_sources, data_dir=data_dir)
    else:
        result = train(config, overwrite=True, command=shlex.join(sys.argv))
        train_seconds = result.seconds
        encoder = load_encoder(str(model_dir))
    record = {
        "setting": setting,
        "method": method,
        "seed": seed,
        "scores": evaluate(encoder, tasks, data_dir),
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.perf_counter() - start, 1),
        "config": config.model_dump(mode="json") if config is not None else None,
        "pca_fit": SETTINGS[setting]["data"]["train"] if method == "pca" else None,
        "versions": package_versions(),
    }
    write_atomic(cache, json.dumps(record, indent=2))
    shutil.rmtree(model_dir, ignore_errors=True)
    return record


def collect(folder: Path) -> dict:
    """Every run cached under ``folder/runs``.

    Shaped ``{"settings": {S: {"methods": {M: {TASK: {DIM: [score per seed]}}}, "seeds": ..., "train_seconds": ...}}}``.
    """
    settings: dict = {}
    compute_seconds = 0.0
    for path in sorted((folder / "runs").glob("*/*/seed-*.json")):
        record = json.loads(path.read_text())
        compute_seconds += record["total_seconds"]
        methods = settings.setdefault(record["setting"], {"methods": {}, "train_seconds": {}, "seeds": {}})
        per_task = methods["methods"].setdefault(record["method"], {})
        for task, per_dim in record["scores"].items():
            for dim, score in per_dim.items():
                per_task.setdefault(task, {}).setdefault(dim, []).append(score)
        methods["train_seconds"].setdefault(record["method"], []).append(record["train_seconds"])
        if "identical_to" in record:
            methods.setdefault("identical_to", {})[record["method"]] = record["identical_to"]
        methods["seeds"].setdefault(record["method"], []).append(record["seed"])
    return {"settings": settings, "compute_seconds": round(compute_seconds, 1)}


def mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


BAR_LOW_DIMS, BAR_GAIN, BAR_FULL_DIM, BAR_FULL_LOSS = [32, 16, 8], 1.0, 384, 0.3


def shared_seeds(block: dict) -> list[int]:
    """The seeds both MIC and MRL were run with in one setting."""
    return sorted(set(block["seeds"].get("mic", [])) & set(block["seeds"].get("mrl", [])))


def mic_minus_mrl(block: dict, task: str, dim: int) -> list[float]:
    """MIC − MRL per shared seed, at one task and dim."""
    methods, seeds = block["methods"], block["seeds"]
    mic, mrl = methods["mic"][task][str(dim)], methods["mrl"][task][str(dim)]
    return [mic[seeds["mic"].index(seed)] - mrl[seeds["mrl"].index(seed)] for seed in shared_seeds(block)]


def bar_check(results: dict) -> list[str]:
    """The issue's target, cell by cell: mean over seeds of MIC − MRL ≥ +1.0 at 32/16/8 dims and ≥ −0.3 at 384."""
    lines = [
        f"## The bar: mean MIC − MRL ≥ +{BAR_GAIN} at {'/'.join(map(str, BAR_LOW_DIMS))} dims, ≥ −{BAR_FULL_LOSS} at "
        f"{BAR_FULL_DIM}",
        "",
        "| setting | task | seeds | " + " | ".join(map(str, [*BAR_LOW_DIMS, BAR_FULL_DIM])) + " | met |",
        "|---|---|---|" + "---|" * (len(BAR_LOW_DIMS) + 2),
    ]
    for setting, block in results["settings"].items():
        if not {"mic", "mrl"} <= block["methods"].keys():
            continue
        for task in TEST_TASKS:
            means = {dim: statistics.mean(mic_minus_mrl(block, task, dim)) for dim in [*BAR_LOW_DIMS, BAR_FULL_DIM]}
            met = all(means[dim] >= BAR_GAIN for dim in BAR_LOW_DIMS) and means[BAR_FULL_DIM] >= -BAR_FULL_LOSS
            seeds = len(shared_seeds(block))
            cells = " | ".join(f"{value:+.2f}" for value in means.values())
            lines.append(f"| {setting} | {task} | {seeds} | {cells} | {'yes' if met else '**no**'} |")
    return [*lines, ""]


def markdown(results: dict, command: str) -> str:
    """Mean ± std per method/task/dim, and MIC − MRL per seed."""
    lines = [
        "# Quality: Spearman x100 on test (mean ± std over seeds)",
        "",
        f"Command: `{command}`",
        f"Total compute of the cached runs (train + eval): {results['compute_seconds'] / 60:.1f} min on this machine.",
        "",
        *bar_check(results),
    ]
    for setting, block in results["settings"].items():
        methods = block["methods"]
        for task in TEST_TASKS:
            lines += [f"## {setting} — {task} test", "", "| method | seeds | " + " | ".join(map(str, DIMS)) + " |"]
            lines.append("|---|---|" + "---|" * len(DIMS))
            for method in METHODS:
                if method in methods and task in methods[method]:
                    cells = [mean_std(methods[method][task][str(dim)]) for dim in DIMS]
                    seeds = ",".join(map(str, block["seeds"][method]))
                    lines.append(f"| {method} | {seeds} | " + " | ".join(cells) + " |")
            if "mic" in methods and "mrl" in methods:
                per_dim = [mic_minus_mrl(block, task, dim) for dim in DIMS]
                for i, seed in enumerate(shared_seeds(block)):
                    cells = " | ".join(f"{diffs[i]:+.2f}" for diffs in per_dim)
                    lines.append(f"| MIC − MRL, seed {seed} | | {cells} |")
            lines.append("")
        for method, twin in block.get("identical_to", {}).items():
            lines += [
                f"`{method}` trains exactly the config of `{twin}` (the tuned MIC already makes that choice): "
                "its scores are reused.",
                "",
            ]
        seconds = {m: round(statistics.mean(v), 1) for m, v in block["train_seconds"].items()}
        lines += [f"Train seconds per run ({setting}): {seconds}", ""]
    return "\n".join(lines)


def plot(results: dict, folder: Path) -> None:
    for setting, block in results["settings"].items():
        figure, axes = plt.subplots(1, len(TEST_TASKS), figsize=(12, 4.5), sharex=True)
        for axis, task in zip(axes, TEST_TASKS, strict=True):
            for method, per_task in block["methods"].items():
                if task not in per_task:
                    continue
                means = [statistics.mean(per_task[task][str(dim)]) for dim in DIMS]
                style = {"linewidth": 2.5} if method in MULTI_SEED else {"linewidth": 1, "alpha": 0.8}
                axis.plot(DIMS, means, marker="o", label=method, **style)
            axis.set_xscale("log", base=2)
            axis.set_xticks(DIMS, [str(d) for d in DIMS])
            axis.set_xlabel("embedding dims kept (prefix)")
            axis.set_ylabel("Spearman x100 (test)")
            axis.set_title(f"{setting}: {task} test")
            axis.grid(alpha=0.3)
        axes[-1].legend(fontsize=8)
        figure.tight_layout()
        figure.savefig(folder / f"quality-{setting}.png", dpi=120)
        plt.close(figure)


README = Path(__file__).resolve().parents[1] / "README.md"
README_START, README_END = "<!-- quality:start -->", "<!-- quality:end -->"


def readme_table(results: dict) -> str:
    """The bar check, then mean test Spearman per method at every dim (one table per setting and task), for the
    README."""
    bar = bar_check(results)
    lines = [f"**{bar[0].removeprefix('## ')}** (test, mean over seeds)", *bar[1:]]
    for setting, block in results["settings"].items():
        for task in TEST_TASKS:
            lines += [f"**{setting}, {task} test** (Spearman x100, mean over seeds)", ""]
            lines += ["| method | seeds | " + " | ".join(map(str, DIMS)) + " |", "|---|---|" + "---|" * len(DIMS)]
            for method in METHODS:
                if task in block["methods"].get(method, {}):
                    means = [statistics.mean(block["methods"][method][task][str(dim)]) for dim in DIMS]
                    seeds = len(block["seeds"][method])
                    lines.append(f"| {method} | {seeds} | " + " | ".join(f"{m:.2f}" for m in means) + " |")
            lines.append("")
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="folder with stsbenchmark/ and sick2014/")
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
                    run_one(setting, method, seed, args.data_dir, TEST_TASKS, mic, cache)
                    write_reports(command, folder)
    results = write_reports(command, folder)
    print((folder / "quality.md").read_text())
    print(f"total time of this invocation: {time.perf_counter() - start:.0f} s")
    print(f"total compute of all cached runs: {results['compute_seconds']:.0f} s")


if __name__ == "__main__":
    main()
