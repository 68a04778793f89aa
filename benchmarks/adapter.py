"""Post-hoc adapter benchmark: truncation, PCA and ``mic adapt`` (with MIC-term ablations) on frozen all-MiniLM-L6-v2,
against the head-to-head's fine-tuned MRL and MIC.

Every adapter is fitted by ``mic.adapt.fit`` on the stock model's cached embeddings of the STS-B train + SICK
train sentences and the SciFact corpus (``mic.adapt.data.fit_embeddings``, the same code path as
``mic adapt default --data stsb:train,sick:train,scifact``); never on a test split. The supervised adapter adds
CoSENT on STS-B train scores and MNRL on SciFact train qrels. Every row names its protocol per task
(:mod:`common.protocols`): on SciFact the adapters and the PCA are transductive (their fit saw the corpus's
documents, no query, no label), on STS-B and SICK-R inductive. Scores are ``mic eval``'s (its runner, on the stock
model's encodings mapped by the adapter or the PCA rotation): Spearman x100 on STS-B and SICK-R, nDCG@10 x100 of
exact search over the SciFact corpus, at every dim. MRL and MIC are the head-to-head's own ``stsb-cosent`` runs at
the adapter's seeds, read from their run records (``benchmarks/quality.py`` trains them): nothing is trained or
encoded for them here. Registry and cached fits: :mod:`common.adapters`.

    python benchmarks/adapter.py sweep --data-dir ../shared/data   # dev splits only, seed 0
    python benchmarks/adapter.py test --data-dir ../shared/data    # test splits, seeds 0-2: what is not cached, report
    python benchmarks/adapter.py report --data-dir ../shared/data  # the report from the cached fits (fits nothing)

(dev: STS-B dev, SICK trial, SciFact train queries; without ``--data-dir``, ``$MIC_DATA_DIR``.)

The report is ``results/adapter.{json,md,png}``. Each fit's scores are cached in ``results/adapter-runs/`` and its
weights in ``$MIC_CACHE_DIR/adapter-benchmark/`` (both under the fit's run key: settings, seed, code and library
versions), so both phases resume where they stopped; embeddings come from the embedding cache ($MIC_CACHE_DIR), so
only the first run encodes the fit texts (the STS test sentences of truncation and PCA are encoded each run).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch

from common.adapters import (
    FIT_DATA,
    PCA,
    SEEDS,
    SPLITS,
    SUPERVISION,
    TARGET_DIMS,
    CachedFits,
    FitContext,
    baselines,
    cached_test_fits,
    fitted,
    mean_at,
    methods,
    sidecar_seconds,
    sweep_entries,
)
from common.protocols import protocol
from common.provenance import command_line, run_provenance
from common.report import (
    FIT_NOTES,
    TABLE_NOTES,
    entry_of,
    origin_lines,
    record_origin_lines,
    record_origins,
    write_json_and_markdown,
)
from common.results import collect, seeds_on
from common.scoring import Scores, load_named, mean_std
from common.settings import DIMS, RESULTS, SETTINGS
from mic.adapt import FitSettings, fit
from mic.adapt.data import EmbeddingSource, fit_embeddings, fit_texts, source_texts, supervision_pairs
from mic.adapt.tokens import sample_texts, token_states
from mic.cache import EmbeddingStore
from mic.data import DataError, RetrievalData
from mic.data.benchmarks import resolve_data_dir
from mic.encoders import Encoder, PCAProjection, fit_pca
from mic.evaluation.figures import plot_scores_vs_dim
from mic.models import load_model, model_fingerprint

FINETUNED_SETTING = "stsb-cosent"
FINETUNED = ["mrl", "mic"]
"""The fine-tuned models compared with the adapters: the head-to-head's MRL and MIC runs of
:data:`FINETUNED_SETTING` (``benchmarks/quality.py``), at the adapter's seeds."""


