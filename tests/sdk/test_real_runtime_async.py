"""The asyncio client against the real pinned ``codex app-server`` and the fake Responses-API model."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from codex_release.checks.fake_responses import FakeResponsesServer, Hang, ShellCall, Text
from codex_release.core.versions import CodexVersion
from openai_codex import (
    ApprovalRequest,
    AsyncCodex,
    AsyncThread,
    AsyncTurnHandle,
    CodexConfig,
    CodexError,
    ImageInput,
    LocalImageInput,
    TransportClosedError,
)
from openai_codex.types import AgentMessageThreadItem, ModelListResponse, TurnStatus
from tests.sdk.conftest import kill_hard, process_alive

pytestmark = pytest.mark.runtime

PNG_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
"""A valid 1x1 red PNG."""


async def test_run_is_lazy_and_complete(
    real_config: CodexConfig, fake_model: FakeResponsesServer, pinned_version: CodexVersion
) -> None:
    fake_model.enqueue(Text("Async hello.", deltas=3))
    codex = AsyncCodex(real_config)
    assert codex.runtime_version is None  # nothing started yet
    try:
        thread = await codex.thread_start()  # starts and initialises on the first awaited call
        assert isinstance(thread, AsyncThread)
        assert codex.runtime_version == str(pinned_version)
        result = await thread.run("Hello?")
    finally:
        await codex.close()
    assert result.final_response == "Async hello."
    assert result.turn.status is TurnStatus.completed
    assert isinstance(result.items[-1], AgentMessageThreadItem)
    assert result.usage is not None
    with pytest.raises(CodexError, match="closed"):
        await codex.thread_start()


async def test_stream_and_images(real_config: CodexConfig, fake_model: FakeResponsesServer, workdir: Path) -> None:
    image = workdir / "pixel.png"
    image.write_bytes(base64.b64decode(PNG_BASE64))
    fake_model.enqueue(Text("I see a pixel.", deltas=4))
    async with AsyncCodex(real_config) as codex:
        thread = await codex.thread_start()
        handle = await thread.turn(
            ["Describe:", LocalImageInput(image), ImageInput(f"data:image/png;base64,{PNG_BASE64}", detail="low")]
        )
        assert isinstance(handle, AsyncTurnHandle)
        methods, text = [], ""
        async for notification in handle.stream():
            methods.append(notification.method)
            if notification.method == "item/agentMessage/delta":
                text += notification.params["delta"]
        turn = await handle.run()
    assert text == "I see a pixel."
    assert methods[-1] == "turn/completed"
    assert turn.id == handle.id
    content = json.dumps(fake_model.model_requests[0].body["input"])
    assert content.count("input_image") == 2
    assert f"data:image/png;base64,{PNG_BASE64}" in content
    assert "could not be processed" not in content


async def test_concurrent_turns_with_gather(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    fake_model.default_reply = Text("one two three four", deltas=4, delay_s=0.05)
    async with AsyncCodex(real_config) as codex:
        threads = await asyncio.gather(*(codex.thread_start() for _ in range(4)))
        results = await asyncio.gather(*(t.run(f"Question {i}") for i, t in enumerate(threads)))
    assert [r.final_response for r in results] == ["one two three four"] * 4
    assert len({r.turn.id for r in results}) == 4


async def test_resume(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    async with AsyncCodex(real_config) as codex:
        thread = await codex.thread_start()
        await thread.run("Remember KIWI.")
    async with AsyncCodex(real_config) as codex:
        resumed = await codex.thread_resume(thread.id)
        await resumed.run("What did I say?")
        models = await codex.model_list()
        forked = await codex.thread_fork(thread.id)
        await codex.thread_archive(forked.id)
        assert forked.id in {t.id for t in (await codex.thread_list(archived=True)).data}
        assert (await codex.thread_unarchive(forked.id)).id == forked.id
    assert isinstance(models, ModelListResponse)
    assert "KIWI" in json.dumps(fake_model.model_requests[-1].body["input"])


async def test_interrupt_and_steer(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    first, second = Hang("partial", deltas=4, after=2), Hang("partial", deltas=4, after=2)
    fake_model.enqueue(first, second, Text("Steered."))
    async with AsyncCodex(real_config) as codex:
        thread = await codex.thread_start()
        handle = await thread.turn("Slow one.")
        assert await asyncio.to_thread(first.reached.wait, 10)
        await handle.interrupt()
        assert (await handle.run()).status is TurnStatus.interrupted
        handle = await thread.turn("Another.")
        assert await asyncio.to_thread(second.reached.wait, 10)
        await handle.steer("ASYNC-STEER")
        second.release()
        result = await handle.result()
    assert result.final_response == "Steered."
    assert "ASYNC-STEER" in json.dumps(fake_model.model_requests[-1].body["input"])


async def test_async_approval_callback(
    real_config: CodexConfig, fake_model: FakeResponsesServer, workdir: Path
) -> None:
    seen: list[ApprovalRequest] = []
    loop_thread = threading.get_ident()

    async def handler(request: ApprovalRequest) -> str:
        assert threading.get_ident() == loop_thread  # called on the event loop, no thread hop
        seen.append(request)
        await asyncio.sleep(0)
        return "accept"

    fake_model.enqueue(ShellCall("echo ok > async-marker.txt", workdir=str(workdir)), Text("Done."))
    async with AsyncCodex(replace(real_config, approval_handler=handler)) as codex:
        thread = await codex.thread_start(approval_policy="untrusted")
        result = await thread.run("Make the marker.")
    assert result.final_response == "Done."
    assert (workdir / "async-marker.txt").exists()
    assert [r.method for r in seen] == ["item/commandExecution/requestApproval"]


async def test_default_declines(real_config: CodexConfig, fake_model: FakeResponsesServer, workdir: Path) -> None:
    fake_model.enqueue(ShellCall("echo ok > nope.txt", workdir=str(workdir)), Text("Done."))
    async with AsyncCodex(real_config) as codex:
        result = await (await codex.thread_start(approval_policy="untrusted")).run("Try.")
    assert result.final_response == "Done."
    assert not (workdir / "nope.txt").exists()


async def test_killed_runtime_wakes_every_turn(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    hangs = [Hang("never", deltas=3, after=1) for _ in range(3)]
    fake_model.enqueue(*hangs)
    async with AsyncCodex(real_config) as codex:
        handles = [await (await codex.thread_start()).turn(f"Wait {i}.") for i in range(3)]
        for hang in hangs:
            assert await asyncio.to_thread(hang.reached.wait, 10)
        waiters = [asyncio.create_task(h.run()) for h in handles]
        await asyncio.sleep(0.05)
        exit_code = kill_hard(codex.pid)
        results = await asyncio.wait_for(asyncio.gather(*waiters, return_exceptions=True), timeout=3)
        pid = codex.pid
    assert all(isinstance(r, TransportClosedError) for r in results), results
    assert f"exit code {exit_code}" in str(results[0])
    assert not process_alive(pid)


async def test_one_consumer_at_a_time(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    fake_model.enqueue(Text("one two three", deltas=3))
    async with AsyncCodex(real_config) as codex:
        handle = await (await codex.thread_start()).turn("Count.")
        stream = handle.stream()
        first = await anext(stream)
        with pytest.raises(RuntimeError, match="this turn is already being consumed"):
            await handle.run()
        rest = [note async for note in stream]
        assert handle.done
        result = await handle.result()
    assert [first, *rest][-1].method == "turn/completed"
    assert result.final_response == "one two three"


async def test_run_timeout_loses_nothing(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    hang = Hang("slow but complete", deltas=3, after=1)
    fake_model.enqueue(hang)
    async with AsyncCodex(real_config) as codex:
        handle = await (await codex.thread_start()).turn("Slowly.")
        assert await asyncio.to_thread(hang.reached.wait, 10)
        with pytest.raises(TimeoutError, match="still running"):
            await handle.run(timeout=0.2)
        hang.release()
        result = await handle.result()
    assert result.final_response == "slow but complete"
    assert result.turn.status is TurnStatus.completed


async def test_a_flood_of_requests_is_paced_below_the_servers_queue(
    real_config: CodexConfig, fake_model: FakeResponsesServer
) -> None:
    # Pipelined all at once, 1000 requests overflow the app-server's bounded queue: it answers -32001 to
    # some and never answers others. The client keeps at most max_in_flight_requests outstanding.
    async with AsyncCodex(real_config) as codex:
        pages = await asyncio.wait_for(asyncio.gather(*(codex.model_list(limit=1) for _ in range(1000))), 120)
    assert len(pages) == 1000
    assert all(len(page.data) == 1 for page in pages)
