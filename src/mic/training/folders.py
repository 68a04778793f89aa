"""The folders of a training run: which exist, which may be deleted, and which checkpoint a resume starts from.

A run writes ``<output_dir>.work/`` (checkpoints) and, when it finishes, ``<output_dir>/`` (the model, with
``mic_run.json``); both carry :mod:`mic.staging`'s ownership marker, and ``--overwrite`` deletes only what that
marker proves mic wrote, so a mistyped ``output_dir`` can never remove a user's files. A resume starts from the
newest checkpoint that loads: ``trainer_state.json`` (which the trainer writes last) names its step, and its
weights and optimizer files are whole; a checkpoint that a ``kill -9`` or a full disk cut short is skipped, saying
why.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from safetensors import SafetensorError, safe_open

from mic.errors import MICError
from mic.staging import OutputKind, check_output, check_owned, mark, owned_entries, remove_output, write_json

RUN_INFO = "mic_run.json"
WORK_MARKER = "mic_work.json"
"""The work folder's marker before ``mic_output.json``; still recognised when it names the run's output_dir."""
TRAINER_STATE = "trainer_state.json"
CHECKPOINT = "checkpoint"
"""The trainer's checkpoint folders are ``checkpoint-STEP``."""
ELAPSED = "mic_elapsed.json"
"""A checkpoint's training seconds so far, over every session of the run (written after the checkpoint)."""
MODEL_OUTPUT = OutputKind("model", RUN_INFO, lambda info: {"global_step", "versions", "command"} <= info.keys())
WORK_OUTPUT = OutputKind("work folder", WORK_MARKER, lambda marker: "output_dir" in marker)
RUN_SETTINGS = "mic_settings.json"
"""The settings a run started with (:func:`run_settings`), in its work folder: a resume under others is refused."""
WORK_ENTRIES = (f"{CHECKPOINT}-*", f"tmp-{CHECKPOINT}-*", "eval", RUN_SETTINGS)
"""What the trainer (checkpoints), the dev evaluator (``eval/`` CSVs) and the run write in a work folder."""
OPTION = "output_dir"
WHERE = ("output_dir", "data.data_dir")
"""Config fields that say where a run reads and writes, not what it trains: a resume may change them."""


class TrainingError(MICError):
    """A run cannot start as configured (existing output, bad data for the loss, ...)."""


@dataclass(frozen=True)
class RunFolders:
    """Where a run writes, and the checkpoint it resumes from (``None``: a fresh start)."""

    output_dir: Path
    work_dir: Path
    resume_from: Path | None
    skipped: tuple[str, ...] = ()
    """Newer checkpoints a resume passed over, each with the reason."""


def work_dir_for(output_dir: Path) -> Path:
    """Checkpoints and logs of an unfinished run live beside the final folder, never inside it."""
    return output_dir.with_name(output_dir.name + ".work")


def checkpoint_step(checkpoint: Path) -> int | None:
    """The step in a ``checkpoint-STEP`` folder name; ``None`` for another name."""
    prefix, _, step = checkpoint.name.rpartition("-")
    return int(step) if prefix == CHECKPOINT and step.isdigit() else None


def checkpoint_problem(checkpoint: Path) -> str | None:
    """Why a resume cannot start from ``checkpoint``, or ``None`` when it loads.

    It loads when ``trainer_state.json`` parses and names the step in the folder's name, every ``*.safetensors``
    file's header covers the file, and every torch file (``*.pt``, ``*.pth``, ``*.bin``: zip archives) is whole.
    """
    step = checkpoint_step(checkpoint)
    state_path = checkpoint / TRAINER_STATE
    if not state_path.is_file():
        return f"no {TRAINER_STATE} (its save was cut off)"
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return f"{TRAINER_STATE} is unreadable ({str(error).splitlines()[0]})"
    if not isinstance(state, dict) or state.get("global_step") != step:
        return f"{TRAINER_STATE} does not record step {step}"
    for weights in sorted(checkpoint.glob("*.safetensors")):
        try:
            with safe_open(weights, "pt"):
                pass
        except (OSError, SafetensorError) as error:
            return f"{weights.name} is truncated or damaged ({str(error).splitlines()[0]})"
    for archive in sorted(path for suffix in ("pt", "pth", "bin") for path in checkpoint.glob(f"*.{suffix}")):
        try:
            with zipfile.ZipFile(archive):
                pass
        except (OSError, zipfile.BadZipFile) as error:
            return f"{archive.name} is truncated or damaged ({error})"
    return None


def checkpoint_folder(work_dir: Path, step: int) -> Path:
    return work_dir / f"{CHECKPOINT}-{step}"


