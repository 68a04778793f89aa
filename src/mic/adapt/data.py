"""What ``mic adapt`` fits on: the texts of its data sources and the labelled pairs of its supervision sources.

Fit texts: a retrieval source (``scifact``, a BEIR folder) gives its corpus documents; any other source
(``stsb:train``, ``sick:train``, a file, a hub dataset) gives its distinct sentences
(:func:`mic.data.load_sentences`). Supervision: a scored source gives CoSENT pairs (scores mapped to 0..1),
a retrieval split (``scifact:train``) gives one (query, relevant document) pair per positive judgement, for
MultipleNegativesRanking. Every text list is embedded through :func:`mic.cache.cached_encode`,
one entry per source list, so a second fit with other weights reads every vector from disk.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from mic.adapt.fit import PairSupervision
from mic.cache import cached_encode
from mic.data import load_scored_pairs, load_sentences
from mic.data.beir import is_retrieval_source, load_beir, read_corpus
from mic.defaults import DEFAULT_BATCH_SIZE
from mic.encoders import Encoder


@dataclass
class EmbeddingSource:
    """Embeds text lists with one encoder through the on-disk cache, timing the work.

    Attributes:
        encoder: the frozen base model.
        fingerprint: its :func:`mic.cache.encoder_fingerprint`.
        cache_dir: the cache folder (``None``: ``$MIC_CACHE_DIR``, else ``~/.cache/mic``).
        batch_size: encoding batch size on a miss.
        show_progress_bar: encoding progress bars.
        seconds: time spent in encoding or reading the cache so far.
    """

    encoder: Encoder
    fingerprint: str
    cache_dir: str | Path | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    show_progress_bar: bool | None = None
    seconds: float = field(default=0.0)

    def __call__(self, texts: Sequence[str]) -> Tensor:
        start = time.perf_counter()
        embeddings = cached_encode(
            self.encoder,
            texts,
            self.cache_dir,
            batch_size=self.batch_size,
            show_progress_bar=self.show_progress_bar,
            fingerprint=self.fingerprint,
        )
        self.seconds += time.perf_counter() - start
        return embeddings


def source_texts(spec: str, data_dir: str | Path | None = None) -> list[str]:
    """The fit texts of one source: a retrieval corpus's documents, else the source's distinct sentences.

    Raises:
        DataError: for a missing or malformed source.
    """
    if is_retrieval_source(spec):
        return [document.text for document in read_corpus(spec, data_dir)]
    return load_sentences(spec, data_dir)


def _first_rows(texts: Sequence[str]) -> list[int]:
    """Rows of the first occurrence of each distinct text, ascending."""
    return sorted({text: row for row, text in reversed(list(enumerate(texts)))}.values())


def fit_texts(sources: Sequence[str], data_dir: str | Path | None = None) -> list[str]:
    """The distinct texts of all ``sources``, in the row order of :func:`fit_embeddings`."""
    texts = [text for spec in sources for text in source_texts(spec, data_dir)]
    return [texts[row] for row in _first_rows(texts)]


def fit_embeddings(sources: Sequence[str], embed: EmbeddingSource, data_dir: str | Path | None = None) -> Tensor:
    """``(N, D)`` embeddings of the distinct texts of all ``sources`` (first occurrence kept, in source order)."""
    texts: list[str] = []
    parts: list[Tensor] = []
    for spec in sources:
        source = source_texts(spec, data_dir)
        texts.extend(source)
        parts.append(embed(source))
    return torch.cat(parts)[_first_rows(texts)]


def supervision_pairs(spec: str, embed: EmbeddingSource, data_dir: str | Path | None = None) -> PairSupervision:
    """The labelled pairs of one source as frozen embeddings (see the module docstring; default split train).

    Raises:
        DataError: for a missing source, a malformed row or a split without positive judgements.
    """
    if is_retrieval_source(spec):
        data = load_beir(spec, data_dir, default_split="train")
        queries, documents = embed(data.queries), embed(data.documents)
        query_row = {identifier: row for row, identifier in enumerate(data.query_ids)}
        doc_row = {identifier: row for row, identifier in enumerate(data.doc_ids)}
        judged = [
            (query_row[query], doc_row[document])
            for query, documents_judged in data.qrels.items()
            for document, relevance in documents_judged.items()
            if relevance > 0
        ]
        first, second = zip(*judged, strict=True) if judged else ((), ())
        return PairSupervision(data.source, queries[list(first)], documents[list(second)])
    pairs = load_scored_pairs(spec, data_dir, default_split="train")
    sentences = load_sentences(spec, data_dir)  # the pairs' distinct sentences: the same cache entry as fit data
    embeddings = embed(sentences)
    row = {sentence: index for index, sentence in enumerate(sentences)}
    return PairSupervision(
        pairs.source,
        embeddings[[row[sentence] for sentence in pairs.sentences1]],
        embeddings[[row[sentence] for sentence in pairs.sentences2]],
        torch.tensor(pairs.normalised_scores(), dtype=torch.float32),
    )
