"""Post-hoc adapter benchmark: truncation, PCA and ``mic adapt`` (with MIC-term ablations) on frozen all-MiniLM-L6-v2.

Every adapter is fitted by ``mic.adapt.fit`` on the stock model's cached embeddings of the STS-B train + SICK
train sentences and the SciFact corpus (``mic.adapt.data.fit_embeddings``, the same code path as
``mic adapt default --data stsb:train,sick:train,scifact``); never on a test split. The supervised adapter adds
CoSENT on STS-B train scores and MNRL on SciFact train qrels. Scores: Spearman x100 of prefix cosines on STS-B
and SICK-R (``mic.evaluation.sts.sts_scores``), nDCG@10 x100 of exact search over the SciFact corpus
(``mic.evaluation.retrieval.retrieval_scores``), at every dim.

    python benchmarks/adapter.py sweep   # dev only (STS-B dev, SICK trial, SciFact train queries), seed 0
    python benchmarks/adapter.py test    # test splits, seeds 0-2; writes results/adapter.{json,md,png}

Each fit's scores are cached in ``results/adapter-runs/`` and its weights in
``$MIC_CACHE_DIR/adapter-benchmark/`` (both keyed by its settings), so both phases resume where they
stopped; embeddings come from the embedding cache ($MIC_CACHE_DIR), so only the first run encodes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from mic.adapt import Adapter, FitSettings, fit
from mic.adapt.data import EmbeddingSource, fit_embeddings, fit_texts, supervision_pairs
from mic.adapt.fit import PairSupervision
from mic.adapt.tokens import TokenStates, sample_texts, token_states
from mic.cache import default_cache_dir, embedding_entry
from mic.data import load_scored_pairs
from mic.data.beir import load_beir
from mic.dims import default_dims
from mic.encoders import Encoder, fit_pca
from mic.evaluation.figures import plot_scores_vs_dim
from mic.evaluation.retrieval import retrieval_scores
from mic.evaluation.sts import sts_scores
from mic.models import load_model, model_fingerprint
from mic.provenance import provenance

RESULTS = Path(__file__).parent / "results"
RUNS = RESULTS / "adapter-runs"
DIMS = default_dims(384)  # the default model (all-MiniLM-L6-v2) is 384-dim
TARGET_DIMS = [8, 16, 32]
SEEDS = [0, 1, 2]
FIT_DATA = ["stsb:train", "sick:train", "scifact"]
SUPERVISION = ["stsb:train", "scifact:train"]
SPLITS = {
    "dev": {"stsb": "stsb:dev", "sickr": "sick:trial", "scifact": "scifact:train"},
    "test": {"stsb": "stsb:test", "sickr": "sick:test", "scifact": "scifact:test"},
}
MIC_TERMS = {"distill": 0.1, "sir": 0.01, "scr": 1.0}
"""Each MIC term's weight when an ablation switches it on (the dev sweep's value), else it is switched off."""
SHORT = {"batch_size": 256, "steps": 500}
SWEEP: dict[str, dict[str, object]] = {
    "base": {},
    "init=pca": {"init": "pca"},
    "pairwise-only": {"topk": 0.0},
    "steps=2000": {"steps": 2000},
    "topk_k=30": {"topk_k": 30},
    "residual-layer": {"residual_layer": True},
    "+distill=0.1": {"distill": 0.1},
    "+sir=0.01": {"sir": 0.01},
    "+scr=1,tol=0": {"scr": 1.0, "scr_tolerance": 0.0},
    "base (256x500)": SHORT,
    "+distill=1 (256x500)": {**SHORT, "distill": 1.0},
    "+sir=0.1 (256x500)": {**SHORT, "sir": 0.1},
    "+scr=1 (256x500)": {**SHORT, "scr": 1.0},
}
"""Dev sweep, seed 0: each entry overrides the base objective (pairwise + top-k, identity init)."""
SWEEP_BASE = {"init": "identity", "distill": 0.0, "sir": 0.0, "scr": 0.0}
AROUND_DEFAULT: dict[str, dict[str, object]] = {
    "default": {},
    "default, distill=0.03": {"distill": 0.03},
    "default, distill_temperature=0.1": {"distill_temperature": 0.1},
    "default, topk_k=30": {"topk_k": 30},
    "default, steps=2000": {"steps": 2000},
    "default, learning_rate=3e-3": {"learning_rate": 3e-3},
    "default, pairwise=3": {"pairwise": 3.0},
    "default, +scr=1 (token)": {"scr": 1.0},
    "default, +scr=1 (sentence)": {"scr": 1.0, "scr_form": "sentence"},
    "sup, task=3": {"supervision": SUPERVISION, "task": 3.0},
    "sup, task=1": {"supervision": SUPERVISION, "task": 1.0},
    "sup, task=1, teacher=adapted": {"supervision": SUPERVISION, "task": 1.0, "teacher": "adapted"},
    "sup, task=0.1": {"supervision": SUPERVISION, "task": 0.1},
    "sup, task=0.03": {"supervision": SUPERVISION, "task": 0.03},
    "sup, task=0.01": {"supervision": SUPERVISION, "task": 0.01},
    "sup on stsb:train only, task=1": {"supervision": ["stsb:train"], "task": 1.0},
    "sup on stsb:train only, task=1, pair_batch_size=256": {
        "supervision": ["stsb:train"],
        "task": 1.0,
        "pair_batch_size": 256,
    },
    "sup on stsb:train only, task=0.03": {"supervision": ["stsb:train"], "task": 0.03},
}
"""Second dev round, seed 0: each entry overrides the defaults (``FitSettings()``); ``supervision`` adds the task
loss on those sources; SCR is token-level unless ``scr_form`` is ``sentence`` (the first round's was
sentence-level). SciFact's dev queries are its train queries, which the supervised entries train on: their SciFact
dev score is not a held-out number, so they are compared on STS-B dev and SICK trial."""
KEY_NEW_FIELDS = {"teacher": "frozen"}
"""Fields added after the first cached runs: left out of the run key at these values, so those runs stay valid."""
FINETUNED = {"mrl": Path("output/mrl-stsb"), "mic": Path("output/mic-stsb")}
"""Where ``mic train configs/{mrl,mic}-stsb.yaml`` writes the head-to-head models (override with --mrl / --mic)."""

Scores = dict[str, dict[str, float]]
"""``{task: {dim (str): score x100}}``."""


@dataclass
class StsTask:
    first: Tensor
    second: Tensor
    gold: list[float]


@dataclass
class RetrievalTask:
    queries: Tensor
    documents: Tensor
    query_ids: list[str]
    doc_ids: list[str]
    qrels: dict[str, dict[str, int]]


def load_tasks(
    split: str, embed: EmbeddingSource, names: list[str] | None = None
) -> dict[str, StsTask | RetrievalTask]:
    """The split's tasks (or those in ``names``) with their full-dim embeddings (each text embedded once, cached)."""
    tasks: dict[str, StsTask | RetrievalTask] = {}
    for name, spec in SPLITS[split].items():
        if names is not None and name not in names:
            continue
        if name == "scifact":
            data = load_beir(spec)
            tasks[name] = RetrievalTask(
                embed(data.queries), embed(data.documents), data.query_ids, data.doc_ids, data.qrels
            )
            continue
        pairs = load_scored_pairs(spec)
        unique = pairs.distinct_sentences()
        row = {sentence: index for index, sentence in enumerate(unique)}
        embeddings = embed(unique)
        tasks[name] = StsTask(
            embeddings[[row[s] for s in pairs.sentences1]], embeddings[[row[s] for s in pairs.sentences2]], pairs.scores
        )
    return tasks


