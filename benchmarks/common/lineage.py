"""Which versions of the code compute the same runs: the code lineage.

A run record is keyed by the fingerprint of the code that trained and scored it
(:func:`common.provenance.code_fingerprint`), so any change under ``src/mic`` makes every cached run stale — also a
change that computes nothing differently (an error message, a signal handler, what ``--overwrite`` deletes). Such a
change is *declared* in ``benchmarks/code_lineage.json``: ``{"code": NEW, "computes_as": OLD, "change": ...}``. A
declaration is written only by ``benchmarks/code_probe.py --same-as OLD``, and only when the probe — a few steps of
every training path of the head-to-head on a tiny model and a slice of the real data, scored as the runs are, and
the trained weights' sums — gives bit-identical numbers under both versions, on one machine, with the same probe and
library versions. Both probes are kept in ``benchmarks/results/code-probe.json`` and ``tests/benchmarks/
test_code_lineage.py`` checks them, and that the probe of this checkout's code is what this code computes.

A record's code counts by its *run code* (:func:`run_code`): the oldest version its fingerprint is declared to
compute as. Run keys and :func:`common.runs.origin` use it; the record itself keeps the fingerprint that ran.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from common.provenance import code_fingerprint

BENCHMARKS = Path(__file__).resolve().parents[1]
LINEAGE = BENCHMARKS / "code_lineage.json"
PROBES = BENCHMARKS / "results" / "code-probe.json"
PROBE_INPUTS = ("code_probe.py", "common/*.py", "settings/*.yaml", "../configs/*.yaml")
"""What besides ``src/mic`` decides the probe's numbers (the probe itself, the benchmarks' run code, settings and
configs): hashed into :func:`probe_version`, so probes are compared only when these were the same."""


def declarations(path: Path | None = None) -> list[dict[str, str]]:
    """The declared changes in ``path`` (default :data:`LINEAGE`), oldest first (none without the file)."""
    path = path or LINEAGE
    return json.loads(path.read_text())["declarations"] if path.is_file() else []


def follow(entries: list[dict[str, str]], code: str) -> str:
    """The oldest code ``code`` computes as under the declarations ``entries``.

    Raises:
        ValueError: when the declarations go round in a cycle.
    """
    chain = {entry["code"]: entry["computes_as"] for entry in entries}
    seen = {code}
    while code in chain:
        code = chain[code]
        if code in seen:
            raise ValueError(f"the code lineage goes round in a cycle through code {code}")
        seen.add(code)
    return code


def run_code(fingerprint: str | None = None, path: Path | None = None) -> str:
    """The oldest code ``fingerprint`` (default: this checkout's) is declared to compute as in ``path`` (default
    :data:`LINEAGE`); itself when it has no declaration."""
    return follow(declarations(path), fingerprint or code_fingerprint())


def probe_version() -> str:
    """A hash of :data:`PROBE_INPUTS`' files, by relative path and content."""
    digest = hashlib.sha256()
    for pattern in PROBE_INPUTS:
        for file in sorted(BENCHMARKS.glob(pattern)):
            digest.update(file.relative_to(BENCHMARKS.parent).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def read_probes(path: Path | None = None) -> dict[str, dict]:
    """The probes recorded in ``path`` (default :data:`PROBES`) by code fingerprint (none without the file)."""
    path = path or PROBES
    return json.loads(path.read_text())["probes"] if path.is_file() else {}


def same_numbers(a: Mapping[str, object], b: Mapping[str, object]) -> list[str]:
    """The probe numbers that differ between two probe records (bit for bit), or why they cannot be compared."""
    if a["probe_version"] != b["probe_version"]:
        return [f"probe version {a['probe_version']} vs {b['probe_version']} (rerun both with this probe)"]
    if a["provenance"]["versions"] != b["provenance"]["versions"]:
        return ["library versions differ"]
    if a["provenance"]["machine"] != b["provenance"]["machine"]:
        return ["made on different machines"]
    numbers_a, numbers_b = a["numbers"], b["numbers"]
    return [name for name in sorted(numbers_a.keys() | numbers_b.keys()) if numbers_a.get(name) != numbers_b.get(name)]
