"""Specification of the distillation teacher: a frozen or EMA copy, saved in and restored from checkpoints."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from sentence_transformers import SentenceTransformer
from torch import Tensor

from mic.losses import DistillationTeacher, TeacherCheckpoint
from mic.losses.teacher import TEACHER_STATE


def weights(model: torch.nn.Module) -> Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def step(student: SentenceTransformer, delta: float) -> None:
    """An "optimizer step" that moves every student weight by ``delta``."""
    with torch.no_grad():
        for parameter in student.parameters():
            parameter.add_(delta)


def ema_teacher_after_one_step(student: SentenceTransformer) -> DistillationTeacher:
    """An EMA teacher (decay 0.5) that has followed one training step of the student."""
    teacher = DistillationTeacher(student, "ema", ema_decay=0.5)
    student.train()
    step(student, 1.0)
    teacher.update(student)
    return teacher


def test_the_ema_teacher_is_an_exponential_moving_average_from_the_starting_weights(
    tiny_model: SentenceTransformer,
) -> None:
    start = weights(tiny_model)
    teacher = ema_teacher_after_one_step(tiny_model)
    step(tiny_model, 1.0)
    teacher.update(tiny_model)
    # θ_T = 0.5 (0.5 θ_0 + 0.5 (θ_0 + 1)) + 0.5 (θ_0 + 2) = θ_0 + 1.25
    torch.testing.assert_close(weights(teacher), start + 1.25)
    tiny_model.eval()
    teacher.update(tiny_model)
    torch.testing.assert_close(weights(teacher), start + 1.25, msg="no update outside training")


def test_the_initial_teacher_never_moves_and_writes_nothing(tiny_model: SentenceTransformer, tmp_path: Path) -> None:
    start = weights(tiny_model)
    teacher = DistillationTeacher(tiny_model, "initial")
    tiny_model.train()
    step(tiny_model, 1.0)
    teacher.update(tiny_model)
    torch.testing.assert_close(weights(teacher), start)
    teacher.save(tmp_path)
    assert not (tmp_path / TEACHER_STATE).exists(), "the starting model is rebuilt on resume, not saved"


def test_a_saved_ema_teacher_is_restored_exactly_and_keeps_averaging(
    tiny_model: SentenceTransformer, tmp_path: Path
) -> None:
    teacher = ema_teacher_after_one_step(tiny_model)
    teacher.save(tmp_path)
    restored = DistillationTeacher(tiny_model, "ema", ema_decay=0.5)  # built from the student at this step
    restored.load(tmp_path)
    torch.testing.assert_close(weights(restored), weights(teacher), rtol=0, atol=0)
    step(tiny_model, 1.0)
    teacher.update(tiny_model)
    restored.update(tiny_model)
    torch.testing.assert_close(weights(restored), weights(teacher), rtol=0, atol=0)


def test_a_checkpoint_without_the_teacher_restarts_it_from_the_student_with_a_warning(
    tiny_model: SentenceTransformer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    teacher = DistillationTeacher(tiny_model, "ema", ema_decay=0.5)
    tiny_model.train()
    step(tiny_model, 1.0)
    with caplog.at_level(logging.WARNING, logger="mic"):
        teacher.load(tmp_path)
    assert f"holds no {TEACHER_STATE}" in caplog.text and "restarts from the student's weights" in caplog.text
    teacher.update(tiny_model)
    torch.testing.assert_close(weights(teacher), weights(tiny_model))


def test_the_callback_saves_into_the_trainers_checkpoint_folder_and_restores_from_the_resumed_one(
    tiny_model: SentenceTransformer, tmp_path: Path
) -> None:
    from transformers import TrainerControl, TrainerState, TrainingArguments

    teacher = ema_teacher_after_one_step(tiny_model)
    args, control = TrainingArguments(output_dir=str(tmp_path), report_to=[]), TrainerControl()
    TeacherCheckpoint(teacher).on_save(args, TrainerState(global_step=7), control)
    assert (tmp_path / "checkpoint-7" / TEACHER_STATE).is_file()

    fresh = DistillationTeacher(tiny_model, "ema", ema_decay=0.5)
    TeacherCheckpoint(fresh, resume_from=tmp_path / "checkpoint-7").on_train_begin(args, TrainerState(), control)
    torch.testing.assert_close(weights(fresh), weights(teacher), rtol=0, atol=0)


def test_the_teacher_always_runs_in_eval_mode_without_gradients(tiny_model: SentenceTransformer) -> None:
    teacher = DistillationTeacher(tiny_model, "ema")
    teacher.train()
    assert not teacher.training and not teacher.model.training
    assert not any(p.requires_grad for p in teacher.parameters())


@pytest.mark.parametrize(
    ("kind", "decay", "match"),
    [
        ("moving", 0.9, r"distill_teacher must be one of \['full', 'ema', 'initial'\], got 'moving'"),
        ("ema", 1.0, r"distill_ema_decay must be in \[0, 1\), got 1.0"),
        ("full", 0.9, "The 'full' teacher is the student itself"),
    ],
)
def test_bad_teachers_are_refused(tiny_model: SentenceTransformer, kind: str, decay: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        DistillationTeacher(tiny_model, kind, ema_decay=decay)  # type: ignore[arg-type]
