"""One encoder forward with every layer's token states: what the MIC terms and the teacher read."""

from __future__ import annotations

from dataclasses import dataclass

from sentence_transformers import SentenceTransformer
from torch import Tensor


@dataclass
class EncoderForward:
    """What one encoder forward produced: the full sentence embedding ``(B, D)``, the attention mask ``(B, T)``
    and, when asked for, the token states ``(B, T, D)`` of every layer (index 0: the embedding output)."""

    embedding: Tensor
    mask: Tensor
    hidden_states: tuple[Tensor, ...]


def encode(model: SentenceTransformer, features: dict[str, Tensor], hidden: bool) -> EncoderForward:
    """One forward of ``model`` (or its DDP wrapper) on one input column, with every layer's token states when
    ``hidden``; the model's ``output_hidden_states`` setting is restored afterwards."""
    config = getattr(model, "module", model)[0].auto_model.config
    previous = config.output_hidden_states
    config.output_hidden_states = hidden or previous
    try:
        output = model(features)
    finally:
        config.output_hidden_states = previous
    return EncoderForward(
        output["sentence_embedding"], output["attention_mask"], output.get("all_layer_embeddings", ())
    )
