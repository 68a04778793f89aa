"""Every measured number README prints in its results sections comes from a results file that part of README cites.

The results sections (:data:`RESULT_SECTIONS`) are README's ``### Retrieval at every dim``, ``## Make a frozen encoder
elastic: mic adapt`` and ``## Results``, each up to the next heading of its level or above and cut into parts at each
of its own subheadings. Code (fenced blocks and inline spans: commands, options, configs) and arXiv ids are left out.
A part cites the files under ``benchmarks/results/`` it names (a link, a path, a bare file name or a brace list such as
``search.{json,md,png}``); a cited ``.md`` or ``.json`` file stands with its twin of the other suffix (one report).
A number is anything with a decimal point (``64.51``, ``+2.05``, ``−0.21``); it must appear, with the same digits
after dropping its sign, in a file its part cites: printed in it, or a JSON number rounded to as many decimals. A
number that only some other report holds, by chance or because the part forgot its source, fails.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
RESULT_SECTIONS = ("### Retrieval at every dim", "## Make a frozen encoder elastic: mic adapt", "## Results")
FENCED = re.compile(r"^```.*?^```", flags=re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
ARXIV = re.compile(r"arXiv \S+")
NUMBER = re.compile(r"(?<![\w.])[+\-−]?(\d+\.\d+)(?![\w.])")
HEADING = re.compile(r"^(#{1,6} .*)$", flags=re.MULTILINE)
CITATION = re.compile(r"(?:(?<=benchmarks/results/)|(?<![\w/.-]))([\w-]+)\.(md|json|\{[a-z,]+\})(?!\w)")
"""A results file's name: after ``benchmarks/results/`` or standing alone (not a path elsewhere, e.g. docs/)."""


def parts(text: str, heading: str) -> list[tuple[str, str]]:
    """``(heading, body)`` of the section ``heading`` (up to the next heading of its level or above) and of each of
    its subsections, fenced code blocks left out."""
    level = heading.split(" ", 1)[0]
    body = FENCED.sub("", text.split(f"\n{heading}\n", 1)[1])
    stop = re.search(rf"^#{{1,{len(level)}}} ", body, flags=re.MULTILINE)
    pieces = HEADING.split(body[: stop.start()] if stop else body)
    return [(heading, pieces[0]), *zip(pieces[1::2], pieces[2::2], strict=True)]


def numbers(body: str) -> list[str]:
    """The unsigned numbers of a part's prose and tables, in order."""
    return NUMBER.findall(ARXIV.sub("", INLINE_CODE.sub("", body)))


def cited(body: str, results: Path = RESULTS) -> set[Path]:
    """The files under ``results`` a part names, each ``.md`` or ``.json`` with its twin."""
    found = set()
    for name, suffixes in CITATION.findall(body):
        named = [results / f"{name}.{suffix}" for suffix in suffixes.strip("{}").split(",")]
        if any(path.suffix in (".md", ".json") and path.is_file() for path in named):
            found |= {path for suffix in ("md", "json") if (path := results / f"{name}.{suffix}").is_file()}
    return found


def json_numbers(value: object) -> Iterator[float]:
    """Every number inside a parsed JSON value."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            yield from json_numbers(item)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield float(value)


@functools.cache
def file_numbers(path: Path) -> frozenset[str]:
    """Every number printed in a results file, and for JSON every number rounded to 1-4 decimals."""
    text = path.read_text(encoding="utf-8")
    found = set(NUMBER.findall(text))
    if path.suffix == ".json":
        for number in json_numbers(json.loads(text)):
            found.update(f"{abs(number):.{places}f}" for places in range(1, 5))
    return frozenset(found)


def unsourced(body: str, results: Path = RESULTS) -> tuple[list[str], list[str]]:
    """The numbers of a part in none of the files it cites, and the names of those files."""
    files = cited(body, results)
    known = set().union(*(file_numbers(path) for path in files))
    lost = sorted({number for number in numbers(body) if number not in known}, key=float)
    return lost, sorted(path.name for path in files)


def readme_parts() -> list[tuple[str, str]]:
    """``(heading, body)`` of every part of README's results sections."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [part for heading in RESULT_SECTIONS for part in parts(text, heading)]


def test_numbers_are_read_from_prose_and_tables_not_code_or_arxiv_ids() -> None:
    text = "MIC +2.05, −0.21 (arXiv 2407.20243), `--set fit.sir=0.01`, v2\n| a | 64.51 |\n"
    assert numbers(text) == ["2.05", "0.21", "64.51"]


def test_a_section_is_cut_at_its_subheadings_and_ends_at_its_level() -> None:
    text = "\n## Results\nintro 1.5\n```\n# not a heading 9.9\n```\n### Sub\nsub 2.5\n#### Deeper\nx\n## Next\n3.5\n"
    assert [(heading, numbers(body)) for heading, body in parts(text, "## Results")] == [
        ("## Results", ["1.5"]),
        ("### Sub", ["2.5"]),
        ("#### Deeper", []),
    ]


def test_citations_are_links_paths_and_bare_names_of_results_files(tmp_path: Path) -> None:
    for name in ("quality.md", "quality.json", "search.json", "search.md", "adapter.md", "method.md"):
        (tmp_path / name).write_text("")
    body = (
        "[benchmarks/results/adapter.md](benchmarks/results/adapter.md), `benchmarks/results/search.{json,md,png}`, "
        "`quality.md` has every seed; [docs/method.md](docs/method.md); `benchmarks/results/quality-*.png`"
    )
    assert cited(body, tmp_path) == {tmp_path / n for n in ("adapter.md", "search.json", "search.md", "quality.md",
                                                             "quality.json")}  # fmt: skip


def test_a_number_only_another_sections_report_holds_fails(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("| x | 1.25 |\n")
    (tmp_path / "b.json").write_text('{"score": 4.5678}')
    text = "\n## One\n1.25 and 4.57 ([a](benchmarks/results/a.md))\n### Two\n4.57 (`b.json`)\n### Three\n1.25\n"
    assert [unsourced(body, tmp_path) for _, body in parts(text, "## One")] == [
        (["4.57"], ["a.md"]),
        ([], ["b.json"]),
        (["1.25"], []),
    ]


def test_sections_exist_and_print_numbers() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for heading in RESULT_SECTIONS:
        assert f"\n{heading}\n" in text, heading
    assert sum(len(numbers(body)) for _, body in readme_parts()) > 100


@pytest.mark.parametrize(("heading", "body"), [pytest.param(*part, id=part[0]) for part in readme_parts()])
def test_every_readme_result_is_in_a_results_file_its_section_cites(heading: str, body: str) -> None:
    lost, files = unsourced(body)
    assert not lost, f"README {heading!r} prints {lost}, in none of the files it cites ({files or 'none'})"
