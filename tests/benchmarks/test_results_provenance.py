"""Every committed results JSON says what produced it: a top-level ``provenance`` block with the commit and the code
fingerprint (:func:`common.provenance.run_provenance`).

:data:`KNOWN_WITHOUT` names the files written before their benchmark recorded it, each with the command that rewrites
it; a listed file that already carries its provenance fails the test, so the list only shrinks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
KNOWN_WITHOUT = {
    "adapter-sweep.json": "python benchmarks/adapter.py sweep --data-dir ../shared/data (about 75 min of fits)",
}


def has_provenance(path: Path) -> bool:
    data = json.loads(path.read_text())
    block = data.get("provenance") if isinstance(data, dict) else None
    return isinstance(block, dict) and bool(block.get("git_commit")) and bool(block.get("code_fingerprint"))


@pytest.mark.parametrize("path", sorted(RESULTS.glob("*.json")), ids=lambda path: path.name)
def test_a_results_file_names_the_commit_and_code_that_made_it(path: Path) -> None:
    if path.name in KNOWN_WITHOUT:
        assert not has_provenance(path), f"{path.name} now carries its provenance: take it off KNOWN_WITHOUT"
    else:
        assert has_provenance(path), f"{path.name} has no provenance block (common.provenance.run_provenance)"


def test_every_known_exception_is_still_a_results_file() -> None:
    assert all((RESULTS / name).is_file() for name in KNOWN_WITHOUT)
