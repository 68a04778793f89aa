"""Retrieval quality at every dim: SciFact nDCG@10 and Recall@100 of exact and funnel search, per method.

For the stock model (``truncation:default``: all-MiniLM-L6-v2 truncated), its PCA (``pca:default``, fitted on the
sentences of ``--fit-data``, STS-B train by default; reported as ``pca[FIT-DATA]``) and every ``--model NAME=PATH``
(e.g. the MRL and MIC models of the head-to-head stsb-cosent recipe, seed 0), score SciFact ``--split`` (test) at d in
{8, 16, 32, 64, 128, 256, 384}: exact cosine search over the whole corpus with the d-dim prefix, and the funnel
(shortlist k' in {50, 100, 200} at d, re-ranked at full dim). Every number comes from
``mic.evaluation.evaluate_encoder`` (the code behind ``mic eval --tasks scifact``); nothing is tuned. Corpus and query
embeddings go through the embedding cache (``$MIC_CACHE_DIR``), so a rerun encodes nothing; each model's scores are
cached in ``results/retrieval-quality-runs/KEY.json`` under the one run key (:mod:`common.runs`: the model's
fingerprint, task, dims, seed, code and library versions); a model folder without ``mic_run.json`` (still training) is
skipped and listed, so the script can be rerun later.

    OMP_NUM_THREADS=1 python benchmarks/retrieval_quality.py --data-dir ../shared/data \\
        --model mrl=output/mrl-stsb --model mic=output/mic-stsb

Writes ``benchmarks/results/retrieval_quality.{json,md,png}``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from common.provenance import command_line, run_provenance
from common.report import pca_name
from common.runs import cached, new_record, run_key, write_record
from common.settings import DIMS, RESULTS
from mic.cache import default_cache_dir
from mic.data import load_task
from mic.encoders import PCA_FIT_SOURCE, encoder_fingerprint
from mic.evaluation import EvalOptions, evaluate_encoder
from mic.evaluation.retrieval import DEFAULT_SHORTLISTS
from mic.staging import write_atomic

BASELINES = {"truncation": "truncation:default", "pca": "pca:default"}
FIGURE_SHORTLIST = 100
RUN_FIELDS = ("seed", "global_step", "train_seconds", "dev_scores", "command", "git_commit", "loss_config")


def parse_models(items: list[str]) -> dict[str, Path]:
    models = {}
    for item in items:
        name, equals, path = item.partition("=")
        if not equals or not name or not path:
            raise SystemExit(f"--model takes NAME=PATH, e.g. mrl=output/mrl-stsb; got {item!r}")
        if name in BASELINES or name in models:
            raise SystemExit(f"--model name {name!r} is taken; choose another")
        models[name] = Path(path).expanduser()
    return models


def run_info(path: Path) -> dict | None:
    """The training record of a model folder (seed, steps, loss config, commit), or None while it is unfinished."""
    record = path / "mic_run.json"
    if not record.is_file():
        return None
    data = json.loads(record.read_text())
    return {name: data.get(name) for name in RUN_FIELDS}


def markdown(results: dict) -> str:
    methods = results["methods"]
    header = "| method | " + " | ".join(str(dim) for dim in DIMS) + " |"
    rule = "|---|" + "---|" * len(DIMS)

    def table(title: str, value: Callable[[dict, int], float | None]) -> list[str]:
        rows = [f"**{title}**", "", header, rule]
        for name, method in methods.items():
            cells = [value(method["scores"], dim) for dim in DIMS]
            rows.append(f"| {name} | " + " | ".join("–" if cell is None else f"{cell:.2f}" for cell in cells) + " |")
        return [*rows, ""]

    def exact(metric: str) -> Callable[[dict, int], float | None]:
        return lambda scores, dim: scores["scores"].get(str(dim), {}).get(metric)

    def funnel(size: int) -> Callable[[dict, int], float | None]:
        def value(scores: dict, dim: int) -> float | None:
            if dim == results["full_dim"]:
                return scores["scores"][str(dim)]["ndcg@10"]
            return scores["funnel"].get(str(dim), {}).get(str(size), {}).get("ndcg@10")

        return value

    lines = [
        f"# Retrieval quality at every dim: {results['task']}",
        "",
        f"{results['split']}; {results['counts']['documents']:,} documents, {results['counts']['queries']} queries. "
        "Exact: cosine over the whole corpus with the first d coordinates (re-normalised). Funnel: shortlist k' "
        "documents at d, re-rank them at full dim (at full dim it is exact search). Metrics by pytrec_eval, x100.",
        "",
        *table("nDCG@10, exact", exact("ndcg@10")),
        *[line for size in results["shortlists"] for line in table(f"nDCG@10, funnel k'={size}", funnel(size))],
        *table("Recall@100, exact", exact("recall@100")),
        "Methods:",
        "",
    ]
    for name, method in methods.items():
        run = method.get("run")
        trained = f"; trained: seed {run['seed']}, {run['global_step']} steps" if run else ""
        lines.append(f"- **{name}**: `{method['model']}`{trained}{method.get('note', '')}")
    for name, path in results["skipped"].items():
        lines.append(f"- *{name}* skipped: {path} has no mic_run.json yet (unfinished); rerun the command later")
    lines += [
        "",
        f"Command: `{results['command']}`; seed {results['seed']}; {results['provenance']['machine']}; "
        f"total {results['seconds']:.0f} s (corpus and query embeddings read from the embedding cache when present: "
        "a model's first run encodes its 5,183 documents, about 11 min on this machine).",
        "",
    ]
    return "\n".join(lines)


def plot(results: dict) -> bytes:
    """The PNG: nDCG@10 vs dim, one colour per method, exact solid and funnel (k'=100) dashed."""
    figure, axis = plt.subplots(figsize=(7.5, 4.8))
    full = results["full_dim"]
    for index, (name, method) in enumerate(results["methods"].items()):
        color = f"C{index}"
        scores = method["scores"]
        exact = [scores["scores"][str(dim)]["ndcg@10"] for dim in DIMS]
        funnel = [
            scores["scores"][str(dim)]["ndcg@10"]
            if dim == full
            else scores["funnel"][str(dim)][str(FIGURE_SHORTLIST)]["ndcg@10"]
            for dim in DIMS
        ]
        axis.plot(DIMS, exact, color=color, marker="o", label=f"{name}, exact")
        axis.plot(DIMS, funnel, color=color, marker="s", linestyle="--", label=f"{name}, funnel k'={FIGURE_SHORTLIST}")
    axis.set_xscale("log", base=2)
    axis.set_xticks(DIMS, [str(dim) for dim in DIMS])
    axis.minorticks_off()
    axis.set_xlabel("dim d of the search (prefix, log scale)")
    axis.set_ylabel("nDCG@10 x100")
    axis.set_title(f"{results['task']} test: exact search at d (solid), shortlist at d + re-rank at {full} (dashed)")
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize="small", ncol=2)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    plt.close(figure)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("MIC_DATA_DIR"))
    parser.add_argument("--task", default="scifact", help="a retrieval task: scifact or a BEIR folder")
    parser.add_argument("--split", default="test")
    parser.add_argument("--model", action="append", default=[], metavar="NAME=PATH", help="a trained model folder")
    parser.add_argument("--fit-data", default=PCA_FIT_SOURCE, help="sentences the PCA baseline is fitted on")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    args = parser.parse_args()
    models = parse_models(args.model)

    command = command_line()
    folder = args.results_dir
    spec = f"{args.task}:{args.split}"
    print(f"{command}\nseed {args.seed}; {spec}; PCA fitted on {args.fit_data}; cache {default_cache_dir()}")
    start = time.perf_counter()
    options = EvalOptions(
        data_dir=args.data_dir,
        fit_data=args.fit_data,
        batch_size=args.batch_size,
        seed=args.seed,
        show_progress_bar=True,
        command=command,
    )
    data = load_task(spec, args.data_dir)
    store = options.store()  # shared: truncation and pca encode the stock model's texts once
    baselines = {
        pca_name(args.fit_data.split(",")) if name == "pca" else name: spec for name, spec in BASELINES.items()
    }
    specs = {**baselines, **{name: str(path) for name, path in models.items() if run_info(path) is not None}}
    skipped = {name: str(path) for name, path in models.items() if name not in specs}
    methods = {}
    for name, model in specs.items():
        began = time.perf_counter()
        encoder = options.load_encoder(model, store)
        identity = {
            "encoder": encoder_fingerprint(encoder),
            "task": spec,
            "dims": DIMS,
            "shortlists": DEFAULT_SHORTLISTS,
        }
        key = run_key(identity, args.seed)
        path = folder / "retrieval-quality-runs" / f"{key}.json"
        record = cached(path, key)
        if record is None:
            result = evaluate_encoder(encoder, {spec: data}, DIMS, options=options, store=store)
            fields = {"model": model, "scores": result.tasks[spec].to_dict(), "seconds": time.perf_counter() - began}
            if name in models:
                fields["run"] = run_info(models[name])
            if encoder.projection is not None:
                fields["note"] = f"; PCA fitted on {args.fit_data} ({encoder.projection.fit_sentences} sentences)"
            record = new_record(key, command, fields)
            write_record(path, record)
        methods[name] = record
        exact = record["scores"]["scores"]
        print(f"{name}: nDCG@10 " + ", ".join(f"{dim}: {exact[str(dim)]['ndcg@10']:.2f}" for dim in DIMS))
    results = {
        "schema": "mic-bench-retrieval-quality/1",
        "task": args.task,
        "split": f"{args.task} {args.split} (qrels/{args.split}.tsv); nothing tuned",
        "source": data.source,
        "counts": {"documents": len(data.doc_ids), "queries": len(data.query_ids)},
        "dims": DIMS,
        "full_dim": max(DIMS),
        "shortlists": list(DEFAULT_SHORTLISTS),
        "pca_fit": args.fit_data,
        "methods": methods,
        "skipped": skipped,
        "seed": args.seed,
        "command": command,
        "provenance": run_provenance(command),
        "seconds": time.perf_counter() - start,
    }
    write_atomic(folder / "retrieval_quality.json", (json.dumps(results, indent=2, allow_nan=False) + "\n").encode())
    write_atomic(folder / "retrieval_quality.md", markdown(results).encode())
    write_atomic(folder / "retrieval_quality.png", plot(results))
    print(f"Wrote {folder / 'retrieval_quality.json'}, .md and .png")


if __name__ == "__main__":
    main()