def run_sweep(context: FitContext, pca: PCAProjection, data_dir: Path) -> None:
    """Both dev rounds, seed 0: ``results/adapter-sweep.{json,md}``."""
    dev = load_named(SPLITS["dev"], str(data_dir))
    rows = []
    for name, (settings, sources, token_scr) in sweep_entries().items():
        record = fitted(context, settings, sources, dev, "dev", token_scr)
        rows.append((name, record))
        mean = mean_at(record["scores"]["dev"], TARGET_DIMS)
        print(f"{name}: dev mean@8-32 {mean:.2f} ({record['fit_seconds']:.0f} s)", flush=True)
    scored = baselines(context, pca, dev)
    lines = [
        "# Adapter dev sweep (seed 0; STS-B dev, SICK trial Spearman, SciFact train-query nDCG@10)",
        "",
        f"Command: `{context.command}`. Base objective: pairwise + top-k (k 10), identity init, "
        f"{FitSettings().steps} steps of {FitSettings().batch_size} rows, Adam 1e-3 decayed linearly. First round: "
        "each row changes that base objective. Second round, from `default` on: each row changes the defaults "
        "(`mic.adapt.FitSettings()`); `sup` rows add the supervised task loss, and since SciFact's dev queries are its "
        "train queries, which they train on, their SciFact columns are not held out.",
        "",
        "| run | " + " | ".join(f"{t}@{d}" for t in SPLITS["dev"] for d in (8, 16, 32, 384)) + " | mean@8-32 | fit s |",
        "|---|" + "---|" * (4 * len(SPLITS["dev"]) + 2),
    ]
    for name, scores, seconds in [(n, s, None) for n, s in scored.items()] + [
        (n, r["scores"]["dev"], r["fit_seconds"]) for n, r in rows
    ]:
        cells = [f"{scores[t][str(d)]:.2f}" for t in SPLITS["dev"] for d in (8, 16, 32, 384)]
        fit_seconds = "" if seconds is None else f"{seconds:.0f}"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {mean_at(scores, TARGET_DIMS):.2f} | {fit_seconds} |")
    lines += ["", *record_origin_lines(dict(rows))][:-1]  # fits not from this code, if any
    data = {"baselines": scored, "runs": dict(rows), "command": context.command,
            "run_origins": record_origins(dict(rows)), "provenance": run_provenance(context.command)}  # fmt: skip
    write_json_and_markdown(RESULTS / "adapter-sweep.json", data, "\n".join(lines))
    print("\n".join(lines))


