"""Goal runs on the real runtime against the fake model, sync and async: ``thread.run_goal`` /
``thread.start_goal`` follow every turn the runtime runs for a goal until it is complete, out of budget,
cleared or interrupted."""

from __future__ import annotations

import pytest

from codex_release.checks.fake_responses import FakeResponsesServer, Hang, Text, ToolCall
from openai_codex import AsyncCodex, Codex, CodexConfig, CodexError, GoalResult
from openai_codex.types import ThreadGoalUpdatedNotification, TurnCompletedNotification

pytestmark = pytest.mark.runtime

COMPLETE = ToolCall("update_goal", {"status": "complete"})
"""What the model calls when it judges the goal reached."""


def _two_turns(fake_model: FakeResponsesServer) -> None:
    # turn 1 answers; turn 2 marks the goal complete, then answers after the tool's output
    fake_model.enqueue(Text("Step one done."), COMPLETE, Text("All done."))


def _assert_two_turn_goal(result: GoalResult, fake_model: FakeResponsesServer) -> None:
    assert result.status == "complete"
    assert [turn.status for turn in result.turns] == ["completed", "completed"]
    assert [turn.final_response for turn in result.turns] == ["Step one done.", "All done."]
    assert result.final_response == "All done."
    assert len({turn.turn.id for turn in result.turns}) == 2
    assert result.goal is not None
    assert result.goal.tokens_used > 0
    assert result.usage is not None
    assert fake_model.pending == 0
    assert len(fake_model.model_requests) == 3  # and no turn after the goal was complete


def test_run_goal_lists_every_turn(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    _two_turns(fake_model)
    with Codex(real_config) as codex:
        thread = codex.thread_start()
        result = thread.run_goal("Say hello in two steps.", timeout=60)
        _assert_two_turn_goal(result, fake_model)
        goal = thread.goal()
        assert goal is not None
        assert goal.status.value == "complete"
        assert thread.run("And now?").status == "completed"  # the thread is free again


def test_start_goal_streams_every_turn_in_order(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    _two_turns(fake_model)
    with Codex(real_config) as codex:
        thread = codex.thread_start()
        handle = thread.start_goal("Say hello in two steps.", token_budget=10_000)
        assert handle.goal.objective == "Say hello in two steps."
        assert handle.goal.token_budget == 10_000
        notes = list(handle.stream())
        assert handle.done
        methods = [n.method for n in notes]
        assert methods.count("turn/started") == 2
        assert methods.count("turn/completed") == 2
        assert methods[-1] == "turn/completed"
        completed = [n.payload for n in notes if n.method == "turn/completed"]
        assert all(isinstance(p, TurnCompletedNotification) for p in completed)
        updates = [n.payload for n in notes if n.method == "thread/goal/updated"]
        assert all(isinstance(p, ThreadGoalUpdatedNotification) for p in updates)
        assert updates[-1].goal.status.value == "complete"  # type: ignore[union-attr]
        started = [n.turn_id for n in notes if n.method == "turn/started"]
        for turn_id in started:  # each turn's events lie between its turn/started and turn/completed
            own = [i for i, n in enumerate(notes) if n.turn_id == turn_id]
            assert notes[own[0]].method == "turn/started"
            assert notes[own[-1]].method == "turn/completed"
        assert all(n.thread_id in (None, thread.id) for n in notes)
        _assert_two_turn_goal(handle.run(), fake_model)  # run() after the stream: the same result


def test_budget_exhaustion_ends_the_run(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    with Codex(real_config) as codex:  # the default reply uses 15 tokens a turn
        thread = codex.thread_start()
        result = thread.run_goal("Keep talking.", token_budget=30, timeout=60)
        assert result.status == "budgetLimited"
        assert len(result.turns) == 2
        assert result.goal is not None
        assert result.goal.tokens_used >= 30


def test_clearing_ends_the_run(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    hang = Hang("second turn", deltas=2, after=1)
    fake_model.enqueue(Text("first turn"), hang)
    with Codex(real_config) as codex:
        thread = codex.thread_start()
        handle = thread.start_goal("Never-ending.")
        for note in handle.stream():
            if note.method == "turn/started" and len(handle._state.turn_ids) == 2:
                assert thread.clear_goal() is True
                hang.release()
        result = handle.run()
        assert result.status == "cleared"
        assert result.goal is None
        assert [t.status for t in result.turns] == ["completed", "completed"]  # the turn in progress finishes
        assert thread.goal() is None


def test_interrupt_and_steer_act_on_the_turn_in_progress(
    real_config: CodexConfig, fake_model: FakeResponsesServer
) -> None:
    hang = Hang("held", deltas=2, after=1)
    fake_model.enqueue(Text("first turn"), hang)
    with Codex(real_config) as codex:
        thread = codex.thread_start()
        handle = thread.start_goal("Two turns at least.")
        assert hang.reached.wait(30)
        handle.steer("Also mention the weather.")
        handle.interrupt()
        result = handle.run(timeout=30)
        assert [t.status for t in result.turns] == ["completed", "interrupted"]
        assert result.status == "active"  # the goal stays set; the runtime starts no further turn
        with pytest.raises(CodexError, match="no turn of the goal"):
            handle.interrupt()
        assert thread.run("Next.").status == "completed"


def test_run_goal_timeout_interrupts_its_turn(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    hang = Hang("held", deltas=2, after=1)
    fake_model.enqueue(hang)
    with Codex(real_config) as codex:
        thread = codex.thread_start()
        with pytest.raises(TimeoutError, match="its turn was interrupted"):
            thread.run_goal("Held forever.", timeout=3)
        turns = thread.read(include_turns=True).turns
        assert turns[-1].status.value == "interrupted"
        assert thread.run("Next.").status == "completed"


async def test_run_goal_async(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    _two_turns(fake_model)
    async with AsyncCodex(real_config) as codex:
        thread = await codex.thread_start()
        _assert_two_turn_goal(await thread.run_goal("Say hello in two steps.", timeout=60), fake_model)
        assert (await thread.run("And now?")).status == "completed"


async def test_start_goal_stream_async_and_budget(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    async with AsyncCodex(real_config) as codex:
        thread = await codex.thread_start()
        handle = await thread.start_goal("Keep talking.", token_budget=30)
        methods = [n.method async for n in handle.stream()]
        assert methods.count("turn/started") == 2
        assert methods[-1] == "turn/completed"
        result = await handle.run()
        assert result.status == "budgetLimited"
        assert len(result.turns) == 2


async def test_clearing_and_interrupt_async(real_config: CodexConfig, fake_model: FakeResponsesServer) -> None:
    import asyncio

    hang = Hang("held", deltas=2, after=1)
    fake_model.enqueue(Text("first turn"), hang)
    async with AsyncCodex(real_config) as codex:
        thread = await codex.thread_start()
        handle = await thread.start_goal("Never-ending.")
        assert await asyncio.to_thread(hang.reached.wait, 30)
        assert await thread.clear_goal() is True
        hang.release()
        result = await handle.run(timeout=30)
        assert result.status == "cleared"
        assert len(result.turns) == 2

        hang2 = Hang("held", deltas=2, after=1)
        fake_model.enqueue(hang2)
        handle = await thread.start_goal("Again.")
        assert await asyncio.to_thread(hang2.reached.wait, 30)
        await handle.steer("More detail.")
        await handle.interrupt()
        result = await handle.run(timeout=30)
        assert [t.status for t in result.turns] == ["interrupted"]
        assert result.status == "active"
