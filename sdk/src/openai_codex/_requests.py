"""What every generated request method stands on: the wire helpers and the primitives of each class.

The request methods of ``Codex`` / ``AsyncCodex``, ``Thread`` / ``AsyncThread``, ``TurnHandle`` /
``AsyncTurnHandle``, the login handles (``openai_codex.generated.api``) and ``codex.rpc``
(``openai_codex.generated.rpc``) are generated from the pinned schema, blocking and coroutine twins alike.
Their bodies only put their parameters on the wire with :func:`wire_params`, call one primitive declared
below, and validate the answer with :func:`parse_result`. The hand-written classes give the primitives:

- ``_request(method, params)``: send one request, return the raw answer (a coroutine in the async classes);
- ``Codex._open_thread``: send a ``thread/*`` request that answers with a thread, return the SDK's Thread;
- ``Thread._start_turn`` / ``Thread._run_turn``: send ``turn/start`` (its events are routed to the handle);
- ``Thread._start_goal`` / ``Thread._run_goal``: send ``thread/goal/set`` (the goal run is routed to the handle);
- ``GoalHandle.turn_id``: the goal's turn in progress (what ``interrupt`` and ``steer`` act on).

Nothing here imports the generated models at import time (``import openai_codex`` stays fast).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from openai_codex._models import protocol_attr
from openai_codex._params import to_wire_value
from openai_codex.errors import CodexError

if TYPE_CHECKING:
    from openai_codex import tools
    from openai_codex._async_client import AsyncGoalHandle, AsyncThread, AsyncTurnHandle
    from openai_codex._client import GoalHandle, Thread, TurnHandle
    from openai_codex._goals import GoalResult
    from openai_codex._turns import TurnResult

__all__ = [
    "AsyncChatgptLoginBase",
    "AsyncCodexBase",
    "AsyncGoalHandleBase",
    "AsyncRpcBase",
    "AsyncThreadBase",
    "AsyncTurnHandleBase",
    "ChatgptLoginBase",
    "CodexBase",
    "GoalHandleBase",
    "RpcBase",
    "ThreadBase",
    "ThreadInfo",
    "TurnHandleBase",
    "offer_tools",
    "parse_result",
    "thread_info",
    "wire_params",
]

ThreadInfo = dict[str, Any]
"""The raw ``thread`` object of a ``thread/*`` answer, from which a client builds its Thread."""


def wire_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """camelCase params as JSON: ``None`` values are left out (the server's default applies)."""
    return {key: to_wire_value(value) for key, value in params.items() if value is not None}


def parse_result(result_type: str | None, result: Any) -> Any:
    """``result`` validated into the protocol model named ``result_type`` (raw JSON when ``None``)."""
    return result if result_type is None else _validator(result_type)(result)


@cache
def _validator(result_type: str) -> Callable[[Any], Any]:
    """The validating function of a protocol model, built once per model (an adapter costs ~1 ms)."""
    model = protocol_attr(result_type)
    validate: Callable[[Any], Any] | None = getattr(model, "model_validate", None)
    if validate is not None:
        return validate
    from pydantic import TypeAdapter  # a union (type alias): validated through an adapter

    return TypeAdapter(model).validate_python


def thread_info(answer: Any) -> ThreadInfo:
    """The ``thread`` object of a ``thread/start`` / ``resume`` / ``fork`` / ``unarchive`` answer."""
    thread = answer.get("thread") if isinstance(answer, dict) else None
    if not isinstance(thread, dict) or not isinstance(thread.get("id"), str):
        raise CodexError(f"the app-server returned no thread: {str(answer)[:200]}")
    return thread


def offer_tools(
    experimental_api: bool, params: dict[str, Any], offered: Iterable[tools.Tool | Callable[..., Any]] | None
) -> dict[str, tools.Tool] | None:
    """Client-defined tools for a new thread: added to ``params`` as ``dynamicTools``; the registry the
    transport answers ``item/tool/call`` from (``None`` when no tools were offered)."""
    if offered is None:
        return None
    from openai_codex import tools

    tools.require_experimental(experimental_api)
    registry = tools.as_tools(offered)
    params["dynamicTools"] = [tool.spec() for tool in registry.values()]
    return registry


# ---------------------------------------------------------------- the primitives, per class


class CodexBase:
    """Primitives of :class:`~openai_codex.Codex`."""

    __slots__ = ()

    def _request(self, method: str, params: Any) -> Any:
        raise NotImplementedError

    def _open_thread(
        self, method: str, params: dict[str, Any], tools: Iterable[tools.Tool | Callable[..., Any]] | None = None
    ) -> Thread:
        raise NotImplementedError


class AsyncCodexBase:
    """Primitives of :class:`~openai_codex.AsyncCodex`."""

    __slots__ = ()

    async def _request(self, method: str, params: Any) -> Any:
        raise NotImplementedError

    async def _open_thread(
        self, method: str, params: dict[str, Any], tools: Iterable[tools.Tool | Callable[..., Any]] | None = None
    ) -> AsyncThread:
        raise NotImplementedError


class ThreadBase:
    """Primitives of :class:`~openai_codex.Thread`."""

    __slots__ = ()
    id: str

    def _request(self, method: str, params: Any) -> Any:
        raise NotImplementedError

    def _start_turn(self, params: dict[str, Any]) -> TurnHandle:
        raise NotImplementedError

    def _run_turn(self, params: dict[str, Any], timeout: float | None) -> TurnResult:
        raise NotImplementedError

    def _start_goal(self, params: dict[str, Any]) -> GoalHandle:
        raise NotImplementedError

    def _run_goal(self, params: dict[str, Any], timeout: float | None) -> GoalResult:
        raise NotImplementedError


class AsyncThreadBase:
    """Primitives of :class:`~openai_codex.AsyncThread`."""

    __slots__ = ()
    id: str

    async def _request(self, method: str, params: Any) -> Any:
        raise NotImplementedError

    async def _start_turn(self, params: dict[str, Any]) -> AsyncTurnHandle:
        raise NotImplementedError

    async def _run_turn(self, params: dict[str, Any], timeout: float | None) -> TurnResult:
        raise NotImplementedError

    async def _start_goal(self, params: dict[str, Any]) -> AsyncGoalHandle:
        raise NotImplementedError

    async def _run_goal(self, params: dict[str, Any], timeout: float | None) -> GoalResult:
        raise NotImplementedError


class TurnHandleBase:
    """Primitives of :class:`~openai_codex.TurnHandle`."""

    __slots__ = ()
    id: str
    thread_id: str

    def _request(self, method: str, params: Any) -> Any:
        raise NotImplementedError


class AsyncTurnHandleBase:
    """Primitives of :class:`~openai_codex.AsyncTurnHandle`."""

    __slots__ = ()
    id: str
    thread_id: str

    async def _request(self, method: str, params: Any) -> Any:
        raise NotImplementedError


class GoalHandleBase:
    """Primitives of :class:`~openai_codex.GoalHandle`."""

    __slots__ = ()
    thread_id: str

    @property
    def turn_id(self) -> str:
        raise NotImplementedError

    def _request(self, method: str, params: Any) -> Any:
        raise NotImplementedError


class AsyncGoalHandleBase:
    """Primitives of :class:`~openai_codex.AsyncGoalHandle`."""

    __slots__ = ()
    thread_id: str

    @property
    def turn_id(self) -> str:
        raise NotImplementedError

    async def _request(self, method: str, params: Any) -> Any:
        raise NotImplementedError


class ChatgptLoginBase:
    """Primitives of the blocking login handles."""

    __slots__ = ()
    login_id: str

    def _request(self, method: str, params: Any) -> Any:
        raise NotImplementedError


class AsyncChatgptLoginBase:
    """Primitives of the asyncio login handles."""

    __slots__ = ()
    login_id: str

    async def _request(self, method: str, params: Any) -> Any:
        raise NotImplementedError


class RpcBase:
    """The synchronous ``codex.rpc``: every method blocks until the app-server answers."""

    __slots__ = ("_send",)

    def __init__(self, request: Callable[[str, Any], Any]) -> None:
        self._send = request

    def _request(self, method: str, params: Any) -> Any:
        return self._send(method, params)


class AsyncRpcBase:
    """The asyncio ``codex.rpc``: every method is a coroutine."""

    __slots__ = ("_send",)

    def __init__(self, request: Callable[[str, Any], Awaitable[Any]]) -> None:
        self._send = request

    async def _request(self, method: str, params: Any) -> Any:
        return await self._send(method, params)
