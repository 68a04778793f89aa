"""Timing contenders against each other: in turns reversed every other run (:func:`take_turns`), or one query at
a time in a fresh random order every round, each on its own slice of the queries (:func:`alternate`); and the
summary of the latencies measured."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TypeVar

import numpy as np

Contender = TypeVar("Contender", bound=Hashable)


def take_turns(
    contenders: Mapping[str, Callable[[int], object]], runs: int, clock: Callable[[], float] = time.perf_counter
) -> dict[str, list[float]]:
    """Seconds of ``contender(run)`` by ``clock`` for each run, the contenders taking turns in their order on even
    runs and the reverse on odd ones, so neither always goes first."""
    seconds: dict[str, list[float]] = {name: [] for name in contenders}
    for run in range(runs):
        for name in list(contenders) if run % 2 == 0 else list(reversed(contenders)):
            start = clock()
            contenders[name](run)
            seconds[name].append(clock() - start)
    return seconds


def alternate(
    contenders: Sequence[Contender],
    search: Callable[[Contender, np.ndarray], tuple[float, ...]],
    queries: np.ndarray,
    rounds: int,
    timed: int,
    seed: int,
    label: str = "timing",
) -> dict[Contender, list[tuple[float, ...]]]:
    """What ``search(contender, one_query_batch)`` measured (seconds, in parts), per contender, for ``timed``
    queries per contender per round; every round visits all contenders in a fresh random order."""
    for contender in contenders:
        search(contender, queries[:1])  # warm-up: page in the index and the re-rank rows
    rng = np.random.default_rng(seed)
    measured: dict[Contender, list[tuple[float, ...]]] = {contender: [] for contender in contenders}
    for round_number in range(rounds):
        for position in rng.permutation(len(contenders)):
            contender = contenders[position]
            for offset in range(timed):
                query = queries[(round_number * timed + offset) % len(queries)][None]
                measured[contender].append(search(contender, query))
        print(f"{label} round {round_number + 1}/{rounds}", flush=True)
    return measured


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """Queries per second (one at a time), p50 and p99 latency in milliseconds, and how many queries were timed."""
    values = np.asarray(seconds)
    return {
        "qps": 1.0 / statistics.fmean(seconds),
        "p50_ms": 1e3 * float(np.percentile(values, 50)),
        "p99_ms": 1e3 * float(np.percentile(values, 99)),
        "timed_queries": len(seconds),
    }


def funnel_summary(parts: Sequence[tuple[float, float]]) -> dict[str, float]:
    """:func:`latency_summary` of the whole search plus the mean milliseconds of its two parts (prefix, re-rank)."""
    prefix_part, rerank_part = zip(*parts, strict=True)
    return {
        **latency_summary([first + second for first, second in parts]),
        "prefix_ms": 1e3 * statistics.fmean(prefix_part),
        "rerank_ms": 1e3 * statistics.fmean(rerank_part),
    }
