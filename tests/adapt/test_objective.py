"""The adapter objective: zero exactly when every prefix reproduces the frozen similarities."""

from __future__ import annotations

import pytest
import torch

from mic.adapt import AdapterObjective, prefix_cosines, prefix_similarity_error, topk_similarity_error
from mic.geometry import pairwise_cosine


def low_rank_rows(count: int = 40, rank: int = 4, dim: int = 32) -> torch.Tensor:
    """Rows whose only non-zero coordinates are the first ``rank``: every prefix of >= rank dims is exact."""
    rows = torch.zeros(count, dim)
    rows[:, :rank] = torch.randn(count, rank, generator=torch.Generator().manual_seed(0))
    return torch.nn.functional.normalize(rows, dim=-1)


def test_unsupervised_loss_is_zero_when_prefixes_reproduce_the_full_similarities() -> None:
    rows = low_rank_rows()
    objective = AdapterObjective([4, 8, 16], 32, pairwise=1.0, topk=1.0, distill=1.0)
    terms = objective(rows, rows)
    assert set(terms) == {"pairwise", "topk", "distill"}
    for name, value in terms.items():
        assert value.item() == pytest.approx(0.0, abs=1e-6), name


def test_agreement_terms_are_positive_when_a_prefix_loses_information() -> None:
    rows = torch.nn.functional.normalize(torch.randn(40, 32, generator=torch.Generator().manual_seed(1)), dim=-1)
    prefixes, target = prefix_cosines(rows, [4, 32]), pairwise_cosine(rows)
    assert prefix_similarity_error(prefixes, target) > 1e-3
    assert topk_similarity_error(prefixes, target, k=5) > 1e-2
    assert prefix_similarity_error(prefixes[1:], target).item() == pytest.approx(0.0, abs=1e-10)


def test_pairwise_error_ignores_the_diagonal() -> None:
    rows = torch.nn.functional.normalize(torch.randn(10, 8, generator=torch.Generator().manual_seed(2)), dim=-1)
    prefix, target = pairwise_cosine(rows[:, :2]), pairwise_cosine(rows)
    off = ~torch.eye(10, dtype=torch.bool)
    expected = (prefix - target)[off].pow(2).mean()
    torch.testing.assert_close(prefix_similarity_error([prefix], target), expected)


def test_topk_uses_the_frozen_neighbours_only() -> None:
    target = torch.tensor([[1.0, 0.9, 0.1], [0.9, 1.0, 0.2], [0.1, 0.2, 1.0]])
    prefix = torch.tensor([[1.0, 0.9, 0.8], [0.9, 1.0, 0.2], [0.8, 0.2, 1.0]])
    # k = 1: rows 0 and 1 are each other's neighbour (exact); row 2's neighbour is row 1 (exact) -> 0.
    assert topk_similarity_error([prefix], target, k=1).item() == pytest.approx(0.0)
    assert topk_similarity_error([prefix], target, k=2).item() == pytest.approx((0.7 + 0.0 + 0.7) / 6)


def test_mic_terms_appear_by_name_when_switched_on() -> None:
    rows = torch.randn(16, 32, generator=torch.Generator().manual_seed(3))
    terms = AdapterObjective([8, 16], 32, pairwise=0, topk=0, sir=0.5, scr=2.0)(rows, rows)
    assert set(terms) == {"sir", "scr"}
    assert all(torch.isfinite(value) for value in terms.values())


def test_task_loss_uses_cosent_with_scores_and_mnrl_without() -> None:
    generator = torch.Generator().manual_seed(4)
    first, second = torch.randn(8, 32, generator=generator), torch.randn(8, 32, generator=generator)
    objective = AdapterObjective([8], 32)
    cosent = objective.task_loss(first, second, torch.rand(8, generator=generator))
    mnrl = objective.task_loss(first, second, None)
    assert cosent > 0 and mnrl > 0 and cosent != mnrl


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sir": -1.0}, "sir must be a finite number >= 0"),
        ({"topk_k": 0}, "topk_k must be a positive"),
        ({"distill_temperature": 0.0}, "distill_temperature must be a finite number > 0"),
    ],
)
def test_objective_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AdapterObjective([8], 32, **kwargs)


def test_self_distillation_takes_the_frozen_embedding_as_teacher() -> None:
    from mic.losses import PrefixSelfDistillation

    generator = torch.Generator().manual_seed(5)
    student, teacher = torch.randn(12, 16, generator=generator), torch.randn(12, 16, generator=generator)
    distill = PrefixSelfDistillation([4, 16], gather_across_devices=False)
    assert distill(student, teacher=student).item() == pytest.approx(distill(student).item())
    assert distill(student, teacher=teacher) > distill(student)  # even the full-dim student now differs
    with pytest.raises(ValueError, match="teacher has 3 rows, embeddings 12"):
        distill(student, teacher=teacher[:3])


def test_token_level_scr_is_soft_collapse_on_the_token_states() -> None:
    from mic.losses import SoftCollapseRegularizer

    generator = torch.Generator().manual_seed(6)
    rows, hidden = torch.randn(16, 32, generator=generator), torch.randn(4, 10, 32, generator=generator)
    mask = torch.ones(4, 10)
    mask[0, 6:] = 0
    objective = AdapterObjective([8, 16], 32, pairwise=0, topk=0, scr=2.0)
    token = objective(rows, rows, (hidden, mask))["scr"]
    expected = SoftCollapseRegularizer([8, 16], 0.1, gather_across_devices=False).terms(hidden, mask)["correlation"]
    assert token.item() == pytest.approx(2.0 * expected.item())
    assert token.item() != pytest.approx(objective(rows, rows)["scr"].item()), "no tokens: the sentence-level form"


def test_an_adapted_teacher_makes_the_full_dim_terms_vanish() -> None:
    rows = torch.randn(16, 32, generator=torch.Generator().manual_seed(7))
    adapted = rows @ torch.randn(32, 32, generator=torch.Generator().manual_seed(8))
    full_only = {"pairwise": 1.0, "topk": 1.0, "distill": 1.0}
    frozen_terms = AdapterObjective([32], 32, **full_only)(adapted, rows)
    adapted_terms = AdapterObjective([32], 32, **full_only, teacher="adapted")(adapted, rows)
    assert all(value > 1e-3 for value in frozen_terms.values())
    assert all(value.abs() < 1e-6 for value in adapted_terms.values())
    with pytest.raises(ValueError, match="teacher must be one of"):
        AdapterObjective([8], 32, teacher="ema")  # type: ignore[arg-type]


def test_bits_term_is_off_by_default_and_logs_its_three_parts_by_name() -> None:
    rows = torch.nn.functional.normalize(torch.randn(32, 32, generator=torch.Generator().manual_seed(5)), dim=-1)
    assert not any(name.startswith("bits") for name in AdapterObjective([8, 16], 32)(rows, rows))
    terms = AdapterObjective([8, 16], 32, pairwise=0, topk=0, bits=2.0)(rows, rows)
    assert set(terms) == {"bits", "bits_balance", "bits_decorrelation"}
    assert all(torch.isfinite(value) and value > 0 for value in terms.values())
    halved = AdapterObjective([8, 16], 32, pairwise=0, topk=0, bits=1.0)(rows, rows)
    torch.testing.assert_close(terms["bits"], 2 * halved["bits"])


def test_bits_temperature_must_be_positive() -> None:
    with pytest.raises(ValueError, match="bits_temperature must be a finite number > 0, got 0"):
        AdapterObjective([8], 32, bits=1.0, bits_temperature=0)
