"""``Notification``: one event the app-server pushed (``method`` plus a typed ``payload``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["Notification"]

_log = logging.getLogger("openai_codex")
_UNSET: Any = object()


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _nested_id(params: Mapping[str, Any], flat: str, nested: str) -> str | None:
    found = _str_or_none(params.get(flat))
    if found is not None:
        return found
    inner = params.get(nested)
    if isinstance(inner, Mapping):
        return _str_or_none(inner.get("id"))
    return None


class Notification:
    """A server notification.

    ``method`` is the wire method (``"item/agentMessage/delta"``, ``"turn/completed"``, ...); ``params`` the
    raw JSON object; ``payload`` the same data parsed into the generated pydantic model for that method
    (see :mod:`openai_codex.types`). Methods this SDK does not know (newer runtimes) still come through:
    their ``payload`` is the raw ``params`` dict. Parsing happens on first access of ``payload``, so
    streams of thousands of deltas cost nothing until read.
    """

    __slots__ = ("_payload", "method", "params", "thread_id", "turn_id")

    def __init__(self, method: str, params: Mapping[str, Any] | None = None) -> None:
        self.method = method
        self.params: dict[str, Any] = dict(params) if params else {}
        self.thread_id: str | None = _nested_id(self.params, "threadId", "thread")
        """The thread this event belongs to (``None`` for client-wide events)."""
        self.turn_id: str | None = _nested_id(self.params, "turnId", "turn")
        """The turn this event belongs to (``None`` for thread-level or client-wide events)."""
        self._payload: Any = _UNSET

    @classmethod
    def from_wire(cls, method: str, params: dict[str, Any]) -> Notification:
        """The notification a JSON-RPC line carried: ``params`` is that line's freshly parsed object, which
        nothing else holds, so it is taken as it is (no copy); the ids are read as :meth:`__init__` does,
        the flat ``threadId`` / ``turnId`` first (every per-turn event has them)."""
        note = cls.__new__(cls)
        note.method = method
        note.params = params
        thread_id = params.get("threadId")
        note.thread_id = thread_id if thread_id.__class__ is str else _nested_id(params, "threadId", "thread")
        turn_id = params.get("turnId")
        note.turn_id = turn_id if turn_id.__class__ is str else _nested_id(params, "turnId", "turn")
        note._payload = _UNSET
        return note

    @property
    def payload(self) -> BaseModel | dict[str, Any]:
        """The typed payload model, or the raw ``params`` when the method is unknown or does not parse."""
        if self._payload is _UNSET:
            self._payload = self._parse()
        return self._payload  # type: ignore[no-any-return]

    def _parse(self) -> BaseModel | dict[str, Any]:
        from openai_codex._models import notification_model

        model = notification_model(self.method)
        if model is None:
            return self.params
        try:
            return model.model_validate(self.params)
        except ValueError as exc:  # pydantic.ValidationError is a ValueError
            _log.warning("cannot parse %s notification into %s: %s", self.method, model.__name__, exc)
            return self.params

    def __repr__(self) -> str:
        where = ", ".join(f"{k}={v!r}" for k, v in (("thread_id", self.thread_id), ("turn_id", self.turn_id)) if v)
        return f"Notification(method={self.method!r}{', ' + where if where else ''})"
