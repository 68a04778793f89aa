"""The training configuration: one validated schema, every default in one place, loadable from YAML.

A config file holds any subset of the fields below; ``--set key=value`` overrides any field (dotted keys
reach nested ones, e.g. ``--set mic.gamma=0.2``). Read and validated by :func:`mic.config.load_config`; errors
name the file, the line and the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, StrictFloat, field_validator

import mic.config as config_file
from mic.config import ConfigError, StrictModel
from mic.data.pairing import PAIRINGS
from mic.defaults import DEFAULT_MODEL
from mic.dims import check_dims, default_dims
from mic.losses.defaults import METHOD_MD_FORM, MIC_DEFAULTS


class MICWeights(StrictModel):
    """Weights and choices of the MIC regularizers (``docs/method.md`` §1); used when ``loss: mic``.

    Defaults are :data:`mic.losses.defaults.MIC_DEFAULTS`, the dev sweeps' choice (SIR off);
    ``configs/mic-paper.yaml`` holds METHOD.md's untuned form (SIR on).
    """

    gamma: float = Field(MIC_DEFAULTS.gamma, ge=0, description="γ, weight of L_align = SCR + SIR")
    tolerance: float = Field(MIC_DEFAULTS.tolerance, ge=0, description="τ_corr of SCR")
    variance_floor_weight: float = Field(MIC_DEFAULTS.variance_floor_weight, ge=0, description="λ_var of SCR")
    layers: Literal["middle", "last", "middle+last"] | list[int] = MIC_DEFAULTS.layers
    regularizer_dims: list[int] | None = Field(None, description="𝓜' (default: dims below the full size)")
    scr_weight: float = Field(MIC_DEFAULTS.scr_weight, ge=0)
    sir_weight: float = Field(MIC_DEFAULTS.sir_weight, ge=0, description="0 = SIR off (tuned); 1 = METHOD.md")
    distill_weight: float = Field(MIC_DEFAULTS.distill_weight, ge=0, description="λ_SD (0 = off)")
    distill_temperature: float = Field(MIC_DEFAULTS.distill_temperature, gt=0)
    distill_objective: Literal["kl", "cosine", "cka"] = Field(
        MIC_DEFAULTS.distill_objective,
        description="row-KL, cosine-matrix agreement or token-relation CKA",  # type: ignore[arg-type]
    )
    distill_teacher: Literal["full", "ema", "initial"] = Field(
        MIC_DEFAULTS.distill_teacher,
        description="student's own full embedding, its EMA, or the initial model",  # type: ignore[arg-type]
    )
    distill_ema_decay: float = Field(MIC_DEFAULTS.distill_ema_decay, ge=0, lt=1)


def method_md_weights() -> MICWeights:
    """METHOD.md's untuned form (SCR + SIR, γ 0.1; :data:`mic.losses.defaults.METHOD_MD_FORM`) as config weights."""
    form = METHOD_MD_FORM
    return MICWeights(**{name: getattr(form, name) for name in MICWeights.model_fields if hasattr(form, name)})


class DataConfig(StrictModel):
    """Where the training and dev data come from (see ``mic.data``)."""

    train: list[str] = Field(
        default_factory=lambda: ["stsb:train"],
        description="sources: stsb:SPLIT, sick:SPLIT, FILE, hub name; kind corpus: scifact, BEIR folder, FILE",
    )
    kind: Literal["scored", "pairs", "triplets", "unlabeled", "corpus"] = "scored"
    pairing: Literal[PAIRINGS] = Field(  # type: ignore[valid-type]
        "dropout", description="kind corpus: dropout (SimCSE), span (inverse cloze) or title (title-body)"
    )
    dev: str | None = Field("stsb:dev", description="scored source evaluated at every dim during training")
    max_train_samples: int | None = Field(None, gt=0)
    data_dir: str | None = Field(None, description="folder with stsbenchmark/ and sick2014/ (else $MIC_DATA_DIR)")
    columns: list[str] | None = Field(
        None, description="columns of file/dataset sources, in order (scored: sentence 1, sentence 2, score)"
    )
    score_range: tuple[StrictFloat, StrictFloat] | None = Field(  # lax only to take YAML's list for the tuple
        None,
        strict=False,
        description="[low, high] score scale of scored files/datasets (default: 0..5 SemEval, else inferred)",
    )

    @field_validator("train", mode="before")
    @classmethod
    def _one_source(cls, train: object) -> object:
        """A single source (``--set data.train=FILE``) is a list of one."""
        return [train] if isinstance(train, str) else train


