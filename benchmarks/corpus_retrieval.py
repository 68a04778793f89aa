"""Issue 24's summary: each method trained on SciFact's documents (``scifact-corpus``), against the adapter fitted on
the same corpus, on SciFact test — from the run cache only, nothing is trained.

Reads ``benchmarks/results/runs/scifact-corpus/METHOD/seed-N.json`` (written by ``benchmarks/quality.py --settings
scifact-corpus``; methods :data:`METHODS`, each where present) through :func:`common.results.collect`, so runs from
other code are listed, never averaged. Per method, mean ± std over seeds of the record's retrieval extras
(:mod:`common.retrieval_extras`): nDCG@10 and Recall@100 x100 at every dim, plain and with the adapter fitted on the
model's vectors of the corpus's documents (``stock + corpus adapter`` is the stock model's, ``MIC + adapter``
MIC's), the funnel at 32 and 64 dims, binary codes of the 128-, 256- and 384-d prefixes; and STS-B / SICK-R test
Spearman x100 at every dim (what the corpus training costs elsewhere). The ``target`` block judges issue 24's
target from these numbers.

    python benchmarks/corpus_retrieval.py

writes ``benchmarks/results/corpus-retrieval.{json,md}`` and ``corpus-retrieval.png``.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

from common.provenance import command_line, run_provenance
from common.report import TABLE_NOTES, origin_lines, write_json_and_markdown
from common.results import collect, seeds_on
from common.retrieval_extras import ADAPTER_FIT
from common.scoring import mean_std
from common.settings import DIMS, RESULTS, RETRIEVAL_DEV_TASKS, SELECTION_DIMS, TEST_SPLITS, selection_score
from mic.evaluation.figures import plot_scores_vs_dim
from mic.evaluation.report import markdown_table

SETTING = "scifact-corpus"
METHODS = ["truncate", "mrl", "mic", "mic-distill-1", "mic-sir", "mic-no-sd", "mic-no-scr"]
CANDIDATES = ["mic", "mic-distill-1", "mic-sir", "mic-no-sd", "mic-no-scr"]
"""MIC's variants in this setting (``mic``: configs/mic-corpus.yaml), chosen among on the train queries."""
DEV_SEED = "0"
"""The seed the variants are compared on (the ablations have one seed)."""
TERMS = {"self-distillation": "mic-no-sd", "SCR": "mic-no-scr"}
"""Each of MIC's terms here and the ablation that trains without it: MIC − ablation is what the term moved."""
TERM_TASKS = {
    "scifact": "SciFact test nDCG@10",
    "scifact_train": "SciFact train queries nDCG@10",
    "stsb": "STS-B test Spearman",
}
TERM_GEOMETRY = "token_correlation_mean_abs"
"""The geometry statistic SCR acts on (``mic analyze``: mean |corr| of prefix and residual in the tokens)."""
LABELS = {"truncate": "stock", "mrl": "MRL", "mic": "MIC"}
STS_TASKS = {"stsb": "STS-B test", "sickr": "SICK-R test"}
TARGET_DIMS = (16, 32)
TARGET_SEEDS = 3
TARGETS = {"mic_vs_mrl": ("mrl", "plain", 1.0), "mic_vs_stock_corpus_adapter": ("truncate", "adapter", 2.0)}
"""Issue 24's low-dim target: MIC's nDCG@10 at least this far above the method's plain or adapted vectors."""
FULL_DIM_LOSS = 0.5
"""...and MIC at full dim no more than this far below the stock model."""
COMPARISONS = {"mic_vs_mrl": "MIC − MRL", "mic_vs_stock_corpus_adapter": "MIC − (stock + corpus adapter)",
               "mic_vs_stock": "MIC − stock"}  # fmt: skip


def label(method: str, vectors: str = "plain") -> str:
    """A row's name: ``MIC``, ``mic-no-sd``, ``stock + corpus adapter``, ``MIC + adapter``."""
    name = LABELS.get(method, method)
    if vectors == "plain":
        return name
    return "stock + corpus adapter" if method == "truncate" else f"{name} + adapter"


