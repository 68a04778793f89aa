"""``docs/method.md`` is the page the code cites by section: every ``docs/method.md §N`` names a heading there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
METHOD = ROOT / "docs" / "method.md"
SECTION = re.compile(r"§(\d+(?:\.\d+)*)")
HEADING = re.compile(r"^#{2,4} (\d+(?:\.\d+)*)\.? ", re.MULTILINE)


def section_references() -> list[tuple[str, str, str]]:
    """``(file:line, the line, section)`` for every ``§N`` in the Python code of src/, tests/ and benchmarks/."""
    found = []
    for folder in ("src", "tests", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                for section in SECTION.findall(line):
                    found.append((f"{path.relative_to(ROOT)}:{number}", line.strip(), section))
    return found


def test_every_section_the_code_cites_is_a_numbered_heading_of_docs_method_md() -> None:
    headings = set(HEADING.findall(METHOD.read_text(encoding="utf-8")))
    references = section_references()
    assert any(where.startswith("src/") for where, _, _ in references), "the loss docstrings cite their sections"
    missing = [(where, section) for where, _, section in references if section not in headings]
    assert not missing, f"no such heading in docs/method.md (it has {sorted(headings)}): {missing}"


def test_every_section_sign_in_the_code_cites_docs_method_md() -> None:
    elsewhere = [(where, line) for where, line, _ in section_references() if "docs/method.md" not in line]
    assert not elsewhere, f"cite sections as docs/method.md §N (the only numbered page in the repo): {elsewhere}"
