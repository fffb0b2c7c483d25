"""MCP tool hooks (``Hooks(before_mcp_tool=..., after_mcp_tool=...)``) on the real runtime with the fake model
scripted to call the tools of a small stdio MCP server (tests/sdk/fake_mcp_server.py): a ``before_mcp_tool``
hook denies with a reason the model reads, or allows, and ``after_mcp_tool`` sees the finished tool call.
Sync and async.

What the pinned runtime does (measured on 0.171.0): an MCP tool is a namespaced function, ``namespace``
``mcp__<server>`` and ``name`` the tool's (a flat ``mcp__<server>__<tool>`` name is an "unsupported call").
Before a tool that is not annotated ``readOnlyHint: true`` it asks the client with
``mcpServer/elicitation/request`` whose ``_meta.codex_approval_kind`` is ``"mcp_tool_call"``, under
``approval_policy`` ``"untrusted"`` and ``"on-request"`` alike (under ``"never"`` the call fails unasked); a
read-only tool is not asked about. The call is an ``mcpToolCall`` item (``item/started`` before the
question, ``item/completed`` with ``status`` ``completed`` and the ``result``, or ``failed`` and an ``error``).
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import pytest

from codex_release.checks.fake_responses import FakeResponsesServer, Text, ToolCall
from openai_codex import Allow, ApprovalRequest, AsyncCodex, Codex, CodexConfig, Deny, Hooks
from openai_codex.types import ItemCompletedNotification, McpToolCallThreadItem

pytestmark = pytest.mark.runtime

MCP_SERVER = Path(__file__).with_name("fake_mcp_server.py")
SERVER_NAME = "probe"
REJECTED = "user rejected MCP tool call"  # the runtime's tool output when the client declines


def _with_mcp_server(config: CodexConfig) -> CodexConfig:
    """``config`` with the fake MCP server configured as ``probe`` (run by this Python)."""
    overrides = [
        f"mcp_servers.{SERVER_NAME}.command={json.dumps(sys.executable)}",
        f"mcp_servers.{SERVER_NAME}.args=[{json.dumps(str(MCP_SERVER))}]",
    ]
    return replace(config, config_overrides=[*config.config_overrides, *overrides])


def _mcp_call(tool: str, **arguments: str) -> ToolCall:
    """The model's reply calling ``tool`` of the ``probe`` server (a ``function_call`` in its namespace)."""
    return ToolCall(tool, dict(arguments), namespace=f"mcp__{SERVER_NAME}")


def _follow_up(fake_model: FakeResponsesServer) -> str:
    """What the model was sent after the last tool call: its output and anything added to the turn."""
    request_input = fake_model.model_requests[-1].body["input"]
    start = max(i for i, item in enumerate(request_input) if item["type"] == "function_call_output")
    return json.dumps(request_input[start:])


def _text(result_content: list[Any]) -> str:
    return "".join(block["text"] for block in result_content if block.get("type") == "text")


@pytest.mark.parametrize("approval_policy", ["untrusted", "on-request"])
def test_before_mcp_tool_denies_with_a_reason(
    real_config: CodexConfig,
    fake_model: FakeResponsesServer,
    workdir: Path,
    approval_policy: Literal["untrusted", "on-request"],
) -> None:
    seen: list[ApprovalRequest] = []
    commands: list[ApprovalRequest] = []

    def guard(request: ApprovalRequest) -> Deny:
        seen.append(request)
        return Deny("marker files are not allowed in this repository")

    marker = workdir / "marker.txt"
    fake_model.enqueue(_mcp_call("write_marker", path=str(marker), text="x"), Text("Understood."))
    config = replace(_with_mcp_server(real_config), approval_handler="accept")
    hooks = Hooks(before_mcp_tool=guard, before_command=commands.append)
    with Codex(config, hooks=hooks) as codex:
        thread = codex.thread_start(approval_policy=approval_policy)
        result = thread.run("Write the marker.")
    assert result.final_response == "Understood."
    assert not marker.exists()  # the hook's word wins over the approval handler's
    assert commands == []
    [request] = seen
    assert request.method == "mcpServer/elicitation/request"
    assert request.thread_id == thread.id
    assert request.turn_id is not None
    assert request.params["serverName"] == SERVER_NAME
    assert request.params["_meta"]["tool_name"] == "write_marker"
    assert request.params["_meta"]["tool_params"] == {"path": str(marker), "text": "x"}

    follow_up = _follow_up(fake_model)
    assert REJECTED in follow_up
    assert "marker files are not allowed in this repository" in follow_up  # the model reads the reason


