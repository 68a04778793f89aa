"""Retrieval with elastic embeddings: search at a low dim, re-rank at full dim.

:mod:`mic.retrieval.search` holds the in-memory funnel over embedding matrices; :mod:`mic.retrieval.index`
builds an index folder from a corpus and queries it (``mic index`` / ``mic search``), through the FAISS or
Qdrant backend of :mod:`mic.retrieval.backends`; :mod:`mic.retrieval.service` serves an index over HTTP
(``mic serve``).
"""

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
