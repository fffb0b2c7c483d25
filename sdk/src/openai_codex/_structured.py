"""Structured output: a pydantic model class as ``output_schema``, and the final message parsed back.

The runtime passes ``outputSchema`` to the Responses API as a *strict* JSON Schema response format, whose
rules a pydantic schema does not follow by itself: every object must say ``"additionalProperties": false``
and list all its properties as ``required`` (an optional field is one whose type admits ``null``), and
``"default": null`` is not allowed. :func:`strict_schema` rewrites ``model_json_schema()`` so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from openai_codex.errors import OutputParseError

__all__ = ["ModelSchema", "output_type_of", "parse_output", "strict_schema"]

_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
_SCHEMA_LISTS = ("anyOf", "allOf", "oneOf", "prefixItems")
_SCHEMA_VALUES = ("items", "not", "additionalProperties", "contains")


def strict_schema(model: Any) -> dict[str, Any]:
    """``model.model_json_schema()`` made strict: closed objects with every property required."""
    return _strict(model.model_json_schema())  # type: ignore[no-any-return]


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SCHEMA_MAPS and isinstance(value, Mapping):
            out[key] = {name: _strict(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS or key in _SCHEMA_VALUES:
            out[key] = _strict(value)
        else:
            out[key] = value
    if out.get("type") == "object" or "properties" in out:
        out["required"] = list(out.get("properties", {}))
        out.setdefault("additionalProperties", False)
    if "default" in out and out["default"] is None:
        del out["default"]
    return out


class ModelSchema(dict[str, Any]):
    """The strict JSON Schema of a pydantic model class (sent as it is: a ``dict``), which remembers the class
    so that the turn's :attr:`~openai_codex.TurnResult.parsed` can validate into it."""

    def __init__(self, model: Any) -> None:
        super().__init__(strict_schema(model))
        self.model = model


def output_type_of(output_schema: Any) -> Any:
    """What :func:`parse_output` needs to know of a turn's (wire) ``outputSchema``: the model class, ``dict``
    for a plain JSON Schema, ``None`` without one."""
    if isinstance(output_schema, ModelSchema):
        return output_schema.model
    return None if output_schema is None else dict


def parse_output(text: str | None, output_type: Any) -> Any:
    """``text`` (a turn's final message) validated into ``output_type``'s model, or parsed as JSON."""
    if text is None:
        raise OutputParseError("the turn produced no final message to parse", raw_text=None)
    if output_type is not None and output_type is not dict:
        from pydantic import ValidationError

        try:
            return output_type.model_validate_json(text)
        except ValidationError as exc:
            raise OutputParseError(
                f"the final message does not validate as {output_type.__name__}: {exc}",
                raw_text=text,
                errors=exc.errors(include_url=False),
            ) from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        raise OutputParseError(f"the final message is not JSON: {exc}", raw_text=text) from exc