class TrainConfig(StrictModel):
    """Everything ``mic train`` needs; saved resolved beside the model."""

    model: str = Field(
        DEFAULT_MODEL, description="'default' (offline all-MiniLM-L6-v2), 'wordllama', a local path or a hub id"
    )
    max_seq_length: int = Field(
        128,
        gt=0,
        description="tokens per text while training; the saved model keeps the base model's own limit for inference",
    )
    data: DataConfig = Field(default_factory=DataConfig)
    loss: Literal["mic", "mrl", "2d", "plain"] = "mic"
    base_loss: Literal["mnrl", "cosent", "angle"] = "cosent"
    mnrl_scale: float = Field(20.0, gt=0, description="1/τ of MultipleNegativesRanking (20 = τ 0.05, SimCSE)")
    dims: list[int] | None = Field(
        None, description="Matryoshka dims, ascending (default: mic.dims.default_dims of the model's size)"
    )
    mic: MICWeights = Field(default_factory=MICWeights)
    learning_rate: float = Field(2e-5, gt=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1, description="fraction of steps with linear warm-up")
    weight_decay: float = Field(0.01, ge=0)
    epochs: float = Field(1.0, gt=0)
    max_steps: int = Field(-1, description="> 0 overrides epochs; -1 trains for `epochs`")
    batch_size: int = Field(16, ge=2, description="pairs per step and per process; batch statistics need >= 2")
    seed: int = 0
    threads: int | None = Field(
        None, gt=0, description="CPU threads inside the run (default: torch's, e.g. $OMP_NUM_THREADS); recorded"
    )
    output_dir: str = "output/mic-stsb"
    eval_steps: int = Field(200, gt=0)
    save_steps: int = Field(200, gt=0)
    save_total_limit: int = Field(2, gt=0)
    logging_steps: int = Field(20, gt=0)

    @field_validator("dims")
    @classmethod
    def _dims_valid(cls, dims: list[int] | None) -> list[int] | None:
        return None if dims is None else list(check_dims(dims))

    @field_validator("max_steps")
    @classmethod
    def _max_steps_valid(cls, max_steps: int) -> int:
        if max_steps == 0 or max_steps < -1:
            raise ValueError("must be a number of steps > 0, or -1 to train for `epochs`")
        return max_steps


def load_config(
    path: str | Path | None,
    overrides: Sequence[str] | None = None,
    options: Mapping[str, tuple[str, object]] | None = None,
) -> TrainConfig:
    """A training config: :func:`mic.config.load_config` with the :class:`TrainConfig` schema.

    Raises:
        ConfigError: unreadable file, YAML syntax error, unknown field or bad value (with file, line and field).
    """
    return config_file.load_config(path, overrides, schema=TrainConfig, options=options)


def dims_for_model(config: TrainConfig, embedding_size: int) -> tuple[list[int], str | None]:
    """The Matryoshka dims to train for a model with ``embedding_size`` dims, and a note when they changed.

    Dims left unset are :func:`mic.dims.default_dims` of the model's size. The full size is always trained: it
    is added, with a note, to set dims that lack it; set dims that exceed it are refused.

    Raises:
        ConfigError: for dims larger than the model's embedding size, naming both.
    """
    if config.dims is None:
        return default_dims(embedding_size), None
    dims = list(config.dims)
    if dims[-1] > embedding_size:
        raise ConfigError(
            f"dims {dims} go up to {dims[-1]}, but the model {config.model!r} has {embedding_size} dims; "
            f"use dims up to {embedding_size}, e.g. --set dims=[{','.join(map(str, _below(dims, embedding_size)))}]."
        )
    resolved = _below(dims, embedding_size)
    if resolved == dims:
        return dims, None
    return resolved, (
        f"note: the model {config.model!r} has {embedding_size} dims and dims was {dims}; "
        f"training at dims {resolved} (its full size included)."
    )


def _below(dims: list[int], embedding_size: int) -> list[int]:
    return [dim for dim in dims if dim < embedding_size] + [embedding_size]


def dump_config(config: TrainConfig) -> str:
    """The resolved config as YAML, in field order."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
