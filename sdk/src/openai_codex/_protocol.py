"""The sans-IO JSON-RPC core shared by the sync and the asyncio drivers.

It holds all protocol state and does no I/O (the h11 / wsproto shape): a driver feeds it the bytes it
read from the app-server's stdout and gets back events to act on; it asks the core for the bytes of each
request / notification / response to write. The core:

* frames newline-delimited JSON (no ``"jsonrpc"`` field on this wire) of any size: a line may arrive in
  many chunks and a chunk may hold thousands of lines;
* numbers requests, keeps each one's waiter (the driver's future) and matches responses to them
  (:class:`Resolved` carries the waiter back), so the drivers keep no table of their own;
* routes notifications to the turn they belong to (:class:`Deliver`): a turn's sink is registered before
  ``turn/start`` is sent, buffers what arrives for that thread before the response names the turn id,
  then receives exactly its own events; ``turn/completed`` is the last one it gets;
* surfaces server-to-client requests (:class:`ServerRequest`), which the driver must always answer;
* on connection loss hands back every pending request and sink so the driver can wake them all at once.

Hand-written because no JSON-RPC library offers a sans-IO core with this routing (and the app-server's
dialect omits ``"jsonrpc": "2.0"``, which strict libraries reject).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from openai_codex.errors import CodexError, JsonRpcError, jsonrpc_error
from openai_codex.notifications import Notification

__all__ = [
    "Deliver",
    "Event",
    "LineSplitter",
    "ProtocolCore",
    "ProtocolViolation",
    "Resolved",
    "ServerRequest",
    "Unrouted",
]

_log = logging.getLogger("openai_codex")

S = TypeVar("S")
RequestId = int | str


class LineSplitter:
    """Cuts a byte stream into lines; a line may span any number of chunks (MBs are fine)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def feed(self, data: bytes) -> list[bytes]:
        lines: list[bytes] = []
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                break
            piece = data[start:end]
            if self._parts:
                self._parts.append(piece)
                piece = b"".join(self._parts)
                self._parts = []
            lines.append(piece)
            start = end + 1
        if start < len(data):
            self._parts.append(data[start:])
        return lines

    @property
    def pending_bytes(self) -> int:
        return sum(len(p) for p in self._parts)


@dataclass(frozen=True)
class Resolved:
    """The response to our request ``request_id``: ``error`` is set for an error response."""

    request_id: int
    method: str
    result: Any = None
    error: JsonRpcError | None = None
    waiter: Any = None
    """What the driver registered with the request (its future), or the request id if nothing."""


@dataclass(frozen=True)
class Deliver(Generic[S]):
    """``notification`` belongs to the turn whose sink is ``sink``."""

    sink: S
    notification: Notification


@dataclass(frozen=True)
class Unrouted:
    """A notification no turn sink claims (client-wide events, other clients' threads, ...)."""

    notification: Notification


@dataclass(frozen=True)
class ServerRequest:
    """A request from the app-server to us (approvals, user input, ...). It must be answered."""

    request_id: RequestId
    method: str
    params: dict[str, Any]

    @property
    def thread_id(self) -> str | None:
        value = self.params.get("threadId")
        return value if isinstance(value, str) else None

    @property
    def turn_id(self) -> str | None:
        value = self.params.get("turnId")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class ProtocolViolation:
    """A line that is not a JSON-RPC message (logged and skipped; the connection carries on)."""

    line: bytes
    reason: str


Event = Resolved | Deliver[S] | Unrouted | ServerRequest | ProtocolViolation


@dataclass
class _TurnRoute(Generic[S]):
    sink: S
    thread_id: str
    turn_id: str | None = None
    early: list[Notification] = field(default_factory=list)


_scan_once: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _parse_line(line: bytes) -> Any:
    """``json.loads(line)``, about twice as fast on the lines the app-server writes (the hot path of a long
    stream: one per delta): the C scanner called directly, without ``loads``' encoding detection and
    whitespace matching. Anything else (leading whitespace, another encoding, invalid JSON) goes through
    ``json.loads``, which parses it or raises the same error as ever."""
    try:
        text = line.decode("utf-8")
        value, end = _scan_once(text, 0)
    except (ValueError, StopIteration):
        return json.loads(line)
    if end != len(text) and text[end:].strip():
        return json.loads(line)  # raises "Extra data"
    return value


