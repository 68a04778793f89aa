"""Training pairs from the documents of a corpus alone (``data.kind: corpus``): dropout, span and title."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from mic.data import DataError
from mic.data.corpus import iter_documents
from mic.data.documents import Document
from mic.data.pairing import PAIRINGS, corpus_pairs, load_corpus_dataset, sentences, span_pair

DOCUMENTS = [
    Document("1", "Cells divide. They grow first! Do they stop? Yes.", "c:1"),
    Document("2", "A single sentence without an end", "c:2"),
    Document("3", "Cells divide. They grow first! Do they stop? Yes.", "c:3"),
]


def write_corpus(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_dropout_pairs_each_distinct_document_with_itself() -> None:
    pairs = corpus_pairs(DOCUMENTS, "dropout")
    assert pairs.anchors == pairs.positives == [DOCUMENTS[0].text, DOCUMENTS[1].text]
    assert pairs.notes == []


def test_sentences_split_after_end_marks_followed_by_whitespace() -> None:
    assert sentences(" Cells divide. They grow first!  Do they stop? Yes. ") == [
        "Cells divide.",
        "They grow first!",
        "Do they stop?",
        "Yes.",
    ]
    assert sentences("e.g. 3.5 mg") == ["e.g.", "3.5 mg"]


def test_span_is_a_sentence_of_the_document_and_the_rest_excludes_it() -> None:
    text = DOCUMENTS[0].text
    drawn = set()
    for seed in range(20):
        pair = span_pair(text, random.Random(seed))
        assert pair is not None
        span, rest = pair
        drawn.add(span)
        assert span in text and span not in rest
        assert sorted([*sentences(rest), span]) == sorted(sentences(text))
    assert len(drawn) > 1, "the span is drawn at random, not always the same sentence"


def test_span_pairs_are_seeded_and_single_sentences_fall_back_to_dropout() -> None:
    pairs = corpus_pairs(DOCUMENTS, "span", seed=3)
    assert pairs == corpus_pairs(DOCUMENTS, "span", seed=3)
    assert len(pairs.anchors) == 3 and pairs.anchors[0] in DOCUMENTS[0].text and pairs.anchors[0] != DOCUMENTS[0].text
    assert (pairs.anchors[1], pairs.positives[1]) == (DOCUMENTS[1].text, DOCUMENTS[1].text)
    assert pairs.notes == [
        "note: 1 of 3 documents had a single sentence and no span to draw; each is paired with itself (dropout)."
    ]


def test_title_pairs_title_with_body_and_skips_untitled_documents(tmp_path: Path) -> None:
    corpus = write_corpus(
        tmp_path / "corpus.jsonl",
        [
            {"_id": "a", "title": "Cell division", "text": "Cells divide in two."},
            {"_id": "b", "title": "", "text": "No title here."},
            {"_id": "c", "text": "No title field."},
            {"_id": "d", "title": " Only a title ", "text": ""},
            {"_id": "e", "title": "Growth", "text": "Cells grow."},
        ],
    )
    pairs = corpus_pairs(iter_documents(str(corpus)), "title")
    assert pairs.anchors == ["Cell division", "Growth"]
    assert pairs.positives == ["Cells divide in two.", "Cells grow."]
    assert pairs.notes == ["note: skipped 3 of 5 documents without a title or a body."]


def test_title_without_any_title_is_refused_naming_the_other_pairings() -> None:
    with pytest.raises(DataError, match="None of the 3 documents has both a title and a body.*'dropout' or 'span'"):
        corpus_pairs(DOCUMENTS, "title")


def test_an_unknown_pairing_is_refused_naming_the_allowed_ones() -> None:
    with pytest.raises(DataError, match="Unknown pairing 'ict'; choose one of dropout, span, title"):
        corpus_pairs(DOCUMENTS, "ict")
    assert PAIRINGS == ("dropout", "span", "title")


def test_dataset_reads_any_corpus_mic_index_reads(tmp_path: Path) -> None:
    lines = tmp_path / "docs.txt"
    lines.write_text("First document. It has two sentences.\n\nSecond one\n", encoding="utf-8")
    folder = tmp_path / "beir"
    folder.mkdir()
    write_corpus(folder / "corpus.jsonl", [{"_id": "x", "title": "T", "text": "Body text."}])
    dataset, notes = load_corpus_dataset([str(lines), str(folder)], "span", seed=0, max_samples=2)
    assert dataset.column_names == ["anchor", "positive"] and len(dataset) == 2
    assert dataset["anchor"][1] == dataset["positive"][1] == "Second one"
    assert notes == [
        "note: 2 of 3 documents had a single sentence and no span to draw; each is paired with itself (dropout)."
    ]
    with pytest.raises(DataError, match="missing.jsonl not found"):
        load_corpus_dataset([str(tmp_path / "missing.jsonl")], "dropout")
