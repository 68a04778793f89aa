"""The MIC objective: SCR, SIR and self-distillation terms, and ``MICLoss`` that combines them with MRL."""

from mic.losses.distill import PrefixSelfDistillation
from mic.losses.mic import MICLoss, resolve_layers
from mic.losses.scr import SoftCollapseRegularizer
from mic.losses.sir import SpectralIsotropyRegularizer

__all__ = [
    "MICLoss",
    "PrefixSelfDistillation",
    "SoftCollapseRegularizer",
    "SpectralIsotropyRegularizer",
    "resolve_layers",
]
