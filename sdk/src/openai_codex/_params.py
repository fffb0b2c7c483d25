"""Python values as the wire's JSON: what a generated method does to each parameter it sends.

(Which parameters a method takes, and their camelCase wire names, are written into the generated methods
themselves: see :mod:`openai_codex.generated.api`.)
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from typing import Any

__all__ = ["to_wire_value"]


def to_wire_value(value: Any) -> Any:
    """``value`` as JSON: pydantic models by alias, enums by value, paths as strings, recursively; a pydantic
    model *class* (``output_schema=MyModel``) as its strict JSON Schema (:class:`~._structured.ModelSchema`)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, enum.Enum):
        return to_wire_value(value.value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, type) and hasattr(value, "model_json_schema"):  # a pydantic model class: its schema
        from openai_codex._structured import ModelSchema

        return ModelSchema(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(by_alias=True, exclude_none=True, mode="json")
    if isinstance(value, Mapping):
        return {str(k): to_wire_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_wire_value(v) for v in value]
    return value