def summary(values: Sequence[float]) -> dict[str, float | None]:
    """Mean and (with two seeds or more) standard deviation."""
    return {
        "mean": round(statistics.mean(values), 4),
        "std": round(statistics.stdev(values), 4) if len(values) > 1 else None,
    }


def per_seed(extras: Mapping[str, dict], *path: str) -> dict[str, list[float]]:
    """``{key: [value per seed]}`` of the table at ``path`` in every seed's extras (e.g. ``plain``, ``ndcg@10``)."""
    tables = []
    for record in extras.values():
        for part in path:
            record = record[part]
        tables.append(record)
    return {key: [table[key] for table in tables] for key in tables[0]}


def tables(extras: Mapping[str, Mapping[str, dict]]) -> dict:
    """Mean ± std over seeds of every method's extras, ``{method: {part: {...: {dim: summary}}}}``."""
    result: dict = {}
    for method, by_seed in extras.items():
        entry: dict = {"seeds": sorted(by_seed, key=int)}
        for vectors in ("plain", "adapter"):
            entry[vectors] = {
                metric: {dim: summary(values) for dim, values in per_seed(by_seed, vectors, metric).items()}
                for metric in ("ndcg@10", "recall@100")
            }
            entry[f"funnel_{vectors}"] = {
                dim: summary(values) for dim, values in per_seed(by_seed, "funnel", vectors).items()
            }
            entry[f"binary_{vectors}"] = {
                mode: {dim: summary(values) for dim, values in per_seed(by_seed, "binary", vectors, mode).items()}
                for mode in ("alone", "shortlist")
            }
        result[method] = entry
    return result


def judged(mic: float | None, reference: float | None, required: float) -> dict:
    """One comparison of the target: both means, MIC − reference, the required difference, and whether it is met."""
    if mic is None or reference is None:
        return {"mic": mic, "reference": reference, "difference": None, "required": required, "met": False}
    difference = round(mic - reference, 4)
    return {"mic": mic, "reference": reference, "difference": difference, "required": required,
            "met": difference >= required}  # fmt: skip


def tuned_mic(selection: Mapping, summaries: Mapping[str, dict]) -> str:
    """The MIC the target judges: the variant the dev rule chose once it has every seed, else ``mic``."""
    chosen = selection["chosen"]
    return chosen if chosen and len(summaries.get(chosen, {}).get("seeds", [])) >= TARGET_SEEDS else "mic"


def target(summaries: Mapping[str, dict], mic: str = "mic") -> dict:
    """Issue 24's target from the means: MIC (the method ``mic``: the head-to-head's MIC, or the variant the dev rule
    chose) ≥ MRL + 1.0 and ≥ stock + corpus adapter + 2.0 nDCG@10 at 16 and 32 dims, and MIC at full dim no more
    than :data:`FULL_DIM_LOSS` below the stock model; with the seeds counted."""

    def mean(method: str, vectors: str, dim: int) -> float | None:
        entry = summaries.get(method)
        return entry[vectors]["ndcg@10"][str(dim)]["mean"] if entry else None

    full = DIMS[-1]
    comparisons = {
        name: {str(dim): judged(mean(mic, "plain", dim), mean(method, vectors, dim), gain) for dim in TARGET_DIMS}
        for name, (method, vectors, gain) in TARGETS.items()
    }
    comparisons["mic_vs_stock"] = {str(full): judged(mean(mic, "plain", full), mean("truncate", "plain", full),
                                                     -FULL_DIM_LOSS)}  # fmt: skip
    seeds = {method: summaries[method]["seeds"] if method in summaries else [] for method in (mic, "mrl", "truncate")}
    return {
        "metric": "nDCG@10 x100, SciFact test, mean over seeds",
        "mic": mic,
        "comparisons": comparisons,
        "met": all(check["met"] for by_dim in comparisons.values() for check in by_dim.values()),
        "seeds": seeds,
        "complete": all(len(seeds[method]) >= TARGET_SEEDS for method in (mic, "mrl")),
    }


