"""The ``mic adapt`` configuration: one validated schema, every default in one place, loadable from YAML.

Loaded like ``mic train``'s (:func:`mic.config.load_config` with ``schema=AdaptConfig``): a YAML file
holds any subset of the fields, ``--set key=value`` overrides any of them (``--set fit.sir=0.1``). The
objective's defaults (``fit``) are the combination the dev sweep of ``benchmarks/adapter.py`` measured best
(``docs/method.md`` §4).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from mic.adapt.adapter import MIN_FIT_ROWS
from mic.adapt.objective import Teacher
from mic.config import StrictModel
from mic.defaults import DEFAULT_BATCH_SIZE, DEFAULT_MODEL
from mic.encoder_backends import BACKENDS, DEFAULT_BACKEND
from mic.losses.defaults import MIC_DEFAULTS


class FitSettings(StrictModel):
    """How the adapter is fitted: initialisation, optimisation, and the weights of the objective's terms."""

    init: Literal["identity", "pca"] = Field("identity", description="orthogonal start: truncation or PCA")
    residual_layer: bool = Field(False, description="add a residual tanh layer after the linear map")
    steps: int = Field(1000, gt=0)
    batch_size: int = Field(512, ge=MIN_FIT_ROWS, description="rows per step; the similarity terms compare every pair")
    pair_batch_size: int = Field(64, ge=2, description="labelled pairs per step and per supervision source")
    learning_rate: float = Field(1e-3, gt=0, description="Adam, decayed linearly to 0")
    seed: int = 0
    pairwise: float = Field(1.0, ge=0, description="prefix vs frozen cosine agreement, all pairs (MSE)")
    topk: float = Field(1.0, ge=0, description="the same over each row's k nearest neighbours (L1)")
    topk_k: int = Field(10, gt=0)
    distill: float = Field(0.1, ge=0, description="MIC self-distillation, frozen full embedding as teacher")
    distill_temperature: float = Field(MIC_DEFAULTS.distill_temperature, gt=0)
    sir: float = Field(0.0, ge=0, description="MIC SIR on the prefixes")
    scr: float = Field(0.0, ge=0, description="MIC SCR correlation term, sentence-level form")
    scr_tolerance: float = Field(MIC_DEFAULTS.tolerance, ge=0)
    bits: float = Field(
        0.0,
        ge=0,
        description="sign bits of every prefix keep the frozen neighbours (binary shortlists; docs/method.md §4)",
    )
    bits_temperature: float = Field(0.5, gt=0, description="τ of the tanh relaxation of the sign bits")
    task: float = Field(
        0.03,
        ge=0,
        description="weight of the supervised loss (with --supervised); CoSENT's ~26 at init would swamp "
        "the agreement terms' ~0.1 at 1",
    )
    teacher: Teacher = Field(
        "frozen", description="whose similarities the prefixes keep: the frozen embedding or the adapted full one"
    )


class AdaptConfig(StrictModel):
    """Everything ``mic adapt MODEL --data ...`` needs; saved resolved beside the adapted model."""

    model: str = Field(
        DEFAULT_MODEL, description="'default' (offline all-MiniLM-L6-v2), 'wordllama', a model folder or a hub id"
    )
    data: list[str] = Field(
        default_factory=lambda: ["stsb:train", "sick:train"],
        description="texts to fit on: stsb:SPLIT, sick:SPLIT, scifact (its corpus), a BEIR folder, FILE, hub name",
    )
    supervised: bool = Field(False, description="add the task loss on the labels of `supervision`")
    supervision: list[str] = Field(
        default_factory=lambda: ["stsb:train"],
        description="labelled sources: scored pairs (CoSENT) or a retrieval split, e.g. scifact:train (MNRL)",
    )
    dims: list[int] | None = Field(None, description="prefix dims (default: D and the powers of 2 down to 8)")
    data_dir: str | None = Field(None, description="folder of the benchmark data (else $MIC_DATA_DIR)")
    cache_dir: str | None = Field(None, description="embedding cache (else $MIC_CACHE_DIR, else ~/.cache/mic)")
    encode_batch_size: int = Field(DEFAULT_BATCH_SIZE, gt=0)
    device: str | None = None
    encoder_backend: str = Field(
        DEFAULT_BACKEND,
        description=f"what encodes the fit texts: {', '.join(BACKENDS)} (mic.onnx); the adapter is fitted on its "
        "vectors and put on the torch model",
    )
    fit: FitSettings = Field(default_factory=FitSettings)

    @field_validator("encoder_backend")
    @classmethod
    def known_backend(cls, value: str) -> str:
        if value not in BACKENDS:
            raise ValueError(f"{value!r} is not one of {', '.join(BACKENDS)}")
        return value
