"""The exit watcher: it must never report a live app-server as exited, and must notice a real exit even
while a grandchild holds the pipes open. ``make test`` runs the SDK tests a second time with ``os.waitid``
removed (``OPENAI_CODEX_TEST_WITHOUT_WAITID=1``), as macOS has it before Python 3.13."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from codex_release.checks.fake_responses import FakeResponsesServer, Text
from openai_codex import AsyncCodex, Codex, CodexConfig
from openai_codex._runtime import wait_for_exit
from openai_codex.types import AgentMessageDeltaNotification, TurnStatus

SLOW_DELTAS = 8
SLOW_DELAY_S = 0.5  # the turn streams for about 3.5 s: far past the watcher's 0.5 s grace


def _slow_reply() -> Text:
    return Text(" ".join(f"w{i}" for i in range(SLOW_DELTAS)), deltas=SLOW_DELTAS, delay_s=SLOW_DELAY_S)


def test_wait_for_exit_blocks_until_the_exit() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time, sys; time.sleep(1.5); sys.exit(3)"])
    try:
        started = time.monotonic()
        returncode = wait_for_exit(proc)
        elapsed = time.monotonic() - started
        assert elapsed >= 1.2, f"reported exited after {elapsed:.2f}s while it was still running"
        assert returncode in (3, None)
        assert proc.wait(timeout=5) == 3  # whatever path ran, the code is still there for Popen
    finally:
        proc.kill()
        proc.wait()


def test_wait_for_exit_beside_a_popen_waiter() -> None:
    """Another thread waiting on the same Popen (close() does) must not confuse the watcher."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1)"])
    results: list[int | None] = []
    watcher = threading.Thread(target=lambda: results.append(wait_for_exit(proc)))
    watcher.start()
    assert proc.wait(timeout=10) == 0
    watcher.join(timeout=10)
    assert not watcher.is_alive()
    assert results in ([0], [None])


@pytest.mark.skipif(sys.platform == "win32", reason="signals")
def test_wait_for_exit_reports_a_signal() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    threading.Timer(0.5, proc.kill).start()
    returncode = wait_for_exit(proc)
    assert returncode in (-9, None)
    assert proc.wait(timeout=5) == -9


@pytest.mark.runtime
def test_a_turn_streaming_for_seconds_sync(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    fake_model.enqueue(_slow_reply())
    started = time.monotonic()
    with Codex(real_config) as codex:
        handle = codex.thread_start().turn("Talk slowly.")
        deltas = [n for n in handle.stream() if isinstance(n.payload, AgentMessageDeltaNotification)]
        result = handle.run()
        assert codex.thread_start().id  # the connection is still alive after the long turn
    assert time.monotonic() - started >= (SLOW_DELTAS - 1) * SLOW_DELAY_S
    assert len(deltas) == SLOW_DELTAS
    assert result.status is TurnStatus.completed


@pytest.mark.runtime
async def test_a_turn_streaming_for_seconds_async(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    fake_model.enqueue(_slow_reply())
    started = time.monotonic()
    async with AsyncCodex(real_config) as codex:
        handle = await (await codex.thread_start()).turn("Talk slowly.")
        deltas = [n async for n in handle.stream() if isinstance(n.payload, AgentMessageDeltaNotification)]
        result = await handle.run()
        assert (await codex.thread_start()).id
    assert time.monotonic() - started >= (SLOW_DELTAS - 1) * SLOW_DELAY_S
    assert len(deltas) == SLOW_DELTAS
    assert result.status is TurnStatus.completed


def test_the_mode_is_what_the_environment_asks() -> None:
    """Guards the second pass: it really runs without ``os.waitid``."""
    if os.environ.get("OPENAI_CODEX_TEST_WITHOUT_WAITID") == "1":
        assert not hasattr(os, "waitid")
    else:
        assert hasattr(os, "waitid") or sys.platform in ("win32", "darwin")
