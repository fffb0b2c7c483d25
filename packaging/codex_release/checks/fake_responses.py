"""A fake Responses-API model on loopback: run the real ``codex`` runtime with no account and no network.

``codex app-server`` talks to its model provider over HTTP: ``POST {base_url}/responses`` answered by a
Server-Sent-Events stream. :class:`FakeResponsesServer` is such a provider on ``127.0.0.1`` with an
ephemeral port. A test scripts what the "model" answers, turn by turn, and reads back the request bodies
codex sent.

Usage::

    from codex_release.checks.fake_responses import FakeResponsesServer, Fail, Hang, ShellCall, Text

    with FakeResponsesServer() as model:
        model.enqueue(Text("Hello from the fake model", deltas=5))  # next model request
        model.enqueue(Fail(503, "overloaded"))                      # the one after that
        overrides = model.config_overrides()  # ["model_provider=\"mock\"", ...]: pass each as `-c`
        env = {"CODEX_HOME": str(tmp_path)}    # a fresh, empty CODEX_HOME: no account needed
        # ... run `codex app-server -c ... ` and drive a turn ...
        assert model.requests[0].body["input"][-1]["content"][0]["text"] == "hi"

    # Hang mid-stream: the stream stops after 2 deltas and stays open until released or closed.
    hang = Hang("partial answer", deltas=4, after=2)
    model.enqueue(hang)
    hang.reached.wait(5)   # the fake has sent the first 2 deltas and is now holding the stream
    hang.release()         # finish the stream normally (or hang.drop() to cut the connection;
                           # leaving the ``with`` block ends every held stream)

    # Ask codex to run a shell command (triggers an exec approval under approval_policy "untrusted"),
    # then answer the follow-up request (which carries the command output) with text:
    model.enqueue(ShellCall("touch marker.txt"), Text("done"))

When the script is empty, every request gets ``default_reply`` (a short text answer unless given).

What the real runtime needs to run a turn against it, with no account and no network (measured on
Codex 0.169.0): ``CODEX_HOME`` set to an empty temporary directory, and the overrides of
:meth:`FakeResponsesServer.config_overrides` -- a ``mock`` provider with ``wire_api="responses"`` and
this ``base_url`` (it needs no API key), retries off (``request_max_retries=0``,
``stream_max_retries=0``: a :class:`Fail` ends the turn at once with status ``failed``), and the
``plugins``, ``apps`` and ``remote_plugin`` features off (otherwise start-up tries GitHub and
chatgpt.com for plugin sync). The runtime's default model is used unless ``model=`` is given; a model
the runtime has no metadata for still works but emits a ``warning`` notification. Commands that
:class:`ShellCall` asks for run in the default read-only sandbox unless the thread says otherwise.

Why hand-written: no maintained library fakes the Responses API's streaming wire format, and the
standard library's :mod:`http.server` is all a loopback SSE endpoint needs (no new dependency).
"""

from __future__ import annotations

import collections
import http.server
import itertools
import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "OFFLINE_DISABLED_FEATURES",
    "PROVIDER_ID",
    "Fail",
    "FakeResponsesServer",
    "Hang",
    "RawEvents",
    "RecordedRequest",
    "Reply",
    "ShellCall",
    "Text",
    "ToolCall",
    "Usage",
    "sse_event",
]

PROVIDER_ID = "mock"
"""The ``model_provider`` id that :meth:`FakeResponsesServer.config_overrides` defines."""

OFFLINE_DISABLED_FEATURES = ("plugins", "apps", "remote_plugin")
"""Codex features that contact remote services at start-up (curated plugin sync, app connectors)."""


@dataclass(frozen=True)
class Usage:
    """Token usage reported in ``response.completed``."""

    input_tokens: int = 10
    cached_input_tokens: int = 0
    output_tokens: int = 5
    reasoning_output_tokens: int = 0

    def to_wire(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": self.cached_input_tokens},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": self.reasoning_output_tokens},
            "total_tokens": self.input_tokens + self.output_tokens,
        }


def sse_event(payload: dict[str, Any]) -> bytes:
    """One Server-Sent Event whose ``event:`` name is the payload's ``type``."""
    return f"event: {payload['type']}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


