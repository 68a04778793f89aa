"""Token states for the adapter's token-level SCR: the base model's last-layer tokens of a sample of fit texts
(a static-embedding model's token vectors, :func:`mic.models.static_token_states`).

A linear adapter commutes with mean pooling, so ``A`` applied to the last layer's token states is the map the
sentence embeddings see (the Normalize that follows pooling scales each sentence, and SCR standardises each
sentence's features over its own tokens, so neither that scale nor the bias ``b`` changes the statistic). SCR on
``A(tokens)`` is then MIC's token-level term (:class:`~mic.losses.SoftCollapseRegularizer`), as in training.

Keeping every token of every fit text would cost ``N × T × D`` floats, so a fixed sample of texts (seed 0,
independent of the fit seed, so every seed reads the same cache entry) is kept, each cut to its first
``max_tokens`` token states after the full forward. The sample is stored once per model and text list under
``$MIC_CACHE_DIR/tokens/`` as float16 (the statistic is a correlation; half precision is far below its noise).
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from mic.cache import cache_entry
from mic.defaults import DEFAULT_BATCH_SIZE
from mic.encoders import Encoder
from mic.models import token_layers
from mic.staging import write_atomic, write_json

TOKEN_TEXTS = 1024
"""Fit texts whose token states are kept (a seeded sample; all of them when there are fewer)."""
MAX_TOKENS = 64
"""Token states kept per text: the first ``MAX_TOKENS`` of its forward ([CLS] included)."""


@dataclass(frozen=True)
class TokenStates:
    """Padded last-layer token states ``hidden (S, T, D)`` (float32) and their mask ``(S, T)`` (1 = token)."""

    hidden: Tensor
    mask: Tensor


def exposes_token_states(encoder: Encoder) -> bool:
    """Whether the model exposes token states SCR can use: a Hugging Face transformer's layers, a static model's
    token vectors (:func:`mic.models.token_layers`)."""
    return token_layers(encoder.model) is not None


def sample_texts(texts: Sequence[str], count: int = TOKEN_TEXTS) -> list[str]:
    """A fixed (seed 0) sample of ``count`` distinct texts, in their original order."""
    if len(texts) <= count:
        return list(texts)
    picked = torch.randperm(len(texts), generator=torch.Generator().manual_seed(0))[:count]
    return [texts[row] for row in sorted(picked.tolist())]


def token_states(
    encoder: Encoder,
    texts: Sequence[str],
    *,
    fingerprint: str,
    cache_dir: str | Path | None = None,
    max_tokens: int = MAX_TOKENS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    show_progress_bar: bool = False,
) -> TokenStates:
    """The last-layer token states of ``texts`` (up to ``max_tokens`` each), read from the cache or computed.

    Args:
        encoder: the frozen base model (its first module a Hugging Face transformer).
        texts: the texts, usually :func:`sample_texts` of the fit texts.
        fingerprint: the encoder's :func:`mic.models.model_fingerprint`.
        cache_dir: the cache folder (``None``: :func:`mic.cache.default_cache_dir`).
        max_tokens: token states kept per text.
        batch_size: texts per forward on a miss.
        show_progress_bar: a tqdm bar on a miss.

    Raises:
        EvaluationError: when the model exposes no token states (its first module is not a transformer).
    """
    texts = list(texts)
    entry = cache_entry("tokens", fingerprint, texts, cache_dir, variant=str(max_tokens)).with_suffix(".npz")
    try:
        with np.load(entry, allow_pickle=False) as stored:
            hidden, mask = stored["hidden"], stored["mask"]
        if len(hidden) == len(texts):
            return TokenStates(torch.from_numpy(hidden.astype(np.float32)), torch.from_numpy(mask))
    except (OSError, ValueError, KeyError, EOFError):
        pass
    start = time.perf_counter()
    hidden_rows = np.zeros((len(texts), max_tokens, encoder.dim), dtype=np.float16)
    mask_rows = np.zeros((len(texts), max_tokens), dtype=np.float32)
    for batch in encoder.layer_batches(texts, encoder.num_layers, batch_size, show_progress_bar):
        kept = min(max_tokens, batch.hidden.shape[1])
        mask = batch.mask[:, :kept].float()
        hidden_rows[batch.indices.numpy(), :kept] = (batch.hidden[:, :kept] * mask[..., None]).numpy()
        mask_rows[batch.indices.numpy(), :kept] = mask.numpy()
    entry.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, hidden=hidden_rows, mask=mask_rows)
    write_atomic(entry, buffer.getvalue())
    sidecar = {"model": encoder.name, "fingerprint": fingerprint, "texts": len(texts), "max_tokens": max_tokens,
               "encode_seconds": round(time.perf_counter() - start, 3)}  # fmt: skip
    write_json(sidecar, entry.with_suffix(".json"))
    return TokenStates(torch.from_numpy(hidden_rows.astype(np.float32)), torch.from_numpy(mask_rows))
