"""The one run key and run cache of every benchmark (quality, the dev sweeps, the adapter, the adapter protocols).

A run is whatever a benchmark computes once and reuses: a trained model's scores, a fitted adapter's scores, a
model's retrieval scores. Its record is a JSON file holding the benchmark's fields, the ``key`` of :func:`run_key`
and the ``provenance`` of :func:`~common.provenance.run_provenance`. A cached record is reused only when its key
is the one the run would have now (:func:`cached`): the same resolved config, seed, run code (the code fingerprint,
or the older one it is declared to compute as: :mod:`common.lineage`) and library versions; the commit, dirty flag,
thread count and machine are recorded, not keyed (the code fingerprint already covers uncommitted changes, and a
rerun elsewhere is the same experiment). Reports sort records by
:func:`origin`: from this code, from other code (stale), or from before records carried their code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from common.lineage import run_code
from common.provenance import run_provenance
from mic.provenance import package_versions
from mic.staging import write_atomic

CURRENT = "current"
OTHER_CODE = "other code"
NO_FINGERPRINT = "no code fingerprint"
ORIGIN_LABELS = {
    OTHER_CODE: "stale: trained by other code",
    NO_FINGERPRINT: "no code fingerprint (trained before run records carried their code)",
}


LEGACY_TASKS = ("stsb", "sickr")
"""The tasks a run without a code fingerprint still scores in reports. Those runs were scored with the trained model
reading 128 tokens (before commit 288e76b kept the base model's 256): STS sentences are shorter, and every rerun at
the current code reproduces their STS-B and SICK-R scores (to within 0.001); SciFact's abstracts are longer, so their
SciFact scores are of another protocol and are left out (:func:`kept_scores`)."""


def run_key(config: Mapping[str, object], seed: int, *, code: str | None = None) -> str:
    """What decides a run's outcome, hashed: its resolved ``config`` (as plain JSON data, without output paths),
    its ``seed``, the run code (``code``; default: this checkout's, :func:`common.lineage.run_code`) and the library
    versions."""
    identity = {
        "config": config,
        "seed": seed,
        "code": code or run_code(),
        "versions": package_versions(),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def new_record(key: str, command: str | None, fields: Mapping[str, object]) -> dict:
    """A run record: the benchmark's ``fields``, then the run ``key`` and the provenance of this process."""
    return {**fields, "key": key, "provenance": run_provenance(command)}


def read_record(path: Path) -> dict | None:
    """The record at ``path``, or None when there is none."""
    return json.loads(path.read_text()) if path.is_file() else None


def write_record(path: Path, record: Mapping[str, object]) -> None:
    """Save a record atomically (a reader never sees half of it)."""
    write_atomic(path, json.dumps(record, indent=2))


def cached(path: Path, key: str) -> dict | None:
    """The record at ``path`` if it is the run of ``key`` (same config, seed, code and versions), else None."""
    record = read_record(path)
    return record if record is not None and record.get("key") == key else None


def origin(record: Mapping[str, object]) -> str:
    """:data:`CURRENT` for a record of this code (or code declared to compute the same:
    :func:`common.lineage.run_code`) and these library versions, :data:`OTHER_CODE` for one of other code or
    versions, :data:`NO_FINGERPRINT` for one written before records carried their code."""
    provenance = record.get("provenance")
    if not isinstance(provenance, Mapping) or provenance.get("code_fingerprint") is None:
        return NO_FINGERPRINT
    same = run_code(provenance["code_fingerprint"]) == run_code() and provenance.get("versions") == package_versions()
    return CURRENT if same else OTHER_CODE


def kept_scores(record: Mapping[str, object]) -> dict[str, dict]:
    """The scores of a record that reports use, by its :func:`origin`: all of a current one, the
    :data:`LEGACY_TASKS` of one without a code fingerprint, none of one from other code."""
    scores = record.get("scores")
    kind = origin(record)
    if not isinstance(scores, Mapping) or kind == OTHER_CODE:
        return {}
    return {task: dict(by_dim) for task, by_dim in scores.items() if kind == CURRENT or task in LEGACY_TASKS}


def commit_of(record: Mapping[str, object], digits: int = 40) -> str:
    """The commit a record was produced at, its first ``digits`` hex digits, then `` + uncommitted changes`` when
    the tree had some; ``unknown`` for a record that does not say (one from before records carried their code)."""
    provenance = record.get("provenance")
    if not isinstance(provenance, Mapping) or not provenance.get("git_commit"):
        return "unknown"
    dirty = " + uncommitted changes" if provenance.get("git_dirty") else ""
    return f"{str(provenance['git_commit'])[:digits]}{dirty}"


def produced_by(record: Mapping[str, object]) -> str:
    """Where a record comes from, for a report: ``commit 1a2b3c4 + uncommitted changes, code 9f8e...``."""
    provenance = record.get("provenance")
    if not isinstance(provenance, Mapping):
        return "unknown code"
    return f"commit {commit_of(record, 7)}, code {provenance.get('code_fingerprint')}"
