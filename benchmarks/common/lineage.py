"""Which versions of the code compute the same runs: the code lineage.

A run record is keyed by the fingerprint of the code that trained and scored it
(:func:`common.provenance.code_fingerprint`), so any change under ``src/mic`` makes every cached run stale — also a
change that computes nothing differently (an error message, a signal handler, what ``--overwrite`` deletes). Such a
change is *declared* in ``benchmarks/code_lineage.json``: ``{"code": NEW, "computes_as": OLD, "change": ...}``. A
declaration is written only by ``benchmarks/code_probe.py --same-as OLD``, and only when the probe — a few steps of
every training path of the head-to-head on a tiny model and a slice of the real data, scored as the runs are, and
the trained weights' sums — gives bit-identical numbers under both versions, on one machine, with the same probe and
library versions. Every probe is kept in ``benchmarks/results/code-probe.json`` by code and probe version (each
distinct set of numbers once), and ``tests/benchmarks/test_code_lineage.py`` checks them, and that the probe of this
checkout's code is what this code computes.

A record's code counts by its *run code* (:func:`run_code`): the oldest version its fingerprint is declared to
compute as. Run keys and :func:`common.runs.origin` use it; the record itself keeps the fingerprint that ran.
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from common.provenance import code_fingerprint
from mic.staging import write_json

BENCHMARKS = Path(__file__).resolve().parents[1]
LINEAGE = BENCHMARKS / "code_lineage.json"
PROBES = BENCHMARKS / "results" / "code-probe.json"
PROBE_DATA = ("settings/*.yaml", "../configs/*.yaml")
"""The settings and configs the probe's runs read; with the probe and the benchmark modules it imports
(:func:`probe_inputs`), what besides ``src/mic`` decides its numbers."""


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


def common_imports(module: Path) -> set[str]:
    """The ``benchmarks/common`` modules ``module``'s source imports (anywhere in it), by name."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "common":
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("common."):
            names.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            names.update(alias.name.split(".")[1] for alias in node.names if alias.name.startswith("common."))
    return names


def probe_inputs(root: Path | None = None) -> list[Path]:
    """What besides ``src/mic`` decides the probe's numbers, under ``root`` (default :data:`BENCHMARKS`): the probe,
    the ``common`` modules it imports directly or through each other, and :data:`PROBE_DATA`. A report-only
    module (``common.report``, ``common.results``) is not among them, so editing one keeps recorded probes current."""
    root = root or BENCHMARKS
    modules, pending = set(), common_imports(root / "code_probe.py")
    while pending:
        name = pending.pop()
        if name not in modules and (root / "common" / f"{name}.py").is_file():
            modules.add(name)
            pending |= common_imports(root / "common" / f"{name}.py")
    files = [root / "code_probe.py", *(root / "common" / f"{name}.py" for name in sorted(modules))]
    return files + [file for pattern in PROBE_DATA for file in sorted(root.glob(pattern))]


def probe_version(root: Path | None = None) -> str:
    """A hash of :func:`probe_inputs`, by path relative to ``root``'s parent and content."""
    root = root or BENCHMARKS
    digest = hashlib.sha256()
    for file in probe_inputs(root):
        digest.update(file.relative_to(root.parent).as_posix().encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def numbers_digest(numbers: Mapping[str, float]) -> str:
    """The key a probe's numbers are stored under: a hash of them, so identical probes share one copy."""
    return hashlib.sha256(json.dumps(numbers, sort_keys=True).encode()).hexdigest()[:16]


def read_probes(path: Path | None = None) -> dict[str, dict[str, dict]]:
    """The probes recorded in ``path`` (default :data:`PROBES`), ``{code: {probe version: probe}}``, each probe
    ``{"probe_version", "numbers", "provenance"}`` with its numbers read back (none without the file)."""
    path = path or PROBES
    if not path.is_file():
        return {}
    stored = json.loads(path.read_text())
    return {
        code: {
            version: {
                "probe_version": version,
                "numbers": stored["numbers"][made["numbers"]],
                "provenance": made["provenance"],
            }
            for version, made in versions.items()
        }
        for code, versions in stored["probes"].items()
    }


def add_probe(code: str, made: Mapping[str, object], path: Path | None = None) -> None:
    """Record probe ``made`` (``{"probe_version", "numbers", "provenance"}``) of ``code`` in ``path`` (default
    :data:`PROBES`), replacing one of the same code and probe version; each distinct set of numbers is stored once."""
    path = path or PROBES
    probes = read_probes(path)
    probes.setdefault(code, {})[str(made["probe_version"])] = dict(made)
    numbers = {numbers_digest(p["numbers"]): p["numbers"] for versions in probes.values() for p in versions.values()}
    stored = {
        code: {
            version: {"numbers": numbers_digest(p["numbers"]), "provenance": p["provenance"]}
            for version, p in versions.items()
        }
        for code, versions in probes.items()
    }
    write_json({"provenance": made["provenance"], "numbers": numbers, "probes": stored}, path)


def same_numbers(a: Mapping[str, object], b: Mapping[str, object]) -> list[str]:
    """The probe numbers that differ between two probe records (bit for bit), or why they cannot be compared."""
    if a["probe_version"] != b["probe_version"]:
        return [f"probe version {a['probe_version']} vs {b['probe_version']} (rerun both with this probe)"]
    if a["provenance"]["versions"] != b["provenance"]["versions"]:
        return ["library versions differ"]
    if a["provenance"]["machine"] != b["provenance"]["machine"]:
        return [f"made on different machines ({a['provenance']['machine']}; {b['provenance']['machine']})"]
    numbers_a, numbers_b = a["numbers"], b["numbers"]
    return [name for name in sorted(numbers_a.keys() | numbers_b.keys()) if numbers_a.get(name) != numbers_b.get(name)]
