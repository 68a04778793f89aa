"""Documents and queries, one per row of a file, read lazily so a corpus of any size streams.

A file of texts is:

- a ``.jsonl`` file: one object per line with ``text`` (and optionally ``title``, joined as BEIR does, see
  :func:`document_text`, and ``_id``);
- a ``.csv`` / ``.tsv`` / ``.txt`` table whose header names a ``text`` column (optional ``_id`` and ``title``);
- a ``.txt`` file whose first line has no tab: one text per line.

A text's id is its ``_id`` when the row has one, else its line number in the file. A row whose text (with its
title) is empty is left out with one warning that counts them, as BEIR and MTEB evaluations go on over such
rows; a repeated id, a file with nothing to read and a malformed line are errors naming the file and line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mic.data.errors import DataError
from mic.data.files import file_format, is_sentence_file, iter_jsonl, open_text, read_fields

ID_FIELD = "_id"
TEXT_FIELD = "text"
TITLE_FIELD = "title"
SHOWN_IDS = 5
"""How many ids a warning about left-out rows names."""

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Document:
    """One document (or query): its id, its text, where it was read (``file:line``, for messages) and its title.

    ``text`` is the title and body joined by :func:`document_text`; ``title`` is the stripped title alone
    (empty when the row has none), so ``text`` minus the title is the body (:attr:`body`).
    """

    id: str
    text: str
    origin: str
    title: str = ""

    @property
    def body(self) -> str:
        """The text without its title (``text`` starts with the title, see :func:`document_text`)."""
        return self.text[len(self.title) :].strip()


def document_text(text: str, title: object = None) -> str:
    """``title + " " + text`` (BEIR and MTEB), or ``text`` alone when the title is missing or empty; stripped."""
    return f"{title} {text}".strip() if title else text.strip()


def some_ids(ids: list[str]) -> str:
    """Up to :data:`SHOWN_IDS` ids for a message, with how many more there are."""
    shown = ", ".join(repr(identifier) for identifier in ids[:SHOWN_IDS])
    return shown + (f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else "")


def counted(count: int, noun: str) -> str:
    """A count with its noun in the right number: ``1 document``, ``2 documents``, ``2 queries``."""
    if count == 1:
        return f"1 {noun}"
    return f"{count} {noun[:-1]}ies" if noun.endswith("y") else f"{count} {noun}s"


def _rows(path: Path) -> Iterator[tuple[int, dict]]:
    """``(line number, row)`` of a JSONL file or a table with a header, lazily."""
    if file_format(path) == "jsonl":
        yield from iter_jsonl(path)
        return
    records = read_fields(path, "," if file_format(path) == "csv" else "\t")
    first = next(records, None)
    if first is None:
        return
    header = first[1]
    if TEXT_FIELD not in header:
        raise DataError(f"{path}:{first[0]}: the header {header} names no {TEXT_FIELD!r} column.")
    for line_number, fields in records:
        if len(fields) != len(header):
            raise DataError(
                f"{path}:{line_number}: expected {len(header)} fields like the header, found {len(fields)}."
            )
        yield line_number, dict(zip(header, fields, strict=True))


def _lines(path: Path) -> Iterator[tuple[int, dict]]:
    """One text per line of a text file, lazily (blank lines skipped)."""
    with open_text(path) as handle:
        for line_number, line in enumerate(handle, start=1):
            if line.strip():
                yield line_number, {TEXT_FIELD: line.rstrip("\r\n")}


def iter_texts(path: Path, what: str) -> Iterator[Document]:
    """The rows of one file as documents, in file order (``what`` names one in messages: document, query).

    Rows without text are left out; one warning at the end counts them and names their ids.

    Raises:
        DataError: for a missing file, a malformed line, a row without a ``text`` string, a repeated id, or a
            file with no row that has text.
    """
    rows = _lines(path) if is_sentence_file(path) else _rows(path)
    seen: set[str] = set()
    empty: list[str] = []
    for line_number, row in rows:
        origin = f"{path}:{line_number}"
        text = row.get(TEXT_FIELD)
        if not isinstance(text, str):
            raise DataError(f'{origin}: each row needs a "{TEXT_FIELD}" string.')
        identifier = str(row[ID_FIELD]) if row.get(ID_FIELD) not in (None, "") else str(line_number)
        if identifier in seen:
            raise DataError(f"{origin}: duplicate id {identifier!r}.")
        seen.add(identifier)
        joined = document_text(text, row.get(TITLE_FIELD))
        if not joined:
            empty.append(identifier)
            continue
        title = row.get(TITLE_FIELD)
        yield Document(identifier, joined, origin, str(title).strip() if title else "")
    if len(empty) == len(seen):
        detail = f"all {len(empty)} {what} rows have no text" if empty else "the file is empty"
        raise DataError(f"{path}: {detail}; no {what} to read.")
    if empty:
        _log.warning(f"warning: {path}: left out {counted(len(empty), what)} with no text ({some_ids(empty)}).")
