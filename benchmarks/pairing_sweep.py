"""Choose how ``scifact-corpus`` makes training pairs from documents, on SciFact's train queries only — never test.

Each pairing of :data:`mic.data.pairing.PAIRINGS` trains MRL (the base objective every method shares) at the
setting's budget, seed 0, and is scored by ``mic eval``'s nDCG@10 on ``scifact:train`` (809 train queries over the
whole corpus) at every dim; the stock model's truncation is the reference. Selection score: mean nDCG@10 at 16 and
32 dims (the dims the setting is about). The choice goes into ``benchmarks/settings/scifact-corpus.yaml`` by hand;
a test checks that the two agree. Runs are cached under ``benchmarks/results/sweep/scifact-corpus-pairing/``.

    python benchmarks/pairing_sweep.py --data-dir ../shared/data                    # every pairing (about an hour)
    python benchmarks/pairing_sweep.py --data-dir ../shared/data --runs span        # one, e.g. in a second job
    python benchmarks/pairing_sweep.py --data-dir ../shared/data --report           # the summary from the cache

writes ``benchmarks/results/pairing-sweep.{json,md}``.
"""

from __future__ import annotations

import argparse

from common.provenance import command_line, run_provenance
from common.report import record_origin_lines, record_origins, write_json_and_markdown
from common.runs import read_record
from common.settings import RESULTS, RETRIEVAL_DEV_TASKS, SELECTION_DIMS, SETTINGS, selection_score
from common.training import run_one
from mic.data.pairing import PAIRINGS
from mic.evaluation.report import markdown_table

SETTING = "scifact-corpus"
FOLDER = RESULTS / "sweep" / f"{SETTING}-pairing"
SUMMARY = RESULTS / "pairing-sweep.json"


def candidate(name: str) -> str:
    """The setting a candidate trains in: ``scifact-corpus`` with ``data.pairing`` set (``truncate``: the stock
    model, untrained)."""
    if name == "truncate":
        return SETTING
    SETTINGS[f"{SETTING}-{name}"] = SETTINGS[SETTING].with_overrides(f"data.pairing={name}")
    return f"{SETTING}-{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    names = ["truncate", *PAIRINGS]
    parser.add_argument("--runs", nargs="+", choices=names, default=names, help="the candidates to run now")
    parser.add_argument("--report", action="store_true", help="summarise the cached runs only, train nothing")
    args = parser.parse_args()
    records: dict[str, dict | None] = {}
    for name in names:
        cache = FOLDER / f"{name}.json"
        if args.report or name not in args.runs:
            records[name] = read_record(cache)
            continue
        print(f"[pairing sweep] {name}", flush=True)
        method = "truncate" if name == "truncate" else "mrl"
        records[name] = run_one(candidate(name), method, 0, args.data_dir, RETRIEVAL_DEV_TASKS, {}, cache)
    done = {name: record for name, record in records.items() if record is not None}
    trained = [name for name in PAIRINGS if name in done]
    chosen = (
        max(trained, key=lambda name: selection_score(done[name]["scores"]["scifact_train"]))
        if len(trained) == len(PAIRINGS)
        else None
    )
    dims = list(next(iter(done.values()))["scores"]["scifact_train"]) if done else []
    rows = [[name, *(f"{done[name]['scores']['scifact_train'][dim]:.2f}" for dim in dims)] for name in done]
    lines = [
        f"# Pairing sweep: {SETTING}, MRL, seed 0",
        "",
        f"nDCG@10 x100 on SciFact **train** queries (qrels/train.tsv, 809 queries, whole corpus); "
        f"selection: mean at {'/'.join(map(str, SELECTION_DIMS))} dims. Chosen: **{chosen or 'not all run yet'}**.",
        "",
        markdown_table(["pairing", *dims], rows),
        "",
        f"Command: `{command_line()}`",
        "",
        *record_origin_lines(records),
    ]
    summary = {
        "setting": SETTING,
        "method": "mrl",
        "seed": 0,
        "split": "scifact:train",
        "selection_dims": list(SELECTION_DIMS),
        "scores": {name: record["scores"]["scifact_train"] for name, record in done.items()},
        "chosen": chosen,
        "command": command_line(),
        "run_origins": record_origins(records),
        "provenance": run_provenance(command_line()),
    }
    write_json_and_markdown(SUMMARY, summary, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
