"""The adapter's objective: every prefix of ``A(e)`` keeps the frozen embedding's similarity structure, plus MIC.

With ``y = A(e)`` the adapter output and ``e`` the frozen full embedding of a batch of ``B`` rows,
``S(x) = norm(x) norm(x)ᵀ`` and ``𝓜`` the prefix dims (the full size ``D`` always included). The teacher
``t`` whose similarities the prefixes keep is ``e`` (``teacher="frozen"``) or, with supervision only, the
adapter's own full output ``y.detach()`` (``teacher="adapted"``: the task loss moves the full embedding and the
prefixes follow it instead of the frozen one; the ``m = D`` terms are then 0):

- ``pairwise`` (Matryoshka-Adaptor's pairwise similarity loss, as a mean square):
  ``mean_m mean_{i≠j} (S(y_{:m})_ij − S(t)_ij)²``;
- ``topk`` (its top-k similarity loss): the same difference, absolute, over each row's ``k`` nearest rows
  by ``S(t)`` only — the neighbours that ranking and retrieval depend on;
- ``distill``: MIC's self-distillation, :class:`~mic.losses.PrefixSelfDistillation` of ``y`` with ``t`` as
  teacher (row-wise KL of in-batch softmax similarities at ``τ_d``, every ``m ∈ 𝓜``);
- ``sir``: MIC's SIR, :class:`~mic.losses.SpectralIsotropyRegularizer` on the prefixes ``y_{:m}``, ``m < D``;
- ``scr``: SCR's correlation part. Token-level (MIC's form) when the base model's token states are given
  (:mod:`mic.adapt.tokens`): :class:`~mic.losses.SoftCollapseRegularizer` on ``A`` applied to the last-layer
  token states of a few fit texts per step (a linear ``A`` commutes with mean pooling). Otherwise (vectors
  from a ``.npy``) its sentence-level form: ``C`` the batch correlation of ``y`` (:func:`mic.geometry.correlation`)
  and ``mean_{m<D} mean_{u≤m<v} max(0, |C_uv| − τ_corr)²`` (:func:`mic.geometry.soft_threshold_penalty`).
  SCR's variance floor is left out: the output is re-normalised, so a floor on its scale is met by scaling
  ``W`` and constrains nothing.
- ``bits``: sign bits of every prefix keep the teacher's neighbours, for a binary shortlist (Hamming search of
  the prefix's signs): :class:`~mic.losses.SignCodeRegularizer` on ``y`` against ``S(t)`` — relaxed codes
  ``tanh(√m·norm(y_{:m})/τ_b)`` whose code similarities match the teacher's angular similarities
  ``1 − 2·arccos(S(t))/π``, plus bit balance and bit decorrelation; logged as ``bits``, ``bits_balance`` and
  ``bits_decorrelation``, each times the one weight.
- ``task`` (supervised): CoSENT on scored pairs, MultipleNegativesRanking on (query, positive) pairs, the
  sentence-transformers losses evaluated on every prefix and averaged over ``𝓜``.

References:
    Matryoshka-Adaptor, https://arxiv.org/abs/2407.20243; MIC, https://arxiv.org/abs/2605.29987
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

import torch
from sentence_transformers.sentence_transformer.losses import CoSENTLoss, MultipleNegativesRankingLoss
from torch import Tensor, nn

from mic.dims import check_dims
from mic.geometry import correlation, pairwise_cosine, soft_threshold_penalty
from mic.losses import (
    PrefixSelfDistillation,
    SignCodeRegularizer,
    SoftCollapseRegularizer,
    SpectralIsotropyRegularizer,
)
from mic.losses.distill import similarity_agreement
from mic.losses.validation import check_non_negative, check_positive

Teacher = Literal["frozen", "adapted"]
TEACHERS: tuple[str, ...] = get_args(Teacher)


def prefix_cosines(adapted: Tensor, dims: Sequence[int]) -> list[Tensor]:
    """``[S(y_{:m}) for m in dims]``, each ``(B, B)``: computed once per batch, shared by the agreement terms."""
    return [pairwise_cosine(adapted[:, :m]) for m in dims]


def prefix_similarity_error(prefixes: Sequence[Tensor], target: Tensor) -> Tensor:
    """``mean_m mean_{i≠j} (S(y_{:m})_ij − S(t)_ij)²``; ``prefixes`` from :func:`prefix_cosines`, ``target = S(e)``.

    0 iff every prefix reproduces the frozen similarities (:func:`mic.losses.distill.similarity_agreement`).
    """
    return torch.stack([similarity_agreement(prefix, target) for prefix in prefixes]).mean()


def topk_similarity_error(prefixes: Sequence[Tensor], target: Tensor, k: int) -> Tensor:
    """``mean_m mean_i mean_{j ∈ N_k(i)} |S(y_{:m})_ij − S(e)_ij|``, ``N_k(i)`` the ``k`` nearest rows by ``S(e)``.

    ``k`` is capped at ``B − 1``; the row itself is never its own neighbour.
    """
    batch = len(target)
    others = target.masked_fill(torch.eye(batch, dtype=torch.bool, device=target.device), -torch.inf)
    nearest = others.topk(min(k, batch - 1), dim=1)
    return torch.stack(
        [(prefix.gather(1, nearest.indices) - nearest.values).abs().mean() for prefix in prefixes]
    ).mean()


def prefix_residual_correlation_penalty(adapted: Tensor, dims: Sequence[int], tolerance: float) -> Tensor:
    """SCR's sentence-level correlation term: ``mean_m soft_threshold(C_{:m, m:})``, ``C`` the batch correlation."""
    cross = correlation(adapted)
    return torch.stack([soft_threshold_penalty(cross[:m, m:], tolerance) for m in dims]).mean()


