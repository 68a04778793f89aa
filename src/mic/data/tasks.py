"""Evaluation tasks: what ``mic eval --tasks`` names, parsed and loaded in one place.

A task spec is one string, of one of two kinds:

- ``sts`` (scored sentence pairs, scored by :mod:`mic.evaluation.sts`): ``stsb`` (STS Benchmark),
  ``sickr`` / ``sick`` (SICK relatedness), a scored-pair file or a Hugging Face dataset ``owner/name`` — any
  source of :func:`mic.data.load_scored_pairs`, test split unless ``:SPLIT`` names another; and ``mteb`` (the
  English STS tasks of MTEB) or ``mteb:TASK``, which the optional ``mteb`` package loads and scores itself;
- ``retrieval`` (a corpus, queries and relevance judgements, scored by :mod:`mic.evaluation.retrieval`):
  ``scifact`` or any folder in BEIR layout, ``[:SPLIT]`` with default ``test`` (:mod:`mic.data.beir`).

Specs are checked by :func:`parse_tasks` before any data or model is loaded, so a typo fails in a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mic.data.beir import RETRIEVAL_BENCHMARKS, RetrievalData, is_retrieval_source, load_beir
from mic.data.errors import DataError
from mic.data.scored import ScoredPairs
from mic.data.sources import BENCHMARKS, is_scored_source, load_scored_pairs, parse_source

TASK_KINDS = ("sts", "retrieval")
EVAL_SPLIT = "test"
MTEB_TASK = "mteb"
MTEB_STS_TASKS = ("STS12", "STS13", "STS14", "STS15", "STS16", "STSBenchmark", "SICK-R")
"""The English STS tasks of MTEB that ``--tasks mteb`` runs."""

TaskData = ScoredPairs | RetrievalData


@dataclass(frozen=True)
class Task:
    """A parsed task spec.

    Attributes:
        spec: the spec as given; it names the task in results.
        kind: ``"sts"`` or ``"retrieval"``.
        mteb: the MTEB task names when the ``mteb`` package loads and scores it, else empty.
    """

    spec: str
    kind: str
    mteb: tuple[str, ...] = ()


def parse_task(spec: str) -> Task:
    """The kind of one task spec (see the module docstring).

    Raises:
        DataError: for a spec that names no benchmark, file, folder or dataset.
    """
    source = parse_source(spec)
    if source.target == MTEB_TASK:
        return Task(spec, "sts", (source.split,) if source.split else MTEB_STS_TASKS)
    if is_retrieval_source(spec):
        return Task(spec, "retrieval")
    if is_scored_source(spec):
        return Task(spec, "sts")
    named = ", ".join([*BENCHMARKS, *RETRIEVAL_BENCHMARKS])
    raise DataError(
        f"Unknown task {spec!r}; choose {named}, {MTEB_TASK}[:TASK], a scored-pair file (.tsv/.csv/.txt/.jsonl), "
        "a folder in BEIR layout (corpus.jsonl, queries.jsonl, qrels/) or a dataset owner/name."
    )


def parse_tasks(text: str | Sequence[str]) -> list[Task]:
    """Parse comma-separated (or listed) task specs, dropping repeats, before anything is loaded.

    Raises:
        DataError: for an empty list or an unknown spec.
    """
    specs = [part.strip() for part in (text.split(",") if isinstance(text, str) else text) if part.strip()]
    if not specs:
        raise DataError("No task given; use e.g. --tasks stsb,sickr,scifact or a scored-pair file.")
    return [parse_task(spec) for spec in dict.fromkeys(specs)]


def _refuse_mteb(task: Task) -> None:
    if task.mteb:
        raise DataError(f"{task.spec}: MTEB tasks are loaded and scored by mteb; give stsb, sickr or a file here.")


def load_task(task: Task | str, data_dir: str | Path | None = None) -> TaskData:
    """The data of a task: scored pairs or a retrieval split (test split unless the spec names one).

    Raises:
        DataError: for an unknown spec, an MTEB task (MTEB loads its own data), a missing folder, file or split,
            or a malformed row.
    """
    task = parse_task(task) if isinstance(task, str) else task
    _refuse_mteb(task)
    if task.kind == "retrieval":
        return load_beir(task.spec, data_dir, default_split=EVAL_SPLIT)
    return load_scored_pairs(task.spec, data_dir, default_split=EVAL_SPLIT)


def load_pairs_task(spec: str, data_dir: str | Path | None = None) -> ScoredPairs:
    """The scored pairs of an STS task spec (``mic analyze --data``).

    Raises:
        DataError: as :func:`load_task`, and for a retrieval task, which has no scored pairs.
    """
    task = parse_task(spec)
    if task.kind != "sts":
        raise DataError(f"{spec} is a retrieval task without scored pairs; give stsb, sickr or a scored-pair file.")
    pairs = load_task(task, data_dir)
    assert isinstance(pairs, ScoredPairs)  # an STS task loads scored pairs
    return pairs