def _encode(message: Mapping[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"


class ProtocolCore(Generic[S]):
    """Protocol state for one app-server connection. Not thread-safe: the sync driver locks around it."""

    def __init__(self) -> None:
        self._splitter = LineSplitter()
        self._next_id = 1
        self._pending: dict[int, tuple[str, Any]] = {}
        self._turn_starts: dict[int, _TurnRoute[S]] = {}
        self._routes: dict[str, list[_TurnRoute[S]]] = {}
        self._watchers: dict[str, list[S]] = {}
        self._closed: CodexError | None = None

    # ---------------------------------------------------------------- outgoing
    @property
    def closed(self) -> CodexError | None:
        """The error the connection was closed with, if it was."""
        return self._closed

    def request(self, method: str, params: Mapping[str, Any] | None, waiter: Any = None) -> tuple[int, bytes]:
        """Allocate an id for a request and return it with the line to write.

        ``waiter`` (the driver's future) comes back in the request's :class:`Resolved` event, or from
        :meth:`connection_lost`; the request id stands in for it when none is given.
        """
        if self._closed is not None:
            raise self._closed
        request_id = self._next_id
        self._next_id += 1
        self._pending[request_id] = (method, request_id if waiter is None else waiter)
        message: dict[str, Any] = {"id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        return request_id, _encode(message)

    def start_turn(self, thread_id: str, params: Mapping[str, Any], sink: S, waiter: Any = None) -> tuple[int, bytes]:
        """A ``turn/start`` request whose events will be delivered to ``sink`` (bound when it resolves)."""
        request_id, data = self.request("turn/start", params, waiter)
        route = _TurnRoute(sink=sink, thread_id=thread_id)
        self._turn_starts[request_id] = route
        self._routes.setdefault(thread_id, []).append(route)
        return request_id, data

    def forget(self, request_id: int) -> None:
        """Stop waiting for ``request_id`` (its response, if it comes, is dropped)."""
        self._pending.pop(request_id, None)
        route = self._turn_starts.pop(request_id, None)
        if route is not None:
            self._drop_route(route)

    def remove_sink(self, sink: S) -> None:
        """Stop routing to ``sink`` (the turn ended or its consumer went away)."""
        for routes in list(self._routes.values()):
            for route in list(routes):
                if route.sink is sink:
                    self._drop_route(route)

    def watch(self, method: str, sink: S) -> None:
        """Deliver every ``method`` notification to ``sink`` too (client-wide events: a login's completion)."""
        self._watchers.setdefault(method, []).append(sink)

    def unwatch(self, sink: S) -> None:
        for method, sinks in list(self._watchers.items()):
            if sink in sinks:
                sinks.remove(sink)
            if not sinks:
                del self._watchers[method]

    @staticmethod
    def notification(method: str, params: Mapping[str, Any] | None = None) -> bytes:
        message: dict[str, Any] = {"method": method}
        if params is not None:
            message["params"] = params
        return _encode(message)

    @staticmethod
    def response(request_id: RequestId, result: Any) -> bytes:
        return _encode({"id": request_id, "result": result})

    @staticmethod
    def error_response(request_id: RequestId, code: int, message: str, data: Any = None) -> bytes:
        error: dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            error["data"] = data
        return _encode({"id": request_id, "error": error})

    # ---------------------------------------------------------------- incoming
    def receive_data(self, data: bytes) -> list[Event[S]]:
        """Feed bytes read from the app-server's stdout; get the events they complete."""
        events: list[Event[S]] = []
        for line in self._splitter.feed(data):
            if line.strip():
                self._receive_line(line, events)
        return events

    def _receive_line(self, line: bytes, events: list[Event[S]]) -> None:
        try:
            message = _parse_line(line)
        except ValueError as exc:
            events.append(ProtocolViolation(line, f"not JSON: {exc}"))
            return
        if not isinstance(message, dict):
            events.append(ProtocolViolation(line, "not a JSON object"))
            return
        method = message.get("method")
        has_id = "id" in message and isinstance(message["id"], (int, str)) and not isinstance(message["id"], bool)
        if isinstance(method, str):
            params = message.get("params")
            params = params if isinstance(params, dict) else {}
            if has_id:
                events.append(ServerRequest(message["id"], method, params))
            else:
                self._route(Notification(method, params), events)
            return
        if has_id and ("result" in message or "error" in message):
            self._resolve(message, line, events)
            return
        events.append(ProtocolViolation(line, "neither a request, a notification nor a response"))

    def _resolve(self, message: dict[str, Any], line: bytes, events: list[Event[S]]) -> None:
        request_id = message["id"]
        pending = self._pending.pop(request_id, None) if isinstance(request_id, int) else None
        if pending is None:
            events.append(ProtocolViolation(line, f"response to unknown request id {request_id!r}"))
            return
        method, waiter = pending
        route = self._turn_starts.pop(request_id, None)
        error_obj = message.get("error")
        if error_obj is not None:
            if not isinstance(error_obj, dict):
                error_obj = {"code": -32603, "message": f"malformed error object: {error_obj!r}"}
            code = error_obj.get("code")
            error = jsonrpc_error(
                code if isinstance(code, int) and not isinstance(code, bool) else -32603,
                str(error_obj.get("message", "")),
                error_obj.get("data"),
                method=method,
            )
            if route is not None:
                self._drop_route(route)
            events.append(Resolved(request_id, method, error=error, waiter=waiter))
            return
        result = message.get("result")
        events.append(Resolved(request_id, method, result=result, waiter=waiter))
        if route is not None:
            turn = result.get("turn") if isinstance(result, dict) else None
            turn_id = turn.get("id") if isinstance(turn, dict) else None
            if not isinstance(turn_id, str):
                self._drop_route(route)
                return
            route.turn_id = turn_id
            early, route.early = route.early, []
            for note in early:
                if note.turn_id in (None, turn_id):
                    self._deliver(route, note, events)

    def _route(self, note: Notification, events: list[Event[S]]) -> None:
        watchers = self._watchers.get(note.method, ())
        for sink in watchers:
            events.append(Deliver(sink, note))
        routes = self._routes.get(note.thread_id or "") if note.thread_id else None
        if not routes:
            if not watchers:
                events.append(Unrouted(note))
            return
        claimed = bool(watchers)
        for route in list(routes):
            if route.turn_id is None:
                route.early.append(note)
                claimed = True
            elif note.turn_id is None or note.turn_id == route.turn_id:
                self._deliver(route, note, events)
                claimed = True
        if not claimed:
            events.append(Unrouted(note))

    def _deliver(self, route: _TurnRoute[S], note: Notification, events: list[Event[S]]) -> None:
        events.append(Deliver(route.sink, note))
        if note.method == "turn/completed" and note.turn_id == route.turn_id:
            self._drop_route(route)

    def _drop_route(self, route: _TurnRoute[S]) -> None:
        routes = self._routes.get(route.thread_id)
        if routes is None:
            return
        if route in routes:
            routes.remove(route)
        if not routes:
            del self._routes[route.thread_id]

    # ---------------------------------------------------------------- shutdown
    def connection_lost(self, error: CodexError) -> tuple[list[Any], list[S]]:
        """Mark the connection dead; return every pending request's waiter and every live sink to wake."""
        if self._closed is None:
            self._closed = error
        pending = [waiter for _method, waiter in self._pending.values()]
        self._pending.clear()
        self._turn_starts.clear()
        sinks = [route.sink for routes in self._routes.values() for route in routes]
        sinks += [sink for watchers in self._watchers.values() for sink in watchers]
        self._routes.clear()
        self._watchers.clear()
        if self._splitter.pending_bytes:
            _log.debug("app-server closed with %d bytes of an unfinished line", self._splitter.pending_bytes)
        return pending, sinks
