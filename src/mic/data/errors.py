"""The one exception every data loader raises, so the CLI can show its message instead of a stack trace."""

from __future__ import annotations

from mic.errors import MICError


class DataError(MICError):
    """A data file or dataset is missing or malformed; the message names the file (and line) and the fix."""
