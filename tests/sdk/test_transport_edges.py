"""Protocol edge cases through both drivers, against tests/sdk/fake_app_server.py (a scripted app-server):
malformed and multi-MB lines, lines split into tiny writes, bursts, events that race their response,
server requests, crashes with many waiters, overload answers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from openai_codex import (
    AsyncCodex,
    Codex,
    CodexConfig,
    RetryLimitExceededError,
    ServerBusyError,
    TransportClosedError,
    retry_on_overload,
    retry_on_overload_async,
)
from tests.sdk.conftest import gone_within, process_alive

MakeConfig = Callable[..., CodexConfig]


def test_malformed_lines_are_skipped(fake_app_server: MakeConfig, caplog: pytest.LogCaptureFixture) -> None:
    with Codex(fake_app_server("malformed")) as codex:
        result = codex.thread_start().run("still works")
    assert result.final_response == "still works"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("not JSON" in w and "this is not json" in w for w in warnings)
    assert any("unknown request id 424242" in w for w in warnings)


@pytest.mark.parametrize("scenario", ["huge", "huge,split_writes"])
def test_multi_megabyte_lines_sync(fake_app_server: MakeConfig, scenario: str) -> None:
    size = 6 * 1024 * 1024 if "split" not in scenario else 64 * 1024
    with Codex(fake_app_server(scenario, fake_huge_bytes=size)) as codex:
        handle = codex.thread_start().turn("x")
        deltas = [n.params["delta"] for n in handle.stream() if n.method == "item/agentMessage/delta"]
        result = handle.result()
    assert [len(d) for d in deltas] == [size]
    assert result.final_response is not None
    assert len(result.final_response) == size


async def test_multi_megabyte_lines_async(fake_app_server: MakeConfig) -> None:
    size = 12 * 1024 * 1024  # far above asyncio's default 64 KiB StreamReader line limit
    async with AsyncCodex(fake_app_server("huge", fake_huge_bytes=size)) as codex:
        thread = await codex.thread_start()
        result = await thread.run("x")
    assert result.final_response == "x" * size


def test_burst_of_thousands_of_deltas(fake_app_server: MakeConfig) -> None:
    with Codex(fake_app_server("burst", fake_deltas=5000)) as codex:
        handle = codex.thread_start().turn("burst")
        started = time.monotonic()
        methods = [n.method for n in handle.stream()]
        elapsed = time.monotonic() - started
    assert methods.count("item/agentMessage/delta") == 5000 + 5000  # the burst, then the text in 5000 pieces
    assert methods[-1] == "turn/completed"
    assert elapsed < 10


async def test_burst_of_thousands_of_deltas_async(fake_app_server: MakeConfig) -> None:
    async with AsyncCodex(fake_app_server("burst", fake_deltas=5000)) as codex:
        handle = await (await codex.thread_start()).turn("burst")
        methods = [n.method async for n in handle.stream()]
    assert methods.count("item/agentMessage/delta") == 10000
    assert methods[-1] == "turn/completed"


def test_events_that_arrive_before_the_turn_start_response_are_not_lost(fake_app_server: MakeConfig) -> None:
    with Codex(fake_app_server("early_notifications")) as codex:
        handle = codex.thread_start().turn("early bird")
        methods = [n.method for n in handle.stream()]
        assert handle.result().final_response == "early bird"
    assert methods[0] == "turn/started"
    assert methods[-1] == "turn/completed"


@pytest.mark.parametrize("handler", ["decline", "accept", "cancel", "accept_for_session"])
def test_server_requests_are_answered_by_the_policy(fake_app_server: MakeConfig, handler: str) -> None:
    config = replace(fake_app_server("server_request"), approval_handler=handler)  # type: ignore[arg-type]
    with Codex(config) as codex:
        result = codex.thread_start().run("approve?")
    answer = json.loads(result.final_response or "")
    wire = {"accept_for_session": "acceptForSession"}.get(handler, handler)
    assert answer == {"id": "srv-1", "result": {"decision": wire}}


async def test_server_requests_are_answered_by_an_async_callback(fake_app_server: MakeConfig) -> None:
    seen = []

    async def handler(request: object) -> dict[str, str]:
        await asyncio.sleep(0.01)
        seen.append(request)
        return {"decision": "accept"}

    config = replace(fake_app_server("server_request"), approval_handler=handler)
    async with AsyncCodex(config) as codex:
        result = await (await codex.thread_start()).run("approve?")
    assert json.loads(result.final_response or "") == {"id": "srv-1", "result": {"decision": "accept"}}
    [request] = seen
    assert request.command == "rm -rf /"  # type: ignore[attr-defined]
    assert request.thread_id == "thread-1"  # type: ignore[attr-defined]


def test_a_failing_callback_declines(fake_app_server: MakeConfig) -> None:
    def handler(request: object) -> str:
        raise RuntimeError("the approval UI crashed")

    config = replace(fake_app_server("server_request"), approval_handler=handler)
    with Codex(config) as codex:
        result = codex.thread_start().run("approve?")
    assert json.loads(result.final_response or "")["result"] == {"decision": "decline"}


def test_crash_mid_turn_wakes_every_waiter_sync(fake_app_server: MakeConfig) -> None:
    codex = Codex(fake_app_server("hang_mid_turn"))
    try:
        first = codex.thread_start().turn("one")
        second = codex.thread_start().turn("two")
        errors: list[BaseException] = []
        done = threading.Barrier(4)

        def wait(call: Callable[[], object]) -> None:
            try:
                call()
            except BaseException as exc:
                errors.append(exc)
            done.wait(timeout=10)

        def streams() -> object:
            return list(second.stream())

        waiters: list[Callable[[], object]] = [
            first.run,
            streams,
            codex.thread_start,
        ]  # the last request is never answered
        with ThreadPoolExecutor(3) as pool:
            for waiter in waiters:
                pool.submit(wait, waiter)
            time.sleep(0.3)
            started = time.monotonic()
            os.kill(codex.pid, signal.SIGKILL)
            done.wait(timeout=10)
            elapsed = time.monotonic() - started
        assert len(errors) == 3
        assert all(isinstance(e, TransportClosedError) for e in errors), errors
        assert elapsed < 3
        assert errors[0].returncode == -signal.SIGKILL  # type: ignore[attr-defined]
        assert "exit code -9" in str(errors[0])
        with pytest.raises(TransportClosedError):
            codex.thread_start()
    finally:
        codex.close()


async def test_crash_mid_turn_wakes_every_waiter_async(fake_app_server: MakeConfig) -> None:
    async with AsyncCodex(fake_app_server("crash_mid_turn")) as codex:
        thread = await codex.thread_start()
        handle = await thread.turn("boom")
        with pytest.raises(TransportClosedError, match="simulated crash") as caught:
            await asyncio.wait_for(handle.run(), timeout=5)
        assert caught.value.returncode == 9
        with pytest.raises(TransportClosedError):
            await codex.thread_start()


async def test_kill_wakes_every_async_waiter(fake_app_server: MakeConfig) -> None:
    async with AsyncCodex(fake_app_server("hang_mid_turn")) as codex:
        first = await (await codex.thread_start()).turn("one")
        second = await (await codex.thread_start()).turn("two")

        async def stream() -> None:
            async for _ in second.stream():
                pass

        waiters = [
            asyncio.create_task(first.run()),
            asyncio.create_task(stream()),
            asyncio.create_task(codex.thread_start()),
        ]
        await asyncio.sleep(0.2)
        os.kill(codex.pid, signal.SIGKILL)
        results = await asyncio.wait_for(asyncio.gather(*waiters, return_exceptions=True), timeout=5)
    assert all(isinstance(r, TransportClosedError) for r in results), results


def test_overload_is_typed_and_retried(fake_app_server: MakeConfig) -> None:
    with Codex(fake_app_server("", fake_overloads=2)) as codex:
        with pytest.raises(ServerBusyError) as caught:
            codex.thread_start()
        assert caught.value.code == -32001
        assert caught.value.message == "Server overloaded; retry later."
        thread = retry_on_overload(codex.thread_start, initial_delay_s=0.01)
    assert thread.id == "thread-1"


async def test_overload_retry_limit_async(fake_app_server: MakeConfig) -> None:
    async with AsyncCodex(fake_app_server("", fake_overloads=5)) as codex:
        with pytest.raises(RetryLimitExceededError) as caught:
            await retry_on_overload_async(codex.thread_start, max_attempts=3, initial_delay_s=0.01)
        assert caught.value.attempts == 3
        assert isinstance(caught.value.__cause__, ServerBusyError)
        thread = await retry_on_overload_async(codex.thread_start, max_attempts=3, initial_delay_s=0.01)
        assert thread.id == "thread-1"


def test_close_is_idempotent_and_reaps_the_process(fake_app_server: MakeConfig) -> None:
    codex = Codex(fake_app_server(""))
    pid = codex.pid
    codex.close()
    codex.close()
    assert not process_alive(pid)
    with pytest.raises(TransportClosedError, match="closed"):
        codex.thread_start()


async def test_async_close_is_idempotent_and_reaps_the_process(fake_app_server: MakeConfig) -> None:
    codex = AsyncCodex(fake_app_server(""))
    await codex.start()
    pid = codex.pid
    await codex.close()
    await codex.close()
    assert not process_alive(pid)


def test_argv_env_and_cwd_of_the_app_server(fake_app_server: MakeConfig, tmp_path: Path) -> None:
    record = tmp_path / "argv.json"
    base = fake_app_server("", fake_argv_file=str(record))
    config = replace(
        base,
        config_overrides=['model="m1"', "features.x=false"],
        cwd=tmp_path,
        env={**(base.env or {}), "EXTRA": "1"},
    )
    with Codex(config):
        pass
    seen = json.loads(record.read_text())
    assert seen["argv"] == ["app-server", "--config", 'model="m1"', "--config", "features.x=false"]
    assert Path(seen["cwd"]) == tmp_path
    assert seen["env"]["EXTRA"] == "1"
    assert seen["env"]["PATH"] == os.environ["PATH"]  # env is merged over os.environ


def test_stderr_is_drained_and_only_its_tail_kept(fake_app_server: MakeConfig) -> None:
    codex = Codex(replace(fake_app_server("noisy_stderr,crash_mid_turn"), startup_timeout_s=10))
    try:
        handle = codex.thread_start().turn("x")
        with pytest.raises(TransportClosedError) as caught:
            handle.run(timeout=10)
    finally:
        codex.close()
    tail = caught.value.stderr_tail.splitlines()
    assert tail[-1] == "fake app-server: simulated crash in the middle of a turn"
    assert tail[-2].startswith("fake app-server log line 39999")
    assert 10 <= len(tail) <= 50


@pytest.fixture
def straggler_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "straggler.pid"
    yield path
    if path.exists():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(path.read_text()), signal.SIGKILL)


def test_crash_with_a_child_holding_the_pipes_sync(fake_app_server: MakeConfig, straggler_file: Path) -> None:
    codex = Codex(fake_app_server("straggler,crash_mid_turn", fake_straggler_file=str(straggler_file)))
    started = time.monotonic()
    try:
        handle = codex.thread_start().turn("x")
        with pytest.raises(TransportClosedError, match="exit code 9") as caught:
            handle.run(timeout=20)
        assert "simulated crash" in caught.value.stderr_tail
        assert process_alive(int(straggler_file.read_text()))  # it still holds stdout: no EOF came
    finally:
        codex.close()
    assert gone_within(int(straggler_file.read_text()))  # close() ends the whole process group
    assert time.monotonic() - started < 6


async def test_crash_with_a_child_holding_the_pipes_async(fake_app_server: MakeConfig, straggler_file: Path) -> None:
    started = time.monotonic()
    codex = AsyncCodex(fake_app_server("straggler,crash_mid_turn", fake_straggler_file=str(straggler_file)))
    try:
        handle = await (await codex.thread_start()).turn("x")
        with pytest.raises(TransportClosedError, match="exit code 9"):
            await handle.run(timeout=20)
        assert process_alive(int(straggler_file.read_text()))
    finally:
        await codex.close()
    assert gone_within(int(straggler_file.read_text()))
    assert time.monotonic() - started < 8
