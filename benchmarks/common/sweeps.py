"""The dev sweeps' shared rules (``sweep.py``'s coordinate search, ``distill_sweep.py``'s self-distillation
sweep): candidate names, the selection scores, eligibility, the command line, running or reading one candidate,
and where summaries go.

Selection score: mean dev Spearman at dims 8/16/32 over both dev tasks, among candidates whose 384-dim dev score
is at most 0.3 below MRL's at the same budget.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Container, Sequence
from pathlib import Path

from common.runs import read_record
from common.settings import DEV_TASKS, RESULTS, SETTINGS
from common.training import run_one
from mic.training.config import method_md_weights

LOW_DIMS = ["8", "16", "32"]
MARGIN = 0.05  # below this a dev difference is run-to-run noise (dropout, data order) and does not steer the search
FULL_DIM_TOLERANCE = 0.3


def anchored(mic: dict) -> dict:
    """A candidate in full: its choices over docs/method.md's untuned form, where the search starts (whatever the
    library defaults, which follow this search's result)."""
    return {**method_md_weights().model_dump(), **mic}


def name_of(mic: dict) -> str:
    """A candidate's cache name: its choices that differ from the untuned form, sorted (``mic-base``: that form)."""
    defaults = method_md_weights().model_dump()
    changed = {key: value for key, value in sorted(mic.items()) if value != defaults[key]}
    return "mic-" + "-".join(f"{k}={v}" for k, v in changed.items()).replace(" ", "") if changed else "mic-base"


def low_dim_score(record: dict) -> float:
    """Mean dev score at :data:`LOW_DIMS` over both dev tasks."""
    return sum(record["scores"][task][dim] for task in DEV_TASKS for dim in LOW_DIMS) / (len(DEV_TASKS) * len(LOW_DIMS))


def full_dim_score(record: dict) -> float:
    """Mean dev score at 384 dims over both dev tasks."""
    return sum(record["scores"][task]["384"] for task in DEV_TASKS) / len(DEV_TASKS)


def dev_scores(record: dict) -> dict[str, float]:
    """A candidate's two selection scores, as the summaries report them."""
    return {"low_dims": low_dim_score(record), "full_dim": full_dim_score(record)}


def eligible(record: dict | None, reference: dict) -> bool:
    """A candidate may be chosen only if its 384-dim dev score is at most 0.3 below MRL's."""
    return record is not None and full_dim_score(record) >= full_dim_score(reference) - FULL_DIM_TOLERANCE


def parse_sweep_args(description: str, settings: Sequence[str], default: str) -> argparse.Namespace:
    """The dev sweeps' shared command line; ``--steps`` becomes the chosen setting's budget."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--setting", choices=list(settings), default=default)
    parser.add_argument("--steps", type=int, default=200, help="training steps per candidate (same for MRL)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", action="store_true", help="summarise the cached candidates only, train nothing")
    args = parser.parse_args()
    SETTINGS[args.setting] = SETTINGS[args.setting].with_overrides(f"max_steps={args.steps}")
    return args


def run_candidate(args: argparse.Namespace, sweep: str, method: str, mic: dict, cache: Path) -> dict | None:
    """One candidate's record: with ``--report`` the cached one (``None`` if never run), else trained and scored on
    the dev tasks through the run cache at ``cache``."""
    if args.report:
        return read_record(cache)
    print(f"[{sweep} {args.setting}] {cache.stem}", flush=True)
    return run_one(args.setting, method, args.seed, args.data_dir, DEV_TASKS, mic, cache)


def earlier_records(folder: Path, current: Container[Path]) -> dict[str, dict]:
    """The candidates cached in ``folder`` by an earlier path of a sweep (not in ``current``), by name: kept in
    the report as evidence, never chosen."""
    return {
        path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("mic-*.json")) if path not in current
    }


def search_folder(setting: str, steps: int) -> Path:
    """Where the coordinate search caches its candidates (the distillation sweep's folder adds ``-distill``)."""
    return RESULTS / "sweep" / f"{setting}-{steps}steps"


def distill_summary_path(setting: str, steps: int) -> Path:
    """The summary JSON of the self-distillation sweep of ``setting`` at ``steps`` steps (its Markdown beside it)."""
    return RESULTS / f"distill-sweep-{setting}-{steps}steps.json"


def governing_summary(setting: str) -> Path | None:
    """The summary of the setting's self-distillation sweep with the most training steps, the one its ready config
    follows (a longer budget is closer to the runs the choice is for); ``None`` before any sweep."""
    paths = RESULTS.glob(f"distill-sweep-{setting}-*steps.json")
    return max(paths, key=lambda path: json.loads(path.read_text())["steps"], default=None)
