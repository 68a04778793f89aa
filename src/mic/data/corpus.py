"""The documents of a corpus, read lazily from one file so a corpus of any size streams.

A corpus is one string: ``scifact`` or a folder in BEIR layout (optionally ``:SPLIT``, ignored here), meaning its
``corpus.jsonl``, or a ``.jsonl``, ``.csv``, ``.tsv`` or ``.txt`` file read by :func:`mic.data.documents.iter_texts`
(which says how ids and titles are read, and that a document without text is left out with a warning).
``mic index`` indexes these documents and ``mic train`` (``data.kind: corpus``) trains on them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from mic.data.beir import is_retrieval_source, read_corpus
from mic.data.documents import Document, iter_texts
from mic.data.files import require_file


def corpus_file(spec: str) -> Path:
    """The file a corpus spec that is not a retrieval source names.

    Raises:
        DataError: for a file that does not exist.
    """
    path = Path(spec).expanduser()
    require_file(path)
    return path


def iter_documents(spec: str, data_dir: str | Path | None = None) -> Iterator[Document]:
    """Every document of the corpus ``spec`` names, in file order (see the module docstring).

    Raises:
        DataError: for a missing file, a file without text, a malformed line or a repeated id.
    """
    if is_retrieval_source(spec):
        return read_corpus(spec, data_dir)
    return iter_texts(corpus_file(spec), "document")
