"""The self-distillation teacher's lifecycle: made once, moved each training step, kept in checkpoints.

``MICLoss`` distils every prefix from one of three teachers (``distill_teacher``, ``docs/method.md`` §1.3): the
student's own full embedding, detached (``"full"``, no module at all), a frozen copy of the starting model
(``"initial"``) or an exponential moving average of the student (``"ema"``). The last two are a
:class:`DistillationTeacher`; :class:`TeacherCheckpoint` saves an EMA teacher in each of the trainer's
checkpoints and restores it on resume, so ``--resume`` continues the average instead of restarting it.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Literal, get_args

import torch
from sentence_transformers import SentenceTransformer
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from mic.forward import EncoderForward, encode
from mic.losses.defaults import MIC_DEFAULTS
from mic.losses.memo import EmbeddingMemo
from mic.staging import write_atomic

DistillTeacher = Literal["full", "ema", "initial"]
DISTILL_TEACHERS: tuple[str, ...] = get_args(DistillTeacher)
TEACHER_STATE = "mic_teacher.pt"
"""The EMA teacher's weights in a checkpoint folder, beside the student's."""
_log = logging.getLogger("mic")


def check_teacher(kind: str, ema_decay: float) -> None:
    """Reject an unknown teacher or an EMA decay outside ``[0, 1)``, naming the bad value."""
    if kind not in DISTILL_TEACHERS:
        raise ValueError(f"distill_teacher must be one of {list(DISTILL_TEACHERS)}, got {kind!r}.")
    if not isinstance(ema_decay, int | float) or not 0 <= ema_decay < 1:
        raise ValueError(f"distill_ema_decay must be in [0, 1), got {ema_decay!r}.")


class DistillationTeacher(nn.Module):
    """A copy of the student that teaches it: frozen at the start (``"initial"``) or its EMA (``"ema"``).

    The copy is an :class:`~torch.optim.swa_utils.AveragedModel` with an EMA update
    (:func:`~torch.optim.swa_utils.get_ema_multi_avg_fn`), ``θ_T ← d θ_T + (1 − d) θ``, applied by :meth:`update`
    before each training forward for ``"ema"`` and never for ``"initial"``. It starts as the starting model, so
    the first update is already an EMA step. It has no gradients, so the optimizer keeps no state for it, and
    it always runs in eval mode (no dropout). A frozen teacher's embeddings are memoised by token ids
    (:class:`~mic.losses.memo.EmbeddingMemo`): a text seen again costs no teacher forward.

    Args:
        model: the student, copied once here.
        kind: ``"initial"`` or ``"ema"``.
        ema_decay: ``d`` of the EMA teacher.

    Example:
        ::

            teacher = DistillationTeacher(model, "ema", ema_decay=0.999)
            teacher.update(model)  # before each training forward: one EMA step towards the student
            target = teacher.embed(model.preprocess(["A man plays a guitar.", "A dog runs."]))  # (2, D)
    """

    def __init__(
        self,
        model: SentenceTransformer,
        kind: Literal["initial", "ema"],
        ema_decay: float = MIC_DEFAULTS.distill_ema_decay,
    ) -> None:
        super().__init__()
        check_teacher(kind, ema_decay)
        if kind == "full":
            raise ValueError("The 'full' teacher is the student itself and needs no DistillationTeacher.")
        self.kind = kind
        self.ema_decay = float(ema_decay)
        self.average = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(self.ema_decay))
        # AveragedModel copies the model at its first update when it has averaged nothing yet; this copy already
        # is the starting model, so count it as averaged and make the first update an EMA step.
        self.average.n_averaged.fill_(1)
        self.average.requires_grad_(False)
        self.memo = EmbeddingMemo() if kind == "initial" else None
        self.train(False)

    @property
    def model(self) -> SentenceTransformer:
        """The teacher's encoder."""
        return self.average.module

    def train(self, mode: bool = True) -> DistillationTeacher:
        """Always eval mode, whatever ``mode``: the teacher runs without dropout."""
        return super().train(False)

    @torch.no_grad()
    def update(self, student: nn.Module) -> None:
        """Follow the student to its device; an EMA teacher then moves towards it (training forwards only)."""
        device = next(student.parameters()).device
        if next(self.average.parameters()).device != device:
            self.average.to(device)
            if self.memo is not None:
                self.memo.clear()
        if self.kind == "ema" and student.training:
            self.average.update_parameters(student)

    @torch.no_grad()
    def embed(self, features: dict[str, Tensor]) -> Tensor:
        """The teacher's full embedding ``(B, D)`` of one input column; a frozen teacher's comes from its memo."""

        def forward(batch: dict[str, Tensor]) -> Tensor:
            return encode(self.model, batch, False).embedding

        return forward(features) if self.memo is None else self.memo(forward, features)

    @torch.no_grad()
    def encode(self, features: dict[str, Tensor]) -> EncoderForward:
        """The teacher's forward on one input column with every layer's token states (not memoised)."""
        return encode(self.model, features, True)

    def save(self, checkpoint: Path) -> None:
        """Write an EMA teacher into ``checkpoint`` (all or nothing); a frozen one is the starting model, rebuilt
        from it on resume, so it writes nothing."""
        if self.kind != "ema":
            return
        buffer = io.BytesIO()
        torch.save(self.average.state_dict(), buffer)
        write_atomic(checkpoint / TEACHER_STATE, buffer.getvalue())

    def load(self, checkpoint: Path) -> None:
        """Restore an EMA teacher from ``checkpoint``. A checkpoint without it (killed between the trainer's
        save and this one's) restarts the average from the student at that step, with a warning."""
        if self.kind != "ema":
            return
        path = checkpoint / TEACHER_STATE
        if not path.is_file():
            _log.warning(
                "%s holds no %s (the run stopped while saving it): the EMA teacher restarts from the student's "
                "weights at this checkpoint.",
                checkpoint,
                TEACHER_STATE,
            )
            self.average.n_averaged.zero_()  # AveragedModel's next update copies the student
            return
        device = next(self.average.parameters()).device
        self.average.load_state_dict(torch.load(path, map_location=device, weights_only=True))


class TeacherCheckpoint(TrainerCallback):
    """Keeps a :class:`DistillationTeacher` in the trainer's checkpoints: saved into each checkpoint folder, restored
    from ``resume_from`` when training begins.

    Args:
        teacher: the loss's teacher (``MICLoss.teacher``).
        resume_from: the checkpoint the trainer resumes from, or ``None`` for a fresh start.

    Example:
        ::

            loss = MICLoss(model, MultipleNegativesRankingLoss(model), dims, distill_teacher="ema")
            callbacks = [TeacherCheckpoint(loss.teacher, resume_from=checkpoint)]  # checkpoint: a folder or None
            trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data, loss=loss,
                                                 callbacks=callbacks)
            trainer.train(resume_from_checkpoint=checkpoint)
    """

    def __init__(self, teacher: DistillationTeacher, resume_from: str | Path | None = None) -> None:
        self.teacher = teacher
        self.resume_from = None if resume_from is None else Path(resume_from)

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: object
    ) -> TrainerControl:
        if self.resume_from is not None:
            self.teacher.load(self.resume_from)
        return control

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: object
    ) -> TrainerControl:
        if state.is_world_process_zero:  # every rank holds the same average of the same synchronised weights
            self.teacher.save(Path(args.output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}")
        return control
