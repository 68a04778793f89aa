"""Prefix self-distillation: a teacher's full embedding teaches every prefix its similarity structure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mic.dims import check_dims
from mic.distributed import gather_with_grad
from mic.geometry import pairwise_cosine
from mic.losses.defaults import MIC_DEFAULTS
from mic.losses.validation import check_batch, check_finite, check_positive

DistillObjective = Literal["kl", "cosine", "cka"]
DISTILL_OBJECTIVES: tuple[str, ...] = get_args(DistillObjective)


def _off_diagonal_log_softmax(similarity: Tensor, temperature: float) -> Tensor:
    """Row-wise log-softmax of ``similarity / temperature`` over the other ``B - 1`` rows."""
    batch = similarity.shape[0]
    off_diagonal = ~torch.eye(batch, dtype=torch.bool, device=similarity.device)
    return F.log_softmax(similarity[off_diagonal].view(batch, batch - 1) / temperature, dim=-1)


def similarity_agreement(student: Tensor, teacher: Tensor) -> Tensor:
    """``mean_{i≠j} (student_ij − teacher_ij)²`` of two ``(B, B)`` cosine matrices with unit diagonals.

    0 iff the student reproduces the teacher's similarities (Matryoshka-Adaptor's pairwise loss). Both
    diagonals are 1 for non-zero rows, so the full matrix is summed and divided by the ``B(B−1)`` pairs.
    """
    pairs = len(teacher) * (len(teacher) - 1)
    return (student - teacher).pow(2).sum() / pairs


def token_relation_cka(student: Tensor, teacher: Tensor, mask: Tensor, eps: float = 1e-8) -> Tensor:
    """Mean over sentences of linear CKA between the token-relation (Gram) matrices of two token-state sets.

    For sentence ``i`` with valid tokens ``X_i (n_i, m)`` and ``Y_i (n_i, D)``, both centred over its tokens:
    ``CKA_i = ‖X_iᵀ Y_i‖²_F / (‖X_iᵀ X_i‖_F ‖Y_iᵀ Y_i‖_F)`` (= the normalised Frobenius product of the centred
    Grams ``X_i X_iᵀ`` and ``Y_i Y_iᵀ``; Kornblith et al. 2019). ``student (B, T, m)``, ``teacher (B, T, D)``,
    ``mask (B, T)``; returns ``mean_i CKA_i`` in ``[0, 1]``.
    """
    weights = mask.to(student.dtype).unsqueeze(-1)
    count = weights.sum(dim=1, keepdim=True).clamp_min(1.0)

    def centred(tokens: Tensor) -> Tensor:
        return (tokens - (tokens * weights).sum(dim=1, keepdim=True) / count) * weights

    x, y = centred(student), centred(teacher.to(student.dtype))
    cross = torch.linalg.matrix_norm(x.transpose(1, 2) @ y).pow(2)
    norms = torch.linalg.matrix_norm(x.transpose(1, 2) @ x) * torch.linalg.matrix_norm(y.transpose(1, 2) @ y)
    return (cross / (norms + eps)).mean()


class PrefixSelfDistillation(nn.Module):
    """Self-distillation term of MIC (our formulation, ``docs/method.md`` §1.3; dev evidence in §3.4).

    A teacher's full embedding ``T`` (by default the student's own, detached; :class:`~mic.losses.MICLoss` can
    pass a frozen or EMA copy's) teaches every student prefix ``S_m = z[:, :m]``:
    ``L_SD = mean_{m in dims} ℓ(S_m, T)``, the mean over dims so the scale does not grow with the number of
    prefixes, with ``ℓ`` one of

    - ``"kl"``: ``KL( softmax(cos(T)/τ_d) ‖ softmax(cos(S_m)/τ_d) )`` row-wise with the diagonal removed,
      averaged over rows (Hinton et al.'s distillation of in-batch similarity distributions);
    - ``"cosine"``: :func:`similarity_agreement` of ``cos(S_m)`` and ``cos(T)`` (Matryoshka-Adaptor);
    - ``"cka"``: ``1 −`` :func:`token_relation_cka` of the prefix of the token states and the teacher's full
      token states (MIPIC's token-relation CKA); needs ``hidden``, ``teacher_hidden`` and ``mask``.

    No gradient reaches the teacher; with the student as its own teacher the term is 0 at ``m = D``.
    A batch statistic: with ``gather_across_devices`` the similarity matrices use the rows of all ranks
    (``"cka"`` is a mean of per-sentence terms and needs no gathering).

    Inputs:
        +---------------------------------------------+-----------------+
        | Inputs                                      | Output          |
        +=============================================+=================+
        | embeddings ``(B, D)``, ``B >= 2``; for      | scalar ``L_SD`` |
        | ``"cka"`` token states ``(B, T, D)`` + mask |                 |
        +---------------------------------------------+-----------------+

    Args:
        dims: ascending student prefix dims, each at most ``D``.
        temperature: ``τ_d`` of both softmaxes (``"kl"`` only).
        objective: ``"kl"``, ``"cosine"`` or ``"cka"``.
        gather_across_devices: compute the similarity matrices over all ranks' rows.

    Example:
        >>> import torch
        >>> from mic.losses import PrefixSelfDistillation
        >>> PrefixSelfDistillation(dims=[8, 16])(torch.randn(16, 64)).shape
        torch.Size([])

    References:
        MIC, https://arxiv.org/abs/2605.29987; Hinton et al. 2015, https://arxiv.org/abs/1503.02531;
        Matryoshka-Adaptor, https://arxiv.org/abs/2407.20243; MIPIC, https://arxiv.org/abs/2604.24374;
        CKA, https://arxiv.org/abs/1905.00414
    """

    def __init__(
        self,
        dims: Sequence[int],
        temperature: float = MIC_DEFAULTS.distill_temperature,
        objective: DistillObjective = MIC_DEFAULTS.distill_objective,  # type: ignore[assignment]
        gather_across_devices: bool = True,
    ) -> None:
        super().__init__()
        self.dims = check_dims(dims)
        self.temperature = check_positive(temperature, "temperature")
        if objective not in DISTILL_OBJECTIVES:
            raise ValueError(f"objective must be one of {list(DISTILL_OBJECTIVES)}, got {objective!r}.")
        self.objective = objective
        self.gather_across_devices = gather_across_devices

    def forward(
        self,
        embeddings: Tensor,
        teacher: Tensor | None = None,
        *,
        hidden: Tensor | None = None,
        teacher_hidden: Tensor | None = None,
        mask: Tensor | None = None,
    ) -> Tensor:
        """``L_SD`` of ``embeddings (B, D)``; ``teacher (B, D')`` replaces ``embeddings.detach()`` when given.

        ``"cka"`` reads ``hidden (B, T, D)`` (the student's token states), ``mask (B, T)`` and
        ``teacher_hidden`` (default ``hidden.detach()``) instead.

        Raises:
            ValueError: for a batch below 2 rows, a teacher of another batch size, or ``"cka"`` without tokens.
        """
        check_batch(embeddings, "PrefixSelfDistillation", ndim=2, dims=self.dims, strict_prefix=False)
        if teacher is not None and teacher.shape[0] != embeddings.shape[0]:
            raise ValueError(
                f"PrefixSelfDistillation: teacher has {teacher.shape[0]} rows, embeddings {embeddings.shape[0]}."
            )
        if self.objective == "cka":
            return self._cka(hidden, teacher_hidden, mask)
        if self.gather_across_devices:
            embeddings = gather_with_grad(embeddings)
            teacher = None if teacher is None else gather_with_grad(teacher)
        target = pairwise_cosine((embeddings if teacher is None else teacher).detach())
        prefixes = [pairwise_cosine(embeddings[:, :m]) for m in self.dims]
        return check_finite(self.from_cosines(prefixes, target), "PrefixSelfDistillation", embeddings)

    def from_cosines(self, prefixes: Sequence[Tensor], target: Tensor) -> Tensor:
        """``L_SD`` (``"kl"`` or ``"cosine"``) from cosine matrices a caller already has: ``prefixes[i]`` that of
        ``dims[i]``, ``target`` the teacher's (detached), each ``(B, B)``."""
        if self.objective == "cosine":
            return torch.stack([similarity_agreement(prefix, target) for prefix in prefixes]).mean()
        log_target = _off_diagonal_log_softmax(target, self.temperature)
        losses = [
            F.kl_div(
                _off_diagonal_log_softmax(prefix, self.temperature), log_target, reduction="batchmean", log_target=True
            )
            for prefix in prefixes
        ]
        return torch.stack(losses).mean()

    def _cka(self, hidden: Tensor | None, teacher_hidden: Tensor | None, mask: Tensor | None) -> Tensor:
        if hidden is None or mask is None:
            raise ValueError("PrefixSelfDistillation(objective='cka') needs the token states `hidden` and `mask`.")
        check_batch(hidden, "PrefixSelfDistillation", ndim=3, dims=self.dims, strict_prefix=False)
        teacher_hidden = (hidden if teacher_hidden is None else teacher_hidden).detach()
        loss = torch.stack([1 - token_relation_cka(hidden[..., :m], teacher_hidden, mask) for m in self.dims]).mean()
        return check_finite(loss, "PrefixSelfDistillation", hidden)

    def get_config_dict(self) -> dict[str, Any]:
        return {"dims": list(self.dims), "temperature": self.temperature, "objective": self.objective}