class _Stream:
    """Writes one SSE response; ids are unique per server."""

    def __init__(self, handler: _Handler, response_id: str) -> None:
        self.handler = handler
        self.response_id = response_id

    def send(self, payload: dict[str, Any]) -> None:
        self.handler.wfile.write(sse_event(payload))
        self.handler.wfile.flush()

    def created(self) -> None:
        self.send({"type": "response.created", "response": {"id": self.response_id}})

    def completed(self, usage: Usage) -> None:
        self.send(
            {
                "type": "response.completed",
                "response": {"id": self.response_id, "usage": usage.to_wire()},
            }
        )


class Reply(Protocol):
    """One scripted answer to one ``POST /v1/responses``."""

    def respond(self, handler: _Handler, server: FakeResponsesServer) -> None: ...


def _split(text: str, parts: int) -> list[str]:
    """``text`` cut into ``parts`` contiguous pieces (some may be empty when text is short)."""
    if parts < 1:
        raise ValueError(f"deltas must be at least 1, got {parts}")
    size, extra = divmod(len(text), parts)
    pieces, start = [], 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        pieces.append(text[start:end])
        start = end
    return pieces


def _message_item(item_id: str, text: str | None) -> dict[str, Any]:
    content = [] if text is None else [{"type": "output_text", "text": text, "annotations": []}]
    return {
        "type": "message",
        "id": item_id,
        "role": "assistant",
        "status": "in_progress" if text is None else "completed",
        "content": content,
    }


@dataclass
class Text:
    """Stream ``text`` as an assistant message in ``deltas`` ``response.output_text.delta`` events."""

    text: str
    deltas: int = 1
    usage: Usage = field(default_factory=Usage)
    delay_s: float = 0.0
    """Pause between deltas (to make a stream observable while it runs)."""

    def __post_init__(self) -> None:
        _split(self.text, self.deltas)  # validate early, in the test, not in the server thread

    def respond(self, handler: _Handler, server: FakeResponsesServer) -> None:
        stream = handler.start_stream(server.next_id("resp"))
        stream.created()
        self.stream_message(stream, server, hang=None)

    def stream_message(self, stream: _Stream, server: FakeResponsesServer, hang: Hang | None) -> None:
        item_id = server.next_id("msg")
        stream.send({"type": "response.output_item.added", "output_index": 0, "item": _message_item(item_id, None)})
        for index, piece in enumerate(_split(self.text, self.deltas)):
            if hang is not None and index == hang.after and not hang.hold(server):
                return
            if self.delay_s and index:
                time.sleep(self.delay_s)
            stream.send(
                {
                    "type": "response.output_text.delta",
                    "item_id": item_id,
                    "output_index": 0,
                    "content_index": 0,
                    "delta": piece,
                }
            )
        if hang is not None and hang.after >= self.deltas and not hang.hold(server):
            return
        stream.send({"type": "response.output_item.done", "output_index": 0, "item": _message_item(item_id, self.text)})
        stream.completed(self.usage)


class Hang(Text):
    """Like :class:`Text`, but the stream stops after ``after`` deltas and is held open.

    ``reached`` is set once the stream is held. :meth:`release` resumes and completes it; :meth:`drop`
    closes the connection without completing (codex sees a stream error); closing the server drops it too.
    """

    def __init__(self, text: str = "partial", *, deltas: int = 2, after: int = 1, usage: Usage | None = None) -> None:
        super().__init__(text, deltas, usage or Usage())
        if not 0 <= after <= deltas:
            raise ValueError(f"after must be between 0 and deltas ({deltas}), got {after}")
        self.after = after
        self.reached = threading.Event()
        self._released = threading.Event()
        self._dropped = threading.Event()

    def release(self) -> None:
        """Let the held stream continue to ``response.completed``."""
        self._released.set()

    def drop(self) -> None:
        """Close the held stream's connection without completing the response."""
        self._dropped.set()

    def hold(self, server: FakeResponsesServer) -> bool:
        """Block until released (True) or dropped / server closing (False)."""
        self.reached.set()
        while not self._released.wait(0.02):
            if self._dropped.is_set() or server.closing.is_set():
                return False
        return True

    def respond(self, handler: _Handler, server: FakeResponsesServer) -> None:
        stream = handler.start_stream(server.next_id("resp"))
        stream.created()
        self.stream_message(stream, server, hang=self)
        if not self._released.is_set():
            handler.close_connection = True


