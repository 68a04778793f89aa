"""Errors of building, opening and querying a retrieval index; the CLI prints their message, not a traceback."""

from __future__ import annotations

from mic.errors import MICError


class RetrievalError(MICError):
    """A user-fixable retrieval problem: a bad dim, precision or shortlist, or a query model the index refuses."""


class IndexFileError(RetrievalError):
    """An index folder that is missing, truncated, corrupted or written by something else."""
