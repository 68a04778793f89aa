"""Documents to index (and queries to search): a corpus is read by :func:`mic.data.corpus.iter_documents`.

Queries are read like a corpus file, or from a BEIR folder's ``queries.jsonl``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from mic.data.documents import Document, iter_texts
from mic.data.files import require_file


def read_queries(path: str | Path) -> list[Document]:
    """The queries of a file read like a corpus file, or of ``queries.jsonl`` when ``path`` is a BEIR folder.

    Raises:
        DataError: for a missing file, a file without text, a malformed line or a repeated id.
    """
    path = Path(path).expanduser()
    path = path / "queries.jsonl" if path.is_dir() else path
    require_file(path)
    return list(iter_texts(path, "query"))


def chunked(documents: Iterable[Document], size: int) -> Iterator[list[Document]]:
    """Consecutive lists of ``size`` documents (the last one shorter), so only one chunk is in memory."""
    iterator = iter(documents)
    while chunk := list(islice(iterator, size)):
        yield chunk
