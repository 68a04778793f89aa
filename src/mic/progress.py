"""When ``mic`` draws progress bars: only on a terminal, so log files stay readable.

tqdm redraws a bar with control characters: ``\\r`` for every update and, when two bars are open at once (the
trainer's evaluation bar under its training bar), the cursor-up escape ``ESC[A``. On a terminal that animates;
in a log file (``mic train ... > run.log 2>&1``) it is raw noise, so there the bars are off and the trainer
prints its log lines instead. transformers' own per-file bars (``Loading weights`` on every model load,
``Writing model shards`` on every save) are off everywhere: they say nothing a user waits for.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


def progress_bars() -> bool:
    """True when stderr, where tqdm draws, is a terminal."""
    return sys.stderr.isatty()


@contextmanager
def no_transformers_bars() -> Iterator[None]:
    """Switch off transformers' own progress bars (``Loading weights``, ``Writing model shards``) for a block.

    The hub's download bars stay as they were: a first download still shows its progress.
    """
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars
    from transformers.utils import logging as transformers_logging

    if not transformers_logging.is_progress_bar_enabled():
        yield
        return
    hub_bars = not are_progress_bars_disabled()
    transformers_logging.disable_progress_bar()  # switches the hub's bars off as well ...
    if hub_bars:
        enable_progress_bars()  # ... so they are switched back on
    try:
        yield
    finally:
        transformers_logging.enable_progress_bar()
        if not hub_bars:
            disable_progress_bars()
