"""Report writing shared by the benchmarks: the JSON and Markdown pair, the README block a benchmark owns, and the
lines that say which runs are not from this code."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from common.runs import NO_FINGERPRINT, ORIGIN_LABELS, OTHER_CODE, origin, produced_by
from mic.staging import write_atomic

README = Path(__file__).resolve().parents[2] / "README.md"
TABLE_NOTES = {
    OTHER_CODE: "not in the tables",
    NO_FINGERPRINT: "in the tables for STS-B and SICK-R; their SciFact scores, made with the trained model reading 128 "
    "tokens, are left out",
}
"""What a report's tables do with runs of each origin (:func:`origin_lines`' notes): other code's are left out,
those without a fingerprint are used for the tasks this code reproduces (:data:`common.runs.LEGACY_TASKS`)."""
FIT_NOTES = {**TABLE_NOTES, NO_FINGERPRINT: "in the tables"}
"""The same for adapter fits on the stock model's encodings, whose scores never depended on a trained model's length."""


def pca_name(sources: Sequence[str]) -> str:
    """The one name a report gives a PCA baseline: what it was fitted on, e.g. ``pca[stsb:train+sick:train]``."""
    return f"pca[{'+'.join(sources)}]"


def write_json_and_markdown(path: Path, data: Mapping[str, object], markdown: str) -> None:
    """``path`` (``.json``) and the same name with ``.md``, each written atomically."""
    write_atomic(path, json.dumps(data, indent=2, allow_nan=False) + "\n")
    write_atomic(path.with_suffix(".md"), markdown if markdown.endswith("\n") else markdown + "\n")


def replace_block(path: Path, start: str, end: str, block: str) -> None:
    """Replace the text between the markers ``start`` and ``end`` of ``path`` with ``block``; a file without both
    markers is left alone."""
    text = path.read_text(encoding="utf-8")
    if start not in text or end not in text:
        return
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    write_atomic(path, f"{head}{start}\n{block}\n{end}{tail}")


def origin_entry(name: str, record: Mapping[str, object]) -> tuple[str, str]:
    """``(origin, entry)`` of a run for :func:`origin_lines`: its name, and for a stale one what produced it."""
    kind = origin(record)
    return kind, name if kind != "other code" else f"{name} ({produced_by(record)})"


def entry_of(entry: str, name: str) -> bool:
    """Whether an :func:`origin_entry` entry is the run ``name``'s (``mrl seed 0`` or ``mrl seed 0 (commit ...)``)."""
    return entry == name or entry.startswith(f"{name} (")


def origin_lines(entries: Mapping[str, list[str]], notes: Mapping[str, str] | None = None) -> list[str]:
    """Markdown paragraphs naming the runs not from this code under :data:`common.runs.ORIGIN_LABELS`, each with
    its note from ``notes`` (e.g. whether the tables include them); none when every run is from this code."""
    lines = []
    for kind, label in ORIGIN_LABELS.items():
        if entries.get(kind):
            note = f" ({notes[kind]})" if notes and kind in notes else ""
            lines += [f"**{label[0].upper()}{label[1:]}**{note}: {'; '.join(entries[kind])}.", ""]
    return lines


def record_origins(records: Mapping[str, Mapping[str, object] | None]) -> dict[str, str]:
    """Each named record's origin for a JSON summary: ``current``, ``no code fingerprint``, or ``other code`` with
    what produced it (:func:`origin_entry`); ``None``: a run not made yet, left out."""
    origins = {}
    for name, record in records.items():
        if record is not None:
            kind, entry = origin_entry(name, record)
            origins[name] = kind + entry[len(name) :]
    return origins


def record_origin_lines(records: Mapping[str, Mapping[str, object] | None]) -> list[str]:
    """:func:`origin_lines` of named records (``None``: a run not made yet, left out)."""
    entries: dict[str, list[str]] = {}
    for name, record in records.items():
        if record is not None:
            kind, entry = origin_entry(name, record)
            entries.setdefault(kind, []).append(entry)
    return origin_lines(entries)
