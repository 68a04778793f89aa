"""Plain-words messages for config validation errors: the field, what is allowed, and "did you mean" for typos.

pydantic's own messages name its internals (union branches such as ``literal['middle','last']`` in the field
path, ``Value error,`` prefixes, "Extra inputs are not permitted"); a user should read the field's dotted name
and the values it accepts instead.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from pydantic import BaseModel
from pydantic_core import ErrorDetails

PHRASES = {
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "text",
    "list_type": "a list",
    "tuple_type": "a list [low, high]",
    "dict_type": "a section of field: value lines",
    "model_type": "a section of field: value lines",
    "finite_number": "a finite number",
}
"""What a value must be, per pydantic error type that carries no further detail."""


def _sub_model(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    annotation = model.model_fields[name].annotation
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def field_path(model: type[BaseModel], location: Sequence[int | str]) -> tuple[list[str], type[BaseModel] | None]:
    """The field path of an error location without pydantic's union-branch tags, and the innermost model.

    Returns:
        The path parts (field names and list indices) and the model class whose fields the last name belongs to.
    """
    parts: list[str] = []
    current: type[BaseModel] | None = model
    owner: type[BaseModel] | None = model
    for part in location:
        if isinstance(part, int):
            parts.append(str(part))
            current = None
        elif current is not None and part in current.model_fields:
            parts.append(part)
            owner, current = current, _sub_model(current, part)
        elif current is not None:
            parts.append(part)  # an unknown name (an extra field) at a model level
            owner, current = current, None
        # any other name is a union-branch tag such as "list[int]": not part of the user's field path
    return parts, owner


def _suggestion(name: str, owner: type[BaseModel], root: type[BaseModel]) -> str:
    """'did you mean' a close field name at the same level, or the dotted name of a field one level down."""
    close = difflib.get_close_matches(name, list(owner.model_fields), n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    nested = [
        f"{section}.{name}"
        for section in root.model_fields
        if (sub := _sub_model(root, section)) is not None and name in sub.model_fields
    ]
    if owner is root and nested:
        return f"did you mean '{nested[0]}'?"
    return "the fields here are " + ", ".join(owner.model_fields) + "."


def _requirement(problem: ErrorDetails) -> str:
    """What the value must be, for one error (one branch of a union)."""
    kind, context = problem["type"], problem.get("ctx", {})
    if any(isinstance(part, int) for part in problem["loc"]):
        entry = _requirement({**problem, "loc": [part for part in problem["loc"] if not isinstance(part, int)]})
        return "a list of whole numbers" if entry == "a whole number" else f"a list whose entries are {entry}"
    if kind == "literal_error":
        return f"one of {context['expected']}"
    if kind == "list_type" and any(isinstance(part, str) and part.startswith("list[int") for part in problem["loc"]):
        return "a list of whole numbers"
    bounds = {"greater_than_equal": ">=", "greater_than": ">", "less_than": "<", "less_than_equal": "<="}
    if kind in bounds:
        bound = next(iter(context.values()))
        return f"a number {bounds[kind]} {bound}"
    if kind in ("too_long", "too_short") and context.get("field_type") == "Tuple":
        return "a list [low, high]"
    return PHRASES.get(kind, problem["msg"].removeprefix("Input should be ").rstrip("."))


def describe(root: type[BaseModel], problems: Sequence[ErrorDetails]) -> list[tuple[list[str], str, object]]:
    """One plain message per field: ``(path parts, message, the rejected value)``.

    Errors from the branches of one union field (e.g. ``layers``: a name or a list) are merged into one
    "must be A or B".
    """
    grouped: dict[tuple[str, ...], list[ErrorDetails]] = {}
    owners: dict[tuple[str, ...], type[BaseModel] | None] = {}
    for problem in problems:
        parts, owner = field_path(root, problem["loc"])
        field = tuple(part for part in parts if not part.isdigit())
        grouped.setdefault(field, []).append(problem)
        owners[field] = owner
    messages = []
    for parts, group in grouped.items():
        first = group[0]
        if first["type"] == "extra_forbidden":
            owner = owners[parts] or root
            message = f"unknown field; {_suggestion(parts[-1], owner, root)}"
        elif first["type"] == "value_error":
            message = str(first.get("ctx", {}).get("error", first["msg"].removeprefix("Value error, ")))
        elif first["type"] == "missing":
            message = "is required"
        else:
            requirements = list(dict.fromkeys(_requirement(problem) for problem in group))
            message = "must be " + ", or ".join(requirements)
        messages.append((list(parts), message, first.get("input")))
    return messages
