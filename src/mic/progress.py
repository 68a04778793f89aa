"""How ``mic`` shows progress: bars only on a terminal, plain periodic lines in a log file.

tqdm redraws a bar with control characters: ``\\r`` for every update and, when two bars are open at once (the
trainer's evaluation bar under its training bar), the cursor-up escape ``ESC[A``. On a terminal that animates;
in a log file (``mic train ... > run.log 2>&1``) it is raw noise, so there the bars are off and the trainer
prints its log lines instead, and :class:`Progress` prints a plain line every tenth of the work or every minute.
transformers' own per-file bars (``Loading weights`` on every model load,
``Writing model shards`` on every save) are off everywhere: they say nothing a user waits for.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from tqdm.auto import tqdm

LINE_EVERY_FRACTION = 0.1
LINE_EVERY_SECONDS = 60.0


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


class Progress:
    """Work of a known size counted as it is done: a tqdm bar on a terminal, else plain lines for a log.

    Off a terminal a line such as ``Indexing: 4,000/10,000 documents (40%), 12 s, about 18 s left`` is printed
    each time another tenth of the work is done or a minute has passed, and one at the end.

    Args:
        total: the size of the work.
        description: what is done (``Indexing``).
        unit: what is counted, plural (``documents``).
        show: ``False`` shows nothing; ``True`` or ``None`` a bar on a terminal (:func:`progress_bars`), else lines.
        stream: where lines go (default: stderr).
    """

    def __init__(
        self, total: int, description: str, unit: str, *, show: bool | None = None, stream: TextIO | None = None
    ) -> None:
        self.total, self.description, self.unit = total, description, unit
        self.stream = stream or sys.stderr
        self.lines = show is not False and not progress_bars()
        self.bar = tqdm(total=total, desc=description, unit=unit.rstrip("s"), disable=show is False or self.lines)
        self.done, self.start = 0, time.monotonic()
        self.last_line, self.last_step = self.start, 0

    def update(self, count: int) -> None:
        """Count ``count`` more units done."""
        self.done += count
        self.bar.update(count)
        if not self.lines:
            return
        now, step = time.monotonic(), int(self.done / max(self.total, 1) / LINE_EVERY_FRACTION)
        if step > self.last_step or now - self.last_line >= LINE_EVERY_SECONDS:
            self.last_line, self.last_step = now, step
            self._line(now)

    def _line(self, now: float) -> None:
        elapsed = now - self.start
        fraction = self.done / max(self.total, 1)
        left = f", about {elapsed / fraction - elapsed:.0f} s left" if 0 < fraction < 1 else ""
        print(f"{self.description}: {self.done:,}/{self.total:,} {self.unit} ({fraction:.0%}), {elapsed:.0f} s{left}",
              file=self.stream, flush=True)  # fmt: skip

    def close(self) -> None:
        """Close the bar; off a terminal, print the last line unless the last one already said 100%."""
        self.bar.close()
        if self.lines and self.last_step < int(1 / LINE_EVERY_FRACTION):
            self._line(time.monotonic())

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, error: type[BaseException] | None, *rest: object) -> None:
        if error is None:
            self.close()
        else:
            self.bar.close()
