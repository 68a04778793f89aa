"""MIC's default weights, in one place: ``MICLoss``, its terms and the training config read them from here.

The defaults are the dev sweeps' choice in the paper's setting (unsupervised SimCSE; ``docs/method.md`` §3,
``benchmarks/results/sweep-*.md``, ``distill-sweep-*.md``): SIR switched off, because it lowered the low-dim dev
score in both measured settings (up to −0.4 at γ 0.1 in unsupervised SimCSE); SCR on the middle layers at γ 0.1;
self-distillation from a frozen copy of the starting model, row-KL at τ_d 0.05, λ_SD 0.1 (+1.39 dev Spearman at
8/16/32 dims over MRL after 1,000 steps of unsupervised SimCSE). A task loss two orders of magnitude larger, such
as CoSENT's, wants a λ_SD that much larger (``configs/mic-stsb.yaml``: 10). METHOD.md's untuned form, SCR + SIR at
γ 0.1 without self-distillation, is :data:`METHOD_MD_FORM` (``configs/mic-paper.yaml`` as a config).
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class MICDefaults:
    """Scalar weights of ``L = L_MRL + γ · L_align + λ_SD · L_SD`` and of its terms (``docs/method.md`` §1)."""

    gamma: float = 0.1
    tolerance: float = 0.1
    variance_floor_weight: float = 1.0
    layers: str = "middle"
    scr_weight: float = 1.0
    sir_weight: float = 0.0
    distill_weight: float = 0.1
    distill_temperature: float = 0.05
    distill_objective: str = "kl"
    distill_teacher: str = "initial"
    distill_ema_decay: float = 0.999
    uniformity_temperature: float = 2.0


MIC_DEFAULTS = MICDefaults()
METHOD_MD_FORM = replace(MIC_DEFAULTS, sir_weight=1.0, distill_weight=0.0, distill_teacher="full")
"""METHOD.md's form as published, untuned: SCR and SIR on the middle layers, γ 0.1, no self-distillation."""
