"""Cancellation stops the turn, on the real runtime against a fake model that holds its stream: cancelling
the task (``task.cancel()``, ``asyncio.timeout``, an anyio cancel scope) or Ctrl-C in a sync ``run()`` /
``stream()`` sends ``turn/interrupt``, waits for the turn to end as interrupted, and re-raises. Also while the
answer to ``turn/start`` / ``thread/goal/set`` is still on its way (held back by held_answer_proxy.py): the
runtime is running the turn already, so it must be stopped all the same."""

from __future__ import annotations

import asyncio
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from codex_release.checks.fake_responses import FakeResponsesServer, Hang, Text
from openai_codex import INTERRUPT_WAIT_S, AsyncCodex, AsyncThread, Codex, CodexConfig, Thread

pytestmark = pytest.mark.runtime


def _last_turn_status(thread: Thread) -> str:
    return str(thread.read(include_turns=True).turns[-1].status.value)


async def _last_turn_status_async(thread: AsyncThread) -> str:
    return str((await thread.read(include_turns=True)).turns[-1].status.value)


async def _reached(hang: Hang) -> None:
    assert await asyncio.to_thread(hang.reached.wait, 30)


async def test_task_cancel_interrupts_run(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    hang = Hang("held", deltas=2, after=1)
    fake_model.enqueue(hang)
    async with AsyncCodex(real_config) as codex:
        thread = await codex.thread_start()
        task = asyncio.create_task(thread.run("Talk slowly."))
        await _reached(hang)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < INTERRUPT_WAIT_S
        assert await _last_turn_status_async(thread) == "interrupted"  # the server stopped it
        fake_model.enqueue(Text("Next answer."))
        assert (await thread.run("Next.")).final_response == "Next answer."  # the thread is not busy


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout is Python 3.11+")
async def test_asyncio_timeout_interrupts_stream(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    hang = Hang("held", deltas=2, after=1)
    fake_model.enqueue(hang)
    async with AsyncCodex(real_config) as codex:
        thread = await codex.thread_start()
        handle = await thread.turn("Talk slowly.")
        seen: list[str] = []

        async def consume() -> None:
            async with asyncio.timeout(None) as scope:
                async for note in handle.stream():
                    seen.append(note.method)
                    if note.method == "item/agentMessage/delta":  # the model is now holding its stream
                        scope.reschedule(asyncio.get_running_loop().time() + 0.2)

        with pytest.raises(TimeoutError):
            await consume()
        assert "item/agentMessage/delta" in seen
        assert handle.done
        assert handle._state.turn().status.value == "interrupted"
        assert await _last_turn_status_async(thread) == "interrupted"
        assert (await thread.run("Next.")).status == "completed"


async def test_anyio_cancel_scope_interrupts_run(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    anyio = pytest.importorskip("anyio")
    hang = Hang("held", deltas=2, after=1)
    fake_model.enqueue(hang)
    async with AsyncCodex(real_config) as codex:
        thread = await codex.thread_start()
        with anyio.CancelScope() as scope:
            watcher = asyncio.ensure_future(_reached(hang))
            watcher.add_done_callback(lambda _: scope.cancel())
            await thread.run("Talk slowly.")
        assert scope.cancelled_caught
        assert await _last_turn_status_async(thread) == "interrupted"
        assert (await thread.run("Next.")).status == "completed"


async def test_task_cancel_interrupts_a_goal_stream(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    hang = Hang("held", deltas=2, after=1)
    fake_model.enqueue(Text("first turn"), hang)
    async with AsyncCodex(real_config) as codex:
        thread = await codex.thread_start()
        handle = await thread.start_goal("Never-ending.")

        async def consume() -> None:
            async for _ in handle.stream():
                pass

        task = asyncio.create_task(consume())
        await _reached(hang)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert handle.done
        assert [t.status for t in handle._state.result().turns] == ["completed", "interrupted"]
        assert await _last_turn_status_async(thread) == "interrupted"
        assert (await thread.run("Next.")).status == "completed"


# ---------------------------------------------------------------- Ctrl-C in the blocking client


@pytest.fixture
def ctrl_c_when() -> Iterator[object]:
    """``ctrl_c_when(event)``: SIGINT to the main thread (as Ctrl-C sends it) once ``event`` is set."""
    if sys.platform == "win32" or threading.current_thread() is not threading.main_thread():
        pytest.skip("needs POSIX signals delivered to the main thread")
    threads: list[threading.Thread] = []

    def arm(event: threading.Event) -> None:
        def fire() -> None:
            if event.wait(30):
                signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

        thread = threading.Thread(target=fire, daemon=True)
        thread.start()
        threads.append(thread)

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield arm
    finally:
        for thread in threads:
            thread.join(31)
        signal.signal(signal.SIGINT, previous)


def test_ctrl_c_interrupts_run(real_config: CodexConfig, fake_model: FakeResponsesServer, ctrl_c_when: object) -> None:
    hang = Hang("held", deltas=2, after=1)
    fake_model.enqueue(hang)
    with Codex(real_config) as codex:
        thread = codex.thread_start()
        ctrl_c_when(hang.reached)  # type: ignore[operator]
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            thread.run("Talk slowly.")
        assert time.monotonic() - started < 30
        assert _last_turn_status(thread) == "interrupted"
        fake_model.enqueue(Text("Next answer."))
        assert thread.run("Next.").final_response == "Next answer."


def test_ctrl_c_interrupts_stream(
    real_config: CodexConfig, fake_model: FakeResponsesServer, ctrl_c_when: object
) -> None:
    hang = Hang("held", deltas=2, after=1)
    fake_model.enqueue(hang)
    with Codex(real_config) as codex:
        thread = codex.thread_start()
        handle = thread.turn("Talk slowly.")
        ctrl_c_when(hang.reached)  # type: ignore[operator]
        with pytest.raises(KeyboardInterrupt):
            for _ in handle.stream():
                pass
        assert handle.done
        assert handle.run().status.value == "interrupted"
        assert _last_turn_status(thread) == "interrupted"
        assert thread.run("Next.").status == "completed"


def test_ctrl_c_interrupts_a_goal_run(
    real_config: CodexConfig, fake_model: FakeResponsesServer, ctrl_c_when: object
) -> None:
    hang = Hang("held", deltas=2, after=1)
    fake_model.enqueue(Text("first turn"), hang)
    with Codex(real_config) as codex:
        thread = codex.thread_start()
        ctrl_c_when(hang.reached)  # type: ignore[operator]
        with pytest.raises(KeyboardInterrupt):
            thread.run_goal("Never-ending.")
        assert _last_turn_status(thread) == "interrupted"
        goal = thread.goal()
        assert goal is not None
        assert goal.status.value == "active"
        assert thread.run("Next.").status == "completed"


# ---------------------------------------------------------------- cancelled before the start request is answered

HOLD_S = 2.0
"""How long held_answer_proxy.py holds the answer: the runtime is streaming the turn long before it arrives."""


@pytest.fixture
def held_answer(real_config: CodexConfig, tmp_path: Path) -> Callable[[str], CodexConfig]:
    """``held_answer(method)``: ``real_config`` with the real codex behind held_answer_proxy.py, which holds
    back the answer to the first ``method`` request for :data:`HOLD_S`. (POSIX: the launcher is a ``#!``
    script, which Windows cannot start as ``codex``; the code under test is the same on every OS.)"""
    if sys.platform == "win32":
        pytest.skip("the proxy's launcher is a #! script")

    def make(method: str) -> CodexConfig:
        launcher = tmp_path / "codex-behind-proxy"
        proxy = Path(__file__).with_name("held_answer_proxy.py")
        argv = f"[sys.executable, {str(proxy)!r}, {str(real_config.codex_bin)!r}, *sys.argv[1:]]"
        launcher.write_text(f"#!{sys.executable}\nimport os, sys\nos.execv(sys.executable, {argv})\n")
        launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR)
        env = {**real_config.env, "HOLD_METHOD": method, "HOLD_S": str(HOLD_S)}
        return replace(real_config, codex_bin=launcher, env=env)

    return make


async def test_cancel_before_turn_start_is_answered_still_interrupts(
    held_answer: Callable[[str], CodexConfig], fake_model: FakeResponsesServer
) -> None:
    hang = Hang("held", deltas=2, after=1)
    fake_model.enqueue(hang)
    async with AsyncCodex(held_answer("turn/start")) as codex:
        thread = await codex.thread_start()
        task = asyncio.create_task(thread.run("Talk slowly."))
        await _reached(hang)  # the runtime streams the turn; its turn/start answer is still held back
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await _last_turn_status_async(thread) == "interrupted"  # not left running, spending tokens
        fake_model.enqueue(Text("Next answer."))
        assert (await thread.run("Next.")).final_response == "Next answer."


async def test_cancel_before_goal_set_is_answered_still_interrupts(
    held_answer: Callable[[str], CodexConfig], fake_model: FakeResponsesServer
) -> None:
    hang = Hang("held", deltas=2, after=1)
    fake_model.enqueue(hang)
    async with AsyncCodex(held_answer("thread/goal/set")) as codex:
        thread = await codex.thread_start()
        task = asyncio.create_task(thread.run_goal("Never-ending."))
        await _reached(hang)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await _last_turn_status_async(thread) == "interrupted"
        assert (await thread.run("Next.")).status == "completed"


def test_ctrl_c_before_turn_start_is_answered_still_interrupts(
    held_answer: Callable[[str], CodexConfig], fake_model: FakeResponsesServer, ctrl_c_when: object
) -> None:
    hang = Hang("held", deltas=2, after=1)
    fake_model.enqueue(hang)
    with Codex(held_answer("turn/start")) as codex:
        thread = codex.thread_start()
        ctrl_c_when(hang.reached)  # type: ignore[operator]
        with pytest.raises(KeyboardInterrupt):
            thread.turn("Talk slowly.")  # Ctrl-C comes while this waits for the held answer
        assert _last_turn_status(thread) == "interrupted"
        fake_model.enqueue(Text("Next answer."))
        assert thread.run("Next.").final_response == "Next answer."
