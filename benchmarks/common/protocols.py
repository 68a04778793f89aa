"""What a fit saw, named once for every report that fits something on embeddings (an adapter, a PCA rotation).

Three protocols: ``none`` (nothing fitted: the stock model's prefixes), ``inductive`` (fitted on other texts than
the evaluated ones) and ``transductive`` (fitted on the documents of the evaluated corpus, never its queries or
labels: what ``mic adapt MODEL --data YOUR_CORPUS`` does). A retrieval gain of a transductive fit is a claim about
fitting on the corpus you index, not about unseen text, so every row of a report names its protocol.
"""

from __future__ import annotations

from collections.abc import Sequence

from mic.data.beir import is_retrieval_source
from mic.data.sources import parse_source

NONE = "none"
INDUCTIVE = "inductive"
TRANSDUCTIVE = "transductive"
STOCK_PREFIXES = "nothing (stock prefixes)"
CORPUS_DOCUMENTS = "the evaluated corpus's documents (no queries, no labels)"
"""What a transductive fit saw."""


def protocol(sources: Sequence[str], task: str) -> str:
    """The protocol of a fit on ``sources`` (its data specs: ``stsb:train``, ``scifact``) scored on ``task`` (a
    task spec: ``scifact:test``, ``stsb:test``).

    :data:`NONE` without sources; :data:`TRANSDUCTIVE` when a source is the evaluated split itself or, for a
    retrieval task, any split of its corpus (every split searches the same documents: ``scifact`` and
    ``scifact:train`` for ``scifact:test``); :data:`INDUCTIVE` otherwise.

    Example:
        >>> protocol(["stsb:train", "scifact"], "scifact:test"), protocol(["stsb:train"], "stsb:test")
        ('transductive', 'inductive')
    """
    if not sources:
        return NONE
    corpus = parse_source(task).target if is_retrieval_source(task) else None
    saw = any(source == task or parse_source(source).target == corpus for source in sources)
    return TRANSDUCTIVE if saw else INDUCTIVE
