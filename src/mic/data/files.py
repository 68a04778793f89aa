"""Local files: CSV, TSV and JSONL tables (the format from the extension) and sentence-per-line text.

Tab-separated files (``.tsv``, ``.txt``) are split on tabs with quoting off, so quotes stay literal text as
in the STS benchmarks; ``.csv`` files use standard CSV quoting. A tab file whose first line is
``number<TAB>text<TAB>text`` has no header and is read as SemEval STS ``score<TAB>sentence1<TAB>sentence2``
on the 0-5 scale; every other table needs a header naming its columns. For unlabeled data a ``.txt`` file whose
first line has no tab holds one sentence per line. Blank lines are skipped everywhere.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from mic.data.errors import DataError
from mic.data.scored import STS_RANGE
from mic.data.table import Table

FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".jsonl": "jsonl"}
"""File extension -> table format; ``.txt`` is tab-separated (or sentence-per-line for unlabeled data)."""

SEMEVAL_COLUMNS = ["score", "sentence1", "sentence2"]


def file_format(path: Path) -> str:
    """``"csv"``, ``"tsv"`` or ``"jsonl"`` from the extension of ``path``.

    Raises:
        DataError: for any other extension.
    """
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise DataError(f"{path}: unknown file type {suffix or '(none)'!r}; use one of {sorted(FORMATS)}.")
    return FORMATS[suffix]


def require_file(path: Path) -> None:
    """Raise a :class:`DataError` naming the path tried unless ``path`` is an existing file."""
    if not path.is_file():
        raise DataError(f"File {path} not found (looked for {path.resolve()}); check the path.")


@contextmanager
def open_text(path: Path) -> Iterator[TextIO]:
    """``path`` opened as UTF-8 text (a byte-order mark is dropped, line endings kept for the csv module).

    Raises:
        DataError: when the file does not exist or is not UTF-8.
    """
    require_file(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            yield handle
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start}).") from None


def read_fields(path: Path, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` of each non-blank record; tab files are split with quoting off, CSV strictly.

    Raises:
        DataError: for a missing or undecodable file, or a CSV syntax error (with its line).
    """
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    with open_text(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter, quoting=quoting, strict=True)
        try:
            for fields in reader:
                if fields:
                    yield reader.line_num, fields
        except csv.Error as error:
            raise DataError(f"{path}:{reader.line_num}: {error}.") from None


def _is_semeval_row(fields: list[str]) -> bool:
    if len(fields) != len(SEMEVAL_COLUMNS):
        return False
    try:
        float(fields[0])
    except ValueError:
        return False
    return True


def _delimited_table(path: Path, delimiter: str) -> Table:
    records = list(read_fields(path, delimiter))
    if not records:
        raise DataError(f"{path}: the file is empty.")
    semeval = delimiter == "\t" and _is_semeval_row(records[0][1])
    if semeval:
        header = SEMEVAL_COLUMNS
    else:
        header, records = records[0][1], records[1:]
    for line_number, fields in records:
        if len(fields) != len(header):
            expected = "score<TAB>sentence1<TAB>sentence2" if semeval else "the header"
            raise DataError(
                f"{path}:{line_number}: expected {len(header)} fields like {expected}, found {len(fields)}."
            )
    return Table(
        source=str(path),
        columns=list(header),
        rows=[dict(zip(header, fields, strict=True)) for _, fields in records],
        line_numbers=[line_number for line_number, _ in records],
        score_range=STS_RANGE if semeval else None,
    )


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` of each non-blank line of a JSONL file, read lazily (files of any size).

    Raises:
        DataError: for a missing or undecodable file, or a line that is not a JSON object (with its line).
    """
    with open_text(path) as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line.rstrip("\r\n"))
            except json.JSONDecodeError as error:  # some of json's messages end in "at", e.g. "...starting at"
                problem = error.msg.removesuffix(" at")
                raise DataError(f"{path}:{line_number}: bad JSON ({problem} at column {error.colno}).") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{line_number}: expected a JSON object per line, found {type(row).__name__}.")
            yield line_number, row


def _jsonl_table(path: Path) -> Table:
    records = list(iter_jsonl(path))
    rows = [row for _, row in records]
    return Table(str(path), list(rows[0]) if rows else [], rows, [line_number for line_number, _ in records])


def read_table(path: Path) -> Table:
    """The rows of a CSV, TSV or JSONL file (JSONL columns: the keys of its first object).

    Raises:
        DataError: for an unknown extension, a missing, empty or undecodable file, a row whose field count
            differs from the header's, or a line that is not a JSON object.
    """
    kind = file_format(path)
    if kind == "jsonl":
        return _jsonl_table(path)
    return _delimited_table(path, "," if kind == "csv" else "\t")


def is_sentence_file(path: Path) -> bool:
    """Whether ``path`` is a ``.txt`` file whose first non-blank line holds no tab, i.e. one sentence per line."""
    if path.suffix.lower() != ".txt":
        return False
    with open_text(path) as handle:
        first = next((line for line in handle if line.strip()), "")
    return "\t" not in first


def read_sentence_lines(path: Path) -> list[str]:
    """The sentences of a text file with one sentence per line (line endings and blank lines dropped).

    Raises:
        DataError: for a missing or undecodable file, a line holding a tab, or a file without sentences.
    """
    sentences = []
    with open_text(path) as handle:
        for line_number, line in enumerate(handle, start=1):
            sentence = line.rstrip("\r\n")
            if "\t" in sentence:
                raise DataError(
                    f"{path}:{line_number}: a tab in a file of one sentence per line (its first line has none)."
                )
            if sentence.strip():
                sentences.append(sentence)
    if not sentences:
        raise DataError(f"{path}: no sentences found; the file is empty.")
    return sentences