def dev_selection(block: Mapping[str, dict]) -> dict:
    """The dev rule (:func:`common.settings.selection_score`) over MRL and MIC's variants at :data:`DEV_SEED` on the
    train queries: each one's score, the variant it picks, and whether it is the head-to-head's ``mic``."""
    (task,) = RETRIEVAL_DEV_TASKS
    scores = {
        method: {dim: by_seed[DEV_SEED] for dim, by_seed in block["methods"][method][task].items()}
        for method in ["mrl", *CANDIDATES]
        if DEV_SEED in block["methods"].get(method, {}).get(task, {}).get(str(DIMS[-1]), {})
    }
    rule = {method: round(selection_score(by_dim), 4) for method, by_dim in scores.items()}
    ran = [method for method in CANDIDATES if method in rule]
    chosen = max(ran, key=rule.__getitem__) if ran else None
    return {
        "task": RETRIEVAL_DEV_TASKS[task],
        "seed": int(DEV_SEED),
        "selection_dims": list(SELECTION_DIMS),
        "scores": scores,
        "rule": rule,
        "chosen": chosen,
        "missing": [method for method in CANDIDATES if method not in rule],
        "chosen_is_mic": chosen == "mic",
    }


def term_effects(block: Mapping[str, dict]) -> dict:
    """What each MIC term moved at :data:`DEV_SEED`: MIC − the ablation without it, per task and dim, and in the
    token-level prefix/residual correlation SCR acts on (``{term: {task: {dim: difference}}}``)."""

    def at_seed(method: str, task: str) -> dict[str, float] | None:
        by_dim = block["methods"].get(method, {}).get(task, {})
        if not by_dim or any(DEV_SEED not in by_seed for by_seed in by_dim.values()):
            return None
        return {dim: by_seed[DEV_SEED] for dim, by_seed in by_dim.items()}

    effects: dict = {}
    for term, ablation in TERMS.items():
        entry: dict = {"ablation": ablation}
        for task in TERM_TASKS:
            mic, without = at_seed("mic", task), at_seed(ablation, task)
            if mic and without:
                entry[task] = {dim: round(mic[dim] - without[dim], 4) for dim in mic}
        geometry = block.get("geometry", {})
        if DEV_SEED in geometry.get("mic", {}) and DEV_SEED in geometry.get(ablation, {}):
            mic, without = (geometry[method][DEV_SEED]["prefixes"] for method in ("mic", ablation))
            entry[TERM_GEOMETRY] = {
                dim: round(mic[dim][TERM_GEOMETRY] - without[dim][TERM_GEOMETRY], 4)
                for dim in mic
                if mic[dim][TERM_GEOMETRY] is not None and without.get(dim, {}).get(TERM_GEOMETRY) is not None
            }
        effects[term] = entry
    return effects


def dev_lines(selection: Mapping, effects: Mapping[str, dict], judged_mic: str) -> list[str]:
    """The report's dev-selection and term sections."""
    dims = [str(dim) for dim in SELECTION_DIMS]
    title = f"MIC's variants on the train queries ({selection['task']}, seed {selection['seed']}, nDCG@10 x100)"
    rows = [
        [label(method), *(f"{by_dim[dim]:.2f}" for dim in dims), f"{selection['rule'][method]:.2f}"]
        for method, by_dim in selection["scores"].items()
    ]
    rule, chosen_method = selection["rule"], selection["chosen"]
    others = sorted((score for method, score in rule.items() if method not in ("mrl", chosen_method)), reverse=True)
    notes = [f"{rule[chosen_method] - others[0]:.2f} above the next variant"] if chosen_method and others else []
    notes += [f"not run at this code: {', '.join(selection['missing'])}"] if selection["missing"] else []
    missing = f" ({'; '.join(notes)})" if notes else ""
    chosen = label(chosen_method) if chosen_method else "none run yet"
    if chosen_method is None:
        verdict = "the target judges the head-to-head's MIC (configs/mic-corpus.yaml)."
    elif selection["chosen_is_mic"]:
        verdict = "the head-to-head's MIC is this variant."
    elif judged_mic == chosen_method:
        verdict = f"it has every seed, so the target judges it as MIC ({TARGET_SEEDS} seeds in the tables)."
    else:
        verdict = (
            f"it lacks some of the {TARGET_SEEDS} seeds, so the target judges the head-to-head's MIC "
            "(configs/mic-corpus.yaml)."
        )
    lines = [
        "",
        f"## {title}: the dev rule is the best mean at {'/'.join(dims)} dims",
        "",
        markdown_table(["model", *dims, "rule"], rows),
        "",
        f"Chosen: **{chosen}**{missing}; {verdict}",
        "",
        f"## What each term moved: MIC − the ablation without it, seed {DEV_SEED}",
        "",
    ]
    measures = {**TERM_TASKS, TERM_GEOMETRY: "mean abs. corr. prefix–residual (tokens)"}
    digits = {TERM_GEOMETRY: 4}
    rows = [
        [
            term,
            name,
            *(f"{entry[key][str(dim)]:+.{digits.get(key, 2)}f}" if str(dim) in entry[key] else "—" for dim in DIMS),
        ]
        for term, entry in effects.items()
        for key, name in measures.items()
        if key in entry
    ]
    lines.append(markdown_table(["term", "measure", *map(str, DIMS)], rows) if rows else "No ablation run yet.")
    return lines


