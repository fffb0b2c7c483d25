"""Assembling a finished turn from its events (shared by the sync and async handles)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from openai_codex.notifications import Notification

if TYPE_CHECKING:
    from pydantic import BaseModel

    from openai_codex.types import ThreadItem, ThreadTokenUsage, Turn

M = TypeVar("M", bound="BaseModel")

__all__ = ["TurnResult", "TurnState", "interrupted_timeout_error", "turn_id_of"]


@dataclass(frozen=True)
class TurnResult:
    """What :meth:`Thread.run` returns.

    Attributes:
        final_response: the text of the turn's last assistant message (``None`` if it produced none, e.g.
            when it failed or was interrupted before answering).
        items: every item the turn completed, in order (user message, reasoning, commands, agent messages...).
        usage: token usage reported for the turn (``None`` if the runtime reported none).
        turn: the finished :class:`~openai_codex.types.Turn` (``status``, ``error``, timings, ``items``).
        output_type: what the turn's ``output_schema`` was: the pydantic model class, ``dict`` for a JSON
            Schema, ``None`` without one (see :attr:`parsed`).
    """

    final_response: str | None
    items: list[ThreadItem]
    usage: ThreadTokenUsage | None
    turn: Turn
    output_type: Any = field(default=None, repr=False, compare=False)

    @property
    def parsed(self) -> Any:
        """The final message as the value ``output_schema`` describes: an instance of the pydantic model
        given as ``output_schema`` (validated), else the parsed JSON value. Raises
        :class:`~openai_codex.OutputParseError` (with ``raw_text``) when it does not parse or validate."""
        from openai_codex._structured import parse_output

        return parse_output(self.final_response, self.output_type)

    def parsed_as(self, model: type[M]) -> M:
        """The final message validated into ``model`` (a pydantic model class), typed as an instance of it for
        type checkers and IDEs (``parsed`` is ``Any``): ``result.parsed_as(Summary).title``. Works whatever
        ``output_schema`` was sent; raises :class:`~openai_codex.OutputParseError` as :attr:`parsed` does."""
        from openai_codex._structured import parse_output

        parsed: M = parse_output(self.final_response, model)
        return parsed

    @property
    def status(self) -> str:
        """``"completed"``, ``"interrupted"`` or ``"failed"``."""
        status = self.turn.status
        return str(getattr(status, "value", status))


def _final_text(items: list[dict[str, Any]]) -> str | None:
    messages = [item for item in items if item.get("type") == "agentMessage" and isinstance(item.get("text"), str)]
    if not messages:
        return None
    finals = [item for item in messages if item.get("phase") == "final_answer"]
    return str((finals or messages)[-1]["text"])


def turn_id_of(result: Any) -> str:
    """The turn id in a ``turn/start`` result."""
    turn = result.get("turn") if isinstance(result, dict) else None
    turn_id = turn.get("id") if isinstance(turn, dict) else None
    if not isinstance(turn_id, str):
        from openai_codex.errors import CodexError

        raise CodexError(f"the app-server started a turn without an id: {str(result)[:200]}")
    return turn_id


def interrupted_timeout_error(turn_id: str, timeout: float | None) -> TimeoutError:
    """What ``Thread.run(timeout=...)`` raises once it has interrupted the turn (both clients)."""
    return TimeoutError(f"turn {turn_id} did not finish within {timeout:g}s; it was interrupted")


class TurnState:
    """Watches one turn's notifications; knows when it is over and what it produced."""

    def __init__(self, thread_id: str, turn_id: str) -> None:
        self.thread_id = thread_id
        self.turn_id = turn_id
        self.done = False
        self._items: list[dict[str, Any]] = []
        self._usage: dict[str, Any] | None = None
        self._turn: dict[str, Any] | None = None
        self._parsed_turn: Turn | None = None
        self.output_type: Any = None
        """The turn's ``output_schema`` kind, for :attr:`TurnResult.parsed` (see ``output_type_of``)."""

    def observe(self, note: Notification) -> None:
        method = note.method
        if method == "item/completed":
            item = note.params.get("item")
            if isinstance(item, dict):
                self._items.append(item)
        elif method == "thread/tokenUsage/updated":
            usage = note.params.get("tokenUsage")
            if isinstance(usage, dict):
                self._usage = usage
        elif method == "turn/completed" and note.turn_id == self.turn_id:
            turn = note.params.get("turn")
            self._turn = dict(turn) if isinstance(turn, dict) else {"id": self.turn_id, "status": "completed"}
            self.done = True

    def turn(self) -> Turn:
        """The finished turn, its ``items`` filled in from the turn's ``item/completed`` events."""
        if self._parsed_turn is None:
            if self._turn is None:
                raise RuntimeError("the turn has not completed yet")
            raw = dict(self._turn)
            if self._items or not raw.get("items"):
                raw["items"] = list(self._items)
            from openai_codex.generated.protocol import Turn

            self._parsed_turn = Turn.model_validate(raw)
        return self._parsed_turn

    def result(self) -> TurnResult:
        turn = self.turn()
        raw_items = self._items or list((self._turn or {}).get("items") or [])
        from openai_codex.generated.protocol import ThreadTokenUsage

        usage = ThreadTokenUsage.model_validate(self._usage) if self._usage is not None else None
        return TurnResult(
            final_response=_final_text(raw_items),
            items=list(turn.items),
            usage=usage,
            turn=turn,
            output_type=self.output_type,
        )
