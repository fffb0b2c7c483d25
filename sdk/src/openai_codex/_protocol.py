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
* hands every notification no turn claims to the event subscribers (``codex.events()``, ``thread.events()``:
  :meth:`ProtocolCore.subscribe`), or reports it :class:`Unrouted` when nobody subscribed (nothing is kept);
* follows a thread's goal (:meth:`ProtocolCore.start_goal`): a goal's sink is registered before
  ``thread/goal/set`` is sent and receives every turn the runtime runs for the goal (it starts them itself,
  one after another, with no ``turn/start`` of ours) and the thread's own events, until
  :class:`GoalLifecycle` says the goal run is over;
* surfaces server-to-client requests (:class:`ServerRequest`), which the driver must always answer, each
  with the ``item/started`` notification of the item it asks about when one came first (a file change's
  paths and diffs arrive there, not in its approval request): the core keeps the started command, file
  change and MCP tool call items until they complete or their turn does (at most :data:`STARTED_ITEMS_CAP`);
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

from openai_codex.approvals import ApprovalRequest
from openai_codex.errors import CodexError, JsonRpcError, jsonrpc_error
from openai_codex.notifications import Notification

__all__ = [
    "Deliver",
    "Event",
    "GoalLifecycle",
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

STARTED_ITEMS_CAP = 256
"""How many started, not yet completed items the core remembers for the approvals that may follow them."""
_ASKED_ABOUT = frozenset({"commandExecution", "fileChange", "mcpToolCall"})
_LIFECYCLE = frozenset({"item/started", "item/completed", "turn/completed"})
"""The item types an approval request can be about (the started items kept for :class:`ServerRequest`)."""


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


@dataclass(slots=True)
class Deliver(Generic[S]):
    """``notes`` (in order) belong to the turn (or watcher, subscriber, goal) whose sink is ``sink``.

    Consecutive notifications for the same sink share one event (a read of a long stream is one ``Deliver``
    of hundreds of deltas), so the driver hands them over at once: one queue operation, one wake-up."""

    sink: S
    notes: list[Notification]


@dataclass(frozen=True)
class Unrouted:
    """A notification no turn sink and no event subscriber claims (client-wide events while nobody listens)."""

    notification: Notification


@dataclass(frozen=True)
class ServerRequest:
    """A request from the app-server to us (approvals, user input, ...). It must be answered."""

    request_id: RequestId
    method: str
    params: dict[str, Any]
    started: Notification | None = None
    """The ``item/started`` notification of the item (``params["itemId"]``) this request is about, if any."""

    @property
    def thread_id(self) -> str | None:
        value = self.params.get("threadId")
        return value if isinstance(value, str) else None

    def approval(self) -> ApprovalRequest:
        """The request as handlers and hooks see it."""
        return ApprovalRequest(self.method, self.params, self.started)

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


class GoalLifecycle:
    """When a goal run is over, decided from its notifications alone (the core and the goal handle feed
    one each, with the same notifications in the same order, so they agree).

    Measured on the pinned runtime: ``thread/goal/set`` on an idle thread starts a turn at once and,
    while the goal's status stays ``active``, another as soon as one completes. It stops after the
    turn in which the status leaves ``active`` (``complete`` through the model's ``update_goal``,
    ``budgetLimited``, ``blocked`` after a failed turn, ...), after ``thread/goal/cleared`` (the turn in
    progress finishes normally), and after a turn that ends ``interrupted`` or ``failed`` (the goal stays
    set). The run is over once one of those has happened and no turn of the goal is in progress.
    """

    __slots__ = ("cleared", "status", "stopped", "turn_id")

    def __init__(self) -> None:
        self.status = "active"
        self.cleared = False
        self.stopped = False
        self.turn_id: str | None = None
        """The goal's turn in progress."""

    def observe(self, note: Notification) -> None:
        method = note.method
        if method == "turn/started":
            self.turn_id = note.turn_id
        elif method == "turn/completed" and note.turn_id == self.turn_id:
            self.turn_id = None
            turn = note.params.get("turn")
            if isinstance(turn, dict) and turn.get("status") in ("interrupted", "failed"):
                self.stopped = True
        elif method == "thread/goal/updated":
            goal = note.params.get("goal")
            if isinstance(goal, dict) and isinstance(goal.get("status"), str):
                self.status = goal["status"]
        elif method == "thread/goal/cleared":
            self.cleared = True

    @property
    def over(self) -> bool:
        return self.turn_id is None and (self.cleared or self.stopped or self.status != "active")


@dataclass
class _GoalRoute(Generic[S]):
    sink: S
    thread_id: str
    request_id: int
    lifecycle: GoalLifecycle = field(default_factory=GoalLifecycle)
    turn_ids: set[str] = field(default_factory=set)
    held: list[Notification] = field(default_factory=list)
    """Events of turns nobody claims yet, held while a ``turn/start`` of this thread awaits its id."""


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


def _put(events: list[Event[S]], sink: S, note: Notification) -> None:
    """Deliver ``note`` to ``sink``: into the last event if that one delivers to ``sink`` too."""
    if events:
        last = events[-1]
        if last.__class__ is Deliver and last.sink is sink:
            last.notes.append(note)
            return
    events.append(Deliver(sink, [note]))


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
        self._subscribers: list[tuple[S, str | None]] = []
        self._goals: dict[str, _GoalRoute[S]] = {}
        self._started: dict[tuple[str | None, str], Notification] = {}
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

    def start_goal(self, thread_id: str, params: Mapping[str, Any], sink: S, waiter: Any = None) -> tuple[int, bytes]:
        """A ``thread/goal/set`` request whose goal run (every turn the runtime starts for it, and the thread's
        own events) is delivered to ``sink`` until it is over (see :class:`GoalLifecycle`).

        One goal run per thread is followed at a time: :class:`CodexError` if another is still going.
        """
        if thread_id in self._goals:
            raise CodexError(f"a goal run of thread {thread_id} is still being followed; wait for it or clear it")
        request_id, data = self.request("thread/goal/set", params, waiter)
        self._goals[thread_id] = _GoalRoute(sink=sink, thread_id=thread_id, request_id=request_id)
        return request_id, data

    def goal_turn(self, sink: S) -> str | None:
        """The id of the turn in progress of the goal run delivered to ``sink`` (``None``: none now)."""
        for goal in self._goals.values():
            if goal.sink is sink:
                return goal.lifecycle.turn_id
        return None

    def forget(self, request_id: int) -> None:
        """Stop waiting for ``request_id`` (its response, if it comes, is dropped)."""
        self._pending.pop(request_id, None)
        route = self._turn_starts.pop(request_id, None)
        if route is not None:
            self._drop_route(route)
        for thread_id, goal in list(self._goals.items()):
            if goal.request_id == request_id:
                del self._goals[thread_id]

    def remove_sink(self, sink: S) -> None:
        """Stop routing to ``sink`` (the turn ended or its consumer went away)."""
        for routes in list(self._routes.values()):
            for route in list(routes):
                if route.sink is sink:
                    self._drop_route(route)
        for thread_id, goal in list(self._goals.items()):
            if goal.sink is sink:
                del self._goals[thread_id]

    def watch(self, method: str, sink: S) -> None:
        """Deliver every ``method`` notification to ``sink`` too (client-wide events: a login's completion)."""
        self._watchers.setdefault(method, []).append(sink)

    def unwatch(self, sink: S) -> None:
        for method, sinks in list(self._watchers.items()):
            if sink in sinks:
                sinks.remove(sink)
            if not sinks:
                del self._watchers[method]

    def subscribe(self, sink: S, thread_id: str | None = None) -> None:
        """Deliver to ``sink`` every notification no turn claims (only those naming ``thread_id``, if given),
        from now on: nothing that arrived before is kept for it."""
        self._subscribers.append((sink, thread_id))

    def unsubscribe(self, sink: S) -> None:
        self._subscribers = [entry for entry in self._subscribers if entry[0] is not sink]

    def publish(self, note: Notification) -> list[Event[S]]:
        """The events that hand ``note`` (made by the client, e.g. a hook's failure) to the subscribers."""
        events: list[Event[S]] = []
        self._unclaimed(note, events)
        return events

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
        receive_line = self._receive_line
        for line in self._splitter.feed(data):
            if line.strip():
                receive_line(line, events)
        return events

    def _receive_line(self, line: bytes, events: list[Event[S]]) -> None:
        try:
            message = _parse_line(line)
        except ValueError as exc:
            events.append(ProtocolViolation(line, f"not JSON: {exc}"))
            return
        if message.__class__ is not dict:
            events.append(ProtocolViolation(line, "not a JSON object"))
            return
        method = message.get("method")
        if method.__class__ is str and "id" not in message:  # a notification: the hot path of a stream
            params = message.get("params")
            note = Notification.from_wire(method, params if params.__class__ is dict else {})
            if method in _LIFECYCLE:
                self._track(note)
            self._route(note, events)
            return
        has_id = "id" in message and isinstance(message["id"], (int, str)) and not isinstance(message["id"], bool)
        if isinstance(method, str):
            params = message.get("params")
            params = params if isinstance(params, dict) else {}
            if has_id:
                item_id = params.get("itemId")
                started = self._started.get((params.get("threadId"), item_id)) if isinstance(item_id, str) else None
                events.append(ServerRequest(message["id"], method, params, started))
            else:
                self._route(Notification.from_wire(method, params), events)
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
            goal = self._goals.get(route.thread_id) if route is not None else None
            if method == "thread/goal/set":
                self.forget(request_id)
            events.append(Resolved(request_id, method, error=error, waiter=waiter))
            if goal is not None:
                self._release_held(goal, events)
            return
        result = message.get("result")
        events.append(Resolved(request_id, method, result=result, waiter=waiter))
        if route is not None:
            turn = result.get("turn") if isinstance(result, dict) else None
            turn_id = turn.get("id") if isinstance(turn, dict) else None
            goal = self._goals.get(route.thread_id)
            if not isinstance(turn_id, str):
                self._drop_route(route)
            else:
                route.turn_id = turn_id
                early, route.early = route.early, []
                for note in early:
                    if note.turn_id in (None, turn_id):
                        self._deliver(route, note, events)
            if goal is not None:
                self._release_held(goal, events)

    def _track(self, note: Notification) -> None:
        """Keep the started items an approval may ask about; forget them when they or their turn complete."""
        if note.method == "turn/completed":
            if self._started:
                for key in [key for key, started in self._started.items() if started.turn_id == note.turn_id]:
                    del self._started[key]
            return
        item = note.params.get("item")
        item_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(item_id, str):
            return
        key = (note.thread_id, item_id)
        if note.method == "item/completed":
            self._started.pop(key, None)
        elif item.get("type") in _ASKED_ABOUT:  # type: ignore[union-attr]
            if len(self._started) >= STARTED_ITEMS_CAP:
                del self._started[next(iter(self._started))]
            self._started[key] = note

    def _route(self, note: Notification, events: list[Event[S]]) -> None:
        if self._watchers:
            for sink in self._watchers.get(note.method, ()):
                _put(events, sink, note)
        thread_id = note.thread_id
        routes = self._routes.get(thread_id) if thread_id else None
        goal = self._goals.get(thread_id) if thread_id and self._goals else None
        claimed = False  # a watcher's note still reaches the subscribers (account/login/completed)
        if goal is not None and self._goal_claims(goal, note, routes or (), events):
            claimed = True
        if not routes:
            if not claimed:
                self._unclaimed(note, events)
            return
        turn_id = note.turn_id
        for route in list(routes) if len(routes) > 1 else routes:
            if route.turn_id is None:
                route.early.append(note)
                claimed = True
            elif turn_id is None or turn_id == route.turn_id:
                self._deliver(route, note, events)
                claimed = True
        if not claimed:
            self._unclaimed(note, events)

    def _unclaimed(self, note: Notification, events: list[Event[S]]) -> None:
        """``note`` belongs to no turn: it goes to every subscriber that wants it (a login's watcher may
        have had it too), else it is :class:`Unrouted`."""
        delivered = False
        for sink, thread_id in self._subscribers:
            if thread_id is None or thread_id == note.thread_id:
                _put(events, sink, note)
                delivered = True
        if not delivered:
            events.append(Unrouted(note))

    def _goal_claims(self, goal: _GoalRoute[S], note: Notification, routes: Any, events: list[Event[S]]) -> bool:
        """Deliver ``note`` to the goal run if it is the thread's own or one of the goal's turns' (adopting a
        turn the runtime started that no ``turn/start`` of ours claims)."""
        turn_id = note.turn_id
        if turn_id is None or turn_id in goal.turn_ids:
            self._deliver_goal(goal, note, events)
            return True
        if any(route.turn_id == turn_id for route in routes):
            return False  # a turn of ours, started with turn/start
        if any(route.turn_id is None for route in routes):
            goal.held.append(note)  # whose it is is known once that turn/start is answered
            return True
        if note.method == "turn/started":
            goal.turn_ids.add(turn_id)
            self._deliver_goal(goal, note, events)
            return True
        return False

    def _release_held(self, goal: _GoalRoute[S], events: list[Event[S]]) -> None:
        routes = self._routes.get(goal.thread_id, [])
        if any(route.turn_id is None for route in routes):
            return
        held, goal.held = goal.held, []
        for note in held:
            if self._goals.get(goal.thread_id) is goal:
                self._goal_claims(goal, note, routes, events)

    def _deliver_goal(self, goal: _GoalRoute[S], note: Notification, events: list[Event[S]]) -> None:
        if self._goals.get(goal.thread_id) is not goal:
            return
        _put(events, goal.sink, note)
        goal.lifecycle.observe(note)
        if goal.lifecycle.over:
            del self._goals[goal.thread_id]

    def _deliver(self, route: _TurnRoute[S], note: Notification, events: list[Event[S]]) -> None:
        _put(events, route.sink, note)
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
        sinks += [sink for sink, _thread_id in self._subscribers]
        sinks += [goal.sink for goal in self._goals.values()]
        self._goals.clear()
        self._started.clear()
        self._routes.clear()
        self._watchers.clear()
        self._subscribers.clear()
        if self._splitter.pending_bytes:
            _log.debug("app-server closed with %d bytes of an unfinished line", self._splitter.pending_bytes)
        return pending, sinks
