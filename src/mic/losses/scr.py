"""SCR, Soft Collapse Regularization: decorrelate each prefix from its residual at the token level."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mic.dims import check_dims
from mic.distributed import gather_with_grad
from mic.geometry import masked_token_moments, soft_threshold_penalty, token_correlation_sum
from mic.losses.defaults import MIC_DEFAULTS
from mic.losses.validation import check_batch, check_finite, check_non_negative, check_positive


class SoftCollapseRegularizer(nn.Module):
    """Soft Collapse Regularization (SCR) of MIC, ``docs/method.md`` §1.1.

    For every prefix dim ``m`` in ``dims``, with ``P = H[..., :m]`` and ``R = H[..., m:]`` the token hidden
    states of one layer, each feature standardised over each sentence's own valid tokens (``P̃``, ``R̃``):

    - ``C = (1/B) Σ_i (1/N_i) Σ_t P̃_{i,t} R̃_{i,t}ᵀ`` (``m × (D-m)``), the token-level cross-correlation;
    - ``L_corr(m) = 1/(m(D-m)) Σ_{u,v} max(0, |C_uv| - τ_corr)²``;
    - ``L_var(m) = max(0, 1 - σ̄_pre) + 0.5 · max(0, 1 - σ̄_res)``, with ``σ̄`` the mean unstandardised token
      std of the prefix / residual features (averaged over sentences and features), so decorrelation cannot
      be reached by shrinking the token variation to zero;
    - ``L_SCR = mean_m L_corr(m) + λ_var · mean_m L_var(m)``.

    Sentences with a single valid token have no token-level std: their standardised features are 0 (guarded
    by ``eps``), so they add nothing to ``C`` and count as std 0 in the variance floor.

    All statistics are global under data parallelism (when ``gather_across_devices``): the per-rank sums of
    the correlation and of the stds are gathered with gradient before dividing by the global batch size.

    Inputs:
        +-------------------------------+----------------------------+
        | Inputs                        | Output                     |
        +===============================+============================+
        | hidden ``(B, T, D)``, ``B>=2``| scalar ``L_SCR``           |
        | mask ``(B, T)`` (1 = token)   | (``terms`` gives the parts)|
        +-------------------------------+----------------------------+

    Args:
        dims: ascending prefix dims, each smaller than ``D``.
        tolerance: ``τ_corr``, correlations below it are free (the paper: 0 hurts).
        variance_floor_weight: ``λ_var``.
        eps: variance guard of the per-sentence standardisation.
        gather_across_devices: compute the statistics over all ranks' rows.

    Example:
        >>> import torch
        >>> from mic.losses import SoftCollapseRegularizer
        >>> hidden, mask = torch.randn(8, 12, 64), torch.ones(8, 12)
        >>> SoftCollapseRegularizer(dims=[8, 16, 32])(hidden, mask).shape
        torch.Size([])

    References:
        MIC, https://arxiv.org/abs/2605.29987; Barlow Twins, https://arxiv.org/abs/2103.03230;
        VICReg (variance floor), https://arxiv.org/abs/2105.04906
    """

    def __init__(
        self,
        dims: Sequence[int],
        tolerance: float = MIC_DEFAULTS.tolerance,
        variance_floor_weight: float = MIC_DEFAULTS.variance_floor_weight,
        eps: float = 1e-6,
        gather_across_devices: bool = True,
    ) -> None:
        super().__init__()
        self.dims = check_dims(dims)
        self.tolerance = check_non_negative(tolerance, "tolerance")
        self.variance_floor_weight = check_non_negative(variance_floor_weight, "variance_floor_weight")
        self.eps = check_positive(eps, "eps")
        self.gather_across_devices = gather_across_devices

    def terms(self, hidden: Tensor, mask: Tensor) -> dict[str, Tensor]:
        """The two parts of SCR, unweighted: ``{"correlation": mean_m L_corr, "variance_floor": mean_m L_var}``."""
        check_batch(hidden, "SoftCollapseRegularizer", ndim=3, dims=self.dims, strict_prefix=True)
        if mask.shape != hidden.shape[:2]:
            raise ValueError(
                f"SoftCollapseRegularizer: mask shape {tuple(mask.shape)} must be {tuple(hidden.shape[:2])}."
            )
        standardized, std = masked_token_moments(hidden, mask, self.eps)
        correlation_sum = token_correlation_sum(standardized, mask, rows=self.dims[-1])
        batch = torch.tensor([float(hidden.shape[0])], dtype=hidden.dtype, device=hidden.device)
        if self.gather_across_devices:
            correlation_sum = gather_with_grad(correlation_sum.unsqueeze(0)).sum(dim=0)
            batch = gather_with_grad(batch)
            std = gather_with_grad(std)
        cross = correlation_sum / batch.sum()
        feature_std = std.mean(dim=0)

        correlation = torch.stack([soft_threshold_penalty(cross[:m, m:], self.tolerance) for m in self.dims]).mean()
        variance_floor = torch.stack(
            [F.relu(1 - feature_std[:m].mean()) + 0.5 * F.relu(1 - feature_std[m:].mean()) for m in self.dims]
        ).mean()
        return {
            "correlation": check_finite(correlation, "SoftCollapseRegularizer (correlation)", hidden),
            "variance_floor": check_finite(variance_floor, "SoftCollapseRegularizer (variance floor)", hidden),
        }

    def weighted_terms(self, hidden: Tensor, mask: Tensor) -> dict[str, Tensor]:
        """The summands of ``L_SCR``, the floor times ``λ_var``: ``forward`` is their sum, and ``MICLoss`` logs them."""
        parts = self.terms(hidden, mask)
        return {
            "correlation": parts["correlation"],
            "variance_floor": self.variance_floor_weight * parts["variance_floor"],
        }

    def forward(self, hidden: Tensor, mask: Tensor) -> Tensor:
        return torch.stack(list(self.weighted_terms(hidden, mask).values())).sum()

    def get_config_dict(self) -> dict[str, Any]:
        return {
            "dims": list(self.dims),
            "tolerance": self.tolerance,
            "variance_floor_weight": self.variance_floor_weight,
        }
