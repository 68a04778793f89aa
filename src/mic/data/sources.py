"""One place that turns data sources into what training and evaluation read.

A source is one string:

- ``stsb`` or ``sick`` (alias ``sickr``), optionally ``:SPLIT``: the benchmark files of the data folder;
- a path to a ``.csv``, ``.tsv``, ``.txt`` or ``.jsonl`` file (formats in :mod:`mic.data.files`);
- a Hugging Face dataset, as a local folder or a hub name, optionally ``:SPLIT``.

Splits default to ``train`` for training and ``test`` for evaluation. Training datasets have the columns the
sentence-transformers losses read: ``scored`` -> sentence1, sentence2, score (mapped to 0..1 per source, see
:meth:`ScoredPairs.normalised_scores`); ``pairs`` -> anchor, positive; ``triplets`` -> anchor, positive,
negative; ``unlabeled`` -> anchor and positive holding the same sentence (unsupervised SimCSE, where dropout
makes the two views differ), one row per distinct sentence over all sources, in order of first appearance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mic.data.benchmarks import load_sick, load_stsb
from mic.data.errors import DataError
from mic.data.files import FORMATS, is_sentence_file, read_sentence_lines, read_table, require_file
from mic.data.hub import load_hf_dataset
from mic.data.scored import ScoredPairs
from mic.data.table import KIND_COLUMNS, Table, scored_pairs, select_columns, text_column

if TYPE_CHECKING:
    from datasets import Dataset

BENCHMARKS: dict[str, Callable[[str, str | Path | None], ScoredPairs]] = {
    "stsb": load_stsb,
    "sick": load_sick,
    "sickr": load_sick,
}
KINDS = ("scored", "pairs", "triplets", "unlabeled")
PATH_PREFIXES = ("/", "./", "../", "~")
"""A source starting with one of these is a local path, never a hub name."""


@dataclass(frozen=True)
class Source:
    """A parsed source string: what to read and the split asked for (``None``: the caller's default)."""

    spec: str
    target: str
    split: str | None

    @property
    def path(self) -> Path:
        return Path(self.target).expanduser()


def split_sources(text: str, option: str) -> list[str]:
    """The comma-separated sources of one option value (``stsb:train, scifact``), stripped, in order.

    Raises:
        DataError: for a value that names no source, naming ``option``.
    """
    sources = [part.strip() for part in text.split(",") if part.strip()]
    if not sources:
        raise DataError(
            f"{option} {text!r} names no source; give comma-separated sources, e.g. {option} stsb:train,scifact, "
            f"or leave {option} out for the defaults."
        )
    return sources


def parse_source(spec: str) -> Source:
    """Split ``NAME:SPLIT`` unless the whole string names an existing path.

    Raises:
        DataError: for an empty source or an empty name or split around the colon.
    """
    if not spec.strip():
        raise DataError("Empty data source; give stsb[:SPLIT], sick[:SPLIT], a file path or a dataset name.")
    if ":" not in spec or Path(spec).expanduser().exists():
        return Source(spec, spec, None)
    target, split = spec.rsplit(":", 1)
    if not target or not split:
        raise DataError(f"Data source {spec!r}: write NAME:SPLIT, e.g. stsb:train.")
    return Source(spec, target, split)


def _looks_like_file(source: Source) -> bool:
    """Whether ``source`` is meant as a local file: a known suffix or a path prefix, existing or not."""
    return source.path.suffix.lower() in FORMATS or source.target.startswith(PATH_PREFIXES)


def is_scored_source(spec: str) -> bool:
    """Whether ``spec`` can name scored pairs: a benchmark, a path, a file or a hub dataset ``owner/name``.

    A file is recognised by its suffix or a path prefix even before it exists (so its loader can say it is
    missing); a bare unknown word, such as a typo of ``stsb``, names nothing.

    Raises:
        DataError: for an empty source or an empty name or split around the colon.
    """
    source = parse_source(spec)
    return source.target in BENCHMARKS or source.path.exists() or _looks_like_file(source) or "/" in source.target


def _local_file(source: Source) -> Path | None:
    """The file ``source`` names, or ``None`` when it names a dataset folder or a hub dataset."""
    path = source.path
    if path.is_dir() or not (path.is_file() or _looks_like_file(source)):
        return None
    require_file(path)
    if source.split is not None:
        raise DataError(f"{source.spec}: {path} is a file and has no splits; drop ':{source.split}'.")
    return path


def _table(source: Source, kind: str, columns: Sequence[str] | None, default_split: str) -> tuple[Table, list[str]]:
    """The rows of a file or dataset source and the columns to read from them for ``kind``."""
    path = _local_file(source)
    if path is not None:
        table = read_table(path)
        return table, select_columns(table.columns, kind, columns, table.source)
    dataset = load_hf_dataset(source.target, source.split, default_split)
    chosen = select_columns(dataset.column_names, kind, columns, source.spec)
    return Table(source.spec, chosen, dataset.select_columns(chosen).to_list()), chosen


def _benchmark(source: Source, data_dir: str | Path | None, default_split: str) -> ScoredPairs:
    return BENCHMARKS[source.target](source.split or default_split, data_dir)


def load_scored_pairs(
    source: str,
    data_dir: str | Path | None = None,
    *,
    columns: Sequence[str] | None = None,
    score_range: tuple[float, float] | None = None,
    default_split: str = "test",
) -> ScoredPairs:
    """Scored pairs from a benchmark, a scored file or a dataset, e.g. for ``mic eval --tasks stsb,sickr,FILE``.

    Args:
        source: ``stsb[:SPLIT]``, ``sick[:SPLIT]``, a file path or a dataset name (see the module docstring).
        data_dir: folder of the benchmark files; ``None`` reads ``$MIC_DATA_DIR``.
        columns: first sentence, second sentence and score columns of a file or dataset
            (default: sentence1/sentence_A, sentence2/sentence_B, score/relatedness_score).
        score_range: ``(low, high)`` scale of a file or dataset; rows outside it are errors. Benchmarks keep
            their published scales; without it a SemEval file is 0..5 and other sources are inferred.
        default_split: the benchmark or dataset split when the source names none.

    Raises:
        DataError: for a missing source or a malformed row (with file and line).
    """
    parsed = parse_source(source)
    if parsed.target in BENCHMARKS:
        return _benchmark(parsed, data_dir, default_split)
    table, chosen = _table(parsed, "scored", columns, default_split)
    return scored_pairs(table, chosen, score_range or table.score_range)


def _source_sentences(
    source: Source, data_dir: str | Path | None, columns: Sequence[str] | None, default_split: str
) -> list[str]:
    if source.target in BENCHMARKS:
        pairs = _benchmark(source, data_dir, default_split)
        return [sentence for pair in zip(pairs.sentences1, pairs.sentences2, strict=True) for sentence in pair]
    path = _local_file(source)
    if path is not None and is_sentence_file(path):
        return read_sentence_lines(path)
    table, chosen = _table(source, "unlabeled", columns, default_split)
    by_column = [text_column(table, column) for column in chosen]
    return [sentence for row in zip(*by_column, strict=True) for sentence in row]


def load_sentences(
    sources: str | Sequence[str],
    data_dir: str | Path | None = None,
    *,
    columns: Sequence[str] | None = None,
    default_split: str = "train",
) -> list[str]:
    """The distinct sentences of ``sources``, in order of first appearance.

    A benchmark gives both sentences of each pair; a ``.txt`` file whose first line has no tab gives one
    sentence per line; a table or dataset gives its sentence columns, row by row.

    Args:
        sources: one source or several (see the module docstring).
        data_dir: folder of the benchmark files; ``None`` reads ``$MIC_DATA_DIR``.
        columns: the sentence columns of tables and datasets (default: those named in ``SENTENCE_COLUMNS``).
        default_split: the benchmark or dataset split when a source names none.

    Raises:
        DataError: for no sources, a missing source or a malformed row.
    """
    sentences = [
        sentence
        for spec in _source_list(sources)
        for sentence in _source_sentences(parse_source(spec), data_dir, columns, default_split)
    ]
    return list(dict.fromkeys(sentences))


def _source_list(sources: str | Sequence[str]) -> list[str]:
    specs = [sources] if isinstance(sources, str) else list(sources)
    if not specs:
        raise DataError("No data source given; name at least one, e.g. stsb:train.")
    return specs


def _labelled_columns(specs: list[str], kind: str, columns: Sequence[str] | None) -> dict[str, list[str]]:
    """The pairs or triplets columns of every source, concatenated."""
    data: dict[str, list[str]] = {name: [] for name in KIND_COLUMNS[kind]}
    for spec in specs:
        parsed = parse_source(spec)
        if parsed.target in BENCHMARKS:
            raise DataError(f"{spec} holds scored pairs, not {kind}; use kind 'scored' or 'unlabeled' for it.")
        table, chosen = _table(parsed, kind, columns, "train")
        for name, column in zip(KIND_COLUMNS[kind], chosen, strict=True):
            data[name].extend(text_column(table, column))
    return data


def load_training_dataset(
    sources: str | Sequence[str],
    kind: str = "scored",
    data_dir: str | Path | None = None,
    *,
    columns: Sequence[str] | None = None,
    score_range: tuple[float, float] | None = None,
    max_samples: int | None = None,
) -> Dataset:
    """A sentence-transformers training dataset of ``kind`` from one or several sources (default split: train).

    Args:
        sources: one source or several, concatenated in order (see the module docstring).
        kind: ``"scored"``, ``"pairs"``, ``"triplets"`` or ``"unlabeled"``; fixes the columns (module docstring).
        data_dir: folder of the benchmark files; ``None`` reads ``$MIC_DATA_DIR``.
        columns: the source columns of tables and datasets, in the order of the kind's columns
            (for ``"unlabeled"``: any number of sentence columns).
        score_range: ``(low, high)`` scale of scored files and datasets (see :func:`load_scored_pairs`).
        max_samples: keep the first ``max_samples`` rows (the trainer shuffles them).

    Raises:
        DataError: for an unknown kind, a non-positive ``max_samples``, a missing source, a malformed row,
            a benchmark asked for pairs or triplets, or empty data.
    """
    if kind not in KINDS:
        raise DataError(f"Unknown data kind {kind!r}; choose one of {KINDS}.")
    if max_samples is not None and max_samples < 1:
        raise DataError(f"max_samples must be a positive number of rows, got {max_samples}.")
    specs = _source_list(sources)
    if kind == "unlabeled":
        sentences = load_sentences(specs, data_dir, columns=columns)
        data = {"anchor": sentences, "positive": sentences}
    elif kind == "scored":
        parts = [
            load_scored_pairs(spec, data_dir, columns=columns, score_range=score_range, default_split="train")
            for spec in specs
        ]
        data = {
            "sentence1": [sentence for part in parts for sentence in part.sentences1],
            "sentence2": [sentence for part in parts for sentence in part.sentences2],
            "score": [score for part in parts for score in part.normalised_scores()],
        }
    else:
        data = _labelled_columns(specs, kind, columns)
    from datasets import Dataset  # seconds to import: only when a training set is built

    return Dataset.from_dict({name: values[:max_samples] for name, values in data.items()})
