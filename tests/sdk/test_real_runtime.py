"""The synchronous client against the real pinned ``codex app-server`` and the fake Responses-API model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from codex_release.checks.fake_responses import Fail, FakeResponsesServer, Hang, ShellCall, Text, Usage
from codex_release.core.versions import CodexVersion
from openai_codex import (
    ApprovalRequest,
    Codex,
    CodexConfig,
    InvalidRequestError,
    JsonRpcError,
    Notification,
    TextInput,
    TransportClosedError,
    TurnResult,
)
from openai_codex.types import (
    AgentMessageDeltaNotification,
    AgentMessageThreadItem,
    ModelListResponse,
    ThreadListResponse,
    TurnCompletedNotification,
    TurnStatus,
    UserMessageThreadItem,
)
from tests.sdk.conftest import kill_hard, process_alive

pytestmark = pytest.mark.runtime


def _group_members(pgid: int) -> list[int]:
    """Live members of process group ``pgid`` (Linux: /proc; macOS: ps)."""
    if not os.path.isdir("/proc/self"):
        listing = subprocess.run(["ps", "-A", "-o", "pid=,pgid=,stat="], capture_output=True, text=True, check=True)
        rows = [line.split() for line in listing.stdout.splitlines() if line.strip()]
        return [int(row[0]) for row in rows if int(row[1]) == pgid and not row[2].startswith("Z")]
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def test_run(real_config: CodexConfig, fake_model: FakeResponsesServer, pinned_version: CodexVersion) -> None:
    fake_model.enqueue(Text("Hello from the real runtime.", deltas=4, usage=Usage(input_tokens=12, output_tokens=7)))
    with Codex(real_config) as codex:
        assert codex.runtime_version == str(pinned_version)
        assert codex.user_agent.startswith(f"openai_codex_python/{pinned_version}")  # the SDK's version is the pin's
        thread = codex.thread_start()
        result = thread.run("Say hello.")
    assert isinstance(result, TurnResult)
    assert result.final_response == "Hello from the real runtime."
    assert result.status == "completed"
    assert result.turn.status is TurnStatus.completed
    assert [type(item) for item in result.items] == [UserMessageThreadItem, AgentMessageThreadItem]
    assert result.turn.items == result.items
    assert result.usage is not None
    assert (result.usage.last.input_tokens, result.usage.last.output_tokens) == (12, 7)
    [request] = fake_model.model_requests
    assert "Say hello." in json.dumps(request.body["input"])


def test_stream(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    fake_model.enqueue(Text("one two three four five", deltas=5))
    with Codex(real_config) as codex:
        handle = codex.thread_start().turn([TextInput("Count."), "Please."])
        notifications = list(handle.stream())
        turn = handle.run()  # already finished: returns at once
    assert all(isinstance(n, Notification) for n in notifications)
    assert {n.thread_id for n in notifications} == {handle.thread_id}
    assert {n.turn_id for n in notifications if n.turn_id} == {handle.id}
    deltas = [n.payload for n in notifications if n.method == "item/agentMessage/delta"]
    assert all(isinstance(d, AgentMessageDeltaNotification) for d in deltas)
    assert "".join(d.delta for d in deltas) == "one two three four five"  # type: ignore[union-attr]
    last = notifications[-1]
    assert last.method == "turn/completed"
    assert isinstance(last.payload, TurnCompletedNotification)
    assert turn.id == handle.id
    assert turn.status is TurnStatus.completed
    assert "Count." in json.dumps(fake_model.model_requests[0].body["input"])
    assert "Please." in json.dumps(fake_model.model_requests[0].body["input"])


def test_snake_case_kwargs_reach_the_wire(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}},
        "required": ["a"],
        "additionalProperties": False,
    }
    with Codex(real_config) as codex:
        thread = codex.thread_start(
            model="fake-model-1", developer_instructions="DEV-MARKER", base_instructions="BASE-MARKER"
        )
        thread.run("Answer in JSON.", output_schema=schema)
        # explicit keyword parameters: a camelCase or misspelt name is Python's own TypeError (and mypy's)
        with pytest.raises(TypeError, match=r"unexpected keyword argument 'outputSchema'"):
            thread.run("x", outputSchema=schema)
        with pytest.raises(TypeError, match=r"unexpected keyword argument 'developer_instruction'"):
            codex.thread_start(developer_instruction="x")
        with pytest.raises(TypeError, match="sort_keys"):
            codex.thread_list(sort_keys="created_at")
        page = codex.thread_list(sort_key="created_at", limit=10, model_providers=["mock"], source_kinds=["vscode"])
        # the filters really reach the server: other values select nothing
        assert codex.thread_list(model_providers=["elsewhere"]).data == []
        assert codex.thread_list(source_kinds=["cli"]).data == []
    [request] = fake_model.model_requests  # the refused calls sent nothing to the model
    body = request.body
    assert body["model"] == "fake-model-1"
    assert "DEV-MARKER" in json.dumps(body["input"])
    assert "BASE-MARKER" in json.dumps(body)
    assert body["text"]["format"]["type"] == "json_schema"
    assert body["text"]["format"]["schema"] == schema
    assert [t.id for t in page.data] == [thread.id]


def test_resume_continues_the_thread(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    fake_model.enqueue(Text("First answer."), Text("Second answer."))
    with Codex(real_config) as codex:
        thread = codex.thread_start()
        thread.run("First question.")
        thread_id = thread.id
    with Codex(real_config) as codex:  # a new app-server process, same CODEX_HOME
        resumed = codex.thread_resume(thread_id)
        assert resumed.id == thread_id
        result = resumed.run("Second question.")
        with pytest.raises(JsonRpcError):
            codex.thread_resume("00000000-0000-0000-0000-000000000000")
    assert result.final_response is not None
    history = json.dumps(fake_model.model_requests[-1].body["input"])
    assert "First question." in history
    assert "Second question." in history


def test_fork_list_archive_unarchive_models(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    with Codex(real_config) as codex:
        original = codex.thread_start()
        original.run("Remember the word PLUM.")
        fork = codex.thread_fork(original.id)
        assert fork.id != original.id
        fork.run("Which word?")
        assert "PLUM" in json.dumps(fake_model.model_requests[-1].body["input"])
        listed = codex.thread_list()
        assert isinstance(listed, ThreadListResponse)
        assert {original.id, fork.id} <= {t.id for t in listed.data}
        # ``included_thread_ids`` (Codex 0.171.0) restricts the page to those threads; an empty list matches none
        assert [t.id for t in codex.thread_list(included_thread_ids=[fork.id]).data] == [fork.id]
        assert codex.thread_list(included_thread_ids=[]).data == []
        codex.thread_archive(fork.id)
        assert fork.id not in {t.id for t in codex.thread_list().data}
        assert fork.id in {t.id for t in codex.thread_list(archived=True).data}
        restored = codex.thread_unarchive(fork.id)
        assert restored.id == fork.id
        assert fork.id in {t.id for t in codex.thread_list().data}
        models = codex.model_list(limit=2)
    assert isinstance(models, ModelListResponse)
    assert 0 < len(models.data) <= 2


def test_concurrent_turns_on_different_threads(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    fake_model.default_reply = Text("alpha beta gamma delta epsilon", deltas=5, delay_s=0.05)
    results: dict[str, tuple[list[Notification], float, float]] = {}
    with Codex(real_config) as codex:
        threads = [codex.thread_start(), codex.thread_start(), codex.thread_start()]

        def consume(thread_index: int) -> None:
            handle = threads[thread_index].turn(f"Question {thread_index}")
            started = time.monotonic()
            notes = list(handle.stream())
            results[handle.thread_id] = (notes, started, time.monotonic())

        workers = [threading.Thread(target=consume, args=(index,)) for index in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=30)
    assert set(results) == {t.id for t in threads}
    for thread_id, (notes, _, _) in results.items():
        assert {n.thread_id for n in notes} == {thread_id}
        assert len({n.turn_id for n in notes if n.turn_id}) == 1
        text = "".join(n.params["delta"] for n in notes if n.method == "item/agentMessage/delta")
        assert text == "alpha beta gamma delta epsilon"
        assert notes[-1].method == "turn/completed"
    spans = sorted((start, end) for _, start, end in results.values())
    assert spans[1][0] < spans[0][1]  # the turns really overlapped


def test_interrupt(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    hang = Hang("partial answer", deltas=4, after=2)
    fake_model.enqueue(hang, Text("Afterwards."))
    with Codex(real_config) as codex:
        thread = codex.thread_start()
        handle = thread.turn("Take your time.")
        assert hang.reached.wait(10)
        handle.interrupt()
        turn = handle.run()
        assert turn.status is TurnStatus.interrupted
        assert thread.run("Next.").final_response == "Afterwards."


def test_steer(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    hang = Hang("partial answer", deltas=4, after=2)
    fake_model.enqueue(hang, Text("Steered answer."))
    with Codex(real_config) as codex:
        thread = codex.thread_start()
        handle = thread.turn("Start.")
        assert hang.reached.wait(10)
        handle.steer("STEER-MARKER")
        hang.release()
        result = handle.result()
        with pytest.raises(InvalidRequestError):
            handle.steer("too late")
    assert result.final_response == "Steered answer."
    assert "STEER-MARKER" in json.dumps(fake_model.model_requests[-1].body["input"])


def test_failed_turn(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    fake_model.enqueue(Fail(400, {"error": {"message": "bad request from the fake"}}))
    with Codex(real_config) as codex:
        handle = codex.thread_start().turn("Fail please.")
        methods = [n.method for n in handle.stream()]
        result = handle.result()
    assert "error" in methods
    assert result.status == "failed"
    assert result.turn.error is not None
    assert result.final_response is None


@pytest.mark.parametrize(("decision", "runs"), [("decline", False), ("accept", True)])
def test_approval_policy(
    real_config: CodexConfig, fake_model: FakeResponsesServer, workdir: Path, decision: str, runs: bool
) -> None:
    fake_model.enqueue(ShellCall("echo ok > marker.txt", workdir=str(workdir)), Text("Done."))
    with Codex(replace(real_config, approval_handler=decision)) as codex:  # type: ignore[arg-type]
        result = codex.thread_start(approval_policy="untrusted").run("Create the marker.")
    assert result.final_response == "Done."
    assert (workdir / "marker.txt").exists() is runs
    [output] = [i["output"] for i in fake_model.model_requests[-1].body["input"] if i["type"] == "function_call_output"]
    assert ("rejected by user" in json.dumps(output)) is not runs


def test_approval_callback(real_config: CodexConfig, fake_model: FakeResponsesServer, workdir: Path) -> None:
    seen: list[ApprovalRequest] = []

    def handler(request: ApprovalRequest) -> str:
        seen.append(request)
        return "accept" if "allowed" in (request.command or "") else "decline"

    fake_model.enqueue(
        ShellCall("echo ok > allowed.txt", workdir=str(workdir)),
        ShellCall("echo ok > forbidden.txt", workdir=str(workdir)),
        Text("Done."),
    )
    with Codex(replace(real_config, approval_handler=handler)) as codex:
        thread = codex.thread_start(approval_policy="untrusted")
        thread.run("Create both files.")
    assert [r.method for r in seen] == ["item/commandExecution/requestApproval"] * 2
    assert seen[0].thread_id == thread.id
    assert seen[0].turn_id is not None
    assert (workdir / "allowed.txt").exists()
    assert not (workdir / "forbidden.txt").exists()


def test_killed_runtime_wakes_every_turn(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    hangs = [Hang("never finished", deltas=4, after=1), Hang("never finished", deltas=4, after=1)]
    fake_model.enqueue(*hangs)
    codex = Codex(real_config)
    try:
        handles = [codex.thread_start().turn("Wait."), codex.thread_start().turn("Wait too.")]
        for hang in hangs:
            assert hang.reached.wait(10)
        errors: list[BaseException] = []

        def wait(handle: object) -> None:
            try:
                handle.run()  # type: ignore[attr-defined]
            except BaseException as exc:
                errors.append(exc)

        workers = [threading.Thread(target=wait, args=(h,)) for h in handles]
        for worker in workers:
            worker.start()
        time.sleep(0.1)
        started = time.monotonic()
        exit_code = kill_hard(codex.pid)
        for worker in workers:
            worker.join(timeout=10)
        assert time.monotonic() - started < 3
        assert len(errors) == 2
        assert all(isinstance(e, TransportClosedError) for e in errors)
        assert f"exit code {exit_code}" in str(errors[0])
    finally:
        codex.close()


def test_close_leaves_no_process(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    hang = Hang("held", deltas=2, after=1)
    fake_model.enqueue(hang)
    codex = Codex(real_config)
    pid = codex.pid
    handle = codex.thread_start().turn("Hold on.")
    assert hang.reached.wait(10)
    codex.close()  # with a turn still running
    codex.close()
    assert not process_alive(pid)
    if sys.platform != "win32":  # no process groups there
        assert _group_members(pid) == []
    with pytest.raises(TransportClosedError, match="closed"):
        handle.run()


def test_one_consumer_at_a_time(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    fake_model.enqueue(Text("one two three", deltas=3))
    with Codex(real_config) as codex:
        handle = codex.thread_start().turn("Count.")
        stream = handle.stream()
        first = next(stream)
        with pytest.raises(RuntimeError, match="this turn is already being consumed"):
            handle.run()
        rest = list(stream)  # the first consumer goes on and loses nothing
        assert handle.done
        result = handle.result()  # consuming again once the turn is over is fine
    assert [first, *rest][-1].method == "turn/completed"
    assert result.final_response == "one two three"


def test_run_timeout_loses_nothing(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    hang = Hang("slow but complete", deltas=3, after=1)
    fake_model.enqueue(hang)
    with Codex(real_config) as codex:
        handle = codex.thread_start().turn("Slowly.")
        assert hang.reached.wait(10)
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="still running"):
            handle.run(timeout=0.2)
        assert time.monotonic() - started < 2
        assert not handle.done
        hang.release()
        turn = handle.run(timeout=10)
        result = handle.result()
    assert turn.status is TurnStatus.completed
    assert result.final_response == "slow but complete"