def test_before_mcp_tool_allows_and_after_mcp_tool_sees_the_result(
    real_config: CodexConfig, fake_model: FakeResponsesServer, workdir: Path
) -> None:
    seen: list[ApprovalRequest] = []
    finished: list[ItemCompletedNotification] = []
    after_command: list[ItemCompletedNotification] = []
    done = threading.Event()

    def allow(request: ApprovalRequest) -> Allow:
        seen.append(request)
        return Allow()

    def after(event: ItemCompletedNotification) -> None:
        finished.append(event)
        done.set()

    marker = workdir / "marker.txt"
    fake_model.enqueue(_mcp_call("write_marker", path=str(marker), text="hooked"), Text("Done."))
    hooks = Hooks(before_mcp_tool=allow, after_mcp_tool=after, after_command=after_command.append)
    with Codex(_with_mcp_server(real_config), hooks=hooks) as codex:  # the approval handler alone would decline
        thread = codex.thread_start(approval_policy="untrusted")
        result = thread.run("Write the marker.")
        assert done.wait(10)
    assert result.final_response == "Done."
    assert marker.read_text(encoding="utf-8") == "hooked"
    assert len(seen) == 1
    assert f"wrote {marker}" in _follow_up(fake_model)

    [event] = finished
    assert isinstance(event, ItemCompletedNotification)
    assert event.thread_id == thread.id
    assert event.turn_id == seen[0].turn_id
    item = event.item
    assert isinstance(item, McpToolCallThreadItem)
    assert (item.server, item.tool, item.status.value) == (SERVER_NAME, "write_marker", "completed")
    assert item.arguments == {"path": str(marker), "text": "hooked"}
    assert item.error is None
    assert item.result is not None
    assert _text(item.result.content) == f"wrote {marker}"
    assert after_command == []


async def test_async_mcp_hooks_allow_one_call_and_deny_another(
    real_config: CodexConfig, fake_model: FakeResponsesServer, workdir: Path
) -> None:
    asked: list[str] = []
    finished: list[McpToolCallThreadItem] = []
    all_done = asyncio.Event()

    async def guard(request: ApprovalRequest) -> Deny | Allow:
        path = str(request.params["_meta"]["tool_params"]["path"])
        asked.append(Path(path).name)
        return Deny("not that file") if path.endswith("forbidden.txt") else Allow()

    async def after(event: ItemCompletedNotification) -> None:
        assert isinstance(event.item, McpToolCallThreadItem)
        finished.append(event.item)
        if len(finished) == 3:
            all_done.set()

    allowed, forbidden = workdir / "allowed.txt", workdir / "forbidden.txt"
    fake_model.enqueue(
        _mcp_call("write_marker", path=str(allowed), text="yes"),
        _mcp_call("write_marker", path=str(forbidden), text="no"),
        _mcp_call("read_marker", path=str(allowed)),  # read-only: not asked about
        Text("Done."),
    )
    async with AsyncCodex(
        _with_mcp_server(real_config), hooks=Hooks(before_mcp_tool=guard, after_mcp_tool=after)
    ) as codex:
        thread = await codex.thread_start(approval_policy="untrusted")
        result = await thread.run("Write both files, then read the first.")
        await asyncio.wait_for(all_done.wait(), 10)
    assert result.final_response == "Done."
    assert allowed.read_text(encoding="utf-8") == "yes"
    assert not forbidden.exists()
    assert asked == ["allowed.txt", "forbidden.txt"]

    requests = fake_model.model_requests
    assert "not that file" in json.dumps(requests[2].body["input"])  # the follow-up of the denied call
    assert "not that file" not in json.dumps(requests[1].body["input"])

    wrote, refused, read = finished
    assert (wrote.tool, wrote.status.value) == ("write_marker", "completed")
    assert (refused.tool, refused.status.value) == ("write_marker", "failed")
    assert refused.result is None
    assert refused.error is not None
    assert refused.error.message == REJECTED
    assert (read.tool, read.status.value, read.read_only_hint) == ("read_marker", "completed", True)
    assert read.result is not None
    assert _text(read.result.content) == "yes"


def test_accept_for_session_is_not_asked_again_for_the_tool(
    real_config: CodexConfig, fake_model: FakeResponsesServer, workdir: Path
) -> None:
    asked: list[ApprovalRequest] = []

    def handler(request: ApprovalRequest) -> str:
        asked.append(request)
        return "accept_for_session"

    first, second = workdir / "first.txt", workdir / "second.txt"
    fake_model.enqueue(
        _mcp_call("write_marker", path=str(first), text="1"),
        _mcp_call("write_marker", path=str(second), text="2"),
        Text("Done."),
    )
    with Codex(replace(_with_mcp_server(real_config), approval_handler=handler)) as codex:
        codex.thread_start(approval_policy="untrusted").run("Write both markers.")
    assert first.exists()
    assert second.exists()
    assert [request.method for request in asked] == ["mcpServer/elicitation/request"]  # once for the session
