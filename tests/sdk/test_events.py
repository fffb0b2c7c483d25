"""``codex.events()`` / ``thread.events()``: every notification no turn handle consumes, bounded, ending with the
client; on the core, on a fake app-server (the cap) and on the real runtime with the fake model (sync and async)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest

from openai_codex import AsyncCodex, Codex, CodexConfig, EventSubscription, Notification, TransportClosedError
from openai_codex._drivers import EventBuffer
from openai_codex._protocol import Deliver, ProtocolCore, Unrouted
from tests.sdk.conftest import kill_hard

MakeConfig = Callable[..., CodexConfig]


def _line(method: str, **params: Any) -> bytes:
    return ProtocolCore.notification(method, params)


# ---------------------------------------------------------------- the core
def test_the_core_hands_what_no_turn_claims_to_the_subscribers() -> None:
    core: ProtocolCore[str] = ProtocolCore()
    assert isinstance(core.receive_data(_line("account/updated"))[0], Unrouted)  # nobody subscribed: nothing kept
    core.subscribe("all")
    core.subscribe("t1", thread_id="t1")
    _id, _data = core.start_turn("t2", {}, "turn-sink")
    events = core.receive_data(_line("account/rateLimits/updated") + _line("thread/name/updated", threadId="t1"))
    assert [(e.sink, n.method) for e in events if isinstance(e, Deliver) for n in e.notes] == [
        ("all", "account/rateLimits/updated"),
        ("all", "thread/name/updated"),
        ("t1", "thread/name/updated"),
    ]
    claimed = core.receive_data(_line("thread/status/changed", threadId="t2"))  # the turn of t2 is starting
    assert claimed == []
    core.watch("account/login/completed", "login")  # a login's watcher does not hide it from the subscribers
    sinks = [e.sink for e in core.receive_data(_line("account/login/completed")) if isinstance(e, Deliver)]
    assert sinks == ["login", "all"]
    core.unsubscribe("all")
    assert [e.sink for e in core.receive_data(_line("x", threadId="t1")) if isinstance(e, Deliver)] == ["t1"]
    _pending, lost = core.connection_lost(TransportClosedError("gone"))
    assert "t1" in lost


def test_the_buffer_drops_the_oldest_counts_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    buffer = EventBuffer(3)
    with caplog.at_level(logging.WARNING, logger="openai_codex"):
        for index in range(10):
            buffer.push(Notification("n", {"index": index}))
    assert [n.params["index"] for n in buffer.items] == [7, 8, 9]
    assert buffer.dropped == 7
    assert len([r for r in caplog.records if "dropping the oldest" in r.getMessage()]) == 1
    with pytest.raises(ValueError, match="max_buffered"):
        EventBuffer(0)


# ---------------------------------------------------------------- a fake app-server: the cap, the end
def test_the_cap_drops_and_counts(fake_app_server: MakeConfig) -> None:
    with Codex(fake_app_server()) as codex:
        before = codex.events()  # made before the flood: it sees the flood
        with codex.events(max_buffered=10) as events:
            codex._request("fake/emit", {"count": 25})
            received = [events.get(timeout=5) for _ in range(10)]
            assert events.dropped == 15
            assert [n.params["index"] for n in received if n is not None] == list(range(15, 25))
            with pytest.raises(TimeoutError):
                events.get(timeout=0.1)
        assert next(iter(before)).params["index"] == 0
        late = codex.events()  # subscribe, then receive: nothing from before
        with pytest.raises(TimeoutError):
            late.get(timeout=0.1)


def test_a_dead_runtime_raises_in_the_iterator(fake_app_server: MakeConfig) -> None:
    with Codex(fake_app_server()) as codex:
        events = codex.events()
        kill_hard(codex.pid)
        with pytest.raises(TransportClosedError, match="exited unexpectedly"):
            events.get(timeout=10)


async def test_the_async_cap_and_a_close_before_start(fake_app_server: MakeConfig) -> None:
    async with AsyncCodex(fake_app_server()) as codex:
        async with codex.events(max_buffered=5) as events:
            await codex._request("fake/emit", {"count": 8, "method": "mcpServer/startupStatus/updated"})
            received = [await events.get(timeout=5) for _ in range(5)]
            assert events.dropped == 3
            assert [n.params["index"] for n in received if n is not None] == [3, 4, 5, 6, 7]
        assert await events.get() is None  # closed: it has ended
    never_started = AsyncCodex(fake_app_server())
    pending = never_started.events()
    await never_started.close()
    assert [n async for n in pending] == []


# ---------------------------------------------------------------- the real runtime
def _drain(events: EventSubscription) -> list[Notification]:
    found = []
    while True:
        try:
            note = events.get(timeout=1.0)
        except TimeoutError:
            return found
        assert note is not None
        found.append(note)


@pytest.mark.runtime
def test_every_event_and_a_threads_own(real_config: CodexConfig) -> None:
    with Codex(real_config) as codex:
        events = codex.events()
        alpha, beta = codex.thread_start(), codex.thread_start()
        alpha_events, beta_events = alpha.events(), beta.events()
        alpha.set_name("alpha")
        codex.login_api_key("sk-not-a-real-key")  # the runtime announces the account change
        seen = _drain(events)
        assert [n.method for n in seen if n.method == "thread/started"] == ["thread/started"] * 2
        assert {"thread/name/updated", "account/login/completed", "account/updated"} <= {n.method for n in seen}
        assert [n.method for n in _drain(alpha_events) if n.method != "thread/started"] == ["thread/name/updated"]
        beta_seen = _drain(beta_events)  # beta's view holds only beta's events: at most its own thread/started,
        assert [n.method for n in beta_seen] in ([], ["thread/started"])  # when that lands after subscribing
        assert all(n.thread_id == beta.id for n in beta_seen)
        result = alpha.run("Hello.")  # a turn's events go to its handle, not to the subscribers
        assert result.final_response
        after = {n.method for n in _drain(events)}
        assert not after & {"turn/started", "item/completed", "turn/completed"}

        ended: list[list[str]] = []
        reader = threading.Thread(target=lambda: ended.append([n.method for n in events]))
        reader.start()
    reader.join(10)
    assert not reader.is_alive()  # closing the client ended the iteration (StopIteration), no hang
    assert ended == [[]]
    assert events.get() is None


@pytest.mark.runtime
async def test_every_event_async(real_config: CodexConfig) -> None:
    async with AsyncCodex(real_config) as codex:
        events = codex.events()
        thread = await codex.thread_start()
        thread_events = thread.events()
        await thread.set_name("async alpha")
        methods = []
        while "thread/started" not in methods:  # client-wide ones (a configWarning, ...) may come first
            note = await events.get(timeout=10)
            assert note is not None
            methods.append(note.method)
        named = await thread_events.get(timeout=10)
        if named is not None and named.method == "thread/started":  # its own, when it lands after subscribing
            named = await thread_events.get(timeout=10)
        assert named is not None
        assert named.method == "thread/name/updated"
        assert named.payload.thread_name == "async alpha"  # type: ignore[union-attr]

        async def read_all() -> list[str]:
            return [n.method async for n in thread_events]

        reader = asyncio.create_task(read_all())
        await asyncio.sleep(0.1)
    assert await asyncio.wait_for(reader, 10) == []  # closing the client ended it (StopAsyncIteration)
