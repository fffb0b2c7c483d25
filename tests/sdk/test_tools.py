"""Client-defined tools (experimental): the real runtime offers a Python callable to the fake model, which
calls it; the result goes back to the model."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest

from codex_release.checks.fake_responses import FakeResponsesServer, RawEvents, Text, Usage
from openai_codex import AsyncCodex, Codex, CodexConfig
from openai_codex.tools import Tool
from openai_codex.types import DynamicToolCallThreadItem

pytestmark = pytest.mark.runtime


def tool_call(name: str, arguments: dict[str, object], call_id: str = "call_1") -> RawEvents:
    """The fake model calls the function tool ``name``."""
    item = {
        "type": "function_call",
        "id": f"fc_{call_id}",
        "call_id": call_id,
        "name": name,
        "arguments": json.dumps(arguments),
        "status": "completed",
    }
    return RawEvents(
        [
            {"type": "response.created", "response": {"id": f"resp_{call_id}"}},
            {"type": "response.output_item.added", "output_index": 0, "item": item},
            {"type": "response.output_item.done", "output_index": 0, "item": item},
            {"type": "response.completed", "response": {"id": f"resp_{call_id}", "usage": Usage().to_wire()}},
        ]
    )


def _tool_output(fake_model: FakeResponsesServer) -> dict[str, object]:
    output: dict[str, object] = fake_model.model_requests[-1].body["input"][-1]
    assert output["type"] == "function_call_output"
    return output


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def test_a_python_function_as_a_tool(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    calls: list[tuple[int, int]] = []

    def add_and_record(a: int, b: int) -> int:
        """Add two integers."""
        calls.append((a, b))
        return a + b

    fake_model.enqueue(tool_call("add_and_record", {"a": 2, "b": 3}), Text("The sum is 5."))
    with Codex(replace(real_config, experimental_api=True)) as codex:
        thread = codex.thread_start(tools=[add_and_record])
        result = thread.run("What is 2 + 3?", timeout=30)
    assert calls == [(2, 3)]
    assert result.final_response == "The sum is 5."
    [item] = [i for i in result.items if isinstance(i, DynamicToolCallThreadItem)]
    assert item.tool == "add_and_record"
    assert _tool_output(fake_model)["output"] == "5"
    assert "Add two integers." in json.dumps(fake_model.model_requests[0].body)  # offered to the model


def test_a_failing_tool_is_reported_to_the_model(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    def explode() -> str:
        raise RuntimeError("the tool broke")

    fake_model.enqueue(tool_call("explode", {}), Text("It failed."))
    with Codex(replace(real_config, experimental_api=True)) as codex:
        result = codex.thread_start(tools=[Tool(explode, description="Always fails.")]).run("go", timeout=30)
    assert result.final_response == "It failed."
    assert "the tool broke" in json.dumps(_tool_output(fake_model))


async def test_an_async_tool(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    async def lookup(key: str) -> dict[str, str]:
        """Look a key up."""
        await asyncio.sleep(0.01)
        return {"key": key, "value": "42"}

    fake_model.enqueue(tool_call("lookup", {"key": "answer"}), tool_call("add", {"a": 1, "b": 1}, "c2"), Text("ok"))
    async with AsyncCodex(replace(real_config, experimental_api=True)) as codex:
        thread = await codex.thread_start(tools=[lookup, add])
        result = await thread.run("go", timeout=30)
    assert result.final_response == "ok"
    outputs = [
        item
        for request in fake_model.model_requests
        for item in request.body["input"]
        if item.get("type") == "function_call_output"
    ]
    assert json.loads(outputs[0]["output"]) == {"key": "answer", "value": "42"}
    assert outputs[-1]["output"] == "2"


def test_tools_need_the_explicit_opt_in(real_config: CodexConfig) -> None:
    with Codex(real_config) as codex, pytest.raises(ValueError, match="experimental_api=True"):
        codex.thread_start(tools=[add])


def test_a_tool_spec_from_a_signature() -> None:
    spec = Tool(add).spec()
    assert spec["name"] == "add"
    assert spec["description"] == "Add two integers."
    assert spec["inputSchema"]["required"] == ["a", "b"]
    assert spec["inputSchema"]["properties"]["a"]["type"] == "integer"
