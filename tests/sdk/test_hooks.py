"""Tool hooks (``Codex(hooks=Hooks(...))``) on the real runtime with the fake model scripted to run a command or
apply a patch: a ``before_*`` hook allows, denies with a reason the model reads, or leaves it to the approval
handler; a raising hook denies and is reported; ``after_*`` sees the result; a file change's hook sees the
paths and diffs. Sync and async. (MCP tool hooks: test_mcp_hooks.py.)"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from codex_release.checks.fake_responses import FakeResponsesServer, ShellCall, Text
from openai_codex import Allow, ApprovalRequest, AsyncCodex, Codex, CodexConfig, Deny, Hooks
from openai_codex.hooks import HOOK_FAILED, judge
from openai_codex.types import (
    CommandExecutionThreadItem,
    FileChangeThreadItem,
    ItemCompletedNotification,
)

pytestmark = pytest.mark.runtime


def _follow_up(fake_model: FakeResponsesServer) -> str:
    """What the model was sent after the command: its output and anything added to the turn."""
    request_input = fake_model.model_requests[-1].body["input"]
    start = max(i for i, item in enumerate(request_input) if item["type"] == "function_call_output")
    return json.dumps(request_input[start:])


def _patch(workdir: Path, name: str, text: str) -> ShellCall:
    """The model adds ``name`` with ``text`` through ``apply_patch`` (codex turns it into a file change item
    and, under ``approval_policy="untrusted"``, asks ``item/fileChange/requestApproval`` first)."""
    patch = f"*** Begin Patch\n*** Add File: {name}\n+{text}\n*** End Patch\n"
    return ShellCall(f"apply_patch <<'EOF'\n{patch}EOF\n", workdir=str(workdir))


def test_before_command_denies_with_a_reason(
    real_config: CodexConfig, fake_model: FakeResponsesServer, workdir: Path
) -> None:
    seen: list[ApprovalRequest] = []

    def guard(request: ApprovalRequest) -> Deny:
        seen.append(request)
        return Deny("writing markers is not allowed in this repository")

    fake_model.enqueue(ShellCall("echo ok > marker.txt", workdir=str(workdir)), Text("Understood."))
    with Codex(replace(real_config, approval_handler="accept"), hooks=Hooks(before_command=guard)) as codex:
        thread = codex.thread_start(approval_policy="untrusted")
        result = thread.run("Create the marker.")
    assert result.final_response == "Understood."
    assert not (workdir / "marker.txt").exists()  # the hook's word wins over the approval handler's
    [request] = seen
    assert "echo ok > marker.txt" in (request.command or "")  # as the runtime runs it: /bin/bash -c '...'

    assert request.thread_id == thread.id
    follow_up = _follow_up(fake_model)
    assert "rejected by user" in follow_up
    assert "writing markers is not allowed in this repository" in follow_up  # the model reads the reason


def test_before_command_allows_and_after_command_sees_the_result(
    real_config: CodexConfig, fake_model: FakeResponsesServer, workdir: Path
) -> None:
    finished: list[ItemCompletedNotification] = []
    done = threading.Event()

    def after(event: ItemCompletedNotification) -> None:
        finished.append(event)
        done.set()

    fake_model.enqueue(ShellCall("echo hooked-output && echo ok > marker.txt", workdir=str(workdir)), Text("Done."))
    hooks = Hooks(before_command=lambda request: Allow(), after_command=after)
    with Codex(real_config, hooks=hooks) as codex:  # the approval handler alone would decline
        thread = codex.thread_start(approval_policy="untrusted", sandbox="workspace-write")
        thread.run("Create the marker.")
        assert done.wait(10)
    assert (workdir / "marker.txt").exists()
    [event] = finished
    assert isinstance(event, ItemCompletedNotification)
    assert event.thread_id == thread.id
    assert isinstance(event.item, CommandExecutionThreadItem)
    assert event.item.exit_code == 0
    assert "hooked-output" in (event.item.aggregated_output or "")


def test_none_leaves_it_to_the_approval_handler_and_an_async_hook_runs_on_a_private_loop(
    real_config: CodexConfig, fake_model: FakeResponsesServer, workdir: Path
) -> None:
    asked: list[str] = []

    async def undecided(request: ApprovalRequest) -> None:
        asked.append(request.command or "")

    fake_model.enqueue(ShellCall("echo ok > marker.txt", workdir=str(workdir)), Text("Done."))
    config = replace(real_config, approval_handler="accept")
    with Codex(config, hooks=Hooks(before_command=undecided)) as codex:
        codex.thread_start(approval_policy="untrusted", sandbox="workspace-write").run("Create the marker.")
    assert len(asked) == 1
    assert "echo ok > marker.txt" in asked[0]
    assert (workdir / "marker.txt").exists()  # the approval handler accepted


def test_a_raising_hook_denies_and_is_reported(
    real_config: CodexConfig, fake_model: FakeResponsesServer, workdir: Path
) -> None:
    def broken(request: ApprovalRequest) -> None:
        raise RuntimeError("the policy service is down")

    fake_model.enqueue(ShellCall("echo ok > marker.txt", workdir=str(workdir)), Text("Done."), Text("Still here."))
    config = replace(real_config, approval_handler="accept")
    with Codex(config, hooks=Hooks(before_command=broken)) as codex:
        events = codex.events()
        thread = codex.thread_start(approval_policy="untrusted", sandbox="workspace-write")
        assert thread.run("Create the marker.").final_response == "Done."
        report = next(n for n in events if n.method == HOOK_FAILED)
        assert thread.run("Are you there?").final_response == "Still here."  # the client lives on
    assert not (workdir / "marker.txt").exists()
    assert report.params["hook"] == "before_command"
    assert "the policy service is down" in report.params["error"]
    assert report.thread_id == thread.id
    assert report.turn_id is not None
    assert "hook failed" in _follow_up(fake_model).replace("Still here.", "")


async def test_async_hooks(real_config: CodexConfig, fake_model: FakeResponsesServer, workdir: Path) -> None:
    outputs: list[str] = []

    async def guard(request: ApprovalRequest) -> Deny | str:
        return Deny("no forbidden files") if "forbidden" in (request.command or "") else "allow"

    async def after(event: ItemCompletedNotification) -> None:
        assert isinstance(event.item, CommandExecutionThreadItem)
        outputs.append(event.item.status.value)

    fake_model.enqueue(
        ShellCall("echo ok > allowed.txt", workdir=str(workdir)),
        ShellCall("echo ok > forbidden.txt", workdir=str(workdir)),
        Text("Done."),
    )
    async with AsyncCodex(real_config, hooks=Hooks(before_command=guard, after_command=after)) as codex:
        thread = await codex.thread_start(approval_policy="untrusted", sandbox="workspace-write")
        result = await thread.run("Create both files.")
    assert result.final_response == "Done."
    assert (workdir / "allowed.txt").exists()
    assert not (workdir / "forbidden.txt").exists()
    assert "no forbidden files" in _follow_up(fake_model)
    assert outputs[0] == "completed"
    assert len(outputs) == 2


async def test_a_raising_async_hook_is_reported(
    real_config: CodexConfig, fake_model: FakeResponsesServer, workdir: Path
) -> None:
    def broken(event: ItemCompletedNotification) -> None:
        raise ValueError("after hook bug")

    fake_model.enqueue(ShellCall("echo ok > marker.txt", workdir=str(workdir)), Text("Done."))
    config = replace(real_config, approval_handler="accept")
    async with AsyncCodex(config, hooks=Hooks(after_command=broken)) as codex:
        events = codex.events()
        thread = await codex.thread_start(approval_policy="untrusted", sandbox="workspace-write")
        await thread.run("Create the marker.")
        report = None
        while report is None or report.method != HOOK_FAILED:
            report = await events.get(timeout=10)
    assert (workdir / "marker.txt").exists()  # an after hook cannot undo; its failure is only reported
    assert report.params["hook"] == "after_command"
    assert "after hook bug" in report.params["error"]


def test_before_file_change_sees_the_diff_and_denies_with_a_reason(
    real_config: CodexConfig, fake_model: FakeResponsesServer, workdir: Path
) -> None:
    seen: list[ApprovalRequest] = []

    def guard(request: ApprovalRequest) -> Deny | None:
        seen.append(request)
        item = request.item
        if isinstance(item, FileChangeThreadItem) and any(c.path.endswith(".env") for c in item.changes):
            return Deny("secrets files are off limits")
        return None

    fake_model.enqueue(_patch(workdir, ".env", "TOKEN=1"), Text("Understood."))
    config = replace(real_config, approval_handler="accept")
    with Codex(config, hooks=Hooks(before_file_change=guard)) as codex:
        thread = codex.thread_start(approval_policy="untrusted", sandbox="workspace-write")
        assert thread.run("Write the token.").final_response == "Understood."
    assert not (workdir / ".env").exists()
    [request] = seen
    assert request.method == "item/fileChange/requestApproval"
    assert request.thread_id == thread.id
    assert isinstance(request.item, FileChangeThreadItem)
    [change] = request.item.changes
    assert Path(change.path) == workdir / ".env"
    assert "TOKEN=1" in change.diff
    assert "secrets files are off limits" in _follow_up(fake_model)


def test_before_file_change_allows_and_after_file_change_sees_the_item(
    real_config: CodexConfig, fake_model: FakeResponsesServer, workdir: Path
) -> None:
    finished: list[ItemCompletedNotification] = []
    done = threading.Event()

    def after(event: ItemCompletedNotification) -> None:
        finished.append(event)
        done.set()

    fake_model.enqueue(_patch(workdir, "notes.txt", "hello"), Text("Done."))
    hooks = Hooks(before_file_change=lambda request: "allow", after_file_change=after)
    with Codex(real_config, hooks=hooks) as codex:  # the approval handler alone would decline
        thread = codex.thread_start(approval_policy="untrusted", sandbox="workspace-write")
        thread.run("Write the notes.")
        assert done.wait(10)
    assert (workdir / "notes.txt").read_text() == "hello\n"
    [event] = finished
    assert isinstance(event.item, FileChangeThreadItem)
    assert event.item.status.value == "completed"
    assert [Path(c.path).name for c in event.item.changes] == ["notes.txt"]


async def test_async_file_change_hooks(
    real_config: CodexConfig, fake_model: FakeResponsesServer, workdir: Path
) -> None:
    statuses: list[str] = []

    async def guard(request: ApprovalRequest) -> Deny | Allow:
        assert isinstance(request.item, FileChangeThreadItem)
        names = {Path(change.path).name for change in request.item.changes}
        return Deny("only notes may be written") if names != {"notes.txt"} else Allow()

    def after(event: ItemCompletedNotification) -> None:  # a plain function runs in a worker thread
        assert isinstance(event.item, FileChangeThreadItem)
        statuses.append(event.item.status.value)

    fake_model.enqueue(_patch(workdir, "notes.txt", "hello"), _patch(workdir, "other.txt", "no"), Text("Done."))
    async with AsyncCodex(real_config, hooks=Hooks(before_file_change=guard, after_file_change=after)) as codex:
        thread = await codex.thread_start(approval_policy="untrusted", sandbox="workspace-write")
        assert (await thread.run("Write both.")).final_response == "Done."
    assert (workdir / "notes.txt").exists()
    assert not (workdir / "other.txt").exists()
    assert "only notes may be written" in _follow_up(fake_model)
    assert statuses[0] == "completed"
    assert len(statuses) == 2


def test_hooks_are_checked() -> None:
    with pytest.raises(TypeError, match="before_command"):
        Hooks(before_command="allow")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"openai_codex\.Hooks"):
        Codex(hooks={"before_command": print})  # type: ignore[arg-type]
    legacy = ApprovalRequest("execCommandApproval", {"conversationId": "t", "command": ["ls"]})
    verdict = judge("before_command", legacy, Deny("not today"))
    assert verdict is not None
    assert verdict.steer is None
    assert verdict.decision == {"decision": {"denied": {"rejection": "not today"}}}
    assert judge("before_command", legacy, None) is None
