"""The fake Responses-API model: its wire format over plain HTTP, and whole turns of the real runtime."""

from __future__ import annotations

import http.client
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codex_release.checks.fake_responses import (
    OFFLINE_DISABLED_FEATURES,
    Fail,
    FakeResponsesServer,
    Hang,
    RawEvents,
    ShellCall,
    Text,
    ToolCall,
    Usage,
)

# -- a minimal HTTP/SSE client ------------------------------------------------------------------------


def _post(server: FakeResponsesServer, body: dict[str, Any], path: str = "/v1/responses") -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    return connection.getresponse()


def _events(response: http.client.HTTPResponse) -> Iterator[dict[str, Any]]:
    """Parse an SSE body; check that each ``event:`` name matches its payload's ``type``."""
    name = None
    for raw in response:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: "):
            payload = json.loads(line[len("data: ") :])
            assert payload["type"] == name
            yield payload


def _text_of(events: list[dict[str, Any]]) -> str:
    return "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")


# -- wire format ----------------------------------------------------------------------------------------


def test_text_reply_streams_the_text_as_n_deltas_then_a_completed_message() -> None:
    with FakeResponsesServer() as server:
        server.enqueue(Text("Hello, wonderful world", deltas=4, usage=Usage(input_tokens=7, output_tokens=3)))
        response = _post(server, {"model": "m", "input": "hi"})
        assert response.status == 200
        assert response.getheader("Content-Type") == "text/event-stream"
        events = list(_events(response))

    types = [e["type"] for e in events]
    assert types == [
        "response.created",
        "response.output_item.added",
        *["response.output_text.delta"] * 4,
        "response.output_item.done",
        "response.completed",
    ]
    assert _text_of(events) == "Hello, wonderful world"
    assert all(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    done = events[-2]["item"]
    assert done["type"] == "message"
    assert done["role"] == "assistant"
    assert done["content"] == [{"type": "output_text", "text": "Hello, wonderful world", "annotations": []}]
    usage = events[-1]["response"]["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (7, 3, 10)
    assert events[0]["response"]["id"] == events[-1]["response"]["id"]


def test_script_is_consumed_in_order_then_the_default_reply_answers() -> None:
    with FakeResponsesServer(default_reply=Text("fallback")) as server:
        server.enqueue(Text("first"), Text("second", deltas=2))
        assert server.pending == 2
        texts = [_text_of(list(_events(_post(server, {"n": n})))) for n in range(4)]
        assert server.pending == 0
    assert texts == ["first", "second", "fallback", "fallback"]


def test_requests_are_recorded_with_parsed_bodies_and_lowercase_headers() -> None:
    with FakeResponsesServer() as server:
        list(_events(_post(server, {"model": "m", "input": [{"role": "user", "content": "one"}]})))
        list(_events(_post(server, {"model": "m", "input": "two"})))
        requests = server.wait_for_requests(2, timeout=1)
    assert [r.body["input"] for r in requests] == [[{"role": "user", "content": "one"}], "two"]
    assert all(r.path == "/v1/responses" and r.method == "POST" for r in requests)
    assert requests[0].headers["content-type"] == "application/json"


def test_wait_for_requests_times_out_with_a_count() -> None:
    with FakeResponsesServer() as server, pytest.raises(TimeoutError, match="0 of 1"):
        server.wait_for_requests(1, timeout=0.05)


def test_fail_reply_sends_the_status_and_body() -> None:
    with FakeResponsesServer() as server:
        server.enqueue(Fail(429, {"error": {"message": "slow down"}}, headers={"Retry-After": "0"}), Fail(503, "down"))
        first = _post(server, {})
        assert (first.status, json.loads(first.read()), first.getheader("Retry-After")) == (
            429,
            {"error": {"message": "slow down"}},
            "0",
        )
        second = _post(server, {})
        assert (second.status, second.read()) == (503, b"down")


def test_hang_holds_the_stream_after_k_deltas_until_released() -> None:
    hang = Hang("abcdef", deltas=3, after=2)
    with FakeResponsesServer() as server:
        server.enqueue(hang)
        response = _post(server, {})
        events = _events(response)
        seen = [next(events) for _ in range(4)]  # created, item added, 2 deltas
        assert hang.reached.wait(5)
        assert _text_of(seen) == "abcd"

        got: queue.Queue[dict[str, Any]] = queue.Queue()

        def read_rest() -> None:
            for event in events:
                got.put(event)

        reader = threading.Thread(target=read_rest, daemon=True)
        reader.start()
        with pytest.raises(queue.Empty):
            got.get(timeout=0.3)  # held: nothing more arrives
        hang.release()
        reader.join(5)
    rest = list(got.queue)
    assert _text_of(rest) == "ef"
    assert rest[-1]["type"] == "response.completed"


def test_hang_drop_cuts_the_connection_without_completing() -> None:
    hang = Hang("abcdef", deltas=3, after=1)
    with FakeResponsesServer() as server:
        server.enqueue(hang)
        events = list(_events_until_end(_post(server, {}), on_first_delta=hang.drop))
    assert [e["type"] for e in events][-1] == "response.output_text.delta"
    assert _text_of(events) == "ab"


def _events_until_end(response: http.client.HTTPResponse, on_first_delta: Any) -> Iterator[dict[str, Any]]:
    for event in _events(response):
        if event["type"] == "response.output_text.delta":
            on_first_delta()
        yield event


def test_closing_the_server_ends_held_streams_and_is_idempotent() -> None:
    hang = Hang(after=0)
    server = FakeResponsesServer().start()
    server.enqueue(hang)
    response = _post(server, {})
    got: list[dict[str, Any]] = []
    reader = threading.Thread(target=lambda: got.extend(_events(response)), daemon=True)
    reader.start()
    assert hang.reached.wait(5)
    started = time.monotonic()
    server.close()
    server.close()
    reader.join(5)
    assert not reader.is_alive()
    assert time.monotonic() - started < 2
    assert "response.completed" not in [e["type"] for e in got]
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.base_url


def test_shell_call_reply_is_an_exec_command_function_call() -> None:
    with FakeResponsesServer() as server:
        server.enqueue(ShellCall("echo hi", call_id="call_x", workdir="/w", escalate=True))
        events = list(_events(_post(server, {})))
    item = events[-2]["item"]
    assert events[-2]["type"] == "response.output_item.done"
    assert (item["type"], item["name"], item["call_id"]) == ("function_call", "exec_command", "call_x")
    arguments = json.loads(item["arguments"])
    assert arguments["cmd"] == "echo hi"
    assert arguments["workdir"] == "/w"
    assert arguments["sandbox_permissions"] == "require_escalated"


def test_tool_call_reply_names_its_namespace_only_when_given() -> None:
    with FakeResponsesServer() as server:
        server.enqueue(ToolCall("update_goal", {"status": "complete"}), ToolCall("write", namespace="mcp__probe"))
        plain, namespaced = (list(_events(_post(server, {})))[-2]["item"] for _ in range(2))
    assert (plain["name"], json.loads(plain["arguments"])) == ("update_goal", {"status": "complete"})
    assert "namespace" not in plain
    assert (namespaced["namespace"], namespaced["name"], namespaced["arguments"]) == ("mcp__probe", "write", "{}")


def test_raw_events_are_sent_verbatim() -> None:
    payloads: list[dict[str, Any]] = [
        {"type": "response.created", "response": {"id": "r"}},
        {"type": "response.failed", "x": 1},
    ]
    with FakeResponsesServer() as server:
        server.enqueue(RawEvents(payloads))
        assert list(_events(_post(server, {}))) == payloads


def test_unknown_paths_get_404_and_are_recorded() -> None:
    with FakeResponsesServer() as server:
        response = _post(server, {}, path="/v1/chat/completions")
        assert response.status == 404
        assert "does not serve POST /v1/chat/completions" in response.read().decode()
        assert server.requests[0].path == "/v1/chat/completions"
        assert server.model_requests == []


def test_base_url_and_config_overrides_point_codex_at_the_server() -> None:
    with FakeResponsesServer() as server:
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
        overrides = server.config_overrides(model="gpt-x")
        args = server.config_args()
        base_url = server.base_url
    assert overrides[0] == 'model_provider="mock"'
    assert overrides[1].startswith("model_providers.mock={")
    assert f'base_url="{base_url}"' in overrides[1]
    assert 'wire_api="responses"' in overrides[1]
    assert "request_max_retries=0" in overrides[1]
    assert overrides[-1] == 'model="gpt-x"'
    assert all(f"features.{name}=false" in overrides for name in OFFLINE_DISABLED_FEATURES)
    assert args[0::2] == ["-c"] * (len(args) // 2)
    assert not any(a.startswith("model=") for a in args)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Text("x", deltas=0), "deltas must be at least 1"),
        (lambda: Hang("x", deltas=2, after=3), "after must be between 0 and deltas"),
    ],
)
def test_bad_scripts_fail_in_the_test_not_in_the_server(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_starting_twice_is_refused() -> None:
    with FakeResponsesServer() as server, pytest.raises(RuntimeError, match="already running"):
        server.start()


# -- the real runtime against the fake ------------------------------------------------------------------


class AppServer:
    """Just enough of the app-server JSON-RPC protocol (newline-delimited JSON) to drive a turn."""

    def __init__(self, codex_bin: Path, model: FakeResponsesServer, home: Path, cwd: Path) -> None:
        env = {**os.environ, "CODEX_HOME": str(home)}
        self.process = subprocess.Popen(
            [str(codex_bin), "app-server", *model.config_args()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            text=True,
        )
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.approvals: list[dict[str, Any]] = []
        self.approval_decision = "accept"
        threading.Thread(target=self._read, daemon=True).start()
        self._next_id = 0

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            message = json.loads(line)
            if "id" in message and "method" in message:  # a server request: answer approvals
                self.approvals.append(message)
                self.send({"id": message["id"], "result": {"decision": self.approval_decision}})
            self.messages.put(message)
        self.messages.put(None)

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()

    def next_message(self, timeout: float = 20) -> dict[str, Any]:
        message = self.messages.get(timeout=timeout)
        assert message is not None, "app-server closed stdout"
        return message

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._next_id += 1
        self.send({"id": self._next_id, "method": method, "params": params})
        while True:
            message = self.next_message()
            if message.get("id") == self._next_id and "method" not in message:
                assert "error" not in message, message
                return dict(message["result"])

    def start(self, **thread_params: Any) -> str:
        self.request("initialize", {"clientInfo": {"name": "fake-model-test", "title": None, "version": "0"}})
        self.send({"method": "initialized"})
        return str(self.request("thread/start", thread_params)["thread"]["id"])

    def turn(self, thread_id: str, text: str) -> list[dict[str, Any]]:
        """Start a turn; return the notifications up to and including its ``turn/completed``."""
        self.request("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": text}]})
        seen = []
        while True:
            message = self.next_message()
            seen.append(message)
            if message.get("method") == "turn/completed":
                return seen

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def model() -> Iterator[FakeResponsesServer]:
    with FakeResponsesServer() as server:
        yield server


