"""Scored sentence pairs, the input of STS evaluation and CoSENT training, and their score scale.

Gold scores stay on their source's scale (STS-B 0-5, SICK 1-5) so evaluation reports them as published;
training maps them to 0..1 with :meth:`ScoredPairs.normalised_scores`, ``(score - low) / (high - low)``, so
that several sources on different scales can be mixed in one CoSENT dataset.
"""

from __future__ import annotations

from dataclasses import dataclass

from mic.data.errors import DataError

UNIT_RANGE = (0.0, 1.0)
STS_RANGE = (0.0, 5.0)


def infer_score_range(scores: list[float], source: str) -> tuple[float, float]:
    """The scale of scores whose source does not declare one: 0..1 if they all fit, else the STS scale 0..5.

    Raises:
        DataError: when the scores fit neither scale; the caller must then pass ``score_range``.
    """
    low, high = min(scores), max(scores)
    for candidate in (UNIT_RANGE, STS_RANGE):
        if candidate[0] <= low and high <= candidate[1]:
            return candidate
    raise DataError(
        f"{source}: scores span {low}..{high}, neither 0..1 nor 0..5; name the scale in a training config with "
        "data.score_range: [LOW, HIGH] (--set data.score_range=[LOW,HIGH]; in Python score_range=(LOW, HIGH))."
    )


@dataclass(frozen=True)
class ScoredPairs:
    """Sentence pairs with a gold similarity score.

    Attributes:
        sentences1: first sentence of each pair.
        sentences2: second sentence of each pair.
        scores: gold scores on the source's own scale.
        source: where the pairs come from (a path or dataset name), for messages and reports.
        score_range: ``(low, high)`` of the scale, or ``None`` when the source does not declare one (then
            :meth:`normalised_scores` infers it with :func:`infer_score_range`).
    """

    sentences1: list[str]
    sentences2: list[str]
    scores: list[float]
    source: str
    score_range: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if not (len(self.sentences1) == len(self.sentences2) == len(self.scores)):
            raise DataError(f"{self.source}: sentence and score columns differ in length.")
        if not self.scores:
            raise DataError(f"{self.source}: no sentence pairs found.")
        if self.score_range is not None and not self.score_range[0] < self.score_range[1]:
            raise DataError(f"{self.source}: score_range {self.score_range} must be (low, high) with low < high.")

    def __len__(self) -> int:
        return len(self.scores)

    def distinct_sentences(self) -> list[str]:
        """Every sentence of both columns once, in order of first appearance (encode these, then index by text)."""
        return list(dict.fromkeys([*self.sentences1, *self.sentences2]))

    def normalised_scores(self) -> list[float]:
        """Scores mapped to 0..1 by ``(score - low) / (high - low)`` over the score range."""
        low, high = self.score_range or infer_score_range(self.scores, self.source)
        return [(score - low) / (high - low) for score in self.scores]
