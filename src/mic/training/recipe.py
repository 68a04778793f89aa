"""The training recipe behind ``mic train``: config in, an elastic sentence-transformers model out.

It builds the model, the loss (MIC or a baseline) and a ``SentenceTransformerTrainer``; evaluates the dev
split at every dim during training; keeps checkpoints in ``<output_dir>.work/`` so a killed run resumes;
turns Ctrl-C into a clean checkpoint; and writes the final model atomically (temp folder, then rename) with
the resolved config, package versions, git commit and seed beside it.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import torch
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
from sentence_transformers.sentence_transformer import losses
from torch import nn
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments, set_seed

from mic.data import load_scored_pairs, load_training_dataset
from mic.data.pairing import load_corpus_dataset
from mic.losses import MICLoss, TeacherCheckpoint
from mic.models import load_model
from mic.progress import no_transformers_bars, progress_bars
from mic.provenance import git_commit, package_versions
from mic.staging import OutputError, staged_output, write_json
from mic.training.config import TrainConfig, dims_for_model, dump_config
from mic.training.evaluator import MatryoshkaSTSEvaluator
from mic.training.folders import (
    ELAPSED,
    MODEL_OUTPUT,
    OPTION,
    RUN_INFO,
    TrainingError,
    check_resumed_settings,
    checkpoint_folder,
    checkpoint_step,
    elapsed_seconds,
    mark_work_dir,
    peer_folders,
    prepare_output,
    remove_work_dir,
    run_settings,
    work_dir_for,
)

SCORED_LOSSES = {"cosent", "angle"}
_log = logging.getLogger("mic")

__all__ = ["RUN_INFO", "TrainResult", "TrainingError", "is_main_launch_process", "train", "work_dir_for"]


@dataclass
class TrainResult:
    """What a finished (or interrupted) run produced."""

    output_dir: Path
    global_step: int
    interrupted: bool
    seconds: float
    dev_scores: dict[str, float] = field(default_factory=dict)


def build_base_loss(config: TrainConfig, model: SentenceTransformer) -> nn.Module:
    """The task loss ℓ applied at every prefix dim."""
    if config.base_loss == "mnrl":
        return losses.MultipleNegativesRankingLoss(model, scale=config.mnrl_scale)
    if config.base_loss == "cosent":
        return losses.CoSENTLoss(model)
    return losses.AnglELoss(model)


def build_loss(config: TrainConfig, model: SentenceTransformer) -> nn.Module:
    """``plain`` (base loss at full dim), ``mrl`` (MatryoshkaLoss), ``2d`` (Matryoshka2dLoss) or ``mic`` (MICLoss)."""
    base = build_base_loss(config, model)
    if config.loss == "plain":
        return base
    if config.loss == "mrl":
        return losses.MatryoshkaLoss(model, base, config.dims)
    if config.loss == "2d":
        return losses.Matryoshka2dLoss(model, base, config.dims)
    try:
        return MICLoss(model, base, config.dims, **config.mic.model_dump())
    except ValueError as error:  # what only the model can refuse: its kind (a static model has no tokens), its layers
        raise TrainingError(f"loss 'mic' cannot train model {config.model!r}: {error}") from None


class _GracefulInterrupt(TrainerCallback):
    """First Ctrl-C or SIGTERM (``kill``, ``timeout``, Slurm): finish the current step, save a checkpoint and stop.
    A second one: abort at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[signal.Signals, Callable[[int, FrameType | None], object] | int | None] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def install(self) -> None:
        self._previous = {number: signal.signal(number, self._handle) for number in self.SIGNALS}

    def restore(self) -> None:
        for number, previous in self._previous.items():
            if previous is not None:  # None: a handler not set from Python, which cannot be put back
                signal.signal(number, previous)
        self._previous = {}

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: object
    ) -> TrainerControl:
        if self.requested:
            control.should_save = True
            control.should_training_stop = True
        return control


class _TrainingClock(TrainerCallback):
    """Training seconds over every session of a run: each checkpoint records them and a resume adds to them."""

    def __init__(self, before: float) -> None:
        self.before = before
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return self.before + time.perf_counter() - self.start

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: object
    ) -> TrainerControl:
        self.start = time.perf_counter()
        return control

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: object
    ) -> TrainerControl:
        folder = checkpoint_folder(Path(args.output_dir), state.global_step)
        if state.is_world_process_zero and folder.is_dir():
            write_json({"train_seconds": round(self.seconds, 1)}, folder / ELAPSED)
        return control