def score(tasks: dict[str, StsTask | RetrievalTask], transform: Callable[[Tensor], Tensor]) -> Scores:
    """Every task at every dim after ``transform`` (the adapter, the PCA rotation or the identity)."""
    scores: Scores = {}
    for name, task in tasks.items():
        if isinstance(task, StsTask):
            values = sts_scores(transform(task.first), transform(task.second), task.gold, DIMS)
            scores[name] = {str(dim): round(values[dim]["spearman"], 4) for dim in DIMS}
        else:
            exact, _ = retrieval_scores(
                transform(task.queries).numpy(),
                transform(task.documents).numpy(),
                task.query_ids,
                task.doc_ids,
                task.qrels,
                DIMS,
                shortlists=(),
            )
            scores[name] = {str(dim): round(exact[dim]["ndcg@10"], 4) for dim in DIMS}
    return scores


def settings_key(settings: FitSettings, supervision: Sequence[str], token_scr: bool = False) -> str:
    fields = settings.model_dump(mode="json")
    for name, value in KEY_NEW_FIELDS.items():
        if fields[name] == value:
            del fields[name]
    if not supervision:  # the task weight does nothing unsupervised; those runs were keyed at its old default, 1
        fields["task"] = 1.0
    if token_scr and settings.scr > 0:  # runs cached before token-level SCR existed used the sentence form
        fields["scr_form"] = "token"
    key: dict[str, object] = {"fit": fields, "supervised": bool(supervision)}
    if supervision and list(supervision) != SUPERVISION:  # runs on SUPERVISION were cached before this choice
        key["supervision"] = list(supervision)
    text = json.dumps(key, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def fitted(
    settings: FitSettings,
    sources: Sequence[str],
    fit_data: Tensor,
    supervision: dict[str, PairSupervision],
    tasks: dict,
    split: str,
    base_fingerprint: str,
    tokens: TokenStates | None = None,
) -> dict[str, object]:
    """Fit (or read the cached record of) one adapter and score it on ``split``; SCR is token-level with ``tokens``."""
    key = settings_key(settings, sources, tokens is not None)
    record_path = RUNS / f"{key}.json"
    record = json.loads(record_path.read_text()) if record_path.is_file() else None
    if record is None or split not in record["scores"]:
        adapter_path = default_cache_dir() / "adapter-benchmark" / key  # weights stay out of the repo
        if (adapter_path / "adapter.json").is_file():
            adapter = Adapter.load(adapter_path)
        else:
            adapter = fit(
                fit_data,
                DIMS,
                [supervision[spec] for spec in sources],
                tokens=tokens,
                base_model="default",
                base_fingerprint=base_fingerprint,
                show_progress_bar=False,
                **settings.model_dump(),
            )
            adapter.save(adapter_path)
        record = record or {
            "settings": settings.model_dump(mode="json"),
            "supervision": list(sources),
            "fit_seconds": adapter.info["fit_seconds"],
            "final_terms": adapter.info["final_terms"],
            "scr_form": adapter.info.get("scr_form"),
            "scores": {},
        }
        record["scores"][split] = score(tasks, adapter.transform)
        RUNS.mkdir(parents=True, exist_ok=True)
        record_path.write_text(json.dumps(record, indent=2) + "\n")
    return record


def mean_at(scores: Scores, dims: list[int]) -> float:
    return statistics.mean(scores[task][str(dim)] for task in scores for dim in dims)


def sweep_entries() -> dict[str, tuple[FitSettings, bool, bool]]:
    """Both dev rounds as ``{name: (settings, supervision sources, token-level SCR)}``, seed 0."""
    entries = {name: (FitSettings(**{**SWEEP_BASE, **o, "seed": 0}), [], False) for name, o in SWEEP.items()}
    for name, overrides in AROUND_DEFAULT.items():
        fields = {key: value for key, value in overrides.items() if key not in ("supervision", "scr_form")}
        token_scr = overrides.get("scr_form") != "sentence"
        entries[name] = (FitSettings(**fields, seed=0), list(overrides.get("supervision", [])), token_scr)
    return entries


def run_sweep(context: dict) -> None:
    rows = []
    for name, (settings, sources, token_scr) in sweep_entries().items():
        record = fitted(
            settings,
            sources,
            context["fit"],
            context["supervision"],
            context["dev"],
            "dev",
            context["fingerprint"],
            context["tokens"] if token_scr else None,
        )
        rows.append((name, record))
        print(
            f"{name}: dev mean@8-32 {mean_at(record['scores']['dev'], TARGET_DIMS):.2f} "
            f"({record['fit_seconds']:.0f} s)",
            flush=True,
        )
    baselines = {"truncate": score(context["dev"], lambda x: x), "pca": score(context["dev"], context["pca"].apply)}
    lines = [
        "# Adapter dev sweep (seed 0; STS-B dev, SICK trial Spearman, SciFact train-query nDCG@10)",
        "",
        f"Command: `{context['command']}`. Base objective: pairwise + top-k (k 10), identity init, "
        f"{FitSettings().steps} steps of {FitSettings().batch_size} rows, Adam 1e-3 decayed linearly. First round: "
        "each row changes that base objective. Second round, from `default` on: each row changes the defaults "
        "(`mic.adapt.FitSettings()`); `sup` rows add the supervised task loss, and since SciFact's dev queries are its "
        "train queries, which they train on, their SciFact columns are not held out.",
        "",
        "| run | " + " | ".join(f"{t}@{d}" for t in SPLITS["dev"] for d in (8, 16, 32, 384)) + " | mean@8-32 | fit s |",
        "|---|" + "---|" * (4 * len(SPLITS["dev"]) + 2),
    ]
    for name, scores, seconds in [(n, s, None) for n, s in baselines.items()] + [
        (n, r["scores"]["dev"], r["fit_seconds"]) for n, r in rows
    ]:
        cells = [f"{scores[t][str(d)]:.2f}" for t in SPLITS["dev"] for d in (8, 16, 32, 384)]
        lines.append(
            f"| {name} | " + " | ".join(cells) + f" | {mean_at(scores, TARGET_DIMS):.2f} | "
            f"{'' if seconds is None else f'{seconds:.0f}'} |"
        )
    (RESULTS / "adapter-sweep.md").write_text("\n".join(lines) + "\n")
    data = {"baselines": baselines, "runs": {n: r for n, r in rows}, "command": context["command"]}
    (RESULTS / "adapter-sweep.json").write_text(json.dumps(data, indent=2) + "\n")
    print("\n".join(lines))


def run_timing(context: dict) -> None:
    """Fit the default adapter once with 2 intra-op threads (the 2 CPU cores its time budget assumes) and record
    the seconds."""
    torch.set_num_threads(2)
    adapter = fit(context["fit"], DIMS, show_progress_bar=False, base_fingerprint=context["fingerprint"])
    record = {"threads": 2, "fit_seconds": adapter.info["fit_seconds"], "rows": context["rows"],
              "settings": adapter.info["settings"], **provenance(context["command"], 0)}  # fmt: skip
    (RESULTS / "adapter-timing.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"default fit with 2 threads: {record['fit_seconds']:.0f} s", flush=True)


def methods() -> dict[str, tuple[FitSettings, list[str]]]:
    """The adapter methods of the test phase as ``{name: (settings, supervision sources)}``: the defaults,
    supervised, and each MIC term toggled."""
    default = FitSettings()
    entries = {"adapter-unsup": (default, []), "adapter-sup": (default, SUPERVISION)}
    for term, weight in MIC_TERMS.items():
        on = getattr(default, term) > 0
        name = f"adapter-unsup-no-{term}" if on else f"adapter-unsup+{term}"
        entries[name] = (default.model_copy(update={term: 0.0 if on else weight}), [])
    return entries


def run_test(context: dict, finetuned: dict[str, Path], finetuned_tasks: list[str]) -> None:
    tasks = context["test"]
    results: dict[str, dict[str, dict[str, list[float]]]] = {}
    seconds: dict[str, list[float]] = {}

    def add(method: str, scores: Scores) -> None:
        for task, by_dim in scores.items():
            for dim, value in by_dim.items():
                results.setdefault(method, {}).setdefault(task, {}).setdefault(dim, []).append(value)

    add("truncate", score(tasks, lambda x: x))
    add("pca", score(tasks, context["pca"].apply))
    for method, (settings, sources) in methods().items():
        for seed in SEEDS:
            record = fitted(
                settings.model_copy(update={"seed": seed}),
                sources,
                context["fit"],
                context["supervision"],
                tasks,
                "test",
                context["fingerprint"],
                context["tokens"],
            )
            add(method, record["scores"]["test"])
            seconds.setdefault(method, []).append(record["fit_seconds"])
            print(f"{method} seed {seed}: {record['fit_seconds']:.0f} s", flush=True)
    missing = {}
    for method, path in finetuned.items():
        if not (path / "mic_run.json").is_file():
            missing[method] = f"{path} has no mic_run.json (not trained yet)"
            continue
        model = load_model(str(path))
        embed = EmbeddingSource(Encoder(str(path), model), model_fingerprint(model), show_progress_bar=False)
        add(method, score(load_tasks("test", embed, finetuned_tasks), lambda x: x))
        skipped = [task for task in SPLITS["test"] if task not in finetuned_tasks]
        if skipped:
            missing[f"{method} on {', '.join(skipped)}"] = "not run (--finetuned-tasks)"
    write_report(results, seconds, context, missing, finetuned)


def summary(values: list[float]) -> str:
    mean = statistics.mean(values)
    return f"{mean:.2f}" if len(values) == 1 else f"{mean:.2f} ± {statistics.stdev(values):.2f}"


def targets(results: dict, seconds: dict) -> list[tuple[str, str, bool]]:
    """(target, measured, met) rows of the adapter's targets, on test means over seeds."""
    mean = lambda method, task, dim: statistics.mean(results[method][task][str(dim)])  # noqa: E731
    rows = []
    for baseline, margin in (("truncate", 2.0), ("pca", 1.0)):
        for task in SPLITS["test"]:
            gains = [mean("adapter-unsup", task, d) - mean(baseline, task, d) for d in TARGET_DIMS]
            rows.append(
                (
                    f"unsup − {baseline} ≥ +{margin} at 8/16/32, {task}",
                    " / ".join(f"{g:+.2f}" for g in gains),
                    min(gains) >= margin,
                )
            )
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
        rows.append(("unsup fit ≤ 120 s once embeddings are cached", f"{fit_mean:.0f} s (1 thread)", fit_mean <= 120))
    if "mrl" in results:
        gaps = [mean("adapter-sup", "stsb", d) - mean("mrl", "stsb", d) for d in TARGET_DIMS]
        rows.append(
            ("sup within 1.0 of MRL at 8/16/32, stsb", " / ".join(f"{g:+.2f}" for g in gaps), min(gaps) >= -1.0)
        )
    return rows


def write_report(results: dict, seconds: dict, context: dict, missing: dict, finetuned: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    encode = context["encode_seconds"]
    data = {
        "methods": results,
        "fit_seconds": seconds,
        "encode_seconds": encode,
        "seeds": SEEDS,
        "dims": DIMS,
        "fit_data": FIT_DATA,
        "supervision": SUPERVISION,
        "splits": SPLITS["test"],
        "defaults": FitSettings().model_dump(mode="json"),
        "finetuned": {method: str(path) for method, path in finetuned.items()},
        "finetuned_missing": missing,
        "targets": [{"target": t, "measured": m, "met": ok} for t, m, ok in targets(results, seconds)],
        **provenance(context["command"], 0),
    }
    (RESULTS / "adapter.json").write_text(json.dumps(data, indent=2, allow_nan=False) + "\n")

    lines = [
        "# `mic adapt` on frozen all-MiniLM-L6-v2",
        "",
        f"Command: `{context['command']}`. Adapters: seeds {SEEDS}; fit on {', '.join(FIT_DATA)} "
        f"({context['rows']} texts); supervised adds {', '.join(SUPERVISION)}. Test splits: STS-B test, "
        "SICK test (Spearman x100), SciFact test queries (nDCG@10 x100). Defaults (dev-chosen): "
        f"`{json.dumps(FitSettings().model_dump(mode='json'))}`.",
        "",
        "## Targets",
        "",
        "| target | measured (test, mean over seeds) | met |",
        "|---|---|---|",
    ]
    lines += [f"| {t} | {m} | {'yes' if ok else '**no**'} |" for t, m, ok in targets(results, seconds)]
    if missing:
        lines += ["", "Not evaluated: " + "; ".join(f"{k}: {v}" for k, v in missing.items()) + "."]
    for task in SPLITS["test"]:
        lines += [
            "",
            f"## {task} test",
            "",
            "| method | " + " | ".join(map(str, DIMS)) + " |",
            "|---|" + "---|" * len(DIMS),
        ]
        for method, by_task in results.items():
            if task in by_task:
                lines.append(f"| {method} | " + " | ".join(summary(by_task[task][str(d)]) for d in DIMS) + " |")
    lines += [
        "",
        "## MIC-term ablations (test, mean over seeds, difference to adapter-unsup at 8 / 16 / 32)",
        "",
        "| ablation | " + " | ".join(SPLITS["test"]) + " |",
        "|---|" + "---|" * len(SPLITS["test"]),
    ]
    for method in results:
        if method.startswith("adapter-unsup") and method != "adapter-unsup":
            cells = []
            for task in SPLITS["test"]:
                deltas = [
                    statistics.mean(results[method][task][str(d)])
                    - statistics.mean(results["adapter-unsup"][task][str(d)])
                    for d in TARGET_DIMS
                ]
                cells.append(" / ".join(f"{x:+.2f}" for x in deltas))
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines += [
        "",
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
    (RESULTS / "adapter.md").write_text("\n".join(lines) + "\n")

    curves = {
        f"{task} test": {
            method: {dim: statistics.mean(by_task[task][str(dim)]) for dim in DIMS}
            for method, by_task in results.items()
            if "+" not in method and "-no-" not in method and task in by_task
        }
        for task in SPLITS["test"]
    }
    labels = {f"{task} test": "nDCG@10 x100" if task == "scifact" else "Spearman x100" for task in SPLITS["test"]}
    plot_scores_vs_dim(curves, RESULTS / "adapter.png", labels)
    print((RESULTS / "adapter.md").read_text())


def sidecar_seconds(fingerprint: str, text_lists: list[list[str]]) -> float:
    """Encoding seconds the cache recorded when these lists were first embedded (0 for a list it lacks)."""
    total = 0.0
    for texts in text_lists:
        sidecar = embedding_entry(fingerprint, texts).with_suffix(".json")
        if sidecar.is_file():
            total += json.loads(sidecar.read_text()).get("encode_seconds", 0.0)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("phase", choices=["sweep", "test", "timing"])
    parser.add_argument("--mrl", type=Path, default=FINETUNED["mrl"], help="fine-tuned MRL model folder")
    parser.add_argument("--mic", type=Path, default=FINETUNED["mic"], help="fine-tuned MIC model folder")
    parser.add_argument(
        "--finetuned-tasks", default="stsb,sickr,scifact", help="test tasks for the fine-tuned models (comma-separated)"
    )
    args = parser.parse_args()
    torch.manual_seed(0)
    model = load_model("default")
    fingerprint = model_fingerprint(model)
    embed = EmbeddingSource(Encoder("default", model), fingerprint, show_progress_bar=True)
    fit_data = fit_embeddings(FIT_DATA, embed)
    context: dict = {
        "fit": fit_data,
        "fingerprint": fingerprint,
        "pca": fit_pca(fit_data),
        "rows": len(fit_data),
        "command": shlex.join([sys.executable.rsplit("/", 1)[-1], *sys.argv]),
    }
    print(f"fit embeddings {tuple(fit_data.shape)}; seed(s) {SEEDS if args.phase == 'test' else [0]}", flush=True)
    if args.phase == "timing":
        run_timing(context)
        return
    context["supervision"] = {spec: supervision_pairs(spec, embed) for spec in SUPERVISION}
    context["tokens"] = token_states(
        embed.encoder, sample_texts(fit_texts(FIT_DATA)), fingerprint=fingerprint, show_progress_bar=True
    )
    if args.phase == "sweep":
        context["dev"] = load_tasks("dev", embed)
        run_sweep(context)
        return
    start = time.perf_counter()
    context["test"] = load_tasks("test", embed)
    from mic.adapt.data import source_texts

    test_lists = []
    for name, spec in SPLITS["test"].items():
        if name == "scifact":
            test_lists.append(load_beir(spec).queries)
        else:
            pairs = load_scored_pairs(spec)
            test_lists.append(pairs.distinct_sentences())
    context["encode_seconds"] = {
        "fit_texts": sidecar_seconds(fingerprint, [source_texts(spec) for spec in FIT_DATA]),
        "test_texts": sidecar_seconds(fingerprint, test_lists),
        "cache_read_seconds_this_run": round(embed.seconds, 2),
    }
    print(f"test tasks ready in {time.perf_counter() - start:.0f} s", flush=True)
    run_test(context, {"mrl": args.mrl, "mic": args.mic}, args.finetuned_tasks.split(","))


if __name__ == "__main__":
    main()
