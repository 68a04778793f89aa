"""Rows of any tabular source as dicts, and the checked extraction of sentence and score columns from them.

CSV/TSV/JSONL files, the benchmark files and Hugging Face datasets all become a :class:`Table`, so column
defaults, user-chosen columns and row validation (empty sentence, non-numeric score, missing column) are
written once, and every error names the file and line (or the dataset row).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from mic.data.errors import DataError
from mic.data.scored import ScoredPairs

KIND_COLUMNS: dict[str, tuple[str, ...]] = {
    "scored": ("sentence1", "sentence2", "score"),
    "pairs": ("anchor", "positive"),
    "triplets": ("anchor", "positive", "negative"),
}
"""The columns of the training dataset of each labelled kind, in the order sentence-transformers reads them."""

COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "sentence1": ("sentence1", "sentence_A"),
    "sentence2": ("sentence2", "sentence_B"),
    "score": ("score", "relatedness_score"),
    "anchor": ("anchor", "sentence1", "sentence_A"),
    "positive": ("positive", "sentence2", "sentence_B"),
    "negative": ("negative",),
}
"""Source column names accepted by default for each dataset column, first match wins."""

SENTENCE_COLUMNS = (
    "sentence",
    "text",
    "anchor",
    "positive",
    "negative",
    "sentence1",
    "sentence2",
    "sentence_A",
    "sentence_B",
)
"""Columns read as sentences for unlabeled training when the user names none."""


@dataclass(frozen=True)
class Table:
    """Rows of one source as dicts.

    Attributes:
        source: the file path or dataset name, for messages.
        columns: the column names (a header, JSONL keys of the first row, dataset features).
        rows: one dict per row.
        line_numbers: file line of each row; ``None`` for a dataset, whose rows are named by index.
        score_range: the score scale the format defines (SemEval files: 0..5), else ``None``.

    Raises:
        DataError: when there are no rows.
    """

    source: str
    columns: list[str]
    rows: list[dict[str, object]]
    line_numbers: list[int] | None = None
    score_range: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if not self.rows:
            raise DataError(f"{self.source}: no rows found; the data is empty.")

    def where(self, index: int) -> str:
        """``path:line`` of row ``index`` in a file, ``name row index`` in a dataset."""
        if self.line_numbers is None:
            return f"{self.source} row {index}"
        return f"{self.source}:{self.line_numbers[index]}"


COLUMNS_HINT = "data.columns: [A, B, ...] (--set data.columns=[A,B,...]; in Python columns=[...])"
"""Where a user names the columns of a file or dataset (``DataConfig.columns``)."""


def select_columns(available: Sequence[str], kind: str, columns: Sequence[str] | None, source: str) -> list[str]:
    """The source columns to read for ``kind``: the user's ``columns``, else the defaults found in ``available``.

    For ``"scored"``, ``"pairs"`` and ``"triplets"`` the result lines up with ``KIND_COLUMNS[kind]``; for
    ``"unlabeled"`` it is every sentence column, user-named or among ``SENTENCE_COLUMNS``.

    Raises:
        DataError: when a named column is absent, the user names the wrong number of columns, or no default fits.
    """
    if columns is not None:
        absent = [name for name in columns if name not in available]
        if absent:
            raise DataError(f"{source}: no column named {absent[0]!r}; the columns are {list(available)}.")
        if kind in KIND_COLUMNS and len(columns) != len(KIND_COLUMNS[kind]):
            raise DataError(
                f"kind {kind!r} needs {len(KIND_COLUMNS[kind])} columns {KIND_COLUMNS[kind]}, got {list(columns)}."
            )
        return list(columns)
    if kind not in KIND_COLUMNS:
        chosen = [name for name in available if name in SENTENCE_COLUMNS]
        if not chosen:
            raise DataError(
                f"{source}: no sentence column among {list(available)}; rename one to one of {SENTENCE_COLUMNS}, "
                f"or, to train on it, name the columns in the training config: {COLUMNS_HINT}."
            )
        return chosen
    chosen = []
    for target in KIND_COLUMNS[kind]:
        match = next((name for name in COLUMN_ALIASES[target] if name in available), None)
        if match is None:
            raise DataError(
                f"{source}: missing column {target!r} (accepted names: {COLUMN_ALIASES[target]}); the columns are "
                f"{list(available)}. Rename them to accepted names, or, to train on them, name the {kind} columns "
                f"in order in the training config: {COLUMNS_HINT}."
            )
        chosen.append(match)
    return chosen


def _value(table: Table, index: int, column: str) -> object:
    row = table.rows[index]
    if column not in row:
        raise DataError(f"{table.where(index)}: missing column {column!r}.")
    return row[column]


def text_column(table: Table, column: str) -> list[str]:
    """The sentences of ``column``.

    Raises:
        DataError: at the first row whose value is missing, not a string, or blank.
    """
    texts = []
    for index in range(len(table.rows)):
        value = _value(table, index, column)
        if not isinstance(value, str):
            raise DataError(f"{table.where(index)}: column {column!r} holds {value!r}, not a sentence.")
        if not value.strip():
            raise DataError(f"{table.where(index)}: empty sentence in column {column!r}.")
        texts.append(value)
    return texts


def parse_score(value: object, where: str, score_range: tuple[float, float] | None) -> float:
    """A finite number from a string or JSON number, inside ``score_range`` when one is given.

    Raises:
        DataError: naming ``where`` when the value is not a finite number or lies outside the range.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise DataError(f"{where}: score {value!r} is not a number.")
    try:
        score = float(value)
    except ValueError:
        raise DataError(f"{where}: score {value!r} is not a number.") from None
    if not math.isfinite(score):
        raise DataError(f"{where}: score {value!r} is not a finite number.")
    if score_range is not None and not score_range[0] <= score <= score_range[1]:
        raise DataError(f"{where}: score {score} is outside {score_range[0]}..{score_range[1]}.")
    return score


def scored_pairs(table: Table, columns: Sequence[str], score_range: tuple[float, float] | None) -> ScoredPairs:
    """The pairs of ``table`` read from ``columns`` = (first sentence, second sentence, score).

    Raises:
        DataError: at the first malformed row, or for a score outside ``score_range``.
    """
    first, second, score = columns
    scores = [parse_score(_value(table, i, score), table.where(i), score_range) for i in range(len(table.rows))]
    return ScoredPairs(text_column(table, first), text_column(table, second), scores, table.source, score_range)
