"""One encoder forward with every layer's token states: what the MIC terms, the teacher and the token-level
statistics (:meth:`mic.encoders.Encoder.layer_batches`) read."""

from __future__ import annotations

from dataclasses import dataclass

from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import StaticEmbedding
from torch import Tensor

from mic.models import static_token_states


@dataclass
class EncoderForward:
    """What one encoder forward produced: the full sentence embedding ``(B, D)``, the attention mask ``(B, T)``
    and, when asked for, the token states ``(B, T, D)`` of every layer (index 0: the embedding output)."""

    embedding: Tensor
    mask: Tensor
    hidden_states: tuple[Tensor, ...]


def encode(model: SentenceTransformer, features: dict[str, Tensor], hidden: bool) -> EncoderForward:
    """One forward of ``model`` (or its DDP wrapper) on one input column, with every layer's token states when
    ``hidden``; the model's ``output_hidden_states`` setting is restored afterwards. A static-embedding model's
    one layer of token states is its token vectors (:func:`mic.models.static_token_states`)."""
    first = getattr(model, "module", model)[0]
    if isinstance(first, StaticEmbedding):
        tokens, mask = static_token_states(first, features)
        return EncoderForward(model(features)["sentence_embedding"], mask, (tokens,) if hidden else ())
    config = first.auto_model.config
    previous = config.output_hidden_states
    config.output_hidden_states = hidden or previous
    try:
        output = model(features)
    finally:
        config.output_hidden_states = previous
    return EncoderForward(
        output["sentence_embedding"], output["attention_mask"], output.get("all_layer_embeddings", ())
    )
