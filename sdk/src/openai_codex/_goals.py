"""Goal runs (shared by the sync and async goal handles), and how long a cancelled turn is given to stop.

A goal run is every turn the runtime runs for a thread's goal, from ``thread/goal/set`` until the goal is
complete, cleared, out of budget, blocked, or its turn was interrupted (:class:`~._protocol.GoalLifecycle`
decides; the core routes the turns to the goal handle's sink).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from openai_codex._protocol import GoalLifecycle
from openai_codex._turns import TurnResult, TurnState
from openai_codex.notifications import Notification

if TYPE_CHECKING:
    from openai_codex.generated.protocol import ThreadGoal, ThreadTokenUsage

__all__ = ["INTERRUPT_WAIT_S", "GoalResult", "GoalState"]

INTERRUPT_WAIT_S = 5.0
"""How long a cancelled ``run()`` / ``stream()`` (task cancellation, a timeout scope, Ctrl-C) waits, after
sending ``turn/interrupt``, for the turn to complete before the cancellation is raised again."""


@dataclass(frozen=True)
class GoalResult:
    """What ``thread.run_goal(...)`` / ``goal_handle.run()`` return.

    Attributes:
        turns: the :class:`TurnResult` of every turn the goal ran, in order.
        goal: the goal as last reported (``status``, ``tokens_used``, ``time_used_seconds``, ...); ``None``
            once it was cleared.
        usage: the thread's token usage as last reported (``None`` if none was).
    """

    turns: list[TurnResult]
    goal: ThreadGoal | None
    usage: ThreadTokenUsage | None

    @property
    def status(self) -> str:
        """The goal's status at the end: ``"complete"``, ``"budgetLimited"``, ``"blocked"``, ``"active"`` (its
        turn was interrupted), ... or ``"cleared"``."""
        if self.goal is None:
            return "cleared"
        status = self.goal.status
        return str(getattr(status, "value", status))

    @property
    def final_response(self) -> str | None:
        """The last assistant message of the last turn that produced one."""
        for turn in reversed(self.turns):
            if turn.final_response is not None:
                return turn.final_response
        return None


class GoalState:
    """Watches one goal run's notifications: its turns, the goal's state, and when the run is over."""

    def __init__(self, thread_id: str, goal: dict[str, Any]) -> None:
        self.thread_id = thread_id
        self.lifecycle = GoalLifecycle()
        self._goal: dict[str, Any] | None = goal
        self._turns: dict[str, TurnState] = {}
        self._usage: dict[str, Any] | None = None

    @property
    def done(self) -> bool:
        return self.lifecycle.over

    @property
    def turn_ids(self) -> list[str]:
        return list(self._turns)

    def observe(self, note: Notification) -> None:
        self.lifecycle.observe(note)
        method = note.method
        turn_id = note.turn_id
        if method == "turn/started" and turn_id is not None:
            self._turns.setdefault(turn_id, TurnState(self.thread_id, turn_id))
        if turn_id is not None and turn_id in self._turns:
            self._turns[turn_id].observe(note)
        if method == "thread/goal/updated":
            goal = note.params.get("goal")
            if isinstance(goal, dict):
                self._goal = goal
        elif method == "thread/goal/cleared":
            self._goal = None
        elif method == "thread/tokenUsage/updated":
            usage = note.params.get("tokenUsage")
            if isinstance(usage, dict):
                self._usage = usage

    def result(self) -> GoalResult:
        from openai_codex.generated.protocol import ThreadGoal, ThreadTokenUsage

        turns = [state.result() for state in self._turns.values() if state.done]
        goal = ThreadGoal.model_validate(self._goal) if self._goal is not None else None
        usage = ThreadTokenUsage.model_validate(self._usage) if self._usage is not None else None
        return GoalResult(turns=turns, goal=goal, usage=usage)
