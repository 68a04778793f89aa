"""The training configuration: one validated schema, every default in one place, loadable from YAML.

A config file holds any subset of the fields below; ``--set key=value`` overrides any field (dotted keys
reach nested ones, e.g. ``--set mic.gamma=0.2``). Errors name the file, the line and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mic.errors import MICError
from mic.losses.validation import check_dims

DEFAULT_DIMS = [8, 16, 32, 64, 128, 256, 384]


class ConfigError(MICError):
    """The configuration file or an override is invalid; the message says where and what is allowed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class MICWeights(_Strict):
    """Weights and choices of the MIC regularizers (METHOD.md); used when ``loss: mic``."""

    gamma: float = Field(0.1, ge=0, description="γ, weight of L_align = SCR + SIR")
    tolerance: float = Field(0.1, ge=0, description="τ_corr of SCR")
    variance_floor_weight: float = Field(1.0, ge=0, description="λ_var of SCR")
    layers: Literal["middle", "last", "middle+last"] | list[int] = "middle"
    regularizer_dims: list[int] | None = Field(None, description="𝓜' (default: dims below the full size)")
    scr_weight: float = Field(1.0, ge=0)
    sir_weight: float = Field(1.0, ge=0)
    distill_weight: float = Field(0.0, ge=0, description="λ_SD (0 = off)")
    distill_temperature: float = Field(0.05, gt=0)


class DataConfig(_Strict):
    """Where the training and dev data come from (see ``mic.data``)."""

    train: list[str] = Field(
        default_factory=lambda: ["stsb:train"], description="sources: stsb:SPLIT, sick:SPLIT, FILE, hub name"
    )
    kind: Literal["scored", "pairs", "triplets", "unlabeled"] = "scored"
    dev: str | None = Field("stsb:dev", description="scored source evaluated at every dim during training")
    max_train_samples: int | None = Field(None, gt=0)
    data_dir: str | None = Field(None, description="folder with stsbenchmark/ and sick2014/ (else $MIC_DATA_DIR)")


class TrainConfig(_Strict):
    """Everything ``mic train`` needs; saved resolved beside the model."""

    model: str = Field("default", description="'default' (offline all-MiniLM-L6-v2), a local path or a hub id")
    max_seq_length: int = Field(128, gt=0)
    data: DataConfig = Field(default_factory=DataConfig)
    loss: Literal["mic", "mrl", "2d", "plain"] = "mic"
    base_loss: Literal["mnrl", "cosent", "angle"] = "cosent"
    mnrl_scale: float = Field(20.0, gt=0, description="1/τ of MultipleNegativesRanking (20 = τ 0.05, SimCSE)")
    dims: list[int] = Field(default_factory=lambda: list(DEFAULT_DIMS))
    mic: MICWeights = Field(default_factory=MICWeights)
    learning_rate: float = Field(2e-5, gt=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1, description="fraction of steps with linear warm-up")
    weight_decay: float = Field(0.01, ge=0)
    epochs: float = Field(1.0, gt=0)
    max_steps: int = Field(-1, description="> 0 overrides epochs")
    batch_size: int = Field(16, ge=2, description="pairs per step and per process; batch statistics need >= 2")
    seed: int = 0
    output_dir: str = "output/mic-stsb"
    eval_steps: int = Field(200, gt=0)
    save_steps: int = Field(200, gt=0)
    save_total_limit: int = Field(2, gt=0)
    logging_steps: int = Field(20, gt=0)

    @field_validator("dims")
    @classmethod
    def _dims_valid(cls, dims: list[int]) -> list[int]:
        return list(check_dims(dims))


def _parse_value(raw: str) -> object:
    """Read an override value the way YAML would (numbers, booleans, lists, null), else keep the string."""
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``key=value`` overrides (dotted keys for nested fields) to a raw config dict."""
    for override in overrides:
        key, sep, raw = override.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got {override!r}.")
        target = data
        *parents, leaf = key.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
            if not isinstance(target, dict):
                raise ConfigError(f"--set {key}: {parent} is not a section.")
        target[leaf] = _parse_value(raw)
    return data


def _line_of(text: str, location: tuple) -> int | None:
    """Best-effort line number of the top-level or nested key named in ``location``."""
    names = [str(part) for part in location if isinstance(part, str)]
    if not names:
        return None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith(f"{names[-1]}:"):
            return number
    return None


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML config (or start from defaults when ``path`` is None), apply overrides and validate.

    Raises:
        ConfigError: unreadable file, YAML syntax error (with line), unknown field or bad value (with the
            field, its line when known, and the allowed values).
    """
    text = ""
    data: dict = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"Cannot read config {path}: {error.strerror}.") from None
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"{path}:{where} is not valid YAML: {getattr(error, 'problem', error)}.") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of field: value, got {type(data).__name__}.")
    data = apply_overrides(data, overrides or [])
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as error:
        messages = []
        for problem in error.errors():
            field = ".".join(str(part) for part in problem["loc"])
            line = _line_of(text, problem["loc"])
            where = f"{source}:{line}" if line else source
            messages.append(f"{where}: field '{field}': {problem['msg']} (got {problem.get('input')!r})")
        raise ConfigError("\n".join(messages)) from None


def dump_config(config: TrainConfig) -> str:
    """The resolved config as YAML, in field order."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