def cell(entry: Mapping[str, float | None]) -> str:
    """``mean ± std`` of a summary, or the mean alone for one seed."""
    return f"{entry['mean']:.2f}" if entry["std"] is None else f"{entry['mean']:.2f} ± {entry['std']:.2f}"


def rows_by_dim(summaries: Mapping[str, dict], pick: str, metric: str) -> list[list[str]]:
    """Table rows ``[name, seeds, value at every dim]`` of the plain or the adapted vectors."""
    return [
        [label(method, pick), str(len(entry["seeds"])), *(cell(entry[pick][metric][str(dim)]) for dim in DIMS)]
        for method, entry in summaries.items()
    ]


def markdown(
    summaries: Mapping[str, dict],
    block: Mapping[str, dict],
    goal: dict,
    dev: tuple[dict, dict],
    command: str,
) -> str:
    """The report: targets, retrieval at every dim (plain and adapted), funnel, binary codes, STS."""
    lines = [
        f"# Trained on the corpus: {SETTING} on {TEST_SPLITS['scifact']}",
        "",
        f"Split: {TEST_SPLITS['scifact']}. Seeds: "
        + "; ".join(f"{label(method)} {', '.join(entry['seeds'])}" for method, entry in summaries.items())
        + f". Adapters: `mic.adapt.fit` default settings, seed 0, fitted on {ADAPTER_FIT}. Command: `{command}`.",
        "",
        f"## Target ({goal['metric']}; MIC = {label(goal['mic'])}): {'met' if goal['met'] else 'not met'}"
        + ("" if goal["complete"] else f" (provisional: fewer than {TARGET_SEEDS} seeds of MIC or MRL)"),
        "",
    ]
    target_rows = []
    for name, by_dim in goal["comparisons"].items():
        for dim, check in by_dim.items():
            means = ["—" if check[key] is None else f"{check[key]:.2f}" for key in ("mic", "reference")]
            difference = "—" if check["difference"] is None else f"{check['difference']:+.2f}"
            met = "yes" if check["met"] else "no"
            target_rows.append([COMPARISONS[name], dim, *means, difference, f"≥ {check['required']:+.2f}", met])
    header = ["comparison", "dim", "MIC", "reference", "difference", "required", "met"]
    lines.append(markdown_table(header, target_rows))
    lines += dev_lines(*dev, goal["mic"])
    dims = [str(dim) for dim in DIMS]
    for metric in ("ndcg@10", "recall@100"):
        lines += ["", f"## {metric} x100 at every dim (mean ± std over seeds)", ""]
        rows = rows_by_dim(summaries, "plain", metric) + rows_by_dim(summaries, "adapter", metric)
        lines.append(markdown_table(["vectors", "seeds", *dims], rows))
    funnel_dims = list(next(iter(summaries.values()))["funnel_plain"]) if summaries else []
    lines += ["", "## Funnel: k'=100 shortlist at the prefix (float32), re-ranked at full dim; nDCG@10 x100", ""]
    rows = [
        [label(method, vectors), *(cell(entry[f"funnel_{vectors}"][dim]) for dim in funnel_dims)]
        for vectors in ("plain", "adapter")
        for method, entry in summaries.items()
    ]
    lines.append(markdown_table(["vectors", *funnel_dims], rows))
    binary_dims = list(next(iter(summaries.values()))["binary_plain"]["alone"]) if summaries else []
    lines += ["", "## Binary codes: sign bits of the prefix (Hamming), alone / k'=100 shortlist re-ranked at full "
              "dim; nDCG@10 x100", ""]  # fmt: skip
    rows = [
        [label(method, vectors), mode, *(cell(entry[f"binary_{vectors}"][mode][dim]) for dim in binary_dims)]
        for vectors in ("plain", "adapter")
        for method, entry in summaries.items()
        for mode in ("alone", "shortlist")
    ]
    lines.append(markdown_table(["vectors", "search", *(f"{dim} bits" for dim in binary_dims)], rows))
    for task, name in STS_TASKS.items():
        lines += ["", f"## {name}: Spearman x100 at every dim (mean ± std over seeds)", ""]
        rows = []
        for method in METHODS:
            by_dim = block["methods"].get(method, {}).get(task)
            if by_dim:
                rows.append([label(method), str(len(seeds_on(block, method, task))),
                             *(mean_std(list(by_dim[dim].values())) for dim in dims)])  # fmt: skip
        lines.append(markdown_table(["method", "seeds", *dims], rows))
    lines += ["", *origin_lines(block.get("origins", {}), TABLE_NOTES)]
    if block.get("stale"):
        lines.append(f"**Trained with an earlier config** (not in the tables): {'; '.join(block['stale'])}.")
    if block.get("stale_extras"):
        extras = "; ".join(block["stale_extras"])
        lines.append(f"**Retrieval extras made with other parameters** (their extras not in the tables): {extras}.")
    return "\n".join(lines)


