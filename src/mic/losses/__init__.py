"""The MIC objective: SCR, SIR and self-distillation terms, the distillation teacher, and ``MICLoss`` that
combines them with MRL; the sign-code term of binary shortlists."""

from mic.losses.bits import SignCodeRegularizer
from mic.losses.distill import PrefixSelfDistillation
from mic.losses.mic import MICLoss, resolve_layers
from mic.losses.scr import SoftCollapseRegularizer
from mic.losses.sir import SpectralIsotropyRegularizer
from mic.losses.teacher import DistillationTeacher, TeacherCheckpoint

__all__ = [
    "DistillationTeacher",
    "MICLoss",
    "PrefixSelfDistillation",
    "SignCodeRegularizer",
    "SoftCollapseRegularizer",
    "SpectralIsotropyRegularizer",
    "TeacherCheckpoint",
    "resolve_layers",
]
