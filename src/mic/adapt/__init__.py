"""Post-hoc Matryoshka adapters: make a frozen encoder's (or any vectors') prefixes strong, in CPU-minutes.

``fit(embeddings, dims=...)`` learns a map ``A: R^D -> R^D`` of frozen embeddings whose every prefix keeps the
full embedding's similarity structure (Matryoshka-Adaptor's terms), with MIC's SIR, SCR and self-distillation
available on its output; ``run_adapt`` (``mic adapt``) does it for a sentence-transformers model and writes a
model folder that every ``mic`` command and ``SentenceTransformer(DIR, truncate_dim=m)`` load.
"""

from mic.adapt.adapter import Adapter, AdapterError, check_embeddings
from mic.adapt.config import AdaptConfig, FitSettings
from mic.adapt.fit import PairSupervision, fit
from mic.adapt.objective import AdapterObjective, prefix_cosines, prefix_similarity_error, topk_similarity_error

__all__ = [
    "AdaptConfig",
    "Adapter",
    "AdapterError",
    "AdapterObjective",
    "FitSettings",
    "PairSupervision",
    "check_embeddings",
    "fit",
    "prefix_cosines",
    "prefix_similarity_error",
    "topk_similarity_error",
]
