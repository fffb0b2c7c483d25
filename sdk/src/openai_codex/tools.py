"""Client-defined tools (experimental): Python callables the model can call during a thread's turns.

The runtime's experimental API lets a client offer its own tools when it starts a thread (``dynamicTools``
on ``thread/start``); when the model calls one, the runtime asks the client (``item/tool/call``) and
sends the answer back to the model. Opt in with ``CodexConfig(experimental_api=True)``::

    def add(a: int, b: int) -> int:
        "Add two integers."
        return a + b

    with Codex(CodexConfig(experimental_api=True)) as codex:
        thread = codex.thread_start(tools=[add])
        print(thread.run("What is 2 + 3? Use the add tool.").final_response)

A tool's name is the function's name, its description the docstring, its input schema derived from the
annotated parameters (or give them with :class:`Tool`). The return value is sent as text (``str`` as is,
anything else as JSON); an exception is reported to the model as a failed call. With ``AsyncCodex`` a
tool may be a coroutine function; a plain function then runs in a worker thread.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Tool"]

_log = logging.getLogger("openai_codex")


@dataclass(frozen=True)
class Tool:
    """A callable offered to the model, with its name, description and JSON Schema of its arguments."""

    function: Callable[..., Any]
    name: str = ""
    description: str = ""
    input_schema: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not callable(self.function):
            raise TypeError(f"a tool must be callable, not {self.function!r}")
        if not self.name:
            object.__setattr__(self, "name", getattr(self.function, "__name__", "tool"))
        if not self.description:
            object.__setattr__(self, "description", inspect.getdoc(self.function) or f"The {self.name} tool.")
        if not self.input_schema:
            object.__setattr__(self, "input_schema", _schema_of(self.function))

    def spec(self) -> dict[str, Any]:
        """The ``DynamicToolSpec`` sent in ``thread/start``."""
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "inputSchema": dict(self.input_schema),
        }


def _schema_of(function: Callable[..., Any]) -> dict[str, Any]:
    """A JSON Schema of ``function``'s parameters (through a pydantic model of its signature)."""
    from pydantic import create_model

    fields: dict[str, Any] = {}
    for name, parameter in inspect.signature(function, eval_str=True).parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        annotation = Any if parameter.annotation is parameter.empty else parameter.annotation
        default = ... if parameter.default is parameter.empty else parameter.default
        fields[name] = (annotation, default)
    model = create_model(f"{getattr(function, '__name__', 'tool')}_arguments", **fields)
    schema: dict[str, Any] = model.model_json_schema()
    schema.pop("title", None)
    return schema


def as_tools(tools: Iterable[Tool | Callable[..., Any]]) -> dict[str, Tool]:
    """``{name: Tool}`` for ``thread_start(tools=...)`` (names must be unique)."""
    by_name: dict[str, Tool] = {}
    for item in tools:
        tool = item if isinstance(item, Tool) else Tool(item)
        if tool.name in by_name:
            raise ValueError(f"two tools are named {tool.name!r}: give one Tool(..., name=...)")
        by_name[tool.name] = tool
    return by_name


def require_experimental(experimental_api: bool) -> None:
    if not experimental_api:
        raise ValueError(
            "client-defined tools use the runtime's experimental API: opt in with CodexConfig(experimental_api=True)"
        )


def find(registry: Mapping[str, Mapping[str, Tool]], params: Mapping[str, Any]) -> Tool | None:
    """The tool an ``item/tool/call`` asks for, if this client registered it for that thread."""
    thread_tools = registry.get(str(params.get("threadId")))
    return thread_tools.get(str(params.get("tool"))) if thread_tools else None


def call_arguments(params: Mapping[str, Any]) -> dict[str, Any]:
    arguments = params.get("arguments")
    return dict(arguments) if isinstance(arguments, Mapping) else {}


def run(tool: Tool, params: Mapping[str, Any]) -> dict[str, Any]:
    """Call ``tool`` for an ``item/tool/call``: the ``DynamicToolCallResponse`` (a failure if it raised)."""
    try:
        return success(tool.function(**call_arguments(params)))
    except Exception as exc:
        return failure(tool, exc)


async def run_async(tool: Tool, params: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`run` for the asyncio client: a coroutine function is awaited, a plain one runs in a thread."""
    import asyncio

    if not inspect.iscoroutinefunction(tool.function):
        return await asyncio.to_thread(run, tool, params)
    try:
        value = await tool.function(**call_arguments(params))
    except Exception as exc:
        return failure(tool, exc)
    return success(value)


def success(value: Any) -> dict[str, Any]:
    """The ``DynamicToolCallResponse`` of a tool that returned ``value``."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return {"contentItems": [{"type": "inputText", "text": text}], "success": True}


def failure(tool: Tool, error: BaseException) -> dict[str, Any]:
    _log.warning("tool %s failed: %s", tool.name, error)
    return {"contentItems": [{"type": "inputText", "text": f"{type(error).__name__}: {error}"}], "success": False}
