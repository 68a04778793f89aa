"""The head-to-head: MIC vs truncation, PCA, fine-tuning, MRL and 2DMSE, with ablations, at every dim.

Settings and methods are the registry of :mod:`common.settings`; each (setting, method, seed) is trained and
scored by :func:`common.training.run_one` with the same budget for every method within a setting, MIC with the
weights the dev sweeps (``benchmarks/sweep.py``, ``benchmarks/distill_sweep.py``) chose on the dev splits only
(STS-B dev, SICK trial). Every score is ``mic eval``'s headline metric x100 at every dim: Spearman on STS-B test
and SICK-R test, nDCG@10 on SciFact test. Each finished run is cached as
``benchmarks/results/runs/SETTING/METHOD/seed-N.json`` with its run key and provenance (:mod:`common.runs`) and
reused on rerun while its config, seed, code and library versions are unchanged and it has every test task, so
the run can be done in pieces. The report averages runs from this code; runs from other code are listed apart
(stale), and runs cached before records carried their code are averaged and labelled as such on the tasks this code
reproduces (STS-B and SICK-R; :data:`common.runs.LEGACY_TASKS`).

    python benchmarks/quality.py --data-dir ../shared/data            # everything (hours on 2 CPU cores)
    python benchmarks/quality.py --data-dir ../shared/data --quick    # one seed, truncate/mrl/mic, 250 steps
    python benchmarks/quality.py --data-dir ../shared/data --report   # rebuild tables/plots from the cache

``unsup-simcse-paper`` is unsup-simcse at the paper's budget, 5 epochs; it is not run by default (hours on CPU):

    python benchmarks/quality.py --data-dir ../shared/data --settings unsup-simcse-paper --methods mrl mic mic-paper
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterable
from pathlib import Path

from common import report
from common.protocols import NONE, protocol
from common.provenance import command_line, run_provenance
from common.report import origin_lines, pca_name, replace_block, write_json_and_markdown
from common.results import collect, mean_by_dim, methods_on, mic_minus_mrl, seeds_on, shared_seeds
from common.runs import NO_FINGERPRINT, ORIGIN_LABELS, OTHER_CODE
from common.scoring import GEOMETRY_DATA, GEOMETRY_STATS, mean_std, metric_label
from common.settings import (
    DEV_TASKS,
    DIMS,
    MAIN_SETTINGS,
    METHODS,
    MULTI_SEED,
    RESULTS,
    RETRIEVAL_DEV_TASKS,
    SETTINGS,
    TEST_SPLITS,
    TEST_TASKS,
    mic_defaults,
    run_tasks,
)
from common.training import pca_fit_sources, run_cache, run_one
from mic.evaluation.figures import plot_scores_vs_dim, plot_variance_profiles
from mic.evaluation.report import markdown_table

README = report.README
README_START, README_END = "<!-- quality:start -->", "<!-- quality:end -->"
ORIGIN_NOTES = {**report.TABLE_NOTES, OTHER_CODE: "not in the tables; the next run retrains them"}


BAR_STS_TASKS, BAR_LOW_DIMS, BAR_GAIN, BAR_FULL_DIM, BAR_FULL_LOSS = ["stsb", "sickr"], [8, 16, 32], 1.0, 384, 0.3
BAR_RETRIEVAL_TASK, BAR_RETRIEVAL_LOSS = "scifact", 0.5
BAR_SEEDS = 3
BASELINES = [method for method in METHODS if method != "mrl" and not method.startswith("mic")]
"""The baselines MRL is compared with (truncation, PCA, plain fine-tuning, 2DMSE): MIC's variants are not."""


def verdict(met: bool, seeds: int) -> str:
    """``yes`` / ``**no**``, provisional (``N of 3 seeds``) until the bar's number of seeds is in."""
    answer = "yes" if met else "**no**"
    return answer if seeds >= BAR_SEEDS else f"{answer} ({seeds} of {BAR_SEEDS} seeds)"


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
    """The worst mean MIC − MRL over dims on SciFact, and whether it is within the retrieval bar; ``no shared
    SciFact seed`` when MIC and MRL share none scored on SciFact (runs without a code fingerprint keep only STS)."""
    seeds = shared_seeds(block, BAR_RETRIEVAL_TASK)
    if not seeds:
        return [setting, "0", "", "", "no shared SciFact seed"]
    means = {dim: statistics.mean(mic_minus_mrl(block, BAR_RETRIEVAL_TASK, dim)) for dim in DIMS}
    worst = min(means, key=means.__getitem__)
    met = means[worst] >= -BAR_RETRIEVAL_LOSS
    return [setting, str(len(seeds)), str(worst), f"{means[worst]:+.2f}", verdict(met, len(seeds))]


