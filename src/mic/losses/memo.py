"""EmbeddingMemo: a frozen encoder's sentence embeddings, computed once per distinct token sequence."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

# About 400 MB of float32 at 384 dims (1 GB at 1024), on the teacher's device; past it, rows that are not
# memoised yet are encoded every time.
MAX_ROWS = 262_144
UNKEYED = frozenset({"task", "prompt_length", "position_ids", "pixel_values"})
"""Inputs that change an embedding beside the token ids (a Router's route, a pooled-out prompt, packed
sequences, images): a batch with any of them is encoded as it is."""


class EmbeddingMemo:
    """Memo of a frozen, eval-mode encoder: it gives a text the same embedding every time it sees it.

    Rows are keyed by their unpadded token ids and token type ids (where ``attention_mask`` is 1), so a text
    seen before under another padding length is not encoded again; only the rows not seen yet go through
    ``encode``. With right padding a memoised row then differs from a fresh forward by float rounding only
    (padding changes the shapes of the attention matmuls, not which tokens are attended to or their positions).
    In a multi-epoch run, or a SimCSE pair whose two columns are one text, this removes most of a frozen
    teacher's forwards. Keys are read on the host: one device→host copy of the ids per call. Inputs that are
    not padded text batches (no ``input_ids``/``attention_mask`` of one shape, a modality other than text, or
    a key of :data:`UNKEYED`) are encoded as they are. Holds at most ``max_rows`` rows.
    """

    def __init__(self, max_rows: int = MAX_ROWS) -> None:
        self.max_rows = max_rows
        self.rows: dict[bytes, Tensor] = {}

    def __call__(self, encode: Callable[[dict[str, Tensor]], Tensor], features: dict[str, Tensor]) -> Tensor:
        """``encode(features)``, ``(B, D)``, with each row taken from the memo when it is there."""
        if not _padded_text(features):
            return encode(features)
        keep = features["attention_mask"].cpu().bool()
        ids = features["input_ids"].cpu()
        types = features["token_type_ids"].cpu() if "token_type_ids" in features else torch.zeros_like(ids)
        keys = [
            row[mask].numpy().tobytes() + b"|" + kinds[mask].numpy().tobytes()
            for row, kinds, mask in zip(ids, types, keep, strict=True)
        ]
        missing = [i for i, key in enumerate(keys) if key not in self.rows]
        fresh: dict[bytes, Tensor] = {}
        if missing:
            index = torch.tensor(missing, device=features["input_ids"].device)
            size = len(keys)
            subset = {
                name: value[index] if isinstance(value, Tensor) and value.dim() > 0 and len(value) == size else value
                for name, value in features.items()
            }
            for i, row in zip(missing, encode(subset), strict=True):
                fresh[keys[i]] = row
                if len(self.rows) < self.max_rows:
                    self.rows[keys[i]] = row
        return torch.stack([self.rows[key] if key in self.rows else fresh[key] for key in keys])

    def clear(self) -> None:
        self.rows.clear()


def _padded_text(features: dict[str, Tensor]) -> bool:
    """Whether ``features`` is a padded batch of texts whose embeddings depend on their token ids alone."""
    ids, mask = features.get("input_ids"), features.get("attention_mask")
    if not isinstance(ids, Tensor) or not isinstance(mask, Tensor) or ids.dim() != 2 or mask.shape != ids.shape:
        return False
    return features.get("modality", "text") == "text" and not UNKEYED & features.keys()
