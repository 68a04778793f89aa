"""Every committed results JSON says what produced it: a top-level ``provenance`` block with the commit and the code
fingerprint (:func:`common.provenance.run_provenance`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def has_provenance(path: Path) -> bool:
    data = json.loads(path.read_text())
    block = data.get("provenance") if isinstance(data, dict) else None
    return isinstance(block, dict) and bool(block.get("git_commit")) and bool(block.get("code_fingerprint"))


@pytest.mark.parametrize("path", sorted(RESULTS.glob("*.json")), ids=lambda path: path.name)
def test_a_results_file_names_the_commit_and_code_that_made_it(path: Path) -> None:
    assert has_provenance(path), f"{path.name} has no provenance block (common.provenance.run_provenance)"
