"""SIR, Spectral Isotropy Regularization: balanced variance and uniform directions for every low-dim prefix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from mic.dims import check_dims
from mic.distributed import gather_with_grad
from mic.geometry import uniformity, variance_cv
from mic.losses.defaults import MIC_DEFAULTS
from mic.losses.validation import check_batch, check_finite, check_positive


class SpectralIsotropyRegularizer(nn.Module):
    """Spectral Isotropy Regularization (SIR) of MIC, ``docs/method.md`` §1.2.

    For every prefix dim ``m`` in ``dims`` and ``Z = X[:, :m]`` (in MIC, ``X`` is the mask-aware mean pool of a
    layer's hidden states):

    - ``L_cv(m) = sqrt((1/m) Σ_j (v_j - v̄)²) / (v̄ + ε)``, ``v_j = Var_batch(Z_{:,j})``: the coefficient of
      variation of the per-dimension variance profile (Figure 1 of the paper);
    - ``L_unif(m) = log( 1/(B(B-1)) Σ_{i≠j} exp(-2t(1 - S_ij)) )``, ``S = norm(Z) norm(Z)ᵀ`` (Wang & Isola);
    - ``L_SIR = ½ (mean_m L_cv(m) + mean_m L_unif(m))``.

    Both parts are batch statistics: with ``gather_across_devices`` they are computed on the rows of all ranks
    (gathered with gradient), so the value does not depend on the number of processes.

    Inputs:
        +----------------------------------+------------------+
        | Inputs                           | Output           |
        +==================================+==================+
        | embeddings ``(B, D)``, ``B >= 2``| scalar ``L_SIR`` |
        +----------------------------------+------------------+

    Args:
        dims: ascending prefix dims, each at most ``D``.
        temperature: ``t`` of the uniformity kernel.
        eps: keeps the coefficient of variation finite for a constant batch.
        gather_across_devices: compute the statistics over all ranks' rows.

    Example:
        >>> import torch
        >>> from mic.losses import SpectralIsotropyRegularizer
        >>> SpectralIsotropyRegularizer(dims=[8, 16])(torch.randn(32, 64)).shape
        torch.Size([])

    References:
        MIC, https://arxiv.org/abs/2605.29987; Wang & Isola 2020, https://arxiv.org/abs/2005.10242
    """

    def __init__(
        self,
        dims: Sequence[int],
        temperature: float = MIC_DEFAULTS.uniformity_temperature,
        eps: float = 1e-6,
        gather_across_devices: bool = True,
    ) -> None:
        super().__init__()
        self.dims = check_dims(dims)
        self.temperature = check_positive(temperature, "temperature")
        self.eps = check_positive(eps, "eps")
        self.gather_across_devices = gather_across_devices

    def terms(self, embeddings: Tensor) -> dict[str, Tensor]:
        """The two parts of SIR: ``{"variance_cv": mean_m L_cv, "uniformity": mean_m L_unif}``."""
        check_batch(embeddings, "SpectralIsotropyRegularizer", ndim=2, dims=self.dims, strict_prefix=False)
        if self.gather_across_devices:
            embeddings = gather_with_grad(embeddings)
        cv = torch.stack([variance_cv(embeddings[:, :m], self.eps) for m in self.dims]).mean()
        unif = torch.stack([uniformity(embeddings[:, :m], self.temperature) for m in self.dims]).mean()
        return {
            "variance_cv": check_finite(cv, "SpectralIsotropyRegularizer (variance CV)", embeddings),
            "uniformity": check_finite(unif, "SpectralIsotropyRegularizer (uniformity)", embeddings),
        }

    def weighted_terms(self, embeddings: Tensor) -> dict[str, Tensor]:
        """The summands of ``L_SIR``, each part with its ½: ``forward`` is their sum, and ``MICLoss`` logs them."""
        return {name: 0.5 * value for name, value in self.terms(embeddings).items()}

    def forward(self, embeddings: Tensor) -> Tensor:
        return torch.stack(list(self.weighted_terms(embeddings).values())).sum()

    def get_config_dict(self) -> dict[str, Any]:
        return {"dims": list(self.dims), "temperature": self.temperature}
