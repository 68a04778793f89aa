"""Readers for the two standard STS benchmarks in their original files: STS Benchmark and SICK 2014.

The folder comes from ``--data-dir`` or the ``MIC_DATA_DIR`` environment variable and holds
``stsbenchmark/sts-{train,dev,test}.csv`` and ``sick2014/SICK_{train,trial,test_annotated}.txt``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_ENV = "MIC_DATA_DIR"

STSB_FILES = {"train": "sts-train.csv", "dev": "sts-dev.csv", "validation": "sts-dev.csv", "test": "sts-test.csv"}
SICK_FILES = {
    "train": "SICK_train.txt",
    "dev": "SICK_trial.txt",
    "trial": "SICK_trial.txt",
    "validation": "SICK_trial.txt",
    "test": "SICK_test_annotated.txt",
}


class DataError(ValueError):
    """A data file is missing or malformed; the message names the file (and line) and the fix."""


@dataclass(frozen=True)
class ScoredPairs:
    """Sentence pairs with a gold similarity score, the input of STS evaluation and CoSENT training."""

    sentences1: list[str]
    sentences2: list[str]
    scores: list[float]
    source: str

    def __post_init__(self) -> None:
        if not (len(self.sentences1) == len(self.sentences2) == len(self.scores)):
            raise DataError(f"{self.source}: sentence and score columns differ in length.")
        if not self.scores:
            raise DataError(f"{self.source}: no sentence pairs found.")

    def __len__(self) -> int:
        return len(self.scores)


def resolve_data_dir(data_dir: str | Path | None) -> Path:
    """The data folder: the argument if given, else ``$MIC_DATA_DIR``.

    Raises:
        DataError: when neither is set or the folder does not exist.
    """
    chosen = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV)
    if not chosen:
        raise DataError(f"No data folder given: pass --data-dir DIR or set {DATA_DIR_ENV}=DIR.")
    path = Path(chosen).expanduser()
    if not path.is_dir():
        source = "--data-dir" if data_dir is not None else DATA_DIR_ENV
        raise DataError(f"The data folder {path} (from {source}) does not exist.")
    return path


def _benchmark_file(data_dir: str | Path | None, folder: str, files: dict[str, str], split: str) -> Path:
    if split not in files:
        raise DataError(f"Unknown split {split!r} for {folder}; choose one of {sorted(files)}.")
    path = resolve_data_dir(data_dir) / folder / files[split]
    if not path.is_file():
        raise DataError(f"{path} not found: the data folder must contain {folder}/{files[split]} (see {DATA_DIR_ENV}).")
    return path


def _parse_score(text: str, path: Path, line_number: int, low: float, high: float) -> float:
    try:
        score = float(text)
    except ValueError:
        raise DataError(f"{path}:{line_number}: score {text!r} is not a number.") from None
    if not low <= score <= high:
        raise DataError(f"{path}:{line_number}: score {score} is outside {low}..{high}.")
    return score


def load_stsb(split: str, data_dir: str | Path | None = None) -> ScoredPairs:
    """STS Benchmark: tab-separated, no header, score and sentences in columns 5-7 (extra fields ignored).

    Quotes are literal text, so lines are split on tabs without any CSV quoting.
    """
    path = _benchmark_file(data_dir, "stsbenchmark", STSB_FILES, split)
    first, second, scores = [], [], []
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 7:
                raise DataError(f"{path}:{line_number}: expected at least 7 tab-separated fields, found {len(fields)}.")
            scores.append(_parse_score(fields[4], path, line_number, 0.0, 5.0))
            first.append(fields[5])
            second.append(fields[6])
    return ScoredPairs(first, second, scores, source=str(path))


def load_sick(split: str, data_dir: str | Path | None = None) -> ScoredPairs:
    """SICK 2014 relatedness: tab-separated with a header (pair_ID, sentence_A, sentence_B, relatedness_score, ...)."""
    path = _benchmark_file(data_dir, "sick2014", SICK_FILES, split)
    first, second, scores = [], [], []
    with path.open(encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        try:
            a, b, score = header.index("sentence_A"), header.index("sentence_B"), header.index("relatedness_score")
        except ValueError:
            raise DataError(f"{path}:1: header must name sentence_A, sentence_B and relatedness_score.") from None
        for line_number, line in enumerate(handle, start=2):
            fields = line.rstrip("\n").split("\t")
            if len(fields) <= max(a, b, score):
                raise DataError(f"{path}:{line_number}: expected {len(header)} tab-separated fields, found {len(fields)}.")
            scores.append(_parse_score(fields[score], path, line_number, 1.0, 5.0))
            first.append(fields[a])
            second.append(fields[b])
    return ScoredPairs(first, second, scores, source=str(path))
