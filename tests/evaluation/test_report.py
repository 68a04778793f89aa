"""The Markdown tables of ``mic compare``: the best of each row in bold, ties judged as printed."""

from __future__ import annotations

from mic.evaluation.report import _by_dim_table


def cells(table: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split("|")][1:] for line in table.splitlines()[2:]]


def test_the_best_value_of_a_row_is_bold() -> None:
    table = _by_dim_table(["a", "b"], [8], lambda index, dim: [70.0, 71.5][index], "{:.2f}", True)
    assert cells(table) == [["70.00", "**71.50**"]]


def test_a_tie_at_the_printed_precision_bolds_every_tied_model() -> None:
    values = [83.7312, 83.7288, 80.0]  # both print as 83.73; before, only the first was bold
    table = _by_dim_table(["a", "b", "c"], [8], lambda index, dim: values[index], "{:.2f}", True)
    assert cells(table) == [["**83.73**", "**83.73**", "80.00"]]


def test_lower_is_better_and_missing_values_are_dashes() -> None:
    values = [-2.9, None, -3.1]
    table = _by_dim_table(["a", "b", "c"], [8], lambda index, dim: values[index], "{:.3f}", False)
    assert cells(table) == [["-2.900", "–", "**-3.100**"]]


def test_no_bold_without_a_direction() -> None:
    table = _by_dim_table(["a", "b"], [8], lambda index, dim: 1.0 + index, "{:.1f}", None)
    assert "**" not in table
