"""Retrieval with elastic embeddings: search at a low dim, re-rank at full dim."""

from mic.retrieval.search import Hits, exact_search, funnel_search, prefix, rerank

__all__ = ["Hits", "exact_search", "funnel_search", "prefix", "rerank"]
