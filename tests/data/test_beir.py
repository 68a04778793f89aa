"""Specification of the BEIR reader: real collections with empty documents or judgements of absent documents
(Cranfield has both) are read with a warning that counts what was left out, as BEIR and MTEB evaluations do."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from helpers import write_beir
from mic.data import DataError, load_beir


def test_a_complete_folder_reads_without_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = write_beir(tmp_path / "b", {"d1": "a b", "d2": "c d"}, {"q1": "a", "q2": "unjudged"}, ["q1\td1\t1"])
    data = load_beir(str(folder))
    assert (data.doc_ids, data.query_ids, data.qrels) == (["d1", "d2"], ["q1"], {"q1": {"d1": 1}})
    assert caplog.records == []


def test_empty_documents_and_judgements_of_absent_ones_are_dropped_with_counts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    documents = {"d1": "a b", "d2": "  ", "d3": "c d", "d4": ""}
    queries = {"q1": "a", "q2": "c", "q3": "e"}
    qrels = ["q1\td1\t1", "q1\td2\t1", "q2\td3\t1", "q2\td9\t0", "q3\td9\t1"]
    with caplog.at_level(logging.WARNING, logger="mic"):
        data = load_beir(str(write_beir(tmp_path / "b", documents, queries, qrels)))
    assert data.doc_ids == ["d1", "d3"] and data.documents == ["a b", "c d"]
    assert data.query_ids == ["q1", "q2"] and data.qrels == {"q1": {"d1": 1}, "q2": {"d3": 1}}
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        f"warning: {tmp_path / 'b' / 'corpus.jsonl'}: left out 2 documents with no text ('d2', 'd4').",
        f"warning: {tmp_path / 'b' / 'qrels' / 'test.tsv'}: dropped 3 judgements of 2 absent documents "
        "('d2', 'd9'); 1 query had no judgement left and is left out.",
    ]


def test_judgements_of_absent_queries_are_dropped_with_counts(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = write_beir(tmp_path / "b", {"d1": "a"}, {"q1": "a", "q2": " "}, ["q1\td1\t1", "q2\td1\t1", "q7\td1\t1"])
    with caplog.at_level(logging.WARNING, logger="mic"):
        data = load_beir(str(folder))
    assert data.qrels == {"q1": {"d1": 1}}
    assert "left out 1 query with no text ('q2')" in caplog.text
    assert (
        "dropped 2 judgements of 2 absent queries ('q2', 'q7'); 2 queries had no judgement left and are" in caplog.text
    )


def test_many_left_out_ids_are_named_up_to_five(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    documents = {"d0": "a"} | {f"e{row}": "" for row in range(8)}
    with caplog.at_level(logging.WARNING, logger="mic"):
        load_beir(str(write_beir(tmp_path / "b", documents, {"q1": "a"}, ["q1\td0\t1"])))
    assert "left out 8 documents with no text ('e0', 'e1', 'e2', 'e3', 'e4' and 3 more)." in caplog.text


@pytest.mark.parametrize(
    ("documents", "qrels", "message"),
    [
        ({"d1": "", "d2": " "}, ["q1\td1\t1"], r"corpus\.jsonl: all 2 document rows have no text; no document to read"),
        ({"d1": "a"}, ["q1\td5\t1", "q9\td1\t1"], r"test\.tsv: none of its 2 judgements names both a query"),
    ],
)
def test_a_folder_with_nothing_left_to_score_is_refused(
    tmp_path: Path, documents: dict[str, str], qrels: list[str], message: str
) -> None:
    with pytest.raises(DataError, match=message):
        load_beir(str(write_beir(tmp_path / "b", documents, {"q1": "a"}, qrels)))
