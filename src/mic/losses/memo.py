"""EmbeddingMemo: a frozen encoder's sentence embeddings, computed once per distinct token sequence."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

# About 400 MB of float32 at 384 dims; past it, rows that are not memoised yet are encoded every time.
MAX_ROWS = 262_144


class EmbeddingMemo:
    """Memo of a frozen, eval-mode encoder: it gives a text the same embedding every time it sees it.

    Rows are keyed by their unpadded token ids (``input_ids`` where ``attention_mask`` is 1), so a text seen
    before under another padding length is not encoded again; only the rows not seen yet go through
    ``encode``. A memoised row then differs from a fresh forward by float rounding only (padding changes the
    shapes of the attention matmuls, not which tokens they attend to). In a multi-epoch run, or a SimCSE pair
    whose two columns are one text, this removes most of a frozen teacher's forwards. Inputs without
    ``input_ids`` and ``attention_mask`` are encoded as they are. Holds at most ``max_rows`` rows.
    """

    def __init__(self, max_rows: int = MAX_ROWS) -> None:
        self.max_rows = max_rows
        self.rows: dict[bytes, Tensor] = {}

    def __call__(self, encode: Callable[[dict[str, Tensor]], Tensor], features: dict[str, Tensor]) -> Tensor:
        """``encode(features)``, ``(B, D)``, with each row taken from the memo when it is there."""
        if "input_ids" not in features or "attention_mask" not in features:
            return encode(features)
        ids, keep = features["input_ids"].cpu(), features["attention_mask"].cpu().bool()
        keys = [row[mask].numpy().tobytes() for row, mask in zip(ids, keep, strict=True)]
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