def launched_distributed() -> bool:
    """Whether a launcher such as ``torchrun`` started several processes for this run."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def is_main_launch_process() -> bool:
    """Whether this is rank 0 of a ``torchrun`` launch (or a single process): the one that prints."""
    return int(os.environ.get("RANK", "0")) == 0


def _check_data_for_loss(config: TrainConfig, columns: list[str]) -> None:
    scored = "score" in columns
    if config.base_loss in SCORED_LOSSES and not scored:
        raise TrainingError(
            f"base_loss {config.base_loss!r} needs scored pairs (data.kind: scored), got columns {columns}."
        )
    if config.base_loss == "mnrl" and scored:
        raise TrainingError(
            "base_loss 'mnrl' needs pairs, triplets, unlabeled sentences or a corpus, not scored pairs."
        )


def _write_model_card_scores(model_dir: Path, dev_scores: dict[str, float], dev_name: str) -> None:
    """Append a per-dim dev table to the model card so the card says how the model truncates."""
    rows = sorted(
        (int(dim), value)
        for key, value in dev_scores.items()
        for prefix, _, dim in [key.rpartition("_spearman_")]
        if prefix and dim.isdigit()
    )
    if not rows:
        return
    lines = [
        "",
        f"## Dev scores per dimension ({dev_name}, Spearman x100 of cosine similarity)",
        "",
        "| dim | " + " | ".join(str(dim) for dim, _ in rows) + " |",
        "|---|" + "---|" * len(rows),
        "| Spearman | " + " | ".join(f"{value:.2f}" for _, value in rows) + " |",
        "",
        "Load at any of these dims with `SentenceTransformer(path, truncate_dim=DIM)`.",
        "",
    ]
    card = model_dir / "README.md"
    with card.open("a", encoding="utf-8") as handle:
        handle.write("\n".join(lines))


def _final_dev_scores(evaluator: MatryoshkaSTSEvaluator | None, model: SentenceTransformer, step: int) -> dict:
    """The dev scores of the final model: the trainer's evaluation at the last step when it ran one."""
    if evaluator is None:
        return {}
    if evaluator.last_scores is not None and evaluator.last_scores[0] == step:
        return evaluator.last_scores[1]
    return evaluator(model, steps=step)


@contextmanager
def reproducible(seed: int, threads: int | None) -> Iterator[None]:
    """Inside a run: every RNG seeded, deterministic torch kernels, ``threads`` CPU threads; all restored after.

    The trainer seeds dropout and data order again itself (``seed``, ``data_seed``); seeding here first covers
    what is built before it, e.g. a freshly initialised head. Deterministic kernels only warn where torch has
    none (some CUDA backward passes). CPU sums are split across threads, so the thread count is part of what a
    rerun must repeat; it is recorded in ``mic_run.json``.
    """
    previous_threads = torch.get_num_threads()
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    previous_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # what deterministic cuBLAS needs
    set_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous_threads)
        torch.use_deterministic_algorithms(previous_deterministic, warn_only=previous_warn_only)


def train(
    config: TrainConfig,
    resume: bool = False,
    overwrite: bool = False,
    command: str | None = None,
    notify: Callable[[str], None] = _log.warning,
) -> TrainResult:
    """Train a model as ``config`` says and write it to ``config.output_dir``.

    Args:
        config: the validated config; its dims are resolved against the model (:func:`dims_for_model`).
        resume: continue from the last complete checkpoint in ``<output_dir>.work``.
        overwrite: replace a finished model or an unfinished run that ``mic`` wrote.
        command: the command line, recorded in ``mic_run.json``.
        notify: receives the notes a user should read (dims changed, the step a resume starts from).

    Raises:
        TrainingError, ConfigError, DataError, ModelError: user errors, each with a message that says what to fix.
    """
    with reproducible(config.seed, config.threads):
        return _train(config, resume, overwrite, command, notify)


