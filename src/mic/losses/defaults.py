"""MIC's default weights, in one place: ``MICLoss``'s keyword defaults and the training config's both read them.

The defaults are the dev sweeps' choice (``docs/method.md``, ``benchmarks/results/sweep-*.md``): SIR switched
off in both measured settings, because it lowered the low-dim dev score there (up to −0.4 at γ 0.1 in the
unsupervised SimCSE setting); SCR on the middle layers at γ 0.1. METHOD.md's untuned form, SCR + SIR at γ 0.1,
is :data:`METHOD_MD_FORM` (``configs/mic-paper.yaml`` as a config).
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class MICDefaults:
    """Scalar weights of ``L = L_MRL + γ · L_align + λ_SD · L_SD`` and of its terms (METHOD.md's names)."""

    gamma: float = 0.1
    tolerance: float = 0.1
    variance_floor_weight: float = 1.0
    layers: str = "middle"
    scr_weight: float = 1.0
    sir_weight: float = 0.0
    distill_weight: float = 0.0
    distill_temperature: float = 0.05
    distill_objective: str = "kl"
    distill_teacher: str = "full"
    distill_ema_decay: float = 0.999
    uniformity_temperature: float = 2.0


MIC_DEFAULTS = MICDefaults()
METHOD_MD_FORM = replace(MIC_DEFAULTS, sir_weight=1.0)
"""METHOD.md's form as published, untuned: SCR and SIR on the middle layers, γ 0.1."""
