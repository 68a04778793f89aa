"""The one place that knows about ``torch.distributed``.

Batch statistics (covariance, uniformity, the batch-mean cross-correlation) change value with the number of
processes unless every rank sees the whole batch. :func:`gather_with_grad` concatenates a tensor from all
ranks while keeping the autograd path to the local shard, so each rank computes the global statistic and
its gradient flows back to its own rows. Without an initialised process group it is the identity.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from sentence_transformers.util import all_gather


def is_distributed() -> bool:
    """Whether a process group with more than one rank is active."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate ``tensor`` from every rank along dim 0, keeping the local shard's gradient.

    The backward of the gather sums the gradients every rank computes for this rank's rows, so when each
    rank evaluates the same global loss the local gradient is ``world_size`` times the single-process
    gradient; data-parallel averaging of parameter gradients then recovers the exact single-process update.

    Args:
        tensor: ``(N, ...)`` local tensor; every rank must pass the same shape, ``N`` included (the trainer's
            distributed sampler with ``dataloader_drop_last`` guarantees equal batches).

    Returns:
        ``(sum_r N_r, ...)`` tensor, or ``tensor`` itself when not distributed.
    """
    if not is_distributed():
        return tensor
    return all_gather(tensor, with_grad=True)


def end_process_group() -> None:
    """Destroy the default process group (under ``torchrun``, the one the trainer started), if one is up.

    A gloo rank that exits with its group alive can abort during interpreter shutdown ("terminate called without
    an active exception", pytorch/pytorch#190489), failing a run that trained and saved; the process that owns
    the run (``mic train``) calls this last, on every rank.
    """
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
