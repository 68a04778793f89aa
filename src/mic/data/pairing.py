"""Training pairs made from the documents of a corpus alone, with no queries and no labels (``data.kind: corpus``).

Each document gives at most one (anchor, positive) pair for MultipleNegativesRanking; ``data.pairing`` says how:

- ``dropout``: the document paired with itself, as unsupervised SimCSE: dropout makes the two views differ.
  One row per distinct document text.
- ``span``: inverse-cloze style: one sentence of the document, drawn at random (seeded), paired with the rest
  of the document (the other sentences, joined by a space). Sentences end at ``.``, ``!`` or ``?`` followed by
  whitespace (:data:`SENTENCE_END`). A document of a single sentence has no span to draw: it is paired with
  itself (``dropout``), and a note counts such documents.
- ``title``: the document's title paired with its body (BEIR's ``title`` field, see
  :class:`mic.data.documents.Document`). A document without a title or without a body is skipped, and a note
  counts the skipped ones.

References:
    SimCSE: Gao et al., 2021, https://arxiv.org/abs/2104.08821.
    Inverse cloze task: Lee et al., 2019, https://arxiv.org/abs/1906.00300.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mic.data.corpus import iter_documents
from mic.data.documents import Document, counted
from mic.data.errors import DataError
from mic.data.table import KIND_COLUMNS

if TYPE_CHECKING:
    from datasets import Dataset

PAIRINGS = ("dropout", "span", "title")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
"""Where a document splits into sentences: whitespace after ``.``, ``!`` or ``?``."""


@dataclass
class CorpusPairs:
    """Anchors and positives, row by row, and the notes a user should read about how they were made."""

    anchors: list[str] = field(default_factory=list)
    positives: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` split at :data:`SENTENCE_END`, empty ones dropped."""
    return [part for part in SENTENCE_END.split(text.strip()) if part]


def span_pair(text: str, rng: random.Random) -> tuple[str, str] | None:
    """One sentence of ``text`` drawn by ``rng`` and the other sentences joined; ``None`` for a single sentence."""
    parts = sentences(text)
    if len(parts) < 2:
        return None
    index = rng.randrange(len(parts))
    return parts[index], " ".join(parts[:index] + parts[index + 1 :])


def check_pairing(pairing: str) -> None:
    """Raises DataError for a pairing that is not one of :data:`PAIRINGS`, naming them."""
    if pairing not in PAIRINGS:
        raise DataError(f"Unknown pairing {pairing!r}; choose one of {', '.join(PAIRINGS)}.")


def corpus_pairs(documents: Iterable[Document], pairing: str, seed: int = 0) -> CorpusPairs:
    """The pairs ``pairing`` makes of ``documents`` (see the module docstring), in document order.

    Raises:
        DataError: for an unknown pairing, or no document that gives a pair.
    """
    check_pairing(pairing)
    pairs = CorpusPairs()
    if pairing == "dropout":
        texts = list(dict.fromkeys(document.text for document in documents))
        pairs.anchors, pairs.positives = texts, list(texts)
        return pairs
    rng = random.Random(seed)
    total = without = 0
    for document in documents:
        total += 1
        if pairing == "span":
            pair = span_pair(document.text, rng)
            if pair is None:
                without += 1
                pair = (document.text, document.text)
        elif document.title and document.body:
            pair = (document.title, document.body)
        else:
            without += 1
            continue
        pairs.anchors.append(pair[0])
        pairs.positives.append(pair[1])
    if not pairs.anchors:
        raise DataError(
            f"None of the {counted(total, 'document')} has both a title and a body; pairing 'title' needs "
            "titles (BEIR's 'title' field); use pairing 'dropout' or 'span'."
        )
    if without and pairing == "span":
        pairs.notes.append(
            f"note: {without} of {counted(total, 'document')} had a single sentence and no span to draw; "
            "each is paired with itself (dropout)."
        )
    elif without:
        pairs.notes.append(f"note: skipped {without} of {counted(total, 'document')} without a title or a body.")
    return pairs


def load_corpus_dataset(
    sources: Sequence[str],
    pairing: str,
    data_dir: str | Path | None = None,
    *,
    seed: int = 0,
    max_samples: int | None = None,
) -> tuple[Dataset, list[str]]:
    """A pairs dataset (``anchor``, ``positive``) made by ``pairing`` from the documents of corpora, and its notes.

    Args:
        sources: corpora read by :func:`mic.data.corpus.iter_documents` (``scifact``, a BEIR folder, a file),
            concatenated in order.
        pairing: one of :data:`PAIRINGS`.
        data_dir: folder of the named benchmarks; ``None`` reads ``$MIC_DATA_DIR``.
        seed: draws the spans of ``span``.
        max_samples: keep the first ``max_samples`` rows (the trainer shuffles them).

    Raises:
        DataError: for an unknown pairing, a missing or malformed corpus, or no pair to make.
    """
    check_pairing(pairing)
    if not sources:
        raise DataError("No corpus given; name at least one, e.g. data.train: [scifact].")
    documents = (document for spec in sources for document in iter_documents(spec, data_dir))
    pairs = corpus_pairs(documents, pairing, seed)
    from datasets import Dataset  # seconds to import: only when a training set is built

    anchor, positive = KIND_COLUMNS["pairs"]
    data = {anchor: pairs.anchors[:max_samples], positive: pairs.positives[:max_samples]}
    return Dataset.from_dict(data), pairs.notes
