"""Prefix self-distillation: the full embedding teaches every prefix its in-batch similarity structure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mic.distributed import gather_with_grad
from mic.geometry import pairwise_cosine
from mic.losses.validation import check_batch, check_dims, check_finite, check_positive


def _off_diagonal_log_softmax(similarity: Tensor, temperature: float) -> Tensor:
    """Row-wise log-softmax of ``similarity / temperature`` over the other ``B - 1`` rows."""
    batch = similarity.shape[0]
    off_diagonal = ~torch.eye(batch, dtype=torch.bool, device=similarity.device)
    return F.log_softmax(similarity[off_diagonal].view(batch, batch - 1) / temperature, dim=-1)


class PrefixSelfDistillation(nn.Module):
    """Self-distillation term of MIC (our formulation, METHOD.md §4; off unless it helps on dev).

    Teacher ``T = norm(z).detach()`` (full dim), student ``S_m = norm(z[:, :m])``:
    ``L_SD = Σ_{m in dims} KL( softmax(T Tᵀ/τ_d) ‖ softmax(S_m S_mᵀ/τ_d) )``, row-wise with the diagonal
    removed, averaged over rows. No gradient reaches the teacher; at ``m = D`` the term is exactly 0.
    A batch statistic: with ``gather_across_devices`` it uses the rows of all ranks.

    Inputs:
        +----------------------------------+-----------------+
        | Inputs                           | Output          |
        +==================================+=================+
        | embeddings ``(B, D)``, ``B >= 2``| scalar ``L_SD`` |
        +----------------------------------+-----------------+

    Args:
        dims: ascending student prefix dims, each at most ``D``.
        temperature: ``τ_d`` of both softmaxes.
        gather_across_devices: compute the similarity matrices over all ranks' rows.

    Example:
        >>> import torch
        >>> from mic.losses import PrefixSelfDistillation
        >>> PrefixSelfDistillation(dims=[8, 16])(torch.randn(16, 64)).shape
        torch.Size([])

    References:
        MIC, https://arxiv.org/abs/2605.29987; Hinton et al. 2015, https://arxiv.org/abs/1503.02531
    """

    def __init__(self, dims: Sequence[int], temperature: float = 0.05, gather_across_devices: bool = True) -> None:
        super().__init__()
        self.dims = check_dims(dims)
        self.temperature = check_positive(temperature, "temperature")
        self.gather_across_devices = gather_across_devices

    def forward(self, embeddings: Tensor, teacher: Tensor | None = None) -> Tensor:
        """``L_SD`` of ``embeddings (B, D)``; ``teacher (B, D')`` replaces ``embeddings.detach()`` when given.

        A separate teacher is the frozen full embedding when the student is a map of it (``mic.adapt``).
        """
        check_batch(embeddings, "PrefixSelfDistillation", ndim=2, dims=self.dims, strict_prefix=False)
        if teacher is not None and teacher.shape[0] != embeddings.shape[0]:
            raise ValueError(
                f"PrefixSelfDistillation: teacher has {teacher.shape[0]} rows, embeddings {embeddings.shape[0]}."
            )
        if self.gather_across_devices:
            embeddings = gather_with_grad(embeddings)
            teacher = None if teacher is None else gather_with_grad(teacher)
        teacher = embeddings if teacher is None else teacher
        teacher = _off_diagonal_log_softmax(pairwise_cosine(teacher.detach()), self.temperature)
        loss = sum(
            F.kl_div(
                _off_diagonal_log_softmax(pairwise_cosine(embeddings[:, :m]), self.temperature),
                teacher,
                reduction="batchmean",
                log_target=True,
            )
            for m in self.dims
        )
        return check_finite(loss, "PrefixSelfDistillation", embeddings)

    def get_config_dict(self) -> dict[str, Any]:
        return {"dims": list(self.dims), "temperature": self.temperature}