@dataclass
class Fail:
    """Answer with HTTP ``status`` and ``body`` (a string, or a dict sent as JSON) instead of a stream."""

    status: int = 500
    body: str | dict[str, Any] = "fake model failure"
    headers: dict[str, str] = field(default_factory=dict)

    def respond(self, handler: _Handler, server: FakeResponsesServer) -> None:
        if isinstance(self.body, str):
            data, content_type = self.body.encode(), "text/plain; charset=utf-8"
        else:
            data, content_type = json.dumps(self.body).encode(), "application/json"
        handler.send_response(self.status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in self.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)


@dataclass
class ShellCall:
    """Ask codex to run the shell command ``cmd`` through its ``exec_command`` tool (a ``function_call`` item).

    Codex answers with a new model request whose input carries a ``function_call_output`` for ``call_id``
    (the command's output): script a reply for it too (else the default reply answers it). Under
    ``approval_policy="untrusted"`` codex first asks the client to approve the command
    (``item/commandExecution/requestApproval``); with ``escalate=True`` (the command asks to run outside
    the sandbox) it asks under ``"on-request"`` too.
    """

    cmd: str
    call_id: str | None = None
    workdir: str | None = None
    escalate: bool = False
    justification: str = "The fake model wants to run this command."
    extra_arguments: dict[str, Any] = field(default_factory=dict)
    tool_name: str = "exec_command"
    usage: Usage = field(default_factory=Usage)

    def arguments(self) -> dict[str, Any]:
        arguments: dict[str, Any] = {"cmd": self.cmd, "login": False, "yield_time_ms": 10000}
        if self.workdir is not None:
            arguments["workdir"] = self.workdir
        if self.escalate:
            arguments["sandbox_permissions"] = "require_escalated"
            arguments["justification"] = self.justification
        arguments.update(self.extra_arguments)
        return arguments

    def respond(self, handler: _Handler, server: FakeResponsesServer) -> None:
        stream = handler.start_stream(server.next_id("resp"))
        stream.created()
        item = {
            "type": "function_call",
            "id": server.next_id("fc"),
            "call_id": self.call_id or server.next_id("call"),
            "name": self.tool_name,
            "arguments": json.dumps(self.arguments()),
            "status": "completed",
        }
        stream.send({"type": "response.output_item.added", "output_index": 0, "item": item})
        stream.send({"type": "response.output_item.done", "output_index": 0, "item": item})
        stream.completed(self.usage)


