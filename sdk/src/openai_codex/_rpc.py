"""What the generated ``codex.rpc`` classes (:mod:`openai_codex.generated.rpc`) stand on.

Each generated method turns its snake_case keywords into the wire's params and calls ``_call`` with the
wire method and the name of its result model; the result is validated into that model (lazily imported,
so ``import openai_codex`` stays fast). The sync and the async client differ only in ``_call``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import cache
from typing import Any

from openai_codex._models import protocol_attr
from openai_codex._params import to_wire_value

__all__ = ["AsyncRpcBase", "RpcBase", "parse_result", "wire_params"]


def wire_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """camelCase params as JSON: ``None`` values are left out (the server's default applies)."""
    return {key: to_wire_value(value) for key, value in params.items() if value is not None}


def parse_result(result_type: str | None, result: Any) -> Any:
    """``result`` validated into the protocol model named ``result_type`` (raw JSON when ``None``)."""
    return result if result_type is None else _validator(result_type)(result)


@cache
def _validator(result_type: str) -> Callable[[Any], Any]:
    """The validating function of a protocol model, built once per model (an adapter costs ~1 ms)."""
    model = protocol_attr(result_type)
    validate: Callable[[Any], Any] | None = getattr(model, "model_validate", None)
    if validate is not None:
        return validate
    from pydantic import TypeAdapter  # a union (type alias): validated through an adapter

    return TypeAdapter(model).validate_python


class RpcBase:
    """The synchronous ``codex.rpc``: every method blocks until the app-server answers."""

    __slots__ = ("_request",)

    def __init__(self, request: Callable[[str, Any], Any]) -> None:
        self._request = request

    def _call(self, method: str, params: Any, result_type: str | None) -> Any:
        return parse_result(result_type, self._request(method, params))


class AsyncRpcBase:
    """The asyncio ``codex.rpc``: every method is a coroutine."""

    __slots__ = ("_request",)

    def __init__(self, request: Callable[[str, Any], Awaitable[Any]]) -> None:
        self._request = request

    async def _call(self, method: str, params: Any, result_type: str | None) -> Any:
        return parse_result(result_type, await self._request(method, params))
