"""Documents to index (and queries to search), read lazily from one file so a corpus of any size streams.

A corpus is one string:

- ``scifact`` or a folder in BEIR layout (optionally ``:SPLIT``, ignored here): its ``corpus.jsonl``;
- a ``.jsonl`` file: one object per line with ``text`` (and optionally ``title``, joined as BEIR does, see
  :func:`mic.data.beir.document_text`, and ``_id``);
- a ``.csv`` / ``.tsv`` / ``.txt`` table whose header names a ``text`` column (optional ``_id`` and ``title``);
- a ``.txt`` file whose first line has no tab: one document per line.

A document's id is its ``_id`` when the row has one, else its line number in the file. A document without
text, a repeated id and an empty file are errors naming the file and line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from mic.data import DataError
from mic.data.beir import beir_folder, document_text, is_retrieval_source
from mic.data.files import file_format, is_sentence_file, iter_jsonl, open_text, read_fields, require_file

ID_FIELD = "_id"
TEXT_FIELD = "text"
TITLE_FIELD = "title"


@dataclass(frozen=True)
class Document:
    """One document (or query): its id, its text, and where it was read (``file:line``, for messages)."""

    id: str
    text: str
    origin: str


def corpus_file(spec: str, data_dir: str | Path | None = None) -> Path:
    """The file a corpus spec names: ``corpus.jsonl`` of a benchmark or BEIR folder, else the path itself.

    Raises:
        DataError: for a file that does not exist.
    """
    if is_retrieval_source(spec):
        return beir_folder(spec, data_dir)[0] / "corpus.jsonl"
    path = Path(spec).expanduser()
    require_file(path)
    return path


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
    """One document per line of a text file, lazily (blank lines skipped)."""
    with open_text(path) as handle:
        for line_number, line in enumerate(handle, start=1):
            if line.strip():
                yield line_number, {TEXT_FIELD: line.rstrip("\r\n")}


def iter_documents(spec: str, data_dir: str | Path | None = None) -> Iterator[Document]:
    """Every document of the corpus ``spec`` names, in file order (see the module docstring).

    Raises:
        DataError: for a missing or empty file, a malformed line, a row without text or a repeated id.
    """
    return iter_texts(corpus_file(spec, data_dir), "document")


def read_queries(path: str | Path) -> list[Document]:
    """The queries of a file read like a corpus file, or of ``queries.jsonl`` when ``path`` is a BEIR folder.

    Raises:
        DataError: for a missing or empty file, a malformed line, a query without text or a repeated id.
    """
    path = Path(path).expanduser()
    path = path / "queries.jsonl" if path.is_dir() else path
    require_file(path)
    return list(iter_texts(path, "query"))


def iter_texts(path: Path, what: str) -> Iterator[Document]:
    """The rows of one file as documents (``what`` names one in messages: document, query)."""
    rows = _lines(path) if is_sentence_file(path) else _rows(path)
    seen: set[str] = set()
    for line_number, row in rows:
        origin = f"{path}:{line_number}"
        text = row.get(TEXT_FIELD)
        if not isinstance(text, str):
            raise DataError(f'{origin}: each row needs a "{TEXT_FIELD}" string.')
        identifier = str(row[ID_FIELD]) if row.get(ID_FIELD) not in (None, "") else str(line_number)
        if identifier in seen:
            raise DataError(f"{origin}: duplicate id {identifier!r}.")
        joined = document_text(text, row.get(TITLE_FIELD))
        if not joined:
            raise DataError(f"{origin}: {what} {identifier!r} has no text.")
        seen.add(identifier)
        yield Document(identifier, joined, origin)
    if not seen:
        raise DataError(f"{path}: the file is empty; no {what} to read.")


def chunked(documents: Iterable[Document], size: int) -> Iterator[list[Document]]:
    """Consecutive lists of ``size`` documents (the last one shorter), so only one chunk is in memory."""
    iterator = iter(documents)
    while chunk := list(islice(iterator, size)):
        yield chunk