def elapsed_seconds(checkpoint: Path) -> float | None:
    """Training seconds a run had spent up to ``checkpoint``; ``None`` when it holds no readable record of them."""
    try:
        seconds = json.loads((checkpoint / ELAPSED).read_text(encoding="utf-8"))["train_seconds"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return float(seconds) if isinstance(seconds, int | float) and not isinstance(seconds, bool) else None


def newest_loadable_checkpoint(work_dir: Path) -> tuple[Path | None, tuple[str, ...]]:
    """The newest checkpoint in ``work_dir`` that loads, and one line for each newer one skipped, saying why."""
    steps = {path: checkpoint_step(path) for path in work_dir.glob(f"{CHECKPOINT}-*") if path.is_dir()}
    skipped: list[str] = []
    for _, checkpoint in sorted(((step, path) for path, step in steps.items() if step is not None), reverse=True):
        problem = checkpoint_problem(checkpoint)
        if problem is None:
            return checkpoint, tuple(skipped)
        skipped.append(f"{checkpoint.name}: {problem}")
    return None, tuple(skipped)


def mark_work_dir(folders: RunFolders, settings: Mapping[str, object]) -> None:
    """Create the work folder with its marker, right before the trainer writes into it; a new run also records its
    ``settings`` (:func:`run_settings`) there."""
    folders.work_dir.mkdir(parents=True, exist_ok=True)
    if owned_entries(folders.work_dir, WORK_OUTPUT) is None:
        mark(folders.work_dir, WORK_OUTPUT, WORK_ENTRIES)
    if folders.resume_from is None:
        write_json(dict(settings), folders.work_dir / RUN_SETTINGS)


def run_settings(config: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    """What a run's config (as JSON data) trains, by dotted field name: every field but :data:`WHERE`."""
    flat: dict[str, object] = {}
    for name, value in config.items():
        if isinstance(value, Mapping):
            flat.update(run_settings(value, f"{prefix}{name}."))
        elif f"{prefix}{name}" not in WHERE:
            flat[f"{prefix}{name}"] = value
    return flat


def check_resumed_settings(folders: RunFolders, settings: Mapping[str, object]) -> None:
    """Refuse to resume the run in ``folders.work_dir`` under other ``settings`` than it started with: the
    checkpoint would go on with its own schedule while the finished model recorded the new config. A field either
    side lacks (added to mic since) is not compared; a run started before work folders recorded its settings is
    not checked.

    Raises:
        TrainingError: naming each changed field, its value then and now, and the two ways out.
    """
    try:
        started = json.loads((folders.work_dir / RUN_SETTINGS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    changed = [
        f"{name}: {started[name]!r} then, {settings[name]!r} now"
        for name in sorted(started.keys() & settings.keys())
        if started[name] != settings[name]
    ]
    if changed:
        raise TrainingError(
            f"--resume: the run in {folders.work_dir} started with other settings ({'; '.join(changed)}); resume it "
            "with the config it started with, or start over with --overwrite."
        )


def remove_work_dir(work_dir: Path, option: str = OPTION) -> None:
    """Delete a finished run's work folder, which mic wrote (see :func:`mic.staging.remove_output`); ``option``
    names the output in a refusal."""
    remove_output(work_dir, WORK_OUTPUT, option)


def prepare_output(
    output_dir: Path, resume: bool, overwrite: bool, option: str = OPTION, can_resume: bool = True
) -> RunFolders:
    """Check the run's folders against ``--resume`` / ``--overwrite``, clear what ``--overwrite`` replaces.

    The finished model folder is replaced only when the new run finishes (see ``recipe.train``); here only
    the check that it may be is done. ``option`` names the output in messages (``--out`` for ``mic demo``), and
    ``can_resume`` says whether the command has ``--resume`` to suggest.

    Raises:
        TrainingError: naming the folder and the flag that works.
        OutputError: for an ``output_dir`` that may not be written or a folder mic did not write.
    """
    if resume and overwrite:
        raise TrainingError("--resume and --overwrite contradict each other; pass one of them.")
    finished = Path(output_dir).expanduser()
    if resume and not work_dir_for(finished).exists() and owned_entries(finished, MODEL_OUTPUT) is not None:
        raise TrainingError(
            f"Nothing to resume: {finished} holds a finished run; train it again with --overwrite (which replaces "
            f"it) or choose another {option}."
        )
    output_dir = check_output(output_dir, MODEL_OUTPUT, overwrite=overwrite, option=option)
    work_dir = work_dir_for(output_dir)
    if work_dir.exists() and overwrite:
        remove_work_dir(work_dir, option)
    if not work_dir.exists():
        if resume:
            raise TrainingError(f"Nothing to resume: there is no unfinished run in {work_dir}; start without --resume.")
        return RunFolders(output_dir, work_dir, None)
    check_owned(work_dir, WORK_OUTPUT, option)
    checkpoint, skipped = newest_loadable_checkpoint(work_dir)
    if checkpoint is None:
        why = "; ".join(skipped) if skipped else "it stopped before its first save"
        raise TrainingError(
            f"{'Nothing to resume: ' if resume else ''}{work_dir} holds an unfinished run with no complete checkpoint "
            f"({why}); start over with --overwrite."
        )
    if not resume:
        ways = "pass --resume to continue it or --overwrite" if can_resume else "pass --overwrite"
        raise TrainingError(
            f"An unfinished run is in {work_dir} (last checkpoint: step {checkpoint_step(checkpoint)}); {ways} to "
            "start over."
        )
    return RunFolders(output_dir, work_dir, checkpoint, skipped)


def peer_folders(output_dir: Path, resume: bool) -> RunFolders:
    """The folders as a non-main ``torchrun`` rank sees them: rank 0 alone checks and clears them, so a rank
    that starts late never mistakes rank 0's fresh work folder for an old run."""
    work_dir = work_dir_for(output_dir)
    return RunFolders(output_dir, work_dir, newest_loadable_checkpoint(work_dir)[0] if resume else None)
