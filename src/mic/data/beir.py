"""Retrieval data in BEIR layout: a corpus, queries and relevance judgements (qrels) per split.

A retrieval source is ``scifact`` (the folder ``scifact/`` of the data folder) or a path to any folder in BEIR
layout, optionally followed by ``:SPLIT`` (default ``test``)::

    corpus.jsonl        {"_id": ..., "title": ..., "text": ...} per line (title optional)
    queries.jsonl       {"_id": ..., "text": ...} per line
    qrels/SPLIT.tsv     header "query-id<TAB>corpus-id<TAB>score", then one judged pair per line

Document text is ``title + " " + text`` (the BEIR and MTEB convention) or ``text`` alone when the title is
empty. Only the queries judged in the split are kept, in the order of ``queries.jsonl``; a judgement with score
0 marks a document as not relevant (BEIR), and is kept for graded metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mic.data.benchmarks import resolve_data_dir
from mic.data.errors import DataError
from mic.data.files import read_fields, read_table, require_file
from mic.data.sources import parse_source

RETRIEVAL_BENCHMARKS = {"scifact": "scifact"}
"""Named retrieval benchmarks -> their folder inside the data folder."""
QRELS_HEADER = ["query-id", "corpus-id", "score"]


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


def document_text(text: str, title: object = None) -> str:
    """``title + " " + text`` (BEIR and MTEB), or ``text`` alone when the title is missing or empty; stripped."""
    return f"{title} {text}".strip() if title else text.strip()


def _texts(path: Path, with_title: bool) -> tuple[list[str], list[str]]:
    """Ids and texts of a BEIR jsonl file, checked row by row."""
    table = read_table(path)
    ids: list[str] = []
    texts: list[str] = []
    seen: set[str] = set()
    for row, line_number in zip(table.rows, table.line_numbers, strict=True):
        identifier, text = row.get("_id"), row.get("text")
        if identifier is None or not isinstance(text, str):
            raise DataError(f'{path}:{line_number}: each line needs an "_id" and a "text" string.')
        identifier = str(identifier)
        if identifier in seen:
            raise DataError(f"{path}:{line_number}: duplicate _id {identifier!r}.")
        joined = document_text(text, row.get("title") if with_title else None)
        if not joined:
            raise DataError(f"{path}:{line_number}: document {identifier!r} has no text.")
        seen.add(identifier)
        ids.append(identifier)
        texts.append(joined)
    if not ids:
        raise DataError(f"{path}: no rows; the file is empty.")
    return ids, texts


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


def load_beir(spec: str, data_dir: str | Path | None = None, default_split: str = "test") -> RetrievalData:
    """One split of a retrieval benchmark or BEIR folder (see the module docstring).

    Args:
        spec: ``scifact``, ``scifact:train``, ``FOLDER`` or ``FOLDER:SPLIT``.
        data_dir: folder of the named benchmarks; ``None`` reads ``$MIC_DATA_DIR``.
        default_split: the qrels split when ``spec`` names none.

    Raises:
        DataError: for a missing folder, file or split, a malformed line (with file and line), a document with
            no text, or qrels that name a query or document the files do not have.
    """
    folder, split = beir_folder(spec, data_dir)
    split = split or default_split
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        available = sorted(path.stem for path in (folder / "qrels").glob("*.tsv"))
        raise DataError(f"{spec}: no qrels for split {split!r} in {folder / 'qrels'}; splits here: {available}.")
    doc_ids, documents = _texts(folder / "corpus.jsonl", with_title=True)
    all_query_ids, all_queries = _texts(folder / "queries.jsonl", with_title=False)
    qrels = read_qrels(qrels_path)
    known_docs = set(doc_ids)
    for query, judged in qrels.items():
        missing = next((document for document in judged if document not in known_docs), None)
        if missing is not None:
            raise DataError(f"{qrels_path}: query {query!r} judges document {missing!r}, which corpus.jsonl lacks.")
    unknown = sorted(set(qrels) - set(all_query_ids))
    if unknown:
        raise DataError(f"{qrels_path}: queries {unknown[:5]} are judged but missing from queries.jsonl.")
    kept = [
        (identifier, text) for identifier, text in zip(all_query_ids, all_queries, strict=True) if identifier in qrels
    ]
    return RetrievalData(
        source=f"{folder}:{split}",
        doc_ids=doc_ids,
        documents=documents,
        query_ids=[identifier for identifier, _ in kept],
        queries=[text for _, text in kept],
        qrels=qrels,
    )
