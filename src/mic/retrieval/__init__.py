"""Retrieval with elastic embeddings: search at a low dim, re-rank at full dim.

:mod:`mic.retrieval.search` holds the in-memory funnel over embedding matrices; :mod:`mic.retrieval.index`
builds an index folder from a corpus and queries it (``mic index`` / ``mic search``), through the FAISS or
Qdrant backend of :mod:`mic.retrieval.backends`; :mod:`mic.retrieval.service` serves an index over HTTP
(``mic serve``); :mod:`mic.retrieval.defaults` holds their defaults.

Names are resolved on first use (PEP 562 module ``__getattr__``, as in :mod:`mic`), so importing
:mod:`mic.retrieval.defaults` (as the command line does) loads neither numpy nor the encoders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mic.lazy import lazy_exports

if TYPE_CHECKING:
    from mic.retrieval.errors import IndexFileError, RetrievalError
    from mic.retrieval.index import IndexMeta, QueryResult, SearchIndex, build_index, open_index, search_texts
    from mic.retrieval.search import Hits, exact_search, funnel_search, prefix, rerank, rescore

__all__ = [
    "Hits",
    "IndexFileError",
    "IndexMeta",
    "QueryResult",
    "RetrievalError",
    "SearchIndex",
    "build_index",
    "exact_search",
    "funnel_search",
    "open_index",
    "prefix",
    "rerank",
    "rescore",
    "search_texts",
]
_HOMES = {
    "Hits": "mic.retrieval.search",
    "IndexFileError": "mic.retrieval.errors",
    "IndexMeta": "mic.retrieval.index",
    "QueryResult": "mic.retrieval.index",
    "RetrievalError": "mic.retrieval.errors",
    "SearchIndex": "mic.retrieval.index",
    "build_index": "mic.retrieval.index",
    "exact_search": "mic.retrieval.search",
    "funnel_search": "mic.retrieval.search",
    "open_index": "mic.retrieval.index",
    "prefix": "mic.retrieval.search",
    "rerank": "mic.retrieval.search",
    "rescore": "mic.retrieval.search",
    "search_texts": "mic.retrieval.index",
}
"""The module each public name is imported from on first use."""

__getattr__, __dir__ = lazy_exports(__name__, _HOMES)