@dataclass
class ToolCall:
    """Call the tool ``name`` with ``arguments`` (a ``function_call`` item), e.g. the goal tool
    ``update_goal`` with ``{"status": "complete"}``; codex answers with a new request carrying its output.
    ``namespace`` is the tool's namespace when it has one: an MCP server's tools are in ``mcp__<server>``."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    namespace: str | None = None

    def respond(self, handler: _Handler, server: FakeResponsesServer) -> None:
        stream = handler.start_stream(server.next_id("resp"))
        stream.created()
        item = {
            "type": "function_call",
            "id": server.next_id("fc"),
            "call_id": server.next_id("call"),
            **({} if self.namespace is None else {"namespace": self.namespace}),
            "name": self.name,
            "arguments": json.dumps(self.arguments),
            "status": "completed",
        }
        stream.send({"type": "response.output_item.added", "output_index": 0, "item": item})
        stream.send({"type": "response.output_item.done", "output_index": 0, "item": item})
        stream.completed(self.usage)


@dataclass
class RawEvents:
    """Send these SSE payloads verbatim (each needs a ``type``), for shapes the other replies lack."""

    events: Sequence[dict[str, Any]]

    def respond(self, handler: _Handler, server: FakeResponsesServer) -> None:
        stream = handler.start_stream(server.next_id("resp"))
        for payload in self.events:
            stream.send(payload)


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    """The parsed JSON body (``None`` when there was none)."""


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read requests, not logs
        return

    def start_stream(self, response_id: str) -> _Stream:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        return _Stream(self, response_id)

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", "replace")

    def _record(self) -> RecordedRequest:
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self._read_body(),
        )
        self.server.fake.record(request)
        return request

    def do_POST(self) -> None:
        request = self._record()
        if request.path.split("?")[0].rstrip("/").endswith("/responses"):
            reply = self.server.fake.next_reply()
            try:
                reply.respond(self, self.server.fake)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            return
        self._not_found(request)

    def do_GET(self) -> None:
        request = self._record()
        if request.path.split("?")[0].rstrip("/").endswith("/models"):
            Fail(200, {"object": "list", "data": [], "models": []}).respond(self, self.server.fake)
            return
        self._not_found(request)

    def _not_found(self, request: RecordedRequest) -> None:
        Fail(404, {"error": {"message": f"the fake model does not serve {request.method} {request.path}"}}).respond(
            self, self.server.fake
        )


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeResponsesServer


class FakeResponsesServer:
    """A scripted Responses-API provider on ``127.0.0.1``; use as a context manager (or start/close).

    ``enqueue`` replies (:class:`Text`, :class:`Fail`, :class:`Hang`, :class:`ShellCall`,
    :class:`RawEvents`) in the order requests will arrive; ``requests`` lists what was received.
    """

    def __init__(self, *, default_reply: Reply | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.default_reply: Reply = default_reply or Text("Hello from the fake model.", deltas=3)
        self.closing = threading.Event()
        self._host = host
        self._port = port
        self._script: collections.deque[Reply] = collections.deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Condition()
        self._ids = itertools.count(1)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> FakeResponsesServer:
        if self._httpd is not None:
            raise RuntimeError("the fake model server is already running")
        self.closing.clear()
        httpd = _HTTPServer((self._host, self._port), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), name="fake-responses", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving; held (:class:`Hang`) streams are dropped. Idempotent."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self.closing.set()
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FakeResponsesServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # addresses and codex configuration ---------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the fake model server is not running: use it as a context manager")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: the provider ``base_url`` codex needs."""
        return f"http://{self._host}:{self.port}/v1"

    def config_overrides(self, *, model: str | None = None) -> list[str]:
        """``key=value`` strings (each for one ``-c``/``--config``) pointing codex at this server.

        The provider needs no API key; retries are disabled so failure tests are quick; the features that
        reach out to the network at start-up (plugin and app sync) are off, so the runtime opens no
        connection but the one to this server. ``model`` defaults to the runtime's own default model.
        """
        provider = (
            f'{{name="{PROVIDER_ID}", base_url="{self.base_url}", wire_api="responses", '
            "request_max_retries=0, stream_max_retries=0}"
        )
        overrides = [
            f'model_provider="{PROVIDER_ID}"',
            f"model_providers.{PROVIDER_ID}={provider}",
            *(f"features.{name}=false" for name in OFFLINE_DISABLED_FEATURES),
        ]
        if model is not None:
            overrides.append(f"model={json.dumps(model)}")
        return overrides

    def config_args(self, *, model: str | None = None) -> list[str]:
        """:meth:`config_overrides` as command-line arguments: ``["-c", "k=v", ...]``."""
        return [arg for override in self.config_overrides(model=model) for arg in ("-c", override)]

    # scripting ---------------------------------------------------------------------------------------
    def enqueue(self, *replies: Reply) -> None:
        """Answer the next model requests with ``replies``, in order."""
        with self._lock:
            self._script.extend(replies)

    def next_reply(self) -> Reply:
        with self._lock:
            return self._script.popleft() if self._script else self.default_reply

    @property
    def pending(self) -> int:
        """How many scripted replies have not been used yet."""
        with self._lock:
            return len(self._script)

    def next_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids)}"

    # recorded requests -------------------------------------------------------------------------------
    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)
            self._lock.notify_all()

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def model_requests(self) -> list[RecordedRequest]:
        """Only the ``POST .../responses`` requests."""
        return [r for r in self.requests if r.method == "POST" and r.path.split("?")[0].endswith("/responses")]

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[RecordedRequest]:
        """Block until ``count`` model requests arrived; raise :class:`TimeoutError` otherwise."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = self.model_requests_unlocked()
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"the fake model got {len(found)} of {count} expected requests")
                self._lock.wait(remaining)

    def model_requests_unlocked(self) -> list[RecordedRequest]:
        return [r for r in self._requests if r.method == "POST" and r.path.split("?")[0].endswith("/responses")]

    def __iter__(self) -> Iterator[RecordedRequest]:
        return iter(self.requests)
