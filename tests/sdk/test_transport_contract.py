"""Both drivers keep the one contract of :mod:`openai_codex._transport`: ``request`` starts if needed or
raises a typed error (never a bare assertion), ``close`` is idempotent and final."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from openai_codex import CodexConfig, TransportClosedError
from openai_codex._async_transport import AsyncTransport
from openai_codex._sync_transport import SyncTransport

MakeConfig = Callable[..., CodexConfig]


def test_sync_request_answers_then_after_close_raises_a_typed_error(fake_app_server: MakeConfig) -> None:
    transport = SyncTransport(fake_app_server(""))  # started by the constructor
    assert transport.request("thread/start", {})["thread"]["id"]
    transport.close()
    transport.close()  # idempotent
    with pytest.raises(TransportClosedError):
        transport.request("thread/start", {})


async def test_async_request_starts_the_app_server_then_after_close_raises(fake_app_server: MakeConfig) -> None:
    transport = AsyncTransport(fake_app_server(""))
    assert transport.runtime_version is None  # nothing started yet
    assert (await transport.request("thread/start", {}))["thread"]["id"]  # the first request starts it
    assert transport.runtime_version is not None
    await transport.close()
    await transport.close()
    with pytest.raises(TransportClosedError):
        await transport.request("thread/start", {})


async def test_async_request_after_close_before_start_is_a_typed_error(fake_app_server: MakeConfig) -> None:
    transport = AsyncTransport(fake_app_server(""))
    await transport.close()
    with pytest.raises(TransportClosedError, match="closed"):
        await transport.request("thread/start", {})
    with pytest.raises(TransportClosedError):
        await transport.start_turn("thr", {})
    with pytest.raises(TransportClosedError, match="not been started"):
        _ = transport.pid
    assert transport._proc is None  # nothing was spawned
