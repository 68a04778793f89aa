"""Specification of ``EmbeddingMemo``: each distinct token sequence is encoded once, whatever its padding."""

from __future__ import annotations

import pytest
import torch
from sentence_transformers import SentenceTransformer
from torch import Tensor

from mic.losses.memo import UNKEYED, EmbeddingMemo


def features(rows: list[list[int]], width: int) -> dict[str, Tensor]:
    """Right-padded ``input_ids`` (pad 0) and ``attention_mask`` of ``rows``, ``width`` columns wide."""
    ids = torch.zeros(len(rows), width, dtype=torch.long)
    mask = torch.zeros(len(rows), width, dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    return {"input_ids": ids, "attention_mask": mask}


class CountingEncoder:
    """Embeds a row as (sum of its ids, its length) and records how many rows each call encoded."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, batch: dict[str, Tensor]) -> Tensor:
        self.calls.append(len(batch["input_ids"]))
        mask = batch["attention_mask"]
        return torch.stack([(batch["input_ids"] * mask).sum(1), mask.sum(1)], dim=1).float()


def test_rows_seen_before_are_not_encoded_again_even_under_other_padding() -> None:
    memo, encoder = EmbeddingMemo(), CountingEncoder()
    first = memo(encoder, features([[5, 6], [7, 8, 9]], width=3))
    again = memo(encoder, features([[7, 8, 9], [1], [5, 6]], width=5))
    assert encoder.calls == [2, 1], "the second call encodes only the new row"
    torch.testing.assert_close(first, torch.tensor([[11.0, 2.0], [24.0, 3.0]]))
    torch.testing.assert_close(again, torch.tensor([[24.0, 3.0], [1.0, 1.0], [11.0, 2.0]]))


def test_a_full_memo_still_returns_every_row_and_stores_no_more() -> None:
    memo, encoder = EmbeddingMemo(max_rows=1), CountingEncoder()
    out = memo(encoder, features([[2], [3, 4]], width=2))
    torch.testing.assert_close(out, torch.tensor([[2.0, 1.0], [7.0, 2.0]]))
    memo(encoder, features([[2], [3, 4]], width=2))
    assert len(memo.rows) == 1 and encoder.calls == [2, 1]


def test_inputs_without_token_ids_are_encoded_as_they_are() -> None:
    memo = EmbeddingMemo()
    pixels = {"pixel_values": torch.ones(2, 3)}
    out = memo(lambda batch: batch["pixel_values"] * 2, pixels)
    torch.testing.assert_close(out, torch.full((2, 3), 2.0))
    assert not memo.rows


@pytest.mark.parametrize("key", sorted(UNKEYED))
def test_inputs_whose_embedding_depends_on_more_than_the_ids_are_never_memoised(key: str) -> None:
    memo, encoder = EmbeddingMemo(), CountingEncoder()
    batch = {**features([[5, 6]], width=2), key: torch.zeros(1, 2)}
    memo(encoder, batch)
    memo(encoder, batch)
    assert encoder.calls == [1, 1] and not memo.rows


def test_the_same_ids_with_other_token_types_are_other_rows() -> None:
    memo, encoder = EmbeddingMemo(), CountingEncoder()
    memo(encoder, features([[5, 6]], width=2))
    memo(encoder, {**features([[5, 6]], width=2), "token_type_ids": torch.tensor([[0, 1]])})
    assert encoder.calls == [1, 1] and len(memo.rows) == 2


def test_on_a_real_encoder_a_partly_seen_wider_batch_matches_a_fresh_forward(tiny_model: SentenceTransformer) -> None:
    tiny_model.eval()

    def encode(batch: dict[str, Tensor]) -> Tensor:
        return tiny_model(dict(batch))["sentence_embedding"]

    memo = EmbeddingMemo()
    with torch.no_grad():
        memo(encode, tiny_model.preprocess(["A dog runs.", "He reads"]))
        texts = ["He reads", "The sun is shining brightly over the quiet little town today.", "A dog runs."]
        memoised = memo(encode, tiny_model.preprocess(texts))
        fresh = encode(tiny_model.preprocess(texts))
    assert len(memo.rows) == 3
    torch.testing.assert_close(memoised, fresh, atol=1e-5, rtol=1e-5)
