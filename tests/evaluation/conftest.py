"""Fixtures for the evaluation tests: a small scored-pair file and a small BEIR folder of random words."""

from __future__ import annotations

import json
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


def write_beir_folder(folder: Path, documents: int = 30, seed: int = 0) -> Path:
    """A BEIR folder of random-word documents and test/train queries with their qrels.

    Test queries 0-3 repeat the text of documents 0-3 (each judging its document relevant); query 4 judges
    documents 5 (relevant) and 6 (score 0, not relevant); query 5 judges document 7. Train queries judge
    documents 10-11.
    """
    rng = random.Random(seed)
    texts = [" ".join(rng.choices(WORDS, k=rng.randint(4, 12))) for _ in range(documents)]
    (folder / "qrels").mkdir(parents=True)
    corpus = [json.dumps({"_id": f"d{row}", "title": "", "text": text}) for row, text in enumerate(texts)]
    (folder / "corpus.jsonl").write_text("\n".join(corpus) + "\n", encoding="utf-8")
    queries = {f"q{row}": texts[row] for row in range(4)}
    queries |= {f"q{row}": " ".join(rng.choices(WORDS, k=5)) for row in (4, 5, 10, 11)}
    lines = [json.dumps({"_id": identifier, "text": text}) for identifier, text in queries.items()]
    (folder / "queries.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    test = [f"q{row}\td{row}\t1" for row in range(4)] + ["q4\td5\t1", "q4\td6\t0", "q5\td7\t1"]
    train = ["q10\td10\t1", "q11\td11\t1"]
    for split, rows in (("test", test), ("train", train)):
        (folder / "qrels" / f"{split}.tsv").write_text("query-id\tcorpus-id\tscore\n" + "\n".join(rows) + "\n")
    return folder


@pytest.fixture
def beir_folder(tmp_path: Path) -> Path:
    return write_beir_folder(tmp_path / "beir")


@pytest.fixture(autouse=True)
def private_embedding_cache(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests never write into the user's embedding cache; integration tests read the real one."""
    if request.node.get_closest_marker("integration") is None:
        monkeypatch.setenv("MIC_CACHE_DIR", str(tmp_path / "embedding-cache"))