@pytest.fixture
def app_server(real_codex_bin: Path, model: FakeResponsesServer, tmp_path: Path) -> Iterator[AppServer]:
    (tmp_path / "home").mkdir()
    (tmp_path / "work").mkdir()
    server = AppServer(real_codex_bin, model, tmp_path / "home", tmp_path / "work")
    yield server
    server.close()


def _deltas(messages: list[dict[str, Any]]) -> list[str]:
    return [m["params"]["delta"] for m in messages if m.get("method") == "item/agentMessage/delta"]


def _completed_turn(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return dict(messages[-1]["params"]["turn"])


@pytest.mark.runtime
def test_real_runtime_completes_a_turn_with_the_scripted_text(
    app_server: AppServer, model: FakeResponsesServer
) -> None:
    model.enqueue(Text("The fake model says hello.", deltas=5))
    thread_id = app_server.start()
    started = time.monotonic()
    messages = app_server.turn(thread_id, "say hello")
    elapsed = time.monotonic() - started

    turn = _completed_turn(messages)
    assert turn["status"] == "completed"
    deltas = _deltas(messages)
    assert len(deltas) == 5
    assert "".join(deltas) == "The fake model says hello."
    agent = [i for i in turn["items"] if i["type"] == "agentMessage"]
    assert [i["text"] for i in agent] == ["The fake model says hello."]
    usage = [m for m in messages if m.get("method") == "thread/tokenUsage/updated"][-1]
    assert usage["params"]["tokenUsage"]["last"]["totalTokens"] == 15
    # the model saw the user's words, through our provider
    (request,) = model.model_requests
    assert "say hello" in json.dumps(request.body["input"])
    assert request.body["stream"] is True
    assert elapsed < 10


@pytest.mark.runtime
def test_real_runtime_fails_the_turn_on_an_http_error_without_retrying(
    app_server: AppServer, model: FakeResponsesServer
) -> None:
    model.enqueue(Fail(503, {"error": {"message": "the fake is overloaded", "type": "server_error"}}))
    thread_id = app_server.start()
    turn = _completed_turn(app_server.turn(thread_id, "hi"))
    assert turn["status"] == "failed"
    assert "the fake is overloaded" in turn["error"]["message"]
    assert len(model.model_requests) == 1  # retries are off


@pytest.mark.runtime
def test_real_runtime_waits_on_a_held_stream_and_finishes_after_release(
    app_server: AppServer, model: FakeResponsesServer
) -> None:
    hang = Hang("one two six ten.", deltas=4, after=2)
    model.enqueue(hang)
    thread_id = app_server.start()
    app_server.request("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "hi"}]})
    assert hang.reached.wait(20)
    time.sleep(0.3)
    held = []
    while not app_server.messages.empty():
        held.append(app_server.next_message())
    assert _deltas(held) == ["one ", "two "]
    assert "turn/completed" not in [m.get("method") for m in held]
    hang.release()
    rest: list[dict[str, Any]] = []
    while not rest or rest[-1].get("method") != "turn/completed":
        rest.append(app_server.next_message())
    assert _deltas(rest) == ["six ", "ten."]
    assert _completed_turn(rest)["status"] == "completed"


@pytest.mark.runtime
def test_real_runtime_fails_the_turn_when_a_held_stream_is_dropped(
    app_server: AppServer, model: FakeResponsesServer
) -> None:
    hang = Hang("never finished", deltas=2, after=1)
    model.enqueue(hang)
    thread_id = app_server.start()
    app_server.request("turn/start", {"threadId": thread_id, "input": [{"type": "text", "text": "hi"}]})
    assert hang.reached.wait(20)
    hang.drop()
    messages: list[dict[str, Any]] = []
    while not messages or messages[-1].get("method") != "turn/completed":
        messages.append(app_server.next_message())
    assert _completed_turn(messages)["status"] == "failed"


@pytest.mark.runtime
def test_real_runtime_asks_for_exec_approval_and_sends_the_output_back(
    app_server: AppServer, model: FakeResponsesServer
) -> None:
    model.enqueue(ShellCall("echo fake-model-ran-this", call_id="call_echo"), Text("all done"))
    thread_id = app_server.start(approvalPolicy="untrusted")
    messages = app_server.turn(thread_id, "run something")

    (approval,) = app_server.approvals
    assert approval["method"] == "item/commandExecution/requestApproval"
    assert "echo fake-model-ran-this" in approval["params"]["command"]
    assert approval["params"]["itemId"] == "call_echo"
    turn = _completed_turn(messages)
    assert turn["status"] == "completed"
    assert [i["text"] for i in turn["items"] if i["type"] == "agentMessage"] == ["all done"]
    first, second = model.model_requests
    outputs = [i for i in second.body["input"] if i.get("type") == "function_call_output"]
    assert [o["call_id"] for o in outputs] == ["call_echo"]
    assert "fake-model-ran-this" in json.dumps(outputs[0]["output"])
    assert first.body["model"] == second.body["model"]


def test_fake_model_server_command_serves_until_interrupted() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "codex_release", "fake-model-server", "--text", "manual reply", "--deltas", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        overrides = process.stdout.readline()
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/v1")
        assert f'base_url="{base_url}"' in overrides
        assert overrides.startswith("-c 'model_provider=\"mock\"'")
        host, port = base_url[len("http://") : -len("/v1")].split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("POST", "/v1/responses", body="{}", headers={"Content-Type": "application/json"})
        events = list(_events(connection.getresponse()))
        assert _text_of(events) == "manual reply"
        assert len([e for e in events if e["type"] == "response.output_text.delta"]) == 2
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "Served 1 model request(s)." in stderr
