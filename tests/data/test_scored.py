"""ScoredPairs: gold scores on their own scale, mapped to 0..1 for training by the declared or inferred range."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mic.data import DataError, ScoredPairs, infer_score_range


def pairs(scores: list[float], score_range: tuple[float, float] | None = None) -> ScoredPairs:
    return ScoredPairs(["a"] * len(scores), ["b"] * len(scores), scores, "test", score_range)


def test_stsb_scale_is_divided_by_five() -> None:
    assert pairs([0.0, 2.5, 5.0], (0.0, 5.0)).normalised_scores() == [0.0, 0.5, 1.0]


def test_sick_scale_is_shifted_then_divided_by_four() -> None:
    assert pairs([1.0, 2.0, 5.0], (1.0, 5.0)).normalised_scores() == [0.0, 0.25, 1.0]


@pytest.mark.parametrize(
    ("scores", "expected"), [([0.0, 0.3, 1.0], (0.0, 1.0)), ([0.2, 4.0], (0.0, 5.0)), ([1.0, 1.0], (0.0, 1.0))]
)
def test_undeclared_scale_is_unit_if_it_fits_else_sts(scores: list[float], expected: tuple[float, float]) -> None:
    assert infer_score_range(scores, "test") == expected
    assert pairs(scores).normalised_scores() == [(s - expected[0]) / (expected[1] - expected[0]) for s in scores]


def test_scores_beyond_both_scales_ask_for_a_range() -> None:
    with pytest.raises(
        DataError, match=r"test: scores span 0.0..100.0, neither 0..1 nor 0..5; .* data.score_range: \[LOW, HIGH\]"
    ):
        pairs([0.0, 100.0]).normalised_scores()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ScoredPairs(["a"], ["b", "c"], [1.0], "src"), "src: sentence and score columns differ in length"),
        (lambda: ScoredPairs([], [], [], "src"), "src: no sentence pairs found"),
        (lambda: pairs([1.0], (5.0, 0.0)), r"score_range \(5.0, 0.0\) must be \(low, high\) with low < high"),
    ],
)
def test_invalid_pairs_are_refused(build: Callable[[], ScoredPairs], message: str) -> None:
    with pytest.raises(DataError, match=message):
        build()
