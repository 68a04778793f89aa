"""Batch statistics under data parallelism: 2 gloo processes give the single-process values and gradients."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from mic.distributed import end_process_group, gather_with_grad, is_distributed
from mic.losses import PrefixSelfDistillation, SoftCollapseRegularizer, SpectralIsotropyRegularizer

WORLD_SIZE = 2
BATCH, TOKENS, FEATURES = 8, 7, 12
DIMS = [4, 8]


def fixed_batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The global batch every process rebuilds: hidden states, mask (one single-token sentence), embeddings, and a
    separate teacher's embeddings (a frozen or EMA teacher of self-distillation)."""
    generator = torch.Generator().manual_seed(1234)
    hidden = torch.randn(BATCH, TOKENS, FEATURES, generator=generator, dtype=torch.float64) * 0.7
    lengths = torch.tensor([7, 3, 1, 5, 2, 7, 6, 4])
    mask = (torch.arange(TOKENS)[None, :] < lengths[:, None]).to(torch.float64)
    embeddings = torch.randn(BATCH, FEATURES, generator=generator, dtype=torch.float64)
    teacher = torch.randn(BATCH, FEATURES, generator=generator, dtype=torch.float64)
    return hidden, mask, embeddings, teacher


def evaluate(
    gather: bool, hidden: torch.Tensor, mask: torch.Tensor, embeddings: torch.Tensor, teacher: torch.Tensor
) -> dict:
    """Every term's parts and the gradient of each term's total w.r.t. its input."""
    scr = SoftCollapseRegularizer(DIMS, tolerance=0.05, gather_across_devices=gather)
    sir = SpectralIsotropyRegularizer(DIMS, gather_across_devices=gather)
    distill = PrefixSelfDistillation(DIMS, temperature=0.1, gather_across_devices=gather)
    cosine = PrefixSelfDistillation(DIMS, objective="cosine", gather_across_devices=gather)
    hidden = hidden.clone().requires_grad_()
    values = {f"scr_{key}": value for key, value in scr.terms(hidden, mask).items()}
    (hidden_gradient,) = torch.autograd.grad(values["scr_correlation"] + values["scr_variance_floor"], hidden)
    gradients = {"scr": hidden_gradient}
    terms = {
        "sir": lambda x: sir.terms(x),
        "distill": lambda x: {"total": distill(x)},
        "distill_teacher": lambda x: {"total": distill(x, teacher)},
        "cosine_teacher": lambda x: {"total": cosine(x, teacher)},
    }
    for name, parts_of in terms.items():
        inputs = embeddings.clone().requires_grad_()
        parts = parts_of(inputs)
        values.update({f"{name}_{key}": value for key, value in parts.items()})
        (gradients[name],) = torch.autograd.grad(sum(parts.values()), inputs)
    return {"values": {key: value.detach() for key, value in values.items()}, "gradients": gradients}


def worker(rank: int, init_file: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD_SIZE)
    try:
        assert is_distributed()
        hidden, mask, embeddings, teacher = fixed_batch()
        single = evaluate(False, hidden, mask, embeddings, teacher)  # no gathering: this process alone, whole batch
        shard = slice(rank * BATCH // WORLD_SIZE, (rank + 1) * BATCH // WORLD_SIZE)
        torch.testing.assert_close(gather_with_grad(embeddings[shard]), embeddings)
        sharded = evaluate(True, hidden[shard], mask[shard], embeddings[shard], teacher[shard])
        for key, value in single["values"].items():
            torch.testing.assert_close(sharded["values"][key], value, atol=1e-5, rtol=0, msg=f"rank {rank}: {key}")
        # Every rank back-propagates the same global loss; the gather's backward sums them (see gather_with_grad).
        for key, gradient in single["gradients"].items():
            torch.testing.assert_close(
                sharded["gradients"][key], WORLD_SIZE * gradient[shard], atol=1e-8, rtol=1e-6, msg=f"rank {rank}: {key}"
            )
    finally:
        dist.destroy_process_group()


@pytest.mark.distributed
def test_two_gloo_processes_match_the_single_process_values_and_gradients(tmp_path: Path) -> None:
    mp.spawn(worker, args=(str(tmp_path / "rendezvous"),), nprocs=WORLD_SIZE, join=True)


def test_gather_with_grad_is_the_identity_without_a_process_group() -> None:
    tensor = torch.randn(3, 2, requires_grad=True)
    assert not is_distributed()
    assert gather_with_grad(tensor) is tensor


def test_end_process_group_destroys_the_group_and_is_a_no_op_without_one(tmp_path: Path) -> None:
    end_process_group()  # nothing to end
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1)
    assert dist.is_initialized()
    end_process_group()
    assert not dist.is_initialized()
