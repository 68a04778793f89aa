"""The one base of every user-fixable error, so the CLI shows its message instead of a stack trace.

Each layer raises its own subclass (``DataError``, ``ConfigError``, ``ModelError``, ``EvaluationError``,
``TrainingError``, ...); callers that only need "the user can fix this" catch :class:`MICError`.
"""

from __future__ import annotations


class MICError(ValueError):
    """A problem the user can fix; the message names the bad value and what is allowed."""
