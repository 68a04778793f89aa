"""Config files, one way for every command: a strict pydantic schema, read from YAML, with overrides on top.

``mic train`` (:class:`mic.training.config.TrainConfig`) and ``mic adapt`` (:class:`mic.adapt.AdaptConfig`) both
validate with :func:`load_config`: a YAML file holds any subset of the schema's fields, ``--set key=value``
overrides any of them (dotted keys reach nested ones, e.g. ``--set mic.gamma=0.2``; the value is read as YAML),
and a command's own options (``--data-dir``, ``--dims``, ...) go on top as field values. Every field, however it
was given, is validated by the schema, and errors name the file and line, ``--set`` or the option, and say in
plain words what is allowed (:mod:`mic.config_errors`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from mic.config_errors import describe
from mic.errors import MICError


class ConfigError(MICError):
    """The configuration file or an override is invalid; the message says where and what is allowed."""


class StrictModel(BaseModel):
    """The base of every config schema: unknown fields are errors, and so are bad values assigned later.

    Strict: a value of the wrong type is refused, never converted (``max_steps: true`` is not 1 step, ``"0.1"`` is
    not a number).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)


Schema = TypeVar("Schema", bound=BaseModel)


class _ConfigLoader(yaml.SafeLoader):
    """YAML 1.1 with YAML 1.2's floats: ``1e-5`` is a number, not the string PyYAML makes of it.

    Config schemas are strict (no string is converted to a number), so ``gamma: 1e-5`` must load as a float.
    """


_ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def load_yaml(text: str) -> object:
    """Parse config YAML (:class:`_ConfigLoader`); raises ``yaml.YAMLError`` as ``yaml.safe_load`` does."""
    return yaml.load(text, Loader=_ConfigLoader)  # noqa: S506 - a SafeLoader subclass


def parse_value(raw: str) -> object:
    """Read an override value the way a config file would (numbers, booleans, lists, null), else keep the string."""
    try:
        return load_yaml(raw)
    except yaml.YAMLError:
        return raw


def set_field(data: dict, key: str, value: object) -> dict:
    """Set the dotted field ``key`` (``mic.gamma``) of a raw config dict to ``value``, creating sections.

    Raises:
        ConfigError: when a part of ``key`` before the last names a value that is not a section.
    """
    target = data
    *parents, leaf = key.split(".")
    for parent in parents:
        target = target.setdefault(parent, {})
        if not isinstance(target, dict):
            raise ConfigError(f"--set {key}: {parent} is not a section.")
    target[leaf] = value
    return data


def apply_overrides(data: dict, overrides: Sequence[str]) -> dict:
    """Apply ``key=value`` overrides (dotted keys for nested fields) to a raw config dict."""
    for override in overrides:
        key, sep, raw = override.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects key=value, got {override!r}.")
        set_field(data, key, parse_value(raw))
    return data


def _line_of(text: str, location: Sequence[str]) -> int | None:
    """Best-effort line number of the top-level or nested key named in ``location``."""
    names = [str(part) for part in location if isinstance(part, str)]
    if not names:
        return None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith(f"{names[-1]}:"):
            return number
    return None


def validate(
    schema: type[Schema],
    data: Mapping[str, object],
    *,
    source: str,
    text: str = "",
    labels: Mapping[str, str] | None = None,
) -> Schema:
    """``data`` validated by ``schema``, or one :class:`ConfigError` listing every bad field in plain words.

    Args:
        schema: the pydantic model.
        data: the raw field values (nested dicts for sections).
        source: where the values come from when no label says otherwise (a file, ``defaults``, ``fit()``).
        text: the YAML text of ``source``, to name the line of a bad field.
        labels: dotted field -> where that value was given instead (``--set``, ``--dims``).

    Raises:
        ConfigError: naming each bad field, where it was given, what is allowed and the value given.
    """
    try:
        return schema.model_validate(data)
    except ValidationError as error:
        messages = []
        for parts, message, value in describe(schema, error.errors()):
            field = ".".join(parts)
            line = _line_of(text, parts)
            where = (labels or {}).get(field) or (f"{source}:{line}" if line else source)
            messages.append(f"{where}: field '{field}': {message} (got {value!r})")
        raise ConfigError("\n".join(messages)) from None


def load_config(
    path: str | Path | None,
    overrides: Sequence[str] | None = None,
    *,
    schema: type[Schema],
    options: Mapping[str, tuple[str, object]] | None = None,
) -> Schema:
    """Read a YAML config (or start from defaults when ``path`` is None), apply overrides and validate.

    Args:
        path: the YAML file, or ``None`` for the schema's defaults.
        overrides: ``key=value`` strings (``--set``), applied in order after the file.
        schema: the pydantic model to validate against (``TrainConfig``, ``AdaptConfig``).
        options: dotted field -> (option name, value) of a command's own options, applied last; a ``None``
            value is an option not given and leaves the field alone.

    Raises:
        ConfigError: unreadable file, YAML syntax error (with line), unknown field or bad value (with the
            field, its line, ``--set`` or the option, and the allowed values).
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
            data = load_yaml(text) or {}
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"{path}:{where} is not valid YAML: {getattr(error, 'problem', error)}.") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of field: value, got {type(data).__name__}.")
    data = apply_overrides(data, overrides or [])
    labels = {override.partition("=")[0]: "--set" for override in overrides or []}
    for field, (option, value) in (options or {}).items():
        if value is not None:
            set_field(data, field, value)
            labels[field] = option
    return validate(schema, data, source=source, text=text, labels=labels)
