"""Base class for every scenario section: frozen, unknown keys rejected, every value in its domain.

Three rules hold for every field of every section, so a section added later inherits them:

* unknown keys are an error (typos fail loudly);
* NaN and infinities are refused in every float, also inside lists and mappings; a field
  where "no limit" makes sense spells it ``null`` (or ``none`` / ``unlimited``), never ``inf``;
* booleans are not numbers and numbers are not booleans: ``replicas: true`` and
  ``enabled: 1`` are refused instead of being read as 1 and True.
"""
from __future__ import annotations

import types
import typing
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator

# spelled forms of "no limit" accepted by optional numeric fields (``queue_limit: unlimited``)
NO_LIMIT_WORDS = ("none", "null", "unlimited", "no limit")


def _members(annotation: Any) -> tuple[Any, ...]:
    """The alternatives of a union (``int | None`` -> (int, NoneType)), else the type itself."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def type_problem(annotation: Any, value: Any) -> str | None:
    """Why ``value`` does not fit ``annotation`` under the bool/number rule (None when it fits).

    Only the rule pydantic's lax mode does not enforce is checked here; everything else
    (ranges, strings, literals) is left to pydantic.
    """
    members = _members(annotation)
    if value is None:
        return None
    fits = [_leaf_problem(m, value) for m in members if m is not type(None)]
    return None if not fits or any(p is None for p in fits) else fits[0]


def _leaf_problem(annotation: Any, value: Any) -> str | None:
    origin = typing.get_origin(annotation)
    if annotation is bool:
        return None if isinstance(value, bool) else "must be true or false"
    if annotation in (int, float):
        if isinstance(value, bool):
            return "must be a number, not true/false"
        return None
    if origin is tuple and isinstance(value, (list, tuple)):
        args = typing.get_args(annotation)
        item_types = [args[0]] * len(value) if len(args) == 2 and args[1] is Ellipsis else list(args)
        for i, (item_type, item) in enumerate(zip(item_types, value)):
            problem = type_problem(item_type, item)
            if problem:
                return f"item {i + 1}: {problem}"
        return None
    if origin is dict and isinstance(value, dict):
        value_type = typing.get_args(annotation)[1]
        for key, item in value.items():
            problem = type_problem(value_type, item)
            if problem:
                return f"entry {str(key)[:40]!r}: {problem}"
        return None
    if origin is Literal or (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return None
    return None


class Section(BaseModel):
    """A frozen pydantic model that rejects unknown keys, NaN/inf and booleans posing as numbers."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _booleans_are_not_numbers(cls, value: Any, info) -> Any:
        annotation = cls.model_fields[info.field_name].annotation
        optional = type(None) in _members(annotation)
        if optional and isinstance(value, str) and value.strip().lower() in NO_LIMIT_WORDS \
                and str not in _members(annotation):
            return None
        problem = type_problem(annotation, value)
        if problem:
            raise ValueError(problem)
        return value