def run_timing(context: FitContext) -> None:
    """Fit the default adapter once with 2 intra-op threads (the 2 CPU cores its time budget assumes) and record
    the seconds."""
    torch.set_num_threads(2)
    adapter = fit(context.fit_data, DIMS, show_progress_bar=False, base_fingerprint=context.fingerprint)
    record = {"fit_seconds": adapter.info["fit_seconds"], "rows": len(context.fit_data),
              "settings": adapter.info["settings"], "provenance": run_provenance(context.command)}  # fmt: skip
    (RESULTS / "adapter-timing.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"default fit with 2 threads: {record['fit_seconds']:.0f} s", flush=True)


def run_test(context: FitContext, pca: PCAProjection, tasks: dict, facts: dict) -> None:
    """Fit every method on the test splits over :data:`SEEDS` (what is not cached yet), then the report."""
    for method, (settings, sources) in methods().items():
        for seed in SEEDS:
            record = fitted(context, settings.model_copy(update={"seed": seed}), sources, tasks, "test")
            print(f"{method} seed {seed}: {record['fit_seconds']:.0f} s", flush=True)
    report(context, pca, tasks, facts)


def finetuned(folder: Path) -> dict:
    """The head-to-head's :data:`FINETUNED` runs of :data:`FINETUNED_SETTING` at :data:`SEEDS`, as
    :func:`common.results.collect` reads them (runs from other code left out and named, runs without a code
    fingerprint kept for STS, named):
    ``{"scores": {M: {TASK: {DIM: [score per seed]}}}, "seeds": {M: {TASK: [seed]}},
    "origins": {ORIGIN: [entry]}, "stale": [entry]}``."""
    block = collect(folder)["settings"].get(FINETUNED_SETTING, {"methods": {}})
    scores: dict = {}
    seeds: dict = {}
    for method in FINETUNED:
        for task in SPLITS["test"]:
            chosen = [seed for seed in seeds_on(block, method, task) if int(seed) in SEEDS]
            if chosen:
                by_dim = block["methods"][method][task]
                scores.setdefault(method, {})[task] = {str(d): [by_dim[str(d)][s] for s in chosen] for d in DIMS}
                seeds.setdefault(method, {})[task] = chosen
    runs = {f"{method} seed {seed}" for method in FINETUNED for seed in SEEDS}
    origins = {kind: [entry for entry in entries if any(entry_of(entry, run) for run in runs)]
               for kind, entries in block.get("origins", {}).items()}  # fmt: skip
    stale = [entry for entry in block.get("stale", []) if entry in runs]
    return {"scores": scores, "seeds": seeds, "origins": {k: v for k, v in origins.items() if v}, "stale": stale}


def report(context: FitContext, pca: PCAProjection, tasks: dict, facts: dict) -> None:
    """The report from what is cached: truncation and PCA scored now, the adapters' cached test fits
    (:func:`common.adapters.cached_test_fits`; nothing is fitted), the head-to-head's MRL and MIC runs."""
    results: dict[str, dict[str, dict[str, list[float]]]] = {}
    seconds: dict[str, list[float]] = {}

    def add(method: str, scores: Scores) -> None:
        for task, by_dim in scores.items():
            for dim, value in by_dim.items():
                results.setdefault(method, {}).setdefault(task, {}).setdefault(dim, []).append(value)

    for method, scores in baselines(context, pca, tasks).items():
        add(method, scores)
    fits = cached_test_fits(context.fingerprint)
    for method, by_seed in fits.records.items():
        for record in by_seed.values():
            add(method, record["scores"]["test"])
            seconds.setdefault(method, []).append(record["fit_seconds"])
    tuned = finetuned(RESULTS)
    results.update(tuned["scores"])
    write_report(results, seconds, facts, fits, tuned)


def fit_sources(method: str) -> tuple[list[str], list[str]]:
    """What a row's method was fitted or trained on: (texts without labels, sources whose labels it used)."""
    if method == "truncate":
        return [], []
    if method in FINETUNED:
        return [], SETTINGS[FINETUNED_SETTING].load().data.train
    return FIT_DATA, methods()[method][1] if method in methods() else []


def row_protocol(method: str, task: str) -> str:
    """The protocol (:func:`common.protocols.protocol`) of a row's method on the task spec ``task``."""
    texts, labels = fit_sources(method)
    return protocol([*texts, *labels], task)


def fit_cell(method: str, tuned: dict, task: str) -> str:
    """The report's "fit on" cell of a row on ``task``: its fit texts, labelled sources, and for a fine-tuned model
    the runs it comes from."""
    texts, labels = fit_sources(method)
    parts = ["+".join(texts)] if texts else []
    parts += [f"labels of {'+'.join(labels)}"] if labels else []
    if method in FINETUNED:
        parts.append(f"{FINETUNED_SETTING} runs, seeds {','.join(tuned['seeds'][method][task])}")
    return "; ".join(parts) or "nothing"


def targets(results: dict, seconds: dict) -> list[tuple[str, str, bool]]:
    """(target, measured, met) rows of the adapter's targets, on test means over seeds; a target whose methods are
    not all in ``results`` is left out."""
    mean = lambda method, task, dim: statistics.mean(results[method][task][str(dim)])  # noqa: E731
    rows = []
    if "adapter-unsup" in results:
        for baseline, margin in (("truncate", 2.0), (PCA, 1.0)):
            for task in SPLITS["test"]:
                gains = [mean("adapter-unsup", task, d) - mean(baseline, task, d) for d in TARGET_DIMS]
                measured = " / ".join(f"{g:+.2f}" for g in gains)
                rows.append((f"unsup − {baseline} ≥ +{margin} at 8/16/32, {task}", measured, min(gains) >= margin))
        for task in SPLITS["test"]:
            gap = mean("adapter-unsup", task, 384) - mean("truncate", task, 384)
            rows.append((f"unsup within 0.3 of stock at 384, {task}", f"{gap:+.2f}", gap >= -0.3))
        fit_mean = statistics.mean(seconds["adapter-unsup"])
        timing = RESULTS / "adapter-timing.json"
        if timing.is_file():
            two = json.loads(timing.read_text())["fit_seconds"]
            measured = f"{two:.0f} s on 2 threads (`adapter.py timing`); {fit_mean:.0f} s mean on 1 shared thread"
            rows.append(("unsup fit ≤ 120 s on 2 cores once embeddings are cached", measured, two <= 120))
        else:
            rows.append(
                ("unsup fit ≤ 120 s once embeddings are cached", f"{fit_mean:.0f} s (1 thread)", fit_mean <= 120)
            )
    if {"adapter-sup", "mrl"} <= results.keys() and "stsb" in results["mrl"]:
        gaps = [mean("adapter-sup", "stsb", d) - mean("mrl", "stsb", d) for d in TARGET_DIMS]
        measured = " / ".join(f"{g:+.2f}" for g in gaps)
        rows.append(("sup within 1.0 of MRL at 8/16/32, stsb", measured, min(gaps) >= -1.0))
    return rows


def write_report(results: dict, seconds: dict, facts: dict, fits: CachedFits, tuned: dict) -> None:
    """``results/adapter.{json,md,png}`` from every method's test scores and fit seconds; ``facts`` holds the
    encoding seconds, the number of fit rows and the command; ``fits`` the origins and gaps of the cached fits,
    ``tuned`` the fine-tuned runs' seeds, origins and stale runs (:func:`finetuned`)."""
    encode = facts["encode_seconds"]
    protocols = {
        method: {task: row_protocol(method, spec) for task, spec in SPLITS["test"].items()} for method in results
    }
    fit_on = {method: dict(zip(("texts", "labels"), fit_sources(method), strict=True)) for method in results}
    origins = {kind: [*fits.origins.get(kind, []), *tuned["origins"].get(kind, [])] for kind in TABLE_NOTES}
    data = {
        "methods": results,
        "fit_on": fit_on,
        "protocols": protocols,
        "fit_seconds": seconds,
        "encode_seconds": encode,
        "seeds": SEEDS,
        "dims": DIMS,
        "fit_data": FIT_DATA,
        "supervision": SUPERVISION,
        "splits": SPLITS["test"],
        "defaults": FitSettings().model_dump(mode="json"),
        "finetuned": {"setting": FINETUNED_SETTING, "seeds": tuned["seeds"], "stale": tuned["stale"]},
        "origins": {kind: entries for kind, entries in origins.items() if entries},
        "not_fitted": fits.missing,
        "targets": [{"target": t, "measured": m, "met": ok} for t, m, ok in targets(results, seconds)],
        "provenance": run_provenance(facts["command"]),
    }
    lines = [
        "# `mic adapt` on frozen all-MiniLM-L6-v2",
        "",
        f"Command: `{facts['command']}`. Adapters: seeds {SEEDS}; fit on {', '.join(FIT_DATA)} "
        f"({facts['rows']} texts); supervised adds the labels of {', '.join(SUPERVISION)}. Test splits: STS-B test, "
        "SICK test (Spearman x100), SciFact test queries (nDCG@10 x100). Defaults (dev-chosen): "
        f"`{json.dumps(FitSettings().model_dump(mode='json'))}`.",
        "",
        "Each row names its protocol on each task (`benchmarks/common/protocols.py`): **inductive**, its fit saw "
        "other texts than the evaluated ones; **transductive**, it saw the evaluated corpus's documents (never a test "
        "query or label) — the adapters and the PCA on SciFact, since their fit texts include its corpus "
        "(`benchmarks/adapter_protocols.py` measures the two protocols apart). `mrl` and `mic` are the head-to-head's "
        f"own `{FINETUNED_SETTING}` runs (`benchmarks/quality.py`, `results/runs/{FINETUNED_SETTING}/`), fine-tuned "
        "on STS-B train; nothing is trained or encoded for them here.",
        "",
        "## Targets",
        "",
        "| target | measured (test, mean over seeds) | met |",
        "|---|---|---|",
    ]
    lines += [f"| {t} | {m} | {'yes' if ok else '**no**'} |" for t, m, ok in targets(results, seconds)]
    lines += ["", *origin_lines(fits.origins, FIT_NOTES), *origin_lines(tuned["origins"], TABLE_NOTES)]
    if fits.missing:
        missing = ", ".join(fits.missing)
        lines += [f"Not fitted yet (`python benchmarks/adapter.py test --data-dir DIR` fits them): {missing}.", ""]
    if tuned["stale"]:
        stale = ", ".join(tuned["stale"])
        lines += [f"Not in the tables, trained with an earlier config of {FINETUNED_SETTING}: {stale}.", ""]
    for task in SPLITS["test"]:
        lines += [
            f"## {task} test",
            "",
            "| method | protocol | fit on | " + " | ".join(map(str, DIMS)) + " |",
            "|---|---|---|" + "---|" * len(DIMS),
        ]
        for method, by_task in results.items():
            if task in by_task:
                cells = " | ".join(mean_std(by_task[task][str(d)]) for d in DIMS)
                lines.append(f"| {method} | {protocols[method][task]} | {fit_cell(method, tuned, task)} | {cells} |")
        lines.append("")
    if "adapter-unsup" in results:
        lines += [
            "## MIC-term ablations (test, mean over seeds, difference to adapter-unsup at 8 / 16 / 32)",
            "",
            "| ablation | " + " | ".join(SPLITS["test"]) + " |",
            "|---|" + "---|" * len(SPLITS["test"]),
        ]
        unsup = results["adapter-unsup"]
        for method in results:
            if method.startswith("adapter-unsup") and method != "adapter-unsup":
                cells = []
                for task in SPLITS["test"]:
                    by_dim = results[method][task]
                    deltas = [
                        statistics.mean(by_dim[str(d)]) - statistics.mean(unsup[task][str(d)]) for d in TARGET_DIMS
                    ]
                    cells.append(" / ".join(f"{x:+.2f}" for x in deltas))
                lines.append(f"| {method} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [
        "## Time",
        "",
        f"Encoding (once, stock model, cached afterwards; from the cache sidecars): "
        f"{encode['fit_texts']:.0f} s for the fit texts, {encode['test_texts']:.0f} s for the test texts. "
        "Fitting, after encoding, single thread on a shared 2-core CPU:",
        "",
        "| method | fit seconds per seed |",
        "|---|---|",
    ]
    lines += [f"| {method} | {', '.join(f'{s:.0f}' for s in values)} |" for method, values in seconds.items()]
    write_json_and_markdown(RESULTS / "adapter.json", data, "\n".join(lines))
    curves = {
        f"{task} test": {
            method: {dim: statistics.mean(by_task[task][str(dim)]) for dim in DIMS}
            for method, by_task in results.items()
            if (method == "adapter-unsup" or not method.startswith("adapter-unsup")) and task in by_task
        }
        for task in SPLITS["test"]
    }
    labels = {f"{task} test": "nDCG@10 x100" if task == "scifact" else "Spearman x100" for task in SPLITS["test"]}
    plot_scores_vs_dim(curves, RESULTS / "adapter.png", labels)
    print((RESULTS / "adapter.md").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("phase", choices=["sweep", "test", "report", "timing"])
    parser.add_argument(
        "--data-dir", default=None, help="folder with stsbenchmark/, sick2014/ and scifact/ (else $MIC_DATA_DIR)"
    )
    args = parser.parse_args()
    try:
        data_dir = resolve_data_dir(args.data_dir)
    except DataError as error:
        parser.error(str(error))
    torch.manual_seed(0)
    model = load_model("default")
    fingerprint = model_fingerprint(model)
    base = Encoder("default", model)
    embed = EmbeddingSource(base, fingerprint, show_progress_bar=True)
    fit_data = fit_embeddings(FIT_DATA, embed, data_dir)
    command = command_line()
    context = FitContext(fit_data, {}, None, base, fingerprint, EmbeddingStore(show_progress_bar=True), command)
    print(f"fit embeddings {tuple(fit_data.shape)}; seed(s) {[0] if args.phase == 'sweep' else SEEDS}", flush=True)
    if args.phase == "timing":
        run_timing(context)
        return
    if args.phase != "report":
        context.supervision = {spec: supervision_pairs(spec, embed, data_dir) for spec in SUPERVISION}
        texts = sample_texts(fit_texts(FIT_DATA, data_dir))
        context.tokens = token_states(base, texts, fingerprint=fingerprint, show_progress_bar=True)
    pca = fit_pca(fit_data)
    if args.phase == "sweep":
        run_sweep(context, pca, data_dir)
        return
    tasks = load_named(SPLITS["test"], str(data_dir))
    test_lists = [d.queries if isinstance(d, RetrievalData) else d.distinct_sentences() for d in tasks.values()]
    facts = {
        "rows": len(fit_data),
        "command": command,
        "encode_seconds": {
            "fit_texts": sidecar_seconds(fingerprint, [source_texts(spec, data_dir) for spec in FIT_DATA]),
            "test_texts": sidecar_seconds(fingerprint, test_lists),
            "cache_read_seconds_this_run": round(embed.seconds, 2),
        },
    }
    if args.phase == "test":
        run_test(context, pca, tasks, facts)
    else:
        report(context, pca, tasks, facts)


if __name__ == "__main__":
    main()
