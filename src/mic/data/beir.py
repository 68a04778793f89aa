"""Retrieval data in BEIR layout: a corpus, queries and relevance judgements (qrels) per split.

A retrieval source is ``scifact`` (the folder ``scifact/`` of the data folder) or a path to any folder in BEIR
layout, optionally followed by ``:SPLIT`` (default ``test``)::

    corpus.jsonl        {"_id": ..., "title": ..., "text": ...} per line (title optional)
    queries.jsonl       {"_id": ..., "text": ...} per line
    qrels/SPLIT.tsv     header "query-id<TAB>corpus-id<TAB>score", then one judged pair per line

Both jsonl files are read by :func:`mic.data.documents.iter_texts`: document text is ``title + " " + text``
(the BEIR and MTEB convention) or ``text`` alone when the title is empty, and a document or query with no text
is left out with a warning. Only the queries judged in the split are kept, in the order of ``queries.jsonl``; a
judgement with score 0 marks a document as not relevant (BEIR), and is kept for graded metrics. A judgement of
a document or query the files lack (or left out for having no text) is dropped with one warning that counts
them, as BEIR and MTEB evaluations go on over such rows; a split with no judgement left is an error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mic.data.benchmarks import resolve_data_dir
from mic.data.documents import Document, counted, iter_texts, some_ids
from mic.data.errors import DataError
from mic.data.files import read_fields, require_file
from mic.data.sources import parse_source

RETRIEVAL_BENCHMARKS = {"scifact": "scifact"}
"""Named retrieval benchmarks -> their folder inside the data folder."""
QRELS_HEADER = ["query-id", "corpus-id", "score"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrievalData:
    """One split of a retrieval benchmark.

    Attributes:
        source: the folder and split it was read from, for messages and reports.
        doc_ids: ``N`` document ids, in corpus order.
        documents: ``N`` document texts (title and text joined by a space).
        query_ids: ``Q`` ids of the queries judged in this split, in ``queries.jsonl`` order.
        queries: ``Q`` query texts.
        qrels: ``{query id: {document id: relevance}}`` for this split.
    """

    source: str
    doc_ids: list[str]
    documents: list[str]
    query_ids: list[str]
    queries: list[str]
    qrels: dict[str, dict[str, int]]


def is_retrieval_source(spec: str) -> bool:
    """Whether ``spec`` names a retrieval benchmark or a BEIR folder (``NAME[:SPLIT]`` or ``FOLDER[:SPLIT]``).

    Raises:
        DataError: for an empty source or an empty name or split around the colon.
    """
    source = parse_source(spec)
    return source.target in RETRIEVAL_BENCHMARKS or (source.path / "corpus.jsonl").is_file()


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """``{query id: {document id: relevance}}`` of a BEIR qrels TSV (header ``query-id corpus-id score``).

    Raises:
        DataError: for a missing file, a wrong header, a row without three fields or a non-integer score.
    """
    require_file(path)
    qrels: dict[str, dict[str, int]] = {}
    records = iter(read_fields(path, "\t"))
    header = next(records, None)
    if header is None or header[1] != QRELS_HEADER:
        found = header[1] if header else "nothing"
        raise DataError(f"{path}:1: expected the header {'<TAB>'.join(QRELS_HEADER)}, found {found}.")
    for line_number, fields in records:
        if len(fields) != 3:
            raise DataError(f"{path}:{line_number}: expected 3 tab-separated fields, found {len(fields)}.")
        query, document, score = fields
        try:
            qrels.setdefault(query, {})[document] = int(score)
        except ValueError:
            raise DataError(f"{path}:{line_number}: score {score!r} is not an integer.") from None
    return qrels


def beir_folder(spec: str, data_dir: str | Path | None = None) -> tuple[Path, str | None]:
    """The folder and split a retrieval source names (``scifact``, ``scifact:train``, ``FOLDER[:SPLIT]``).

    Raises:
        DataError: for a name that is neither a benchmark nor a folder holding ``corpus.jsonl``.
    """
    source = parse_source(spec)
    if source.target in RETRIEVAL_BENCHMARKS:
        folder = resolve_data_dir(data_dir) / RETRIEVAL_BENCHMARKS[source.target]
    else:
        folder = source.path
    if not (folder / "corpus.jsonl").is_file():
        raise DataError(
            f"{spec}: {folder} is not a retrieval folder in BEIR layout (corpus.jsonl, queries.jsonl, "
            f"qrels/SPLIT.tsv); name {', '.join(RETRIEVAL_BENCHMARKS)} or such a folder."
        )
    return folder, source.split


def read_corpus(spec: str, data_dir: str | Path | None = None) -> Iterator[Document]:
    """The documents of a retrieval benchmark or BEIR folder, lazily, without reading queries or qrels.

    Raises:
        DataError: for a missing folder or a ``corpus.jsonl`` :func:`~mic.data.documents.iter_texts` refuses.
    """
    return iter_texts(beir_folder(spec, data_dir)[0] / "corpus.jsonl", "document")


def load_beir(spec: str, data_dir: str | Path | None = None, default_split: str = "test") -> RetrievalData:
    """One split of a retrieval benchmark or BEIR folder (see the module docstring).

    Args:
        spec: ``scifact``, ``scifact:train``, ``FOLDER`` or ``FOLDER:SPLIT``.
        data_dir: folder of the named benchmarks; ``None`` reads ``$MIC_DATA_DIR``.
        default_split: the qrels split when ``spec`` names none.

    Raises:
        DataError: for a missing folder, file or split, a malformed line (with file and line), or a split with
            no judgement of a query and a document the files have.
    """
    folder, split = beir_folder(spec, data_dir)
    split = split or default_split
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        available = sorted(path.stem for path in (folder / "qrels").glob("*.tsv"))
        raise DataError(f"{spec}: no qrels for split {split!r} in {folder / 'qrels'}; splits here: {available}.")
    documents = list(read_corpus(spec, data_dir))
    all_queries = list(iter_texts(folder / "queries.jsonl", "query"))
    qrels = _known_judgements(
        read_qrels(qrels_path), {document.id for document in documents}, {query.id for query in all_queries}, qrels_path
    )
    kept = [query for query in all_queries if query.id in qrels]
    return RetrievalData(
        source=f"{folder}:{split}",
        doc_ids=[document.id for document in documents],
        documents=[document.text for document in documents],
        query_ids=[query.id for query in kept],
        queries=[query.text for query in kept],
        qrels=qrels,
    )


def _known_judgements(
    qrels: dict[str, dict[str, int]], doc_ids: set[str], query_ids: set[str], path: Path
) -> dict[str, dict[str, int]]:
    """``qrels`` without the judgements of documents or queries that were not read, with a warning counting them.

    Raises:
        DataError: when no judgement is left.
    """
    absent_documents = sorted({document for judged in qrels.values() for document in judged} - doc_ids)
    absent_queries = sorted(set(qrels) - query_ids)
    kept = {
        query: {document: score for document, score in judged.items() if document in doc_ids}
        for query, judged in qrels.items()
        if query in query_ids
    }
    kept = {query: judged for query, judged in kept.items() if judged}
    dropped = sum(map(len, qrels.values())) - sum(map(len, kept.values()))
    if not kept:
        raise DataError(
            f"{path}: none of its {dropped} judgements names both a query of queries.jsonl and a document of "
            "corpus.jsonl (with text); check that the qrels belong to this folder."
        )
    if dropped:
        causes = [
            f"{counted(len(ids), what)} ({some_ids(ids)})"
            for what, ids in (("absent document", absent_documents), ("absent query", absent_queries))
            if ids
        ]
        lost = len(qrels) - len(kept)
        left = f"; {counted(lost, 'query')} had no judgement left and {'is' if lost == 1 else 'are'} left out"
        _log.warning(
            f"warning: {path}: dropped {counted(dropped, 'judgement')} of {' and '.join(causes)}{left if lost else ''}."
        )
    return kept
