"""Every measured number docs/method.md prints comes from a results file its section cites.

A section is the page's head (before its first ``## `` heading) or a whole ``## `` section with its ``###``
subsections, up to the next ``## ``: a file cited anywhere in a section, its head included, stands for all of it.
Numbers and citations are read as in README's test (:mod:`test_readme_numbers`, whose functions this test uses):
code (fenced blocks and inline spans) and arXiv ids are left out; a number is anything with a decimal point and must
appear, with the same digits after dropping its sign, in a file under ``benchmarks/results/`` that its section names
(a link, a path or a bare file name; a ``.md`` or ``.json`` file stands with its twin of the other suffix).

Not measurements, and left out besides: section numbers, i.e. headings (``### 1.1 SCR``) and a number right after
the section sign (a section reference). A setting (a hyperparameter, a threshold) is written as code,
``distill_ema_decay=0.999`` or ``λ_SD = 0.1``, and so left out like any code; a setting written as prose counts like a
measurement, which a sweep report holds when it names its candidates by their settings. A number only some other
report holds, by chance or because the section forgot its source, fails; so does one computed from a cited report
(a difference, a mean) that the report does not print: give the report's own values instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from test_readme_numbers import FENCED, HEADING, ROOT, numbers, unsourced

METHOD = ROOT / "docs" / "method.md"
SECTION_HEADING = re.compile(r"^(## .*)$", flags=re.MULTILINE)
SECTION_SIGN = re.compile(r"§\d+(?:\.\d+)*")


def sections(text: str) -> list[tuple[str, str]]:
    """``(heading, body)`` of the page's head and of each whole ``## `` section, fenced code blocks left out."""
    pieces = SECTION_HEADING.split(FENCED.sub("", text))
    return [("(head)", pieces[0]), *zip(pieces[1::2], pieces[2::2], strict=True)]


def measured(body: str) -> str:
    """A section's text without its section numbers: its subheadings and every ``§N.M``."""
    return SECTION_SIGN.sub("", HEADING.sub("", body))


def method_sections() -> list[tuple[str, str]]:
    return sections(METHOD.read_text(encoding="utf-8"))


def test_section_numbers_and_settings_in_code_are_not_measurements() -> None:
    text = "### 2.1 Decay\nSee \u00a73.4: `distill_ema_decay=0.999`, `λ_SD = 0.1`; it scores 74.81 (+1.39)\n"
    assert numbers(measured(text)) == ["74.81", "1.39"]


def test_a_section_is_whole_and_its_head_cites_for_its_subsections(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("| x | 1.25 |\n")
    (tmp_path / "b.json").write_text('{"score": 4.5678}')
    text = (
        "intro 9.5\n## 1. One\n1.25 (`a.md`)\n### 1.1 Sub\n1.25 and 4.57\n```\n7.5\n```\n"
        "## 2. Two\n4.57 (`b.json`), see \u00a71.1\n"
    )
    assert [(heading, unsourced(measured(body), tmp_path)) for heading, body in sections(text)] == [
        ("(head)", (["9.5"], [])),
        ("## 1. One", (["4.57"], ["a.md"])),
        ("## 2. Two", ([], ["b.json"])),
    ]


def test_sections_exist_and_print_numbers() -> None:
    headings = [heading for heading, _ in method_sections()]
    assert [heading.split(" ", 2)[1] for heading in headings[1:]] == ["1.", "2.", "3.", "4."], headings
    assert sum(len(numbers(measured(body))) for _, body in method_sections()) > 200


@pytest.mark.parametrize(("heading", "body"), [pytest.param(*section, id=section[0]) for section in method_sections()])
def test_every_method_number_is_in_a_results_file_its_section_cites(heading: str, body: str) -> None:
    lost, files = unsourced(measured(body))
    assert not lost, f"docs/method.md {heading!r} prints {lost}, in none of the files it cites ({files or 'none'})"
