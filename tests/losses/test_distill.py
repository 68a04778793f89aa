"""Specification of prefix self-distillation (docs/method.md §1.3): the full embedding teaches every prefix."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mic.losses import PrefixSelfDistillation
from mic.losses.distill import token_relation_cka

PROPERTY = settings(max_examples=25, deadline=None)
seeds = st.integers(min_value=0, max_value=2**31 - 1)


def random_embeddings(seed: int, batch: int = 6, features: int = 8) -> torch.Tensor:
    return torch.randn(batch, features, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def reference_kl(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """``mean_i KL(p_i ‖ q_i)`` over rows, softmax of cosine / τ over the other rows, written out by hand."""
    batch = student.shape[0]
    diagonal = torch.eye(batch, dtype=torch.bool)

    def log_probs(x: torch.Tensor) -> torch.Tensor:
        unit = x / x.norm(dim=-1, keepdim=True)
        return torch.log_softmax((unit @ unit.T / temperature).masked_fill(diagonal, -math.inf), dim=-1)

    log_p, log_q = log_probs(teacher), log_probs(student)
    return (log_p.exp() * (log_p - log_q)).masked_fill(diagonal, 0.0).sum() / batch


@PROPERTY
@given(seed=seeds, temperature=st.floats(0.05, 2.0))
def test_distillation_is_the_mean_over_prefixes_of_the_row_wise_kl(seed: int, temperature: float) -> None:
    embeddings = random_embeddings(seed)
    expected = sum(reference_kl(embeddings[:, :m], embeddings, temperature) for m in (2, 5)) / 2
    torch.testing.assert_close(PrefixSelfDistillation([2, 5], temperature=temperature)(embeddings), expected)


def test_distillation_is_zero_with_zero_gradient_at_the_full_dim() -> None:
    embeddings = random_embeddings(0).requires_grad_()
    loss = PrefixSelfDistillation([8])(embeddings)
    loss.backward()
    assert loss.item() == 0.0
    torch.testing.assert_close(embeddings.grad, torch.zeros_like(embeddings), atol=1e-12, rtol=0)


def test_distillation_is_zero_when_the_prefix_already_holds_the_whole_embedding() -> None:
    embeddings = torch.zeros(6, 8, dtype=torch.float64)
    embeddings[:, :2] = random_embeddings(1, features=2)
    assert PrefixSelfDistillation([2, 4])(embeddings).item() == pytest.approx(0.0, abs=1e-12)
    assert PrefixSelfDistillation([1, 4])(embeddings).item() > 0.01


def test_no_gradient_reaches_the_teacher() -> None:
    embeddings = random_embeddings(2)

    def gradient(loss_of: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
        student = embeddings.clone().requires_grad_()
        loss_of(student).backward()
        return student.grad

    module = gradient(PrefixSelfDistillation([3], temperature=0.5))
    student_only = gradient(lambda x: reference_kl(x[:, :3], embeddings.clone(), 0.5))
    torch.testing.assert_close(module, student_only)
    assert torch.equal(module[:, 3:], torch.zeros_like(module[:, 3:]))  # columns only the teacher reads
    # The check can fail: letting the gradient through the teacher changes it.
    through_teacher = gradient(lambda x: reference_kl(x[:, :3], x, 0.5))
    assert not torch.allclose(through_teacher, student_only, atol=1e-6)


@pytest.mark.parametrize("case", ["constant_column", "identical_rows", "all_zero"])
def test_degenerate_batches_give_finite_values_and_gradients(case: str) -> None:
    embeddings = random_embeddings(3)
    if case == "constant_column":
        embeddings[:, 0] = 1.0
    elif case == "identical_rows":
        embeddings[:] = embeddings[0]
    else:
        embeddings = torch.zeros_like(embeddings)
    embeddings.requires_grad_()
    loss = PrefixSelfDistillation([1, 4])(embeddings)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(embeddings.grad).all()


def test_distillation_gradient_matches_finite_differences_with_the_teacher_frozen() -> None:
    # Plain gradcheck would perturb the teacher too. With the stop-gradient, the analytic gradient is that of the
    # student objective with the teacher held at the current point: compare with its central differences.
    point = random_embeddings(4, batch=5, features=6)
    student = point.clone().requires_grad_()
    PrefixSelfDistillation([2, 4], temperature=0.5)(student).backward()

    def frozen_teacher_objective(x: torch.Tensor) -> torch.Tensor:
        return sum(reference_kl(x[:, :m], point, 0.5) for m in (2, 4)) / 2

    step = 1e-6
    numerical = torch.zeros_like(point)
    for index in range(point.numel()):
        delta = torch.zeros(point.numel(), dtype=torch.float64)
        delta[index] = step
        delta = delta.view_as(point)
        numerical.view(-1)[index] = (
            frozen_teacher_objective(point + delta) - frozen_teacher_objective(point - delta)
        ) / (2 * step)
    torch.testing.assert_close(student.grad, numerical, atol=1e-7, rtol=1e-5)
    assert torch.autograd.gradcheck(frozen_teacher_objective, (point.clone().requires_grad_(),))


def test_distillation_is_zero_on_a_two_row_batch() -> None:
    # B = 2: each row has a single neighbour, so both softmaxes are 1 and there is nothing to distil.
    assert PrefixSelfDistillation([1, 3])(random_embeddings(5, batch=2)).item() == 0.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dims": []}, "at least one dimension"),
        ({"dims": [4, 2]}, "ascending order"),
        ({"dims": [2, 2]}, "must not repeat"),
        ({"dims": [-4]}, "positive integers"),
        ({"dims": [4], "temperature": 0.0}, "temperature must be a finite number > 0"),
        ({"dims": [4], "temperature": math.inf}, "temperature must be a finite number > 0"),
        ({"dims": [4], "objective": "mse"}, r"objective must be one of \['kl', 'cosine', 'cka'\]"),
    ],
)
def test_invalid_arguments_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        PrefixSelfDistillation(**kwargs)


@pytest.mark.parametrize(
    ("embeddings", "match"),
    [
        (torch.randn(1, 8), "at least 2 rows, got a batch of 1"),
        (torch.randn(4, 3, 8), r"expects \(B, D\) embeddings"),
        (torch.randn(4, 3), "dim 4 is larger than the feature size 3"),
    ],
)
def test_invalid_batches_raise(embeddings: torch.Tensor, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        PrefixSelfDistillation([2, 4])(embeddings)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_embeddings_raise_with_the_term_name(bad: float) -> None:
    embeddings = torch.randn(4, 8)
    embeddings[3, 5] = bad
    with pytest.raises(ValueError, match=r"PrefixSelfDistillation.*NaN or inf"):
        PrefixSelfDistillation([2, 4])(embeddings)


@PROPERTY
@given(seed=seeds)
def test_cosine_objective_is_the_mean_squared_cosine_gap(seed: int) -> None:
    embeddings, teacher = random_embeddings(seed), random_embeddings(seed + 1)

    def cosines(x: torch.Tensor) -> torch.Tensor:
        unit = x / x.norm(dim=-1, keepdim=True)
        return unit @ unit.T

    off = ~torch.eye(6, dtype=torch.bool)
    expected = sum((cosines(embeddings[:, :m]) - cosines(teacher))[off].pow(2).mean() for m in (2, 8)) / 2
    actual = PrefixSelfDistillation([2, 8], objective="cosine", gather_across_devices=False)(embeddings, teacher)
    torch.testing.assert_close(actual, expected)


def test_token_relation_cka_matches_the_centred_gram_definition_and_ignores_padding() -> None:
    generator = torch.Generator().manual_seed(9)
    x, y = torch.randn(2, 5, 3, generator=generator, dtype=torch.float64), torch.randn(2, 5, 4, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])

    def reference(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        n = len(a)
        h = torch.eye(n, dtype=a.dtype) - 1 / n
        k, l_ = h @ a @ a.T @ h, h @ b @ b.T @ h
        return (k * l_).sum() / (k.norm() * l_.norm())

    expected = (reference(x[0], y[0]) + reference(x[1, :3], y[1, :3])) / 2
    torch.testing.assert_close(token_relation_cka(x, y, mask), expected)
    padded = x.clone()
    padded[1, 3:] = 100.0  # padding must not matter
    torch.testing.assert_close(token_relation_cka(padded, y, mask), expected)
    assert token_relation_cka(y, y, mask).item() == pytest.approx(1.0)


def test_cka_objective_reads_token_states_and_is_zero_at_the_full_dim() -> None:
    hidden, mask = torch.randn(4, 6, 8, dtype=torch.float64), torch.ones(4, 6)
    embeddings = hidden.mean(dim=1)
    module = PrefixSelfDistillation([2, 8], objective="cka", gather_across_devices=False)
    assert module(embeddings, hidden=hidden, mask=mask) > 0
    full = PrefixSelfDistillation([8], objective="cka", gather_across_devices=False)
    assert full(embeddings, hidden=hidden, mask=mask).item() == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="needs the token states"):
        module(embeddings)
