"""MIC: elastic-dimension (Matryoshka) sentence embeddings that stay strong at 8-64 dims."""

from mic.losses import MICLoss, PrefixSelfDistillation, SoftCollapseRegularizer, SpectralIsotropyRegularizer

__version__ = "0.1.0"

__all__ = [
    "MICLoss",
    "PrefixSelfDistillation",
    "SoftCollapseRegularizer",
    "SpectralIsotropyRegularizer",
    "__version__",
]