def bar_check(results: dict) -> list[str]:
    """The quality target MIC must meet to be worth its cost, cell by cell: on STS, mean over seeds of MIC − MRL ≥ +1.0
    at 8/16/32 dims and ≥ −0.3 at 384; on SciFact, mean MIC − MRL ≥ −0.5 at every dim; a verdict on fewer than 3
    shared seeds says so. Settings without both MIC and MRL are left out."""
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


def baseline_rows(setting: str, block: dict) -> list[list[str]]:
    """Per STS task and baseline of one setting: the baseline's mean minus MRL's mean at 8/16/32 dims."""
    rows = []
    for task in BAR_STS_TASKS:
        if "mrl" not in methods_on(block, task):
            continue
        mrl = mean_by_dim(block, "mrl", task)
        for method in (method for method in BASELINES if method in methods_on(block, task)):
            means = mean_by_dim(block, method, task)
            gaps = [f"{means[dim] - mrl[dim]:+.2f}" for dim in BAR_LOW_DIMS]
            rows.append([setting, task, method_label(method, setting), *gaps])
    return rows


def method_label(method: str, setting: str) -> str:
    """A method's name in the tables; the PCA baseline is named by what it was fitted on (the setting's data)."""
    return pca_name(pca_fit_sources(setting)) if method == "pca" else method


def task_table(block: dict, task: str, setting: str) -> str:
    """Mean ± std over seeds per method and dim on one task, then MIC − MRL per shared seed and its mean over them;
    the PCA baseline is named by what it was fitted on (the setting's training data)."""
    rows = []
    for method in methods_on(block, task):
        per_dim = block["methods"][method][task]
        cells = [mean_std(list(per_dim[str(dim)].values())) for dim in DIMS]
        rows.append([method_label(method, setting), ",".join(seeds_on(block, method, task)), *cells])
    if {"mic", "mrl"} <= set(methods_on(block, task)):
        per_dim = [mic_minus_mrl(block, task, dim) for dim in DIMS]
        seeds = shared_seeds(block, task)
        for i, seed in enumerate(seeds):
            rows.append([f"MIC − MRL, seed {seed}", "", *(f"{diffs[i]:+.2f}" for diffs in per_dim)])
        if len(seeds) > 1:
            rows.append(["MIC − MRL, mean", ",".join(seeds), *(f"{statistics.mean(diffs):+.2f}" for diffs in per_dim)])
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
        f"## The baselines against MRL: mean − MRL's mean at {'/'.join(map(str, BAR_LOW_DIMS))} dims on STS",
        "",
        markdown_table(
            ["setting", "task", "baseline", *map(str, BAR_LOW_DIMS)],
            [row for setting, block in results["settings"].items() for row in baseline_rows(setting, block)],
        ),
        "",
    ]
    for setting, block in results["settings"].items():
        for task in TEST_TASKS:
            if methods_on(block, task):
                lines += [
                    f"## {setting} — {task} test ({metric_label(task)})",
                    "",
                    task_table(block, task, setting),
                    "",
                ]
        lines += [protocol_line(setting), ""]
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
        lines += origin_lines(block.get("origins", {}), ORIGIN_NOTES)
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
    """The per-dim variance profile of geometry records, averaged over runs (seeds)."""
    return [statistics.mean(per_run) for per_run in zip(*(run["variance_profile"] for run in runs), strict=True)]


def plot(results: dict, folder: Path) -> None:
    """``quality-SETTING.png``: mean score against dim, one panel per test task, one line per method; a setting
    with no run in the tables (every run from other code) has no plot, and an earlier one is removed."""
    for setting, block in results["settings"].items():
        tasks = [task for task in TEST_TASKS if methods_on(block, task)]
        if not tasks:
            for name in ("quality", "geometry"):
                (folder / f"{name}-{setting}.png").unlink(missing_ok=True)
            continue
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


