"""How far one head-to-head run's scores move with the CPU thread count (issue 23).

The same (setting, method, seed) is trained and scored at each count of ``--threads``.

A rerun at the same thread count reproduces a run's scores (``tests/training/test_recipe.py``); across counts CPU
sums are split differently, so the weights' last bits move and training drifts from there. Each run goes through
the head-to-head's :func:`common.training.run_one` (the config, tasks and run key of ``benchmarks/quality.py``) with
every thread pool of the process at its count, training and scoring alike (:func:`thread_count`), recorded as
``threads`` in the record's provenance. Each count has its own run cache,
``benchmarks/results/thread-spread/threads-N/runs/SETTING/METHOD/seed-S.json``, reused on rerun under the same run
key; the head-to-head's own record of the run (``results/runs/...``) starts a count's cache only if it was recorded
at that count.

    python benchmarks/thread_spread.py --data-dir ../shared/data   # scifact-corpus, mrl, seed 0 at 1 and 2 threads

(about 11 min per thread count on 2 CPU cores; none for a count the head-to-head's record stands for) writes
``benchmarks/results/thread-spread.{json,md}``: every task's score at every dim per thread count, its spread
(max − min) and the largest spread.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import torch
from threadpoolctl import threadpool_limits

from common.provenance import command_line, run_provenance
from common.report import write_json_and_markdown
from common.runs import commit_of, read_record, write_record
from common.settings import METHODS, RESULTS, SETTINGS, TEST_SPLITS, mic_defaults, run_tasks
from common.training import run_cache, run_one
from mic.evaluation.report import markdown_table

NAME = "thread-spread"


@contextmanager
def thread_count(count: int) -> Iterator[None]:
    """Every thread pool of this process at ``count`` threads, restored after: torch's (``torch.set_num_threads``,
    which also reaches an MKL linked into torch) and, through threadpoolctl, every BLAS and OpenMP library loaded
    (numpy's and FAISS's OpenBLAS, FAISS's and torch's OpenMP)."""
    before = torch.get_num_threads()
    with threadpool_limits(limits=count):
        torch.set_num_threads(count)
        try:
            yield
        finally:
            torch.set_num_threads(before)


def count_cache(folder: Path, count: int, setting: str, method: str, seed: int) -> Path:
    """Where the run at ``count`` threads is cached: its own run cache, apart from the head-to-head's."""
    return run_cache(folder / NAME / f"threads-{count}", setting, method, seed)


def recorded_threads(record: Mapping[str, object]) -> int | None:
    """The thread count a record's provenance says it ran at (None when it does not say)."""
    provenance = record.get("provenance")
    return provenance.get("threads") if isinstance(provenance, Mapping) else None


def run_at(folder: Path, count: int, setting: str, method: str, seed: int, data_dir: str) -> dict:
    """The run of (setting, method, seed) at ``count`` threads, from its cache or trained and scored now; the
    head-to-head's record of it seeds an empty cache when recorded at ``count`` (``run_one`` then reuses it only
    under today's run key, like any cached record)."""
    cache = count_cache(folder, count, setting, method, seed)
    head_to_head = read_record(run_cache(folder, setting, method, seed))
    if not cache.is_file() and head_to_head is not None and recorded_threads(head_to_head) == count:
        write_record(cache, head_to_head)
    print(f"[{NAME}] {setting} {method} seed {seed} at {count} thread(s)", flush=True)
    with thread_count(count):
        return run_one(setting, method, seed, data_dir, run_tasks(setting), mic_defaults(setting), cache,
                       extras=SETTINGS[setting].retrieval_extras)  # fmt: skip


def spreads(records: Mapping[int, Mapping]) -> dict:
    """``{task: {dim: {"scores": {count: score}, "spread": max − min}}}`` over the tasks every record scored."""
    first = records[min(records)]["scores"]
    table: dict = {}
    for task in [task for task in first if all(task in record["scores"] for record in records.values())]:
        for dim in first[task]:
            scores = {str(count): record["scores"][task][dim] for count, record in records.items()}
            entry = {"scores": scores, "spread": round(max(scores.values()) - min(scores.values()), 4)}
            table.setdefault(task, {})[dim] = entry
    return table