class AdapterObjective(nn.Module):
    """The weighted terms of the module docstring; ``forward`` returns them by name (only the active ones).

    Args:
        dims: ascending prefix dims; the full size ``dim`` is added when missing.
        dim: ``D``.
        pairwise, topk, distill, sir, scr, bits, task: the terms' weights (0 = off).
        topk_k: ``k`` of the top-k term.
        distill_temperature: ``τ_d`` of the self-distillation.
        scr_tolerance: ``τ_corr`` of the SCR term.
        bits_temperature: ``τ_b`` of the sign-code relaxation.
        teacher: ``"frozen"`` or ``"adapted"``, whose similarities the prefixes keep (see the module docstring).
        cosent_scale: ``1/τ`` of CoSENT; mnrl_scale: ``1/τ`` of MultipleNegativesRanking.

    Raises:
        ValueError: for bad dims, a negative weight or a non-positive temperature.
    """

    def __init__(
        self,
        dims: Sequence[int],
        dim: int,
        *,
        pairwise: float = 1.0,
        topk: float = 1.0,
        topk_k: int = 10,
        distill: float = 0.0,
        distill_temperature: float = 0.05,
        sir: float = 0.0,
        scr: float = 0.0,
        scr_tolerance: float = 0.1,
        bits: float = 0.0,
        bits_temperature: float = 0.5,
        task: float = 1.0,
        teacher: Teacher = "frozen",
        cosent_scale: float = 20.0,
        mnrl_scale: float = 20.0,
    ) -> None:
        super().__init__()
        self.dims = check_dims(sorted({*dims, dim}), "dims", max_dim=dim)
        self.prefix_dims = tuple(m for m in self.dims if m < dim)
        self.weights = {
            name: check_non_negative(value, name)
            for name, value in {
                "pairwise": pairwise,
                "topk": topk,
                "distill": distill,
                "sir": sir,
                "scr": scr,
                "bits": bits,
                "task": task,
            }.items()
        }
        if self.prefix_dims == () and (sir > 0 or scr > 0):
            raise ValueError(f"sir and scr need a prefix dim below the full size {dim}; dims are {list(self.dims)}.")
        if topk_k < 1:
            raise ValueError(f"topk_k must be a positive number of neighbours, got {topk_k}.")
        self.topk_k = topk_k
        if teacher not in TEACHERS:
            raise ValueError(f"teacher must be one of {list(TEACHERS)}, got {teacher!r}.")
        self.teacher = teacher
        self.scr_tolerance = check_non_negative(scr_tolerance, "scr_tolerance")
        check_positive(distill_temperature, "distill_temperature")
        self.distill = PrefixSelfDistillation(self.dims, distill_temperature, gather_across_devices=False)
        self.sir = SpectralIsotropyRegularizer(self.prefix_dims or (dim,), gather_across_devices=False)
        self.token_scr = SoftCollapseRegularizer(
            self.prefix_dims or (dim,), self.scr_tolerance, variance_floor_weight=0.0, gather_across_devices=False
        )
        self.bits = SignCodeRegularizer(self.dims, check_positive(bits_temperature, "bits_temperature"))
        self.cosent = CoSENTLoss(None, scale=check_positive(cosent_scale, "cosent_scale"))  # type: ignore[arg-type]
        self.mnrl = MultipleNegativesRankingLoss(None, scale=check_positive(mnrl_scale, "mnrl_scale"))  # type: ignore[arg-type]

    def forward(
        self, adapted: Tensor, frozen: Tensor, adapted_tokens: tuple[Tensor, Tensor] | None = None
    ) -> dict[str, Tensor]:
        """Unsupervised terms of ``adapted = A(frozen)``, both ``(B, D)``, weighted.

        ``adapted_tokens``: ``A`` applied to token states ``(S, T, D)`` and their mask ``(S, T)``; SCR takes its
        token-level form on them, else its sentence-level form on ``adapted``.
        """
        terms: dict[str, Tensor] = {}
        weights = self.weights
        teacher = frozen if self.teacher == "frozen" else adapted.detach()
        target = pairwise_cosine(teacher)  # shared by the agreement terms and the sign codes
        if weights["pairwise"] > 0 or weights["topk"] > 0 or weights["distill"] > 0:
            prefixes = prefix_cosines(adapted, self.dims)  # shared by all three
            if weights["pairwise"] > 0:
                terms["pairwise"] = weights["pairwise"] * prefix_similarity_error(prefixes, target)
            if weights["topk"] > 0:
                terms["topk"] = weights["topk"] * topk_similarity_error(prefixes, target, self.topk_k)
            if weights["distill"] > 0:
                terms["distill"] = weights["distill"] * self.distill.from_cosines(prefixes, target)
        if weights["bits"] > 0:
            for name, value in self.bits(adapted, target).items():
                terms["bits" if name == "agreement" else f"bits_{name}"] = weights["bits"] * value
        if weights["sir"] > 0:
            terms["sir"] = weights["sir"] * self.sir(adapted)
        if weights["scr"] > 0 and adapted_tokens is not None:
            terms["scr"] = weights["scr"] * self.token_scr.terms(*adapted_tokens)["correlation"]
        elif weights["scr"] > 0:
            terms["scr"] = weights["scr"] * prefix_residual_correlation_penalty(
                adapted, self.prefix_dims, self.scr_tolerance
            )
        return terms

    def task_loss(self, first: Tensor, second: Tensor, scores: Tensor | None) -> Tensor:
        """Weighted task loss of adapted pairs ``(P, D)``: CoSENT against ``scores``, MNRL when ``scores`` is None."""
        if scores is None:
            losses = [self.mnrl.compute_loss_from_embeddings([first[:, :m], second[:, :m]], None) for m in self.dims]
        else:
            losses = [
                self.cosent.compute_loss_from_embeddings([first[:, :m], second[:, :m]], scores) for m in self.dims
            ]
        return self.weights["task"] * torch.stack(losses).mean()
