"""Column choice (defaults, aliases, user names) and row validation shared by every tabular source."""

from __future__ import annotations

import pytest

from mic.data import DataError, Table
from mic.data.table import parse_score, scored_pairs, select_columns, text_column


@pytest.mark.parametrize(
    ("available", "kind", "expected"),
    [
        (["id", "sentence1", "sentence2", "score"], "scored", ["sentence1", "sentence2", "score"]),
        (
            ["sentence_A", "sentence_B", "relatedness_score"],
            "scored",
            ["sentence_A", "sentence_B", "relatedness_score"],
        ),
        (["positive", "anchor"], "pairs", ["anchor", "positive"]),
        (["sentence1", "sentence2", "score"], "pairs", ["sentence1", "sentence2"]),
        (["negative", "positive", "anchor"], "triplets", ["anchor", "positive", "negative"]),
        (["id", "sentence2", "score", "sentence1"], "unlabeled", ["sentence2", "sentence1"]),
        (["text", "label"], "unlabeled", ["text"]),
    ],
)
def test_default_columns(available: list[str], kind: str, expected: list[str]) -> None:
    assert select_columns(available, kind, None, "src") == expected


def test_user_columns_win_over_defaults() -> None:
    assert select_columns(["q", "d", "sim", "sentence1"], "scored", ["q", "d", "sim"], "src") == ["q", "d", "sim"]
    assert select_columns(["q", "d"], "unlabeled", ["d"], "src") == ["d"]


@pytest.mark.parametrize(
    ("available", "kind", "columns", "message"),
    [
        (["sentence1", "sentence2"], "scored", None, r"src: missing column 'score' \(accepted names: \('score', "),
        (["anchor", "positive"], "triplets", None, r"missing column 'negative'.*columns=\[\.\.\.\]"),
        (["id", "label"], "unlabeled", None, r"src: no sentence column among \['id', 'label'\]"),
        (["q", "d"], "pairs", ["q", "doc"], r"src: no column named 'doc'; the columns are \['q', 'd'\]"),
        (["q", "d"], "pairs", ["q"], r"kind 'pairs' needs 2 columns \('anchor', 'positive'\), got \['q'\]"),
    ],
)
def test_column_errors(available: list[str], kind: str, columns: list[str] | None, message: str) -> None:
    with pytest.raises(DataError, match=message):
        select_columns(available, kind, columns, "src")


def test_rows_are_named_by_line_in_files_and_by_index_in_datasets() -> None:
    rows = [{"s": "a"}, {"s": ""}]
    with pytest.raises(DataError, match=r"^f.tsv:7: empty sentence in column 's'"):
        text_column(Table("f.tsv", ["s"], rows, [3, 7]), "s")
    with pytest.raises(DataError, match=r"^org/set:train row 1: empty sentence in column 's'"):
        text_column(Table("org/set:train", ["s"], rows), "s")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"a": "x", "b": "y"}, r"f:1: missing column 's'"),
        ({"a": None, "b": "y", "s": 1}, r"f:1: column 'a' holds None, not a sentence"),
        ({"a": "x", "b": "y", "s": "n/a"}, r"f:1: score 'n/a' is not a number"),
        ({"a": "x", "b": "y", "s": True}, r"f:1: score True is not a number"),
        ({"a": "x", "b": "y", "s": "nan"}, r"f:1: score 'nan' is not a finite number"),
        ({"a": "x", "b": "y", "s": 7}, r"f:1: score 7.0 is outside 0..5"),
    ],
)
def test_malformed_rows(row: dict[str, object], message: str) -> None:
    with pytest.raises(DataError, match=message):
        scored_pairs(Table("f", list(row), [row], [1]), ["a", "b", "s"], (0, 5))


def test_scores_may_be_json_numbers_or_numeric_strings() -> None:
    assert parse_score(3, "f:1", None) == 3.0 and parse_score(" 2.5", "f:1", (0, 5)) == 2.5


def test_a_table_without_rows_is_empty_data() -> None:
    with pytest.raises(DataError, match="f.csv: no rows found; the data is empty"):
        Table("f.csv", ["a"], [])
