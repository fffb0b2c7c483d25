"""``openai_codex.presets``: ``Sandbox`` and ``ApprovalMode`` are the pinned schema's wire strings, typed into
every signature that takes them, and sent as their values (real runtime, sync and async)."""

from __future__ import annotations

import enum
import inspect
import json
import typing
from pathlib import Path
from typing import Any

import pytest

from codex_release.checks.fake_responses import FakeResponsesServer, Text
from openai_codex import ApprovalMode, AsyncCodex, Codex, CodexConfig, Sandbox
from openai_codex.generated import protocol
from openai_codex.generated.api import AsyncCodexRequests, AsyncThreadRequests, CodexRequests, ThreadRequests
from openai_codex.generated.rpc import Rpc

REPO = Path(__file__).resolve().parents[2]


def _wire_strings(alias: Any) -> list[str]:
    """The string enum values a protocol type (an enum, or an alias of a union holding one) accepts."""
    if isinstance(alias, type) and issubclass(alias, enum.Enum):
        return [member.value for member in alias]
    found: list[str] = []
    for arm in typing.get_args(getattr(alias, "__value__", alias)):
        found += _wire_strings(arm)
    return found


def test_presets_are_the_schemas_wire_strings() -> None:
    """Drift: a runtime bump that adds, renames or drops a value fails here."""
    assert [m.value for m in Sandbox] == _wire_strings(protocol.SandboxMode)
    assert [m.value for m in ApprovalMode] == _wire_strings(protocol.AskForApproval)
    assert Sandbox.READ_ONLY == "read-only"
    assert str(ApprovalMode.ON_REQUEST) == "on-request"
    assert f"{Sandbox.WORKSPACE_WRITE}" == "workspace-write"
    assert protocol.SandboxMode(Sandbox.DANGER_FULL_ACCESS) is protocol.SandboxMode.danger_full_access


@pytest.mark.parametrize(
    ("method", "parameter", "preset"),
    [
        (CodexRequests.thread_start, "sandbox", "Sandbox"),
        (CodexRequests.thread_start, "approval_policy", "ApprovalMode"),
        (AsyncCodexRequests.thread_resume, "sandbox", "Sandbox"),
        (CodexRequests.thread_fork, "approval_policy", "ApprovalMode"),
        (ThreadRequests.run, "approval_policy", "ApprovalMode"),
        (AsyncThreadRequests.turn, "approval_policy", "ApprovalMode"),
        (Rpc.thread_start, "sandbox", "Sandbox"),
    ],
)
def test_signatures_accept_the_presets(method: Any, parameter: str, preset: str) -> None:
    annotation = inspect.signature(method).parameters[parameter].annotation
    assert str(annotation).startswith(f"{preset} | _m."), annotation


def test_default_answer_still_declines() -> None:
    assert CodexConfig().approval_handler == "decline"


def test_mypy_accepts_presets(tmp_path: Path) -> None:
    from mypy import api

    snippet = tmp_path / "uses_presets.py"
    snippet.write_text(
        "from openai_codex import ApprovalMode, Codex, Sandbox\n\n\n"
        "def start(codex: Codex) -> None:\n"
        "    thread = codex.thread_start(sandbox=Sandbox.READ_ONLY, approval_policy=ApprovalMode.NEVER)\n"
        '    thread.run("hi", approval_policy=ApprovalMode.ON_REQUEST)\n'
        '    codex.thread_start(sandbox="workspace-write", approval_policy="untrusted")\n',
        encoding="utf-8",
    )
    stdout, stderr, status = api.run(["--strict", "--no-incremental", "--follow-imports=silent", str(snippet)])
    assert status == 0, stdout + stderr


def _sent(lines: list[bytes], method: str) -> dict[str, Any]:
    for line in lines:
        message = json.loads(line)
        if message.get("method") == method:
            return message["params"]  # type: ignore[no-any-return]
    raise AssertionError(f"no {method} was sent")


@pytest.mark.runtime
def test_presets_on_the_wire(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    fake_model.enqueue(Text("Sandboxed."))
    with Codex(real_config) as codex:
        written: list[bytes] = []
        write = codex._transport._write
        codex._transport._write = lambda data: (written.append(data), write(data))[1]  # type: ignore[method-assign]
        thread = codex.thread_start(sandbox=Sandbox.READ_ONLY, approval_policy=ApprovalMode.NEVER)
        result = thread.run("Hello.", approval_policy=ApprovalMode.UNTRUSTED)
    assert result.final_response == "Sandboxed."
    started = _sent(written, "thread/start")
    assert (started["sandbox"], started["approvalPolicy"]) == ("read-only", "never")
    assert _sent(written, "turn/start")["approvalPolicy"] == "untrusted"


@pytest.mark.runtime
async def test_presets_on_the_wire_async(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    fake_model.enqueue(Text("Sandboxed."))
    async with AsyncCodex(real_config) as codex:
        written: list[bytes] = []
        transport = codex._transport
        write = transport._write

        async def recording(data: bytes) -> None:
            written.append(data)
            await write(data)

        transport._write = recording  # type: ignore[method-assign]
        thread = await codex.thread_start(sandbox=Sandbox.WORKSPACE_WRITE, approval_policy=ApprovalMode.ON_REQUEST)
        result = await thread.run("Hello.", approval_policy=ApprovalMode.NEVER)
    assert result.final_response == "Sandboxed."
    started = _sent(written, "thread/start")
    assert (started["sandbox"], started["approvalPolicy"]) == ("workspace-write", "on-request")
    assert _sent(written, "turn/start")["approvalPolicy"] == "never"
