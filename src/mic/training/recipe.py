"""The training recipe behind ``mic train``: config in, an elastic sentence-transformers model out.

It builds the model, the loss (MIC or a baseline) and a ``SentenceTransformerTrainer``; evaluates the dev
split at every dim during training; keeps checkpoints in ``<output_dir>.work/`` so a killed run resumes;
turns Ctrl-C into a clean checkpoint; and writes the final model atomically (temp folder, then rename) with
the resolved config, package versions, git commit and seed beside it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import torch
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
from sentence_transformers.sentence_transformer import losses
from torch import nn
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from transformers.trainer_utils import get_last_checkpoint

from mic.data import load_scored_pairs, load_training_dataset
from mic.errors import MICError
from mic.losses import MICLoss
from mic.models import load_model
from mic.provenance import git_commit, package_versions
from mic.training.config import TrainConfig, dump_config
from mic.training.evaluator import MatryoshkaSTSEvaluator

RUN_INFO = "mic_run.json"
SCORED_LOSSES = {"cosent", "angle"}


class TrainingError(MICError):
    """A run cannot start as configured (existing output, bad data for the loss, ...)."""


@dataclass
class TrainResult:
    """What a finished (or interrupted) run produced."""

    output_dir: Path
    global_step: int
    interrupted: bool
    seconds: float
    dev_scores: dict[str, float] = field(default_factory=dict)


def work_dir_for(output_dir: Path) -> Path:
    """Checkpoints and logs of an unfinished run live beside the final folder, never inside it."""
    return output_dir.with_name(output_dir.name + ".work")


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
    return MICLoss(model, base, config.dims, **config.mic.model_dump())


class _GracefulInterrupt(TrainerCallback):
    """First Ctrl-C: finish the current step, save a checkpoint and stop. Second Ctrl-C: abort at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: signal.Handlers | None = None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def install(self) -> None:
        self._previous = signal.signal(signal.SIGINT, self._handle)

    def restore(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: object
    ) -> TrainerControl:
        if self.requested:
            control.should_save = True
            control.should_training_stop = True
        return control


def launched_distributed() -> bool:
    """Whether a launcher such as ``torchrun`` started several processes for this run."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def prepare_output(output_dir: Path, resume: bool, overwrite: bool) -> Path:
    """Check the output folders against ``--resume`` / ``--overwrite`` and return the work folder."""
    work_dir = work_dir_for(output_dir)
    if resume and overwrite:
        raise TrainingError("--resume and --overwrite contradict each other; pass one of them.")
    if output_dir.exists() and not overwrite:
        raise TrainingError(
            f"{output_dir} already exists; pass --overwrite to replace it or choose another output_dir."
        )
    if resume and not (work_dir.is_dir() and get_last_checkpoint(str(work_dir))):
        raise TrainingError(f"Nothing to resume: no checkpoint in {work_dir}.")
    if work_dir.exists() and not resume:
        if not overwrite:
            raise TrainingError(
                f"An unfinished run is in {work_dir}; pass --resume to continue it or --overwrite to start over."
            )
        shutil.rmtree(work_dir)
    return work_dir


def _check_data_for_loss(config: TrainConfig, columns: list[str]) -> None:
    scored = "score" in columns
    if config.base_loss in SCORED_LOSSES and not scored:
        raise TrainingError(
            f"base_loss {config.base_loss!r} needs scored pairs (data.kind: scored), got columns {columns}."
        )
    if config.base_loss == "mnrl" and scored:
        raise TrainingError("base_loss 'mnrl' needs pairs, triplets or unlabeled sentences, not scored pairs.")


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


def train(
    config: TrainConfig, resume: bool = False, overwrite: bool = False, command: str | None = None
) -> TrainResult:
    """Train a model as ``config`` says and write it to ``config.output_dir``.

    Raises:
        TrainingError, ConfigError, DataError, ModelError: user errors, each with a message that says what to fix.
    """
    output_dir = Path(config.output_dir)
    work_dir = prepare_output(output_dir, resume, overwrite)
    model = load_model(config.model)
    model.max_seq_length = config.max_seq_length
    embedding_size = model.get_embedding_dimension()
    if config.dims[-1] > embedding_size:
        raise TrainingError(
            f"dims contains {config.dims[-1]}, larger than the model's embedding size {embedding_size}."
        )

    train_dataset = load_training_dataset(
        config.data.train,
        kind=config.data.kind,
        data_dir=config.data.data_dir,
        max_samples=config.data.max_train_samples,
    )
    _check_data_for_loss(config, train_dataset.column_names)
    if len(train_dataset) < config.batch_size:
        raise TrainingError(
            f"The training data has {len(train_dataset)} rows, fewer than one batch of {config.batch_size}."
        )
    loss = build_loss(config, model)
    evaluator = None
    if config.data.dev:
        dev = load_scored_pairs(config.data.dev, data_dir=config.data.data_dir)
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
        use_cpu=not torch.cuda.is_available(),
        ddp_backend="gloo" if launched_distributed() and not torch.cuda.is_available() else None,
    )
    interrupt = _GracefulInterrupt()
    trainer = SentenceTransformerTrainer(
        model=model, args=args, train_dataset=train_dataset, loss=loss, evaluator=evaluator, callbacks=[interrupt]
    )
    start = time.perf_counter()
    interrupt.install()
    try:
        trainer.train(resume_from_checkpoint=bool(resume))
    finally:
        interrupt.restore()
    seconds = time.perf_counter() - start
    step = trainer.state.global_step
    if interrupt.requested:
        return TrainResult(work_dir, step, interrupted=True, seconds=seconds)

    dev_scores = evaluator(model) if evaluator is not None else {}
    if trainer.is_world_process_zero():
        staging = output_dir.with_name(output_dir.name + ".saving")
        shutil.rmtree(staging, ignore_errors=True)
        model.save(str(staging))
        _write_model_card_scores(staging, dev_scores, config.data.dev or "")
        (staging / "mic_config.yaml").write_text(dump_config(config), encoding="utf-8")
        info = {
            "command": command,
            "seed": config.seed,
            "global_step": step,
            "train_seconds": round(seconds, 1),
            "dev_scores": dev_scores,
            "git_commit": git_commit(),
            "versions": package_versions(),
            "loss_config": loss.get_config_dict() if hasattr(loss, "get_config_dict") else {},
        }
        (staging / RUN_INFO).write_text(json.dumps(info, indent=2), encoding="utf-8")
        if output_dir.exists():
            shutil.rmtree(output_dir)
        staging.rename(output_dir)
        shutil.rmtree(work_dir, ignore_errors=True)
    return TrainResult(output_dir, step, interrupted=False, seconds=seconds, dev_scores=dev_scores)
