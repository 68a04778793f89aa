"""Every measured number README prints in its results sections comes from a committed results file.

The results sections (:data:`RESULT_SECTIONS`) are README's ``### Retrieval at every dim``, ``## Make a frozen encoder
elastic: mic adapt`` and ``## Results``, each up to the next heading of its level or above, with fenced code blocks
(commands, configs) and arXiv ids left out. A number is anything with a decimal point (``64.51``, ``+2.05``, ``−0.21``);
it must appear, with the same digits after dropping its sign, in a file under ``benchmarks/results/``: printed in a
``.md`` or ``.json`` file, or a JSON number rounded to as many decimals.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
RESULT_SECTIONS = ("### Retrieval at every dim", "## Make a frozen encoder elastic: mic adapt", "## Results")
ARXIV = re.compile(r"arXiv \S+")
NUMBER = re.compile(r"(?<![\w.])[+\-−]?(\d+\.\d+)(?![\w.])")


def section(text: str, heading: str) -> str:
    """The body of ``heading`` up to the next heading of its level or above, fenced code blocks left out."""
    level = heading.split(" ", 1)[0]
    body = text.split(f"\n{heading}\n", 1)[1]
    stop = re.search(rf"^#{{1,{len(level)}}} ", body, flags=re.MULTILINE)
    body = body[: stop.start()] if stop else body
    return re.sub(r"^```.*?^```", "", body, flags=re.MULTILINE | re.DOTALL)


def section_numbers(text: str, headings: tuple[str, ...]) -> list[str]:
    """The unsigned numbers of the sections ``headings`` of a Markdown ``text``, in order."""
    sections = [ARXIV.sub("", section(text, heading)) for heading in headings]
    return [match for body in sections for match in NUMBER.findall(body)]


def readme_numbers() -> list[str]:
    """The numbers of README's results sections."""
    return section_numbers((ROOT / "README.md").read_text(encoding="utf-8"), RESULT_SECTIONS)


def json_numbers(value: object) -> Iterator[float]:
    """Every number inside a parsed JSON value."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            yield from json_numbers(item)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield float(value)


def committed_numbers() -> set[str]:
    """Every number printed in a results file, and every JSON number rounded to 1-4 decimals."""
    found: set[str] = set()
    for path in RESULTS.rglob("*"):
        if path.suffix not in (".md", ".json"):
            continue
        text = path.read_text(encoding="utf-8")
        found.update(NUMBER.findall(text))
        if path.suffix == ".json":
            for number in json_numbers(json.loads(text)):
                found.update(f"{abs(number):.{places}f}" for places in range(1, 5))
    return found


def test_numbers_are_read_from_prose_and_tables_not_code_or_arxiv_ids() -> None:
    text = "\n## Results\nMIC +2.05, −0.21 (arXiv 2407.20243), v2\n```\nlr 0.001\n```\n| a | 64.51 |\n## Next\n9.99\n"
    assert section_numbers(text, ("## Results",)) == ["2.05", "0.21", "64.51"]


def test_sections_exist() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for heading in RESULT_SECTIONS:
        assert f"\n{heading}\n" in text, heading
    assert len(readme_numbers()) > 100


def test_every_readme_result_is_in_a_results_file() -> None:
    committed = committed_numbers()
    missing = sorted({number for number in readme_numbers() if number not in committed}, key=float)
    assert not missing, f"README numbers in no file under benchmarks/results/: {missing}"
