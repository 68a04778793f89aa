"""The folders of a training run: which exist, which may be deleted, and which checkpoint a resume starts from.

A run writes ``<output_dir>.work/`` (checkpoints; marked by ``mic_work.json`` when created) and, when it
finishes, ``<output_dir>/`` (the model; marked by ``mic_run.json``). ``--overwrite`` deletes only folders that
carry one of these markers, so a mistyped ``output_dir`` can never remove a user's files. A checkpoint counts
only when complete: the trainer writes ``trainer_state.json`` last, so a ``kill -9`` during a save leaves a
checkpoint without a readable one, which a resume skips.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from mic.errors import MICError
from mic.staging import write_json

RUN_INFO = "mic_run.json"
WORK_MARKER = "mic_work.json"
TRAINER_STATE = "trainer_state.json"
CHECKPOINT = "checkpoint"
"""The trainer's checkpoint folders are ``checkpoint-STEP``."""
ELAPSED = "mic_elapsed.json"
"""A checkpoint's training seconds so far, over every session of the run (written after the checkpoint)."""


class TrainingError(MICError):
    """A run cannot start as configured (existing output, bad data for the loss, ...)."""


@dataclass(frozen=True)
class RunFolders:
    """Where a run writes, and the checkpoint it resumes from (``None``: a fresh start)."""

    output_dir: Path
    work_dir: Path
    resume_from: Path | None


def work_dir_for(output_dir: Path) -> Path:
    """Checkpoints and logs of an unfinished run live beside the final folder, never inside it."""
    return output_dir.with_name(output_dir.name + ".work")


def checkpoint_step(checkpoint: Path) -> int | None:
    """The step of a complete checkpoint folder, or ``None`` when it is incomplete or not a checkpoint.

    Complete means ``trainer_state.json`` (written after the weights, optimizer and RNG states) parses and
    names the step in the folder's name ``checkpoint-STEP``.
    """
    prefix, _, step = checkpoint.name.rpartition("-")
    if prefix != CHECKPOINT or not step.isdigit():
        return None
    try:
        state = json.loads((checkpoint / TRAINER_STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return int(step) if isinstance(state, dict) and state.get("global_step") == int(step) else None


def checkpoint_folder(work_dir: Path, step: int) -> Path:
    return work_dir / f"{CHECKPOINT}-{step}"


def elapsed_seconds(checkpoint: Path) -> float | None:
    """Training seconds a run had spent up to ``checkpoint``; ``None`` when it holds no readable record of them."""
    try:
        seconds = json.loads((checkpoint / ELAPSED).read_text(encoding="utf-8"))["train_seconds"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return float(seconds) if isinstance(seconds, int | float) and not isinstance(seconds, bool) else None


def last_complete_checkpoint(work_dir: Path) -> Path | None:
    """The complete checkpoint with the highest step in ``work_dir``, skipping half-written ones."""
    steps = {path: checkpoint_step(path) for path in work_dir.glob(f"{CHECKPOINT}-*") if path.is_dir()}
    complete = [(step, path) for path, step in steps.items() if step is not None]
    return max(complete)[1] if complete else None


def _check_output_name(output_dir: Path) -> None:
    if output_dir.name in ("", ".", ".."):
        raise TrainingError(
            f"output_dir {str(output_dir)!r} names no new folder; give one, e.g. output_dir=output/my-model."
        )
    if output_dir.exists() and not output_dir.is_dir():
        raise TrainingError(f"output_dir {output_dir} is a file, not a folder; choose another output_dir.")


def check_ours(folder: Path, marker: str) -> None:
    """Refuse, naming ``folder``, unless ``mic`` wrote it (it holds ``marker``)."""
    if not (folder / marker).is_file():
        raise TrainingError(
            f"{folder} was not written by mic (no {marker} in it), so --overwrite will not delete it; "
            "move it away or choose another output_dir."
        )


def remove_our_folder(folder: Path, marker: str) -> None:
    """Delete ``folder`` if ``mic`` wrote it; see :func:`check_ours`."""
    check_ours(folder, marker)
    shutil.rmtree(folder)


def mark_work_dir(folders: RunFolders) -> None:
    """Create the work folder with its marker, right before the trainer writes into it."""
    folders.work_dir.mkdir(parents=True, exist_ok=True)
    if not (folders.work_dir / WORK_MARKER).is_file():
        write_json({"output_dir": str(folders.output_dir)}, folders.work_dir / WORK_MARKER)


def prepare_output(output_dir: Path, resume: bool, overwrite: bool) -> RunFolders:
    """Check the run's folders against ``--resume`` / ``--overwrite``, clear what ``--overwrite`` replaces.

    The finished model folder is replaced only when the new run finishes (see ``recipe.train``); here only
    the check that it may be is done.

    Raises:
        TrainingError: naming the folder and the flag that works.
    """
    _check_output_name(output_dir)
    work_dir = work_dir_for(output_dir)
    if resume and overwrite:
        raise TrainingError("--resume and --overwrite contradict each other; pass one of them.")
    if output_dir.exists():
        if not overwrite:
            raise TrainingError(
                f"{output_dir} already exists; pass --overwrite to replace it or choose another output_dir."
            )
        check_ours(output_dir, RUN_INFO)
    checkpoint = last_complete_checkpoint(work_dir) if work_dir.is_dir() else None
    if work_dir.exists() and overwrite:
        remove_our_folder(work_dir, WORK_MARKER)
    elif work_dir.exists() and checkpoint is None:
        check_ours(work_dir, WORK_MARKER)
        raise TrainingError(
            f"{'Nothing to resume: ' if resume else ''}{work_dir} holds an unfinished run with no complete checkpoint "
            "yet (it stopped before its first save); start over with --overwrite."
        )
    elif resume and checkpoint is None:
        raise TrainingError(f"Nothing to resume: there is no unfinished run in {work_dir}; start without --resume.")
    elif work_dir.exists() and not resume:
        raise TrainingError(
            f"An unfinished run is in {work_dir} (last checkpoint: step {checkpoint_step(checkpoint)}); "
            "pass --resume to continue it or --overwrite to start over."
        )
    return RunFolders(output_dir, work_dir, checkpoint if resume else None)


def peer_folders(output_dir: Path, resume: bool) -> RunFolders:
    """The folders as a non-main ``torchrun`` rank sees them: rank 0 alone checks and clears them, so a rank
    that starts late never mistakes rank 0's fresh work folder for an old run."""
    work_dir = work_dir_for(output_dir)
    return RunFolders(output_dir, work_dir, last_complete_checkpoint(work_dir) if resume else None)
