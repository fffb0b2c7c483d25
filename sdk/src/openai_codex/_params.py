"""Public snake_case keyword arguments -> the wire's camelCase params.

The accepted keywords of each method are the fields of its generated ``*Params`` model (so they follow
the pinned runtime's protocol); an unknown keyword is a ``TypeError`` raised before anything is sent.
"""

from __future__ import annotations

import difflib
import enum
import os
from collections.abc import Mapping
from typing import Any

from openai_codex._models import params_fields

__all__ = ["to_wire_params", "to_wire_value"]


def to_wire_value(value: Any) -> Any:
    """``value`` as JSON: pydantic models by alias, enums by value, paths as strings, recursively."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, enum.Enum):
        return to_wire_value(value.value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(by_alias=True, exclude_none=True, mode="json")
    if isinstance(value, Mapping):
        return {str(k): to_wire_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_wire_value(v) for v in value]
    return value


def to_wire_params(
    function: str,
    params_model: str,
    kwargs: Mapping[str, Any],
    *,
    fixed: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The wire params for ``function(**kwargs)``; ``fixed`` are camelCase params the SDK sets itself.

    Keyword arguments whose value is ``None`` are left out (the server's default applies).
    """
    aliases = params_fields(params_model)
    fixed = dict(fixed or {})
    reserved = {name for name, alias in aliases.items() if alias in fixed}
    allowed = {name: alias for name, alias in aliases.items() if name not in reserved}
    wire: dict[str, Any] = {}
    for name, value in kwargs.items():
        alias = allowed.get(name)
        if alias is None:
            raise TypeError(_unknown_keyword(function, name, allowed, reserved))
        if value is not None:
            wire[alias] = to_wire_value(value)
    wire.update(fixed)
    return wire


def _unknown_keyword(function: str, name: str, allowed: Mapping[str, str], reserved: set[str]) -> str:
    message = f"{function}() got an unexpected keyword argument {name!r}"
    if name in reserved:
        return f"{message}: the SDK sets it itself"
    by_alias = {alias: snake for snake, alias in allowed.items()}
    if name in by_alias:
        return f"{message}: keyword arguments are snake_case, use {by_alias[name]!r}"
    close = difflib.get_close_matches(name, list(allowed), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{message}{hint} (accepted: {', '.join(sorted(allowed))})"
