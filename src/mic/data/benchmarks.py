"""Readers for the two standard STS benchmarks in their original files: STS Benchmark and SICK 2014.

The folder comes from ``--data-dir`` or the ``MIC_DATA_DIR`` environment variable and holds
``stsbenchmark/sts-{train,dev,test}.csv`` and ``sick2014/SICK_{train,trial,test_annotated}.txt``.
Scores keep their published scales, STS-B 0..5 and SICK relatedness 1..5.
"""

from __future__ import annotations

import os
from pathlib import Path

from mic.data.errors import DataError
from mic.data.files import read_fields, read_table
from mic.data.scored import STS_RANGE, ScoredPairs
from mic.data.table import KIND_COLUMNS, Table, scored_pairs, select_columns

DATA_DIR_ENV = "MIC_DATA_DIR"

STSB_FILES = {"train": "sts-train.csv", "dev": "sts-dev.csv", "validation": "sts-dev.csv", "test": "sts-test.csv"}
SICK_FILES = {
    "train": "SICK_train.txt",
    "dev": "SICK_trial.txt",
    "trial": "SICK_trial.txt",
    "validation": "SICK_trial.txt",
    "test": "SICK_test_annotated.txt",
}
SICK_RANGE = (1.0, 5.0)
STSB_FIELDS = {"score": 4, "sentence1": 5, "sentence2": 6}
"""STS-B columns 5-7 by position; the first four are genre, file, year and id, and 503 rows carry two more."""
SICK_COLUMNS = ["sentence_A", "sentence_B", "relatedness_score"]


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
        raise DataError(
            f"{path} not found: the data folder must contain {folder}/{files[split]}; "
            f"pass --data-dir DIR or set {DATA_DIR_ENV}=DIR to the folder holding {folder}/."
        )
    return path


def load_stsb(split: str, data_dir: str | Path | None = None) -> ScoredPairs:
    """STS Benchmark ``split`` (train, dev/validation, test): tab-separated, no header, columns 5-7 used.

    Quotes are literal text, so lines are split on tabs without CSV quoting; fields after the seventh are ignored.

    Raises:
        DataError: for an unknown split, a missing file, or a row with fewer than 7 fields, an empty sentence or
            a score outside 0..5 (with file and line).
    """
    path = _benchmark_file(data_dir, "stsbenchmark", STSB_FILES, split)
    rows, line_numbers = [], []
    for line_number, fields in read_fields(path, "\t"):
        if len(fields) < 7:
            raise DataError(f"{path}:{line_number}: expected at least 7 tab-separated fields, found {len(fields)}.")
        rows.append({name: fields[position] for name, position in STSB_FIELDS.items()})
        line_numbers.append(line_number)
    return scored_pairs(Table(str(path), list(STSB_FIELDS), rows, line_numbers), KIND_COLUMNS["scored"], STS_RANGE)


def load_sick(split: str, data_dir: str | Path | None = None) -> ScoredPairs:
    """SICK 2014 relatedness ``split`` (train, trial/dev/validation, test), scored 1..5.

    Tab-separated with a header naming sentence_A, sentence_B and relatedness_score.

    Raises:
        DataError: for an unknown split, a missing file, a missing header column, or a malformed row.
    """
    path = _benchmark_file(data_dir, "sick2014", SICK_FILES, split)
    table = read_table(path)
    return scored_pairs(table, select_columns(table.columns, "scored", SICK_COLUMNS, table.source), SICK_RANGE)
