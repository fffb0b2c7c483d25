"""The fault table of issue 9: each row's case, and what must happen instead.

| # | case | must be |
| 1 | ``AsyncCodex`` never closed when ``asyncio.run`` ends (also by an exception) | no delay; its runtime ends |
| 2 | runtime never answers ``initialize`` | error within ``startup_timeout_s`` + 1 s |
| 3 | runtime's own children | the whole process tree ends on every path |
| 4 | a client dropped unclosed | collected while the program runs, runtime ended |
| 5 | ``cwd`` that does not exist | the error names the directory |
| 6 | ``thread.run()`` while the model endpoint is down (the runtime retries) | ``thread.run(..., timeout=)`` |
| 7 | ``close()`` on a frozen (SIGSTOP) runtime | at most 2 s |
| 8 | non-turn requests to a frozen runtime | a default request timeout (configurable) |
| 9 | ``thread.run("x", bogus=1)`` | names ``run()`` |
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from codex_release.checks.fake_responses import Fail, FakeResponsesServer, RawEvents
from openai_codex import AsyncCodex, Codex, CodexConfig, CodexError, RuntimeNotFoundError, TransportClosedError
from tests.sdk.conftest import gone_within, process_alive

MakeConfig = Callable[..., CodexConfig]
DEFAULT_SHUTDOWN_S = CodexConfig().shutdown_timeout_s

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="SIGSTOP and process groups are POSIX")


def _start(client: str, config: CodexConfig) -> None:
    if client == "sync":
        Codex(config).close()
    else:
        asyncio.run(AsyncCodex(config).start())


# ---------------------------------------------------------------- 1: unclosed AsyncCodex at asyncio.run end
@pytest.mark.runtime
@pytest.mark.parametrize("ending", ["return", "exception"])
def test_1_unclosed_async_client_does_not_delay_asyncio_run(real_config: CodexConfig, ending: str) -> None:
    kept: list[AsyncCodex] = []  # a live reference: it is the loop's end, not garbage collection, that acts
    marks: list[float] = []

    async def main() -> None:
        codex = AsyncCodex(real_config)
        await codex.start()
        await (await codex.thread_start()).run("hello")
        kept.append(codex)
        marks.append(time.monotonic())
        if ending == "exception":
            raise KeyError("the program failed")

    if ending == "exception":
        with pytest.raises(KeyError):
            asyncio.run(main())
    else:
        asyncio.run(main())
    assert time.monotonic() - marks[0] < 0.5
    assert gone_within(kept[0].pid)


# ---------------------------------------------------------------- 2: initialize never answered
@pytest.mark.parametrize("client", ["sync", "async"])
def test_2_initialize_timeout_is_bounded(fake_app_server: MakeConfig, client: str) -> None:
    config = replace(fake_app_server("silent_initialize"), startup_timeout_s=2.0, shutdown_timeout_s=5.0)
    started = time.monotonic()
    with pytest.raises(TransportClosedError, match="did not answer initialize within 2s"):
        _start(client, config)
    assert time.monotonic() - started < config.startup_timeout_s + 1.0


# ---------------------------------------------------------------- 3: the runtime's children
@posix_only
@pytest.mark.parametrize("client", ["sync", "async"])
def test_3_close_ends_the_runtimes_children(fake_app_server: MakeConfig, tmp_path: Path, client: str) -> None:
    child_file = tmp_path / "child.pid"
    config = fake_app_server("child", fake_child_file=str(child_file))
    if client == "sync":
        with Codex(config) as codex:
            codex.thread_start()
            assert process_alive(int(child_file.read_text()))
    else:

        async def main() -> None:
            async with AsyncCodex(config) as codex:
                await codex.thread_start()
                assert process_alive(int(child_file.read_text()))

        asyncio.run(main())
    assert gone_within(int(child_file.read_text()))


@posix_only
@pytest.mark.parametrize("client", ["sync", "async"])
def test_3_a_failed_constructor_ends_the_runtimes_children(
    fake_app_server: MakeConfig, tmp_path: Path, client: str
) -> None:
    child_file, argv_file = tmp_path / "child.pid", tmp_path / "argv.json"
    config = replace(
        fake_app_server("child,silent_initialize", fake_child_file=str(child_file), fake_argv_file=str(argv_file)),
        startup_timeout_s=1.0,
    )
    with pytest.raises(TransportClosedError):
        _start(client, config)
    assert gone_within(int(child_file.read_text()))
    assert gone_within(json.loads(argv_file.read_text())["pid"])


# ---------------------------------------------------------------- 4: dropped unclosed
@pytest.mark.runtime
def test_4_a_dropped_sync_client_is_collected_and_its_runtime_ends(real_config: CodexConfig) -> None:
    codex = Codex(real_config)
    codex.thread_start()
    pid = codex.pid
    del codex
    gc.collect()
    assert gone_within(pid)


@pytest.mark.runtime
async def test_4_a_dropped_async_client_is_collected_and_its_runtime_ends(real_config: CodexConfig) -> None:
    codex = AsyncCodex(real_config)
    await codex.thread_start()
    pid = codex.pid
    del codex
    gc.collect()
    deadline = time.monotonic() + 2
    while process_alive(pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert not process_alive(pid)


# ---------------------------------------------------------------- 5: a cwd that does not exist
@pytest.mark.runtime
def test_5_a_missing_cwd_is_named(real_config: CodexConfig, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir"
    with pytest.raises(CodexError) as caught:
        Codex(replace(real_config, cwd=missing))
    assert str(missing) in str(caught.value)
    assert "does not exist" in str(caught.value)
    assert not isinstance(caught.value, RuntimeNotFoundError)


async def test_5_a_missing_cwd_is_named_async(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir"
    with pytest.raises(CodexError, match="no-such-dir' does not exist"):
        await AsyncCodex(CodexConfig(codex_bin=sys.executable, cwd=missing)).start()


# ---------------------------------------------------------------- 6: a model endpoint that is down
def _retrying_forever(fake_model: FakeResponsesServer) -> list[str]:
    """The fake model's overrides with the runtime's own retries on: a 503 is retried, with backoff."""
    return [
        o.replace("request_max_retries=0, stream_max_retries=0", "request_max_retries=50, stream_max_retries=50")
        for o in fake_model.config_overrides()
    ]


@pytest.mark.runtime
def test_6_run_with_a_timeout_while_the_model_is_down(real_config: CodexConfig, codex_home: Path) -> None:
    with FakeResponsesServer(default_reply=Fail(503, "overloaded")) as down:
        config = replace(real_config, config_overrides=_retrying_forever(down))
        with Codex(config) as codex:
            thread = codex.thread_start()
            started = time.monotonic()
            with pytest.raises(TimeoutError, match="did not finish within 2s; it was interrupted"):
                thread.run("hello", timeout=2)
            assert 2 <= time.monotonic() - started < 4
            assert len(down.model_requests) >= 2  # the runtime was retrying meanwhile
            # The client is still usable, and the turn was interrupted: a new one runs.
            assert codex.thread_start().id


@pytest.mark.runtime
async def test_6_run_with_a_timeout_while_the_model_is_down_async(real_config: CodexConfig) -> None:
    with FakeResponsesServer(default_reply=Fail(503, "overloaded")) as down:
        config = replace(real_config, config_overrides=_retrying_forever(down))
        async with AsyncCodex(config) as codex:
            thread = await codex.thread_start()
            started = time.monotonic()
            with pytest.raises(TimeoutError, match="it was interrupted"):
                await thread.run("hello", timeout=1.5)
            assert time.monotonic() - started < 3.5


@pytest.mark.runtime
def test_6_the_stream_shows_the_runtimes_retrying_errors(real_config: CodexConfig) -> None:
    """A model endpoint that drops every stream: the runtime reconnects, and says so in the turn's stream
    (``error`` notifications with ``will_retry``) until the caller interrupts the turn. (A 503
    answer is retried by the runtime without a notification.)"""
    dropped = RawEvents([{"type": "response.created", "response": {"id": "resp_dropped"}}])
    with FakeResponsesServer(default_reply=dropped) as flaky:
        config = replace(real_config, config_overrides=_retrying_forever(flaky))
        with Codex(config) as codex:
            handle = codex.thread_start().turn("hello")
            started = time.monotonic()
            retries = []
            for note in handle.stream():
                if note.method == "error":
                    retries.append(note.payload)
                if len(retries) == 2:
                    break
            assert time.monotonic() - started < 10
            assert all(r.will_retry for r in retries), retries
            assert retries[0].error.message.startswith("Reconnecting... 1/")
            with pytest.raises(TimeoutError, match="is still running; call interrupt"):
                handle.run(timeout=1)
            handle.interrupt()
            assert handle.run(timeout=10).status.value == "interrupted"


# ---------------------------------------------------------------- 7 and 8: a frozen runtime
@posix_only
@pytest.mark.runtime
def test_7_close_on_a_frozen_runtime_takes_at_most_2s(real_config: CodexConfig) -> None:
    codex = Codex(replace(real_config, shutdown_timeout_s=DEFAULT_SHUTDOWN_S))
    codex.thread_start()
    os.kill(codex.pid, signal.SIGSTOP)
    started = time.monotonic()
    codex.close()
    assert time.monotonic() - started <= 2.0
    assert gone_within(codex.pid)


@posix_only
@pytest.mark.runtime
async def test_7_close_on_a_frozen_runtime_takes_at_most_2s_async(real_config: CodexConfig) -> None:
    codex = AsyncCodex(replace(real_config, shutdown_timeout_s=DEFAULT_SHUTDOWN_S))
    await codex.thread_start()
    os.kill(codex.pid, signal.SIGSTOP)
    started = time.monotonic()
    await codex.close()
    assert time.monotonic() - started <= 2.0
    assert gone_within(codex.pid)


def test_8_requests_have_a_default_timeout() -> None:
    assert CodexConfig().request_timeout_s == 300.0
    with pytest.raises(ValueError, match="request_timeout_s"):
        CodexConfig(request_timeout_s=0)


@posix_only
@pytest.mark.runtime
def test_8_a_request_to_a_frozen_runtime_times_out(real_config: CodexConfig) -> None:
    with Codex(replace(real_config, request_timeout_s=1.0, shutdown_timeout_s=DEFAULT_SHUTDOWN_S)) as codex:
        os.kill(codex.pid, signal.SIGSTOP)
        started = time.monotonic()
        with pytest.raises(TimeoutError, match=r"within 1s \(CodexConfig.request_timeout_s\)"):
            codex.thread_start()
        assert time.monotonic() - started < 2


@posix_only
@pytest.mark.runtime
async def test_8_a_request_to_a_frozen_runtime_times_out_async(real_config: CodexConfig) -> None:
    async with AsyncCodex(replace(real_config, request_timeout_s=1.0, shutdown_timeout_s=DEFAULT_SHUTDOWN_S)) as codex:
        os.kill(codex.pid, signal.SIGSTOP)
        with pytest.raises(TimeoutError, match="request_timeout_s"):
            await codex.model_list()


# ---------------------------------------------------------------- 9: the right function named
@pytest.mark.runtime
def test_9_a_bad_keyword_of_run_names_run(real_config: CodexConfig) -> None:
    with Codex(real_config) as codex:
        thread = codex.thread_start()
        with pytest.raises(TypeError, match=r"(^|\.)run\(\) got an unexpected keyword argument 'bogus'"):
            thread.run("x", bogus=1)
        with pytest.raises(TypeError, match=r"(^|\.)turn\(\) got an unexpected keyword argument 'bogus'"):
            thread.turn("x", bogus=1)


@pytest.mark.runtime
async def test_9_a_bad_keyword_of_run_names_run_async(real_config: CodexConfig) -> None:
    async with AsyncCodex(real_config) as codex:
        thread = await codex.thread_start()
        with pytest.raises(TypeError, match=r"(^|\.)run\(\) got an unexpected keyword argument 'bogus'"):
            await thread.run("x", bogus=1)