def readme_table(results: dict) -> str:
    """The bar check, then the mean test score per method at every dim (one table per setting and task), for the
    README; a setting with runs not from this code says how many (``quality.md`` names them)."""
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
                count = str(len(seeds_on(block, method, task)))
                rows.append([method_label(method, setting), count, *(f"{means[dim]:.2f}" for dim in DIMS)])
            lines += [f"**{setting}, {task} test** ({metric_label(task)}, mean over seeds)", ""]
            lines += [markdown_table(["method", "seeds", *map(str, DIMS)], rows), ""]
        lines += [protocol_line(setting), ""]
        for kind in (NO_FINGERPRINT, OTHER_CODE):
            count = len(block.get("origins", {}).get(kind, []))
            if count:
                runs = f"{count} run{'s' if count != 1 else ''}"
                lines += [f"*{setting}: {runs}, {ORIGIN_LABELS[kind]}, {ORIGIN_NOTES[kind]}.*", ""]
    return "\n".join(lines)


def setting_protocols(setting: str) -> dict:
    """What a setting's trained models (and its PCA) saw, and so their protocol on each test task
    (:func:`common.protocols.protocol`): ``{"fit_on": [sources], "trained": {task: protocol}}``; ``truncate`` is
    always ``none``."""
    sources = pca_fit_sources(setting)
    return {"fit_on": sources, "trained": {task: protocol(sources, spec) for task, spec in TEST_TASKS.items()}}


def protocol_line(setting: str) -> str:
    """One Markdown line naming a setting's protocols per test task (:func:`setting_protocols`)."""
    protocols = setting_protocols(setting)
    per_task = ", ".join(f"{task} {name}" for task, name in protocols["trained"].items())
    return (
        f"*{setting}: models trained (and PCA fitted) on {' + '.join(protocols['fit_on'])} — protocol per test task "
        f"(`benchmarks/common/protocols.py`): {per_task}; truncate {NONE}.*"
    )


def write_reports(command: str, folder: Path | None = None) -> dict:
    """quality.{json,md} and the plots from the cache under ``folder`` (default benchmarks/results); the README
    table is regenerated only from the default folder."""
    folder = folder or RESULTS
    results = collect(folder)
    results["provenance"] = run_provenance(command)
    results["dims"] = DIMS
    results["splits"] = TEST_SPLITS
    results["protocols"] = {setting: setting_protocols(setting) for setting in results["settings"]}
    write_json_and_markdown(folder / "quality.json", results, markdown(results, command))
    plot(results, folder)
    if folder == RESULTS:
        replace_block(README, README_START, README_END, readme_table(results))
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
    command = command_line()
    if args.quick:
        args.settings, args.methods, args.seeds = ["unsup-simcse-quick"], ["truncate", "mrl", "mic"], [0]
    folder = args.results_dir
    print(f"command: {command}\nseeds: {args.seeds} (one seed, the first, for {sorted(set(METHODS) - MULTI_SEED)})")
    dev = ", ".join([*DEV_TASKS.values(), *(f"{spec} for retrieval settings" for spec in RETRIEVAL_DEV_TASKS.values())])
    print(f"scored on: {', '.join(TEST_SPLITS.values())}; MIC tuned on dev only ({dev})")
    start = time.perf_counter()
    if not args.report:
        for setting in args.settings:
            mic, tasks = mic_defaults(setting), run_tasks(setting)
            for method in args.methods:
                seeds = args.seeds if method in MULTI_SEED else args.seeds[:1]
                for seed in seeds:
                    cache = run_cache(folder, setting, method, seed)
                    print(f"[{setting}] {method} seed {seed}", flush=True)
                    run_one(setting, method, seed, args.data_dir, tasks, mic, cache, analyze=True,
                            extras=SETTINGS[setting].retrieval_extras)  # fmt: skip
                    write_reports(command, folder)
    results = write_reports(command, folder)
    print((folder / "quality.md").read_text())
    print(f"total time of this invocation: {time.perf_counter() - start:.0f} s")
    print(f"total compute of all cached runs: {results['compute_seconds']:.0f} s")


if __name__ == "__main__":
    main()
