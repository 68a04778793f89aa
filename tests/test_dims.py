"""Specification of the Matryoshka dims: the one default list for every model size, and reading ``--dims``."""

from __future__ import annotations

import pytest

from mic.dims import DimsError, default_dims, parse_dims


@pytest.mark.parametrize(
    ("full", "expected"),
    [
        (384, [8, 16, 32, 64, 128, 256, 384]),
        (768, [8, 16, 32, 64, 128, 256, 512, 768]),
        (32, [8, 16, 32]),
        (6, [1, 2, 4, 6]),
    ],
)
def test_default_dims(full: int, expected: list[int]) -> None:
    assert default_dims(full) == expected


def test_parse_dims_keeps_the_order_typed_and_reads_no_option_as_the_defaults() -> None:
    assert parse_dims("8, 384,32,8") == [8, 384, 32, 8]
    assert parse_dims(None) is None


@pytest.mark.parametrize("text", ["", "  ", " , "])
def test_parse_dims_refuses_a_text_that_names_no_dim(text: str) -> None:
    with pytest.raises(DimsError, match="names no dim; give comma-separated dims"):
        parse_dims(text)


def test_parse_dims_names_the_bad_text() -> None:
    with pytest.raises(DimsError, match=r"--dims must be comma-separated integers, e.g. 8,64,384; got '64,abc'"):
        parse_dims("64,abc")
