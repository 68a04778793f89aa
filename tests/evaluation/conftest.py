"""Fixtures for the evaluation tests: a small scored-pair file of random words."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

WORDS = (
    "the a cat dog bird man woman child runs sits sleeps eats plays sings on under near house park table "
    "red blue green small big quickly slowly happily music food water"
).split()


def write_scored_pairs(path: Path, count: int = 60, seed: int = 0) -> Path:
    """``count`` lines ``score<TAB>sentence1<TAB>sentence2`` of random words on the 0..5 scale.

    Every fifth pair is a sentence with itself, scored 5, so there are positive pairs for alignment.
    """
    rng = random.Random(seed)
    sentences = [" ".join(rng.choices(WORDS, k=rng.randint(3, 9))) for _ in range(count)]
    lines = []
    for index in range(count):
        first = sentences[index]
        second = sentences[(index * 7 + 3) % count] if index % 5 else first
        score = 5.0 if first == second else round(rng.uniform(0, 4.5), 2)
        lines.append(f"{score}\t{first}\t{second}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def pairs_file(tmp_path: Path) -> Path:
    return write_scored_pairs(tmp_path / "pairs.tsv")