def plot(summaries: Mapping[str, dict], path: Path) -> None:
    """nDCG@10 against dim, one line per method, plain and with its corpus adapter."""
    lines = {
        label(method, vectors): {dim: entry[vectors]["ndcg@10"][str(dim)]["mean"] for dim in DIMS}
        for vectors in ("plain", "adapter")
        for method, entry in summaries.items()
    }
    plot_scores_vs_dim({f"{SETTING}: SciFact test": lines}, path, {f"{SETTING}: SciFact test": "ndcg@10 x100"})


def write_report(folder: Path, command: str) -> dict:
    """Read the cached runs under ``folder/runs`` and write ``folder/corpus-retrieval.{json,md,png}``."""
    block = collect(folder)["settings"].get(SETTING, {"methods": {}})
    extras = block.get("retrieval", {})
    summaries = tables({method: extras[method] for method in METHODS if method in extras})
    selection, effects = dev_selection(block), term_effects(block)
    goal = target(summaries, tuned_mic(selection, summaries))
    sts = {
        task: {method: {dim: summary(list(by_seed.values())) for dim, by_seed in block["methods"][method][task].items()}
               for method in METHODS if task in block["methods"].get(method, {})}
        for task in STS_TASKS
    }  # fmt: skip
    data = {
        "setting": SETTING,
        "split": TEST_SPLITS["scifact"],
        "adapter_fit": ADAPTER_FIT,
        "target": goal,
        "dev_selection": selection,
        "term_effects": effects,
        "retrieval": summaries,
        "sts": sts,
        "origins": block.get("origins", {}),
        "stale": block.get("stale", []),
        "stale_extras": block.get("stale_extras", []),
        "provenance": run_provenance(command),
    }
    text = markdown(summaries, block, goal, (selection, effects), command)
    write_json_and_markdown(folder / "corpus-retrieval.json", data, text)
    if summaries:
        plot(summaries, folder / "corpus-retrieval.png")
    print(text)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results-dir", type=Path, default=RESULTS, help="the folder holding runs/ (and the output)")
    args = parser.parse_args()
    write_report(args.results_dir, command_line())


if __name__ == "__main__":
    main()
