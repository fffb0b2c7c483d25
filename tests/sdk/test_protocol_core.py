"""The sans-IO core: framing, response matching, turn routing, server requests, connection loss."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openai_codex import InvalidParamsError, JsonRpcError, ServerBusyError, TransportClosedError
from openai_codex._protocol import (
    Deliver,
    LineSplitter,
    ProtocolCore,
    ProtocolViolation,
    Resolved,
    ServerRequest,
    Unrouted,
)


def line(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"


def note(method: str, **params: Any) -> bytes:
    return line({"method": method, "params": params})


class Sink:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


def test_line_splitter_joins_chunks_and_splits_bursts() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b'{"a"') == []
    assert splitter.feed(b":1}\n{") == [b'{"a":1}']
    assert splitter.feed(b'"b":2}\n\n{"c":3}\n') == [b'{"b":2}', b"", b'{"c":3}']
    assert splitter.pending_bytes == 0
    big = b"x" * (5 * 1024 * 1024)
    for start in range(0, len(big), 65536):
        assert splitter.feed(big[start : start + 65536]) == []
    assert splitter.feed(b"\n") == [big]


def test_requests_are_numbered_and_encoded_without_jsonrpc_field() -> None:
    core: ProtocolCore[Sink] = ProtocolCore()
    first, data = core.request("thread/start", {"model": "m"})
    second, _ = core.request("model/list", None)
    assert (first, second) == (1, 2)
    assert json.loads(data) == {"id": 1, "method": "thread/start", "params": {"model": "m"}}
    assert data.endswith(b"\n")
    assert b"jsonrpc" not in data
    assert json.loads(ProtocolCore.notification("initialized")) == {"method": "initialized"}
    assert json.loads(ProtocolCore.response("srv-1", {"decision": "decline"})) == {
        "id": "srv-1",
        "result": {"decision": "decline"},
    }


def test_responses_match_requests_and_errors_are_typed() -> None:
    core: ProtocolCore[Sink] = ProtocolCore()
    ok, _ = core.request("thread/start", {})
    busy, _ = core.request("thread/start", {})
    bad, _ = core.request("turn/start", {})
    data = (
        line({"id": busy, "error": {"code": -32001, "message": "Server overloaded; retry later."}})
        + line({"id": ok, "result": {"thread": {"id": "t"}}})
        + line({"id": bad, "error": {"code": -32602, "message": "bad", "data": {"field": "input"}}})
    )
    events = core.receive_data(data)
    assert [type(e) for e in events] == [Resolved, Resolved, Resolved]
    by_id = {e.request_id: e for e in events if isinstance(e, Resolved)}
    assert by_id[ok].result == {"thread": {"id": "t"}}
    assert by_id[ok].error is None
    busy_error = by_id[busy].error
    assert isinstance(busy_error, ServerBusyError)
    assert busy_error.code == -32001
    error = by_id[bad].error
    assert isinstance(error, InvalidParamsError)
    assert (error.code, error.message, error.data, error.method) == (-32602, "bad", {"field": "input"}, "turn/start")


def test_unknown_error_codes_stay_generic() -> None:
    core: ProtocolCore[Sink] = ProtocolCore()
    request_id, _ = core.request("x", {})
    [event] = core.receive_data(line({"id": request_id, "error": {"code": -1, "message": "odd"}}))
    assert isinstance(event, Resolved)
    assert type(event.error) is JsonRpcError


def test_malformed_lines_are_violations_and_do_not_break_the_stream() -> None:
    core: ProtocolCore[Sink] = ProtocolCore()
    request_id, _ = core.request("x", {})
    stray = line({"id": 999, "result": {}})
    data = b"garbage\n[1,2]\n" + stray + b'{"what": 1}\n' + line({"id": request_id, "result": 7})
    events = core.receive_data(data)
    violations = [e for e in events if isinstance(e, ProtocolViolation)]
    assert [v.line for v in violations] == [b"garbage", b"[1,2]", stray[:-1], b'{"what": 1}']
    assert isinstance(events[-1], Resolved)
    assert events[-1].result == 7


def test_server_requests_are_surfaced_with_their_id() -> None:
    core: ProtocolCore[Sink] = ProtocolCore()
    events = core.receive_data(
        line(
            {
                "id": "srv-1",
                "method": "item/commandExecution/requestApproval",
                "params": {"threadId": "t", "turnId": "u"},
            }
        )
    )
    [request] = events
    assert isinstance(request, ServerRequest)
    assert (request.request_id, request.method, request.thread_id, request.turn_id) == (
        "srv-1",
        "item/commandExecution/requestApproval",
        "t",
        "u",
    )


def test_turn_events_are_routed_to_their_turn_only() -> None:
    core: ProtocolCore[Sink] = ProtocolCore()
    sink_a, sink_b = Sink("a"), Sink("b")
    req_a, _ = core.start_turn("thread-a", {}, sink_a)
    req_b, _ = core.start_turn("thread-b", {}, sink_b)
    core.receive_data(line({"id": req_a, "result": {"turn": {"id": "turn-a"}}}))
    core.receive_data(line({"id": req_b, "result": {"turn": {"id": "turn-b"}}}))
    events = core.receive_data(
        note("item/agentMessage/delta", threadId="thread-b", turnId="turn-b", delta="B")
        + note("item/agentMessage/delta", threadId="thread-a", turnId="turn-a", delta="A")
        + note("thread/status/changed", threadId="thread-a", status={"type": "active"})
        + note("account/rateLimits/updated", rateLimits={})
    )
    delivered = [(e.sink, n.method) for e in events if isinstance(e, Deliver) for n in e.notes]
    assert delivered == [
        (sink_b, "item/agentMessage/delta"),
        (sink_a, "item/agentMessage/delta"),
        (sink_a, "thread/status/changed"),
    ]
    assert [e.notification.method for e in events if isinstance(e, Unrouted)] == ["account/rateLimits/updated"]


def test_events_racing_ahead_of_the_turn_start_response_are_kept() -> None:
    core: ProtocolCore[Sink] = ProtocolCore()
    sink = Sink("s")
    request_id, _ = core.start_turn("t", {}, sink)
    early = core.receive_data(
        note("turn/started", threadId="t", turn={"id": "u"})
        + note("item/agentMessage/delta", threadId="t", turnId="u", delta="hi")
        + note("item/agentMessage/delta", threadId="t", turnId="other-turn", delta="not ours")
    )
    assert early == []
    events = core.receive_data(line({"id": request_id, "result": {"turn": {"id": "u"}}}))
    assert isinstance(events[0], Resolved)
    assert [n.method for e in events[1:] if isinstance(e, Deliver) for n in e.notes] == [
        "turn/started",
        "item/agentMessage/delta",
    ]


def test_turn_completed_ends_the_route() -> None:
    core: ProtocolCore[Sink] = ProtocolCore()
    sink = Sink("s")
    request_id, _ = core.start_turn("t", {}, sink)
    core.receive_data(line({"id": request_id, "result": {"turn": {"id": "u"}}}))
    events = core.receive_data(
        note("turn/completed", threadId="t", turn={"id": "u", "status": "completed"})
        + note("item/agentMessage/delta", threadId="t", turnId="u", delta="late")
    )
    assert isinstance(events[0], Deliver)
    assert isinstance(events[1], Unrouted)


def test_consecutive_notifications_for_one_sink_are_one_deliver_in_order() -> None:
    core: ProtocolCore[Sink] = ProtocolCore()
    sink_a, sink_b = Sink("a"), Sink("b")
    req_a, _ = core.start_turn("thread-a", {}, sink_a)
    req_b, _ = core.start_turn("thread-b", {}, sink_b)
    core.receive_data(line({"id": req_a, "result": {"turn": {"id": "turn-a"}}}))
    core.receive_data(line({"id": req_b, "result": {"turn": {"id": "turn-b"}}}))
    deltas = [note("item/agentMessage/delta", threadId="thread-a", turnId="turn-a", delta=str(i)) for i in range(3)]
    events = core.receive_data(
        b"".join(deltas)
        + note("item/agentMessage/delta", threadId="thread-b", turnId="turn-b", delta="B")
        + note("item/agentMessage/delta", threadId="thread-a", turnId="turn-a", delta="3")
    )
    assert [(e.sink, [n.params["delta"] for n in e.notes]) for e in events if isinstance(e, Deliver)] == [
        (sink_a, ["0", "1", "2"]),
        (sink_b, ["B"]),
        (sink_a, ["3"]),
    ]
    assert len(events) == 3


def test_failed_turn_start_drops_the_sink() -> None:
    core: ProtocolCore[Sink] = ProtocolCore()
    sink = Sink("s")
    request_id, _ = core.start_turn("t", {}, sink)
    [event] = core.receive_data(line({"id": request_id, "error": {"code": -32600, "message": "no such thread"}}))
    assert isinstance(event, Resolved)
    assert event.error is not None
    assert core.connection_lost(TransportClosedError("x")) == ([], [])


def test_connection_lost_returns_every_waiter_and_refuses_new_requests() -> None:
    core: ProtocolCore[Sink] = ProtocolCore()
    sink = Sink("s")
    pending, _ = core.request("model/list", {})
    turn_request, _ = core.start_turn("t", {}, sink)
    error = TransportClosedError("gone", returncode=9)
    requests, sinks = core.connection_lost(error)
    assert sorted(requests) == sorted([pending, turn_request])
    assert sinks == [sink]
    assert core.closed is error
    with pytest.raises(TransportClosedError, match="gone"):
        core.request("model/list", {})


def test_forget_drops_a_request_and_its_route() -> None:
    core: ProtocolCore[Sink] = ProtocolCore()
    sink = Sink("s")
    request_id, _ = core.start_turn("t", {}, sink)
    core.forget(request_id)
    [event] = core.receive_data(line({"id": request_id, "result": {"turn": {"id": "u"}}}))
    assert isinstance(event, ProtocolViolation)
    assert core.connection_lost(TransportClosedError("x")) == ([], [])


@pytest.mark.parametrize(
    "raw",
    [
        b'{"method": "a", "params": {"x": "\\u00e9\\ud83d\\ude00"}}',
        b'  {"method":"a"}  \r',  # surrounding whitespace (and a CRLF line ending)
        '{"method":"é"}'.encode(),
        '{"method":"a"}'.encode("utf-16"),  # another encoding json.loads detects
        b'{"method":"a","params":{"n":1e400,"v":NaN}}',
    ],
)
def test_fast_line_parser_agrees_with_json_loads(raw: bytes) -> None:
    from openai_codex._protocol import _parse_line

    assert repr(_parse_line(raw)) == repr(json.loads(raw))


@pytest.mark.parametrize("raw", [b'{"method":"a"} {"method":"b"}', b'{"method":', b"\xff{}", b"", b"]"])
def test_fast_line_parser_raises_as_json_loads_does(raw: bytes) -> None:
    from openai_codex._protocol import _parse_line

    with pytest.raises(ValueError):  # noqa: PT011 - the same errors as json.loads, whatever they are
        json.loads(raw)
    with pytest.raises(ValueError):  # noqa: PT011
        _parse_line(raw)


def _approval(request_id: int, item_id: str, thread: str = "t1") -> bytes:
    params = {"threadId": thread, "itemId": item_id}
    return line({"id": request_id, "method": "item/fileChange/requestApproval", "params": params})


def _started(item_id: str, kind: str = "fileChange", thread: str = "t1", turn: str = "u1") -> bytes:
    item = {"type": kind, "id": item_id, "changes": [], "status": "inProgress"}
    return note("item/started", threadId=thread, turnId=turn, startedAtMs=1, item=item)


def _requests(events: list[Any]) -> list[ServerRequest]:
    return [event for event in events if isinstance(event, ServerRequest)]


def test_a_server_request_carries_the_started_item_it_asks_about() -> None:
    core: ProtocolCore[Sink] = ProtocolCore()
    [request] = _requests(core.receive_data(_started("call_1") + _approval(0, "call_1")))
    assert request.started is not None
    assert request.started.params["item"]["id"] == "call_1"
    approval = request.approval()
    assert approval.started is request.started
    assert approval.item is not None
    assert approval.item.id == "call_1"
    # another thread's item of the same id, an unknown item, a message item: nothing is attached
    events = core.receive_data(_approval(1, "call_1", thread="t2") + _approval(2, "call_9"))
    assert [request.started for request in _requests(events)] == [None, None]
    core.receive_data(_started("msg_1", kind="agentMessage"))
    [request] = _requests(core.receive_data(_approval(3, "msg_1")))
    assert request.started is None
    assert request.approval().item is None


def test_started_items_are_forgotten_on_completion_turn_end_and_past_the_cap() -> None:
    from openai_codex._protocol import STARTED_ITEMS_CAP

    core: ProtocolCore[Sink] = ProtocolCore()
    completed = note("item/completed", threadId="t1", turnId="u1", item={"type": "fileChange", "id": "a"})
    core.receive_data(_started("a") + completed + _started("b") + _started("c", turn="u2"))
    core.receive_data(note("turn/completed", threadId="t1", turn={"id": "u1"}))
    events = core.receive_data(_approval(0, "a") + _approval(1, "b") + _approval(2, "c"))
    assert [request.started is not None for request in _requests(events)] == [False, False, True]
    core.receive_data(b"".join(_started(f"x{i}") for i in range(STARTED_ITEMS_CAP + 10)))
    assert len(core._started) == STARTED_ITEMS_CAP
    events = core.receive_data(_approval(3, "x0") + _approval(4, f"x{STARTED_ITEMS_CAP + 9}"))
    assert [request.started is not None for request in _requests(events)] == [False, True]  # oldest dropped first