def _train(
    config: TrainConfig, resume: bool, overwrite: bool, command: str | None, notify: Callable[[str], None]
) -> TrainResult:
    output_dir = Path(config.output_dir)
    main = is_main_launch_process()  # rank 0 checks, marks and saves the folders; the trainer's rank is the same
    settings = run_settings(config.model_dump(mode="json"))
    if main:
        folders = prepare_output(output_dir, resume, overwrite)
        if folders.resume_from is not None:
            check_resumed_settings(folders, settings)
    else:
        folders = peer_folders(output_dir, resume)
    work_dir = folders.work_dir
    model = load_model(config.model)
    inference_length = model.max_seq_length  # the saved model keeps it: config.max_seq_length is for training
    truncates = math.isfinite(inference_length)  # a static-embedding model (wordllama) reads whole texts
    if truncates:
        model.max_seq_length = config.max_seq_length
    dims, note = dims_for_model(config, model.get_embedding_dimension())
    config = config.model_copy(update={"dims": dims})
    if note is not None:
        notify(note)

    columns = {"columns": config.data.columns, "score_range": config.data.score_range}
    if config.data.kind == "corpus":
        train_dataset, notes = load_corpus_dataset(
            config.data.train,
            config.data.pairing,
            config.data.data_dir,
            seed=config.seed,
            max_samples=config.data.max_train_samples,
        )
        for corpus_note in notes:
            notify(corpus_note)
    else:
        train_dataset = load_training_dataset(
            config.data.train,
            kind=config.data.kind,
            data_dir=config.data.data_dir,
            max_samples=config.data.max_train_samples,
            **columns,
        )
    _check_data_for_loss(config, train_dataset.column_names)
    if len(train_dataset) < config.batch_size:
        raise TrainingError(
            f"The training data has {len(train_dataset)} rows, fewer than one batch of {config.batch_size}."
        )
    loss = build_loss(config, model)
    evaluator = None
    if config.data.dev:
        # The train columns fit a dev file only when both hold scored pairs; benchmarks ignore them.
        dev_columns = columns if config.data.kind == "scored" else {}
        dev = load_scored_pairs(config.data.dev, data_dir=config.data.data_dir, **dev_columns)
        evaluator = MatryoshkaSTSEvaluator(dev, config.dims, name="dev")

    args = SentenceTransformerTrainingArguments(
        output_dir=str(work_dir),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup_ratio,
        weight_decay=config.weight_decay,
        seed=config.seed,
        data_seed=config.seed,
        eval_strategy="steps" if evaluator is not None else "no",
        eval_steps=config.eval_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        dataloader_drop_last=True,
        batch_sampler="no_duplicates" if config.base_loss == "mnrl" else "batch_sampler",
        report_to="none",
        disable_tqdm=not progress_bars(),
        use_cpu=not torch.cuda.is_available(),
        ddp_backend="gloo" if launched_distributed() and not torch.cuda.is_available() else None,
    )
    before = 0.0 if folders.resume_from is None else elapsed_seconds(folders.resume_from)
    if before is None:
        notify(
            f"{folders.resume_from} has no record of the training time before it (killed while saving it): "
            "train_seconds counts from this resume only."
        )
    interrupt, clock = _GracefulInterrupt(), _TrainingClock(before or 0.0)
    callbacks: list[TrainerCallback] = [interrupt, clock]
    if isinstance(loss, MICLoss) and loss.teacher is not None:  # an EMA teacher is training state
        callbacks.append(TeacherCheckpoint(loss.teacher, folders.resume_from))
    trainer = SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=train_dataset,
        loss=loss,
        evaluator=evaluator,
        callbacks=callbacks,
    )
    for skipped in folders.skipped:
        notify(f"Skipped {work_dir / skipped}.")
    if folders.resume_from is not None:
        notify(f"Resuming from step {checkpoint_step(folders.resume_from)} ({folders.resume_from}).")
    if main:
        mark_work_dir(folders, settings)
    interrupt.install()
    try:
        with no_transformers_bars():
            trainer.train(resume_from_checkpoint=str(folders.resume_from) if folders.resume_from else None)
    finally:
        interrupt.restore()
    seconds = clock.seconds  # every session of the run, not only this one
    step = trainer.state.global_step
    if interrupt.requested:
        return TrainResult(work_dir, step, interrupted=True, seconds=seconds)
    if step == 0:
        duplicates = (
            " (base_loss 'mnrl' draws batches without repeated texts, so it needs at least batch_size distinct ones)"
            if config.base_loss == "mnrl"
            else ""
        )
        raise TrainingError(
            f"Training ran 0 steps on {len(train_dataset)} rows at batch_size {config.batch_size}{duplicates}; "
            "give more distinct training data or a smaller batch_size, then start over with --overwrite."
        )

    if not main:
        return TrainResult(output_dir, step, interrupted=False, seconds=seconds)
    dev_scores = _final_dev_scores(evaluator, model, step)
    if truncates:
        model.max_seq_length = inference_length
    with staged_output(output_dir, MODEL_OUTPUT, overwrite=overwrite, option=OPTION) as staging:
        with no_transformers_bars():
            model.save(str(staging))
        _write_model_card_scores(staging, dev_scores, config.data.dev or "")
        (staging / "mic_config.yaml").write_text(dump_config(config), encoding="utf-8")
        info = {
            "command": command,
            "seed": config.seed,
            "threads": torch.get_num_threads(),
            "global_step": step,
            "train_seconds": round(seconds, 1),
            "dev_scores": dev_scores,
            "git_commit": git_commit(),
            "versions": package_versions(),
            "loss_config": loss.get_config_dict() if hasattr(loss, "get_config_dict") else {},
        }
        write_json(info, staging / RUN_INFO)
    try:
        remove_work_dir(work_dir)
    except OutputError as error:
        notify(f"Kept {work_dir}: {error}")
    return TrainResult(output_dir, step, interrupted=False, seconds=seconds, dev_scores=dev_scores)
