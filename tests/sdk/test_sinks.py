"""The turn sinks of both drivers: a read's notifications arrive as one batch and come out one by one, in
order; the connection's error comes after them and then every time; several awaiting consumers all wake."""

from __future__ import annotations

import asyncio
import queue

import pytest

from openai_codex._async_transport import AsyncTurnSink
from openai_codex._sync_transport import TurnSink
from openai_codex.errors import TransportClosedError
from openai_codex.notifications import Notification


def _notes(*deltas: str) -> list[Notification]:
    return [Notification("item/agentMessage/delta", {"threadId": "t", "turnId": "u", "delta": d}) for d in deltas]


def test_the_sync_sink_hands_out_batches_in_order_then_the_error() -> None:
    sink = TurnSink()
    sink.put_many(_notes("a", "b"))
    sink.put(_notes("c")[0])
    sink.put_many([])
    sink.put_many(_notes("d"))
    sink.put(TransportClosedError("gone"))
    assert [sink.get(0).params["delta"] for _ in range(4)] == ["a", "b", "c", "d"]
    for _ in range(2):
        with pytest.raises(TransportClosedError):
            sink.get(0)
    with pytest.raises(queue.Empty):
        TurnSink().get(0.01)


async def test_the_async_sink_hands_out_batches_in_order_then_the_error() -> None:
    sink = AsyncTurnSink()
    assert sink.get_nowait() is None
    waiting = [asyncio.ensure_future(sink.get()) for _ in range(2)]
    await asyncio.sleep(0)
    sink.put_many(_notes("a", "b"))
    assert sorted(n.params["delta"] for n in await asyncio.gather(*waiting)) == ["a", "b"]
    sink.put_many(_notes("c", "d"))
    sink.put(_notes("e")[0])
    assert sink.get_nowait() is not None
    assert [(await sink.get()).params["delta"] for _ in range(2)] == ["d", "e"]
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(sink.get(), 0.01)  # a cancelled wait leaves nothing behind
    sink.put(TransportClosedError("gone"))
    sink.put_many(_notes("late"))
    for _ in range(2):
        with pytest.raises(TransportClosedError):
            await sink.get()
