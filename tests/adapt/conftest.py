"""Adapter tests run small tensors on shared CPU cores: one intra-op thread avoids oversubscription."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from helpers import one_torch_thread  # noqa: F401  (autouse fixture)


@pytest.fixture
def unit_rows() -> torch.Tensor:
    """300 unit-norm rows of 32 dims with a decaying variance profile (like real embeddings)."""
    generator = torch.Generator().manual_seed(0)
    scales = torch.linspace(2.0, 0.2, 32)
    return torch.nn.functional.normalize(torch.randn(300, 32, generator=generator) * scales + 0.3, dim=-1)


WORDS = (
    "the a cat dog bird man woman child runs sits sleeps eats plays sings on under near house park table "
    "red blue green small big quickly slowly happily music food water"
).split()


def random_sentences(count: int, seed: int = 0) -> list[str]:
    """``count`` distinct sentences of random words."""
    generator = random.Random(seed)
    sentences: dict[str, None] = {}
    while len(sentences) < count:
        sentences[" ".join(generator.choices(WORDS, k=generator.randint(3, 9)))] = None
    return list(sentences)


@pytest.fixture
def sentence_file(tmp_path: Path) -> Path:
    """40 sentences, one per line."""
    path = tmp_path / "sentences.txt"
    path.write_text("\n".join(random_sentences(40)) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def scored_file(tmp_path: Path) -> Path:
    """30 scored pairs ``score<TAB>sentence1<TAB>sentence2`` on the 0..5 scale."""
    generator = random.Random(1)
    sentences = random_sentences(60, seed=1)
    lines = [f"{round(generator.uniform(0, 5), 2)}\t{sentences[i]}\t{sentences[i + 30]}" for i in range(30)]
    path = tmp_path / "pairs.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