def largest(table: Mapping[str, Mapping[str, Mapping]]) -> dict:
    """The largest spread of :func:`spreads` and where it is."""
    task, dim = max(((t, d) for t in table for d in table[t]), key=lambda at: table[at[0]][at[1]]["spread"])
    return {"spread": table[task][dim]["spread"], "task": task, "dim": dim}


def markdown(data: Mapping, command: str) -> str:
    """The report: each task's scores per thread count and their spread at every dim."""
    counts = [str(count) for count in data["threads"]]
    top = data["max_spread"]
    runs = "; ".join(
        f"{count} thread(s): commit {commit_of(run, 7)}, recorded threads {run['provenance']['threads']}, "
        f"{run['provenance']['machine']}, `{run['cache']}`"
        for count, run in data["runs"].items()
    )
    lines = [
        f"# Thread spread: {data['setting']}, {data['method']}, seed {data['seed']}, at {' / '.join(counts)} threads",
        "",
        "Each run trained and scored by the head-to-head's `run_one` with every thread pool (torch, BLAS, OpenMP) at "
        "its count. Scores x100: Spearman on STS, nDCG@10 on retrieval. Splits: "
        + "; ".join(f"`{name}` {split}" for name, split in data["splits"].items())
        + f". **Largest spread: {top['spread']:.4f}** (`{top['task']}` at {top['dim']} dims).",
        "",
        f"Runs: {runs}. Command: `{command}`.",
        "",
    ]
    dims = list(next(iter(data["scores"].values())))
    rows = []
    for task, by_dim in data["scores"].items():
        rows += [[task, count, *(f"{by_dim[dim]['scores'][count]:.4f}" for dim in dims)] for count in counts]
        rows.append([task, "spread", *(f"{by_dim[dim]['spread']:.4f}" for dim in dims)])
    lines.append(markdown_table(["task", "threads", *dims], rows))
    return "\n".join(lines)


def write_report(folder: Path, records: Mapping[int, Mapping], command: str) -> dict:
    """Write ``folder/thread-spread.{json,md}`` from the run at each thread count (``{count: record}``)."""
    first = records[min(records)]
    table = spreads(records)
    setting = first["setting"]
    runs = {
        str(count): {
            "cache": count_cache(folder, count, setting, first["method"], first["seed"]).relative_to(folder).as_posix(),
            "train_seconds": record["train_seconds"],
            "total_seconds": record["total_seconds"],
            "provenance": record["provenance"],
        }
        for count, record in records.items()
    }
    data = {
        "setting": setting,
        "method": first["method"],
        "seed": first["seed"],
        "threads": sorted(records),
        "splits": {name: TEST_SPLITS.get(name, spec) for name, spec in run_tasks(setting).items() if name in table},
        "scores": table,
        "max_spread": largest(table),
        "runs": runs,
        "provenance": run_provenance(command),
    }
    text = markdown(data, command)
    write_json_and_markdown(folder / f"{NAME}.json", data, text)
    print(text)
    return data


def positive(text: str) -> int:
    """A thread count from the command line: a whole number of 1 or more."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a thread count; use a whole number of 1 or more")
    return int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="folder with stsbenchmark/, sick2014/ and scifact/")
    parser.add_argument("--setting", choices=sorted(SETTINGS), default="scifact-corpus")
    parser.add_argument("--method", choices=list(METHODS), default="mrl")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", nargs="+", type=positive, default=[1, 2], help="two thread counts or more")
    parser.add_argument(
        "--results-dir", type=Path, default=RESULTS, help="holds runs/ and thread-spread/ (and the output)"
    )
    args = parser.parse_args()
    counts = sorted(set(args.threads))
    if len(counts) < 2:
        parser.error(f"--threads {counts[0]}: a spread needs two thread counts or more, e.g. --threads 1 2")
    records = {count: run_at(args.results_dir, count, args.setting, args.method, args.seed, args.data_dir)
               for count in counts}  # fmt: skip
    write_report(args.results_dir, records, command_line())


if __name__ == "__main__":
    main()
