"""The asyncio client: :class:`AsyncCodex`, :class:`AsyncThread`, :class:`AsyncTurnHandle`.

:mod:`openai_codex._client` written out with ``await``: the generated coroutine mixins of
:mod:`openai_codex.generated.api` give the request methods, this module the rest and their primitives.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from openai_codex._async_transport import (
    AsyncEventSubscription,
    AsyncTransport,
    AsyncTurnSink,
    finish_despite_cancellation,
)
from openai_codex._drivers import EVENTS_CAP
from openai_codex._goals import INTERRUPT_WAIT_S, GoalResult, GoalState
from openai_codex._requests import offer_tools, thread_info
from openai_codex._runtime import TERMINATE_GRACE_S
from openai_codex._structured import output_type_of
from openai_codex._turns import TurnResult, TurnState, interrupted_timeout_error, turn_id_of
from openai_codex.config import CodexConfig
from openai_codex.errors import CodexError
from openai_codex.generated.api import (
    AsyncCodexRequests,
    AsyncGoalHandleRequests,
    AsyncThreadRequests,
    AsyncTurnHandleRequests,
)
from openai_codex.hooks import Hooks, checked_hooks
from openai_codex.notifications import Notification

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from openai_codex._login import AsyncChatgptLogin, AsyncDeviceCodeLogin
    from openai_codex.generated.protocol import ThreadGoal
    from openai_codex.generated.rpc import AsyncRpc
    from openai_codex.tools import Tool
    from openai_codex.types import Turn

__all__ = ["AsyncCodex", "AsyncEventSubscription", "AsyncGoalHandle", "AsyncThread", "AsyncTurnHandle"]

L = TypeVar("L", bound="AsyncChatgptLogin")
_TIMEOUTS = (TimeoutError, asyncio.TimeoutError)  # distinct before Python 3.11


async def _next(sink: AsyncTurnSink, deadline: float | None) -> Notification:
    """The sink's next event; :class:`TimeoutError` at ``deadline`` (the loop's clock)."""
    if deadline is None:
        return await sink.get()
    return await asyncio.wait_for(sink.get(), max(0.0, deadline - asyncio.get_running_loop().time()))


class AsyncCodex(AsyncCodexRequests):
    """The asyncio twin of :class:`~openai_codex.Codex`.

    It starts the app-server lazily: on ``async with`` or on the first awaited call. ::

        async with AsyncCodex() as codex:
            thread = await codex.thread_start()
            result = await thread.run("Summarise this repository.")

    Use one instance from one event loop. Start-up failures raise the same errors as ``Codex()``.
    """

    def __init__(self, config: CodexConfig | None = None, *, hooks: Hooks | None = None) -> None:
        """``hooks``: callbacks around the agent's commands, file changes and MCP tool calls
        (:class:`~openai_codex.Hooks`, see :mod:`openai_codex.hooks`)."""
        self.config = config or CodexConfig()
        self._transport = AsyncTransport(self.config, checked_hooks(hooks))
        # Dropped unclosed: its runtime is killed when it is collected (the event loop's tasks hold only
        # the transport, never this object).
        self._finalizer = weakref.finalize(self, self._transport.abandon)
        self._rpc: AsyncRpc | None = None

    async def start(self) -> AsyncCodex:
        """Start the app-server and initialise now (otherwise the first call does it)."""
        await self._transport.ensure_started()
        return self

    # ---------------------------------------------------------------- lifecycle
    async def close(self) -> None:
        """Shut the app-server down and reap it. Idempotent."""
        self._finalizer.detach()
        await self._transport.close()

    async def __aenter__(self) -> AsyncCodex:
        await self._transport.ensure_started()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def runtime_version(self) -> str | None:
        """The version of the running ``codex`` (``None`` before start-up)."""
        return self._transport.runtime_version

    @property
    def user_agent(self) -> str:
        return str(self._transport.initialize_result.get("userAgent", ""))

    @property
    def pid(self) -> int:
        """Process id of the app-server (after start-up)."""
        return self._transport.pid

    @property
    def rpc(self) -> AsyncRpc:
        """Every client request of the pinned protocol as a typed coroutine, named by its wire method in
        snake_case (``await codex.rpc.thread_goal_get(thread_id=...)``); see :mod:`openai_codex.generated.rpc`."""
        if self._rpc is None:
            from openai_codex.generated.rpc import AsyncRpc

            self._rpc = AsyncRpc(self._transport.request)
        return self._rpc

    def events(self, *, max_buffered: int = EVENTS_CAP) -> AsyncEventSubscription:
        """Every notification no turn handle consumes, from now on: rate limits, MCP server start-up,
        thread status, account changes, goal updates between turns, ``thread/search/partial``, ... (and the
        SDK's own :data:`~openai_codex.hooks.HOOK_FAILED` reports).

        Subscribe, then receive: nothing from before this call; at most ``max_buffered`` unread (the oldest
        dropped beyond that, counted in ``dropped``). ``async for`` ends when the
        subscription or the client is closed. See :class:`~openai_codex.AsyncEventSubscription`.
        """
        return AsyncEventSubscription(self._transport, None, max_buffered)

    # ---------------------------------------------------------------- primitives of the generated methods
    async def _request(self, method: str, params: Any) -> Any:
        return await self._transport.request(method, params)

    async def _open_thread(
        self, method: str, params: dict[str, Any], tools: Iterable[Tool | Callable[..., Any]] | None = None
    ) -> AsyncThread:
        registry = offer_tools(self.config.experimental_api, params, tools)
        info = thread_info(await self._request(method, params))
        if registry is not None:
            self._transport.tools[info["id"]] = registry
        return AsyncThread(self, info["id"], info)

    # ---------------------------------------------------------------- ChatGPT logins (not plain requests)
    async def login_chatgpt(self) -> AsyncChatgptLogin:
        """Start a ChatGPT browser login: open the handle's ``auth_url``, then ``await wait()``."""
        from openai_codex._login import AsyncChatgptLogin

        return await self._start_login(AsyncChatgptLogin)

    async def login_chatgpt_device_code(self) -> AsyncDeviceCodeLogin:
        """Start a device-code login (raises :class:`~openai_codex.LoginError` at once without a network)."""
        from openai_codex._login import AsyncDeviceCodeLogin

        return await self._start_login(AsyncDeviceCodeLogin)

    async def _start_login(self, cls: type[L]) -> L:
        from openai_codex import _login

        transport = await self._transport.ensure_started()
        sink = transport.watch(_login.COMPLETED)
        with _login.starting(transport, sink, cls._KIND):
            result = await transport.request(_login.START, _login.start_params(cls._KIND))
        return cls(transport, sink, result)


class AsyncThread(AsyncThreadRequests):
    """A conversation whose methods are coroutines; created by :meth:`AsyncCodex.thread_start` / ``thread_resume``."""

    def __init__(self, codex: AsyncCodex, thread_id: str, info: dict[str, Any] | None = None) -> None:
        self._codex = codex
        self.id = thread_id
        self.info: dict[str, Any] = info or {"id": thread_id}

    def __repr__(self) -> str:
        return f"AsyncThread(id={self.id!r})"

    def events(self, *, max_buffered: int = EVENTS_CAP) -> AsyncEventSubscription:
        """This thread's notifications that no turn handle consumes (those naming this thread: its status,
        name, goal between turns, ...), from now on; the contract of :meth:`AsyncCodex.events`."""
        return AsyncEventSubscription(self._codex._transport, self.id, max_buffered)

    # ---------------------------------------------------------------- primitives of the generated methods
    async def _request(self, method: str, params: Any) -> Any:
        return await self._codex._request(method, params)

    async def _start_turn(self, params: dict[str, Any]) -> AsyncTurnHandle:
        result, sink = await self._codex._transport.start_turn(self.id, params, abandoned=self._stop_started_turn)
        handle = AsyncTurnHandle(self._codex, self.id, turn_id_of(result), sink)
        handle._state.output_type = output_type_of(params.get("outputSchema"))
        return handle

    async def _stop_started_turn(self, result: Any, sink: AsyncTurnSink) -> None:
        """Cancelled while ``turn/start`` was answered: stop that turn as a cancelled ``run()`` does."""
        with contextlib.suppress(CodexError):
            await AsyncTurnHandle(self._codex, self.id, turn_id_of(result), sink)._stop()

    async def _stop_started_goal(self, result: Any, sink: AsyncTurnSink) -> None:
        """Cancelled while ``thread/goal/set`` was answered: stop the goal's turn as a cancelled ``run()`` does."""
        goal = result.get("goal") if isinstance(result, dict) else None
        if isinstance(goal, dict):
            await AsyncGoalHandle(self._codex, self.id, goal, sink)._stop()

    async def _run_turn(self, params: dict[str, Any], timeout: float | None) -> TurnResult:
        handle = await self._start_turn(params)
        try:
            await handle.run(timeout)
        except TimeoutError:
            await handle._interrupt_quietly()
            raise interrupted_timeout_error(handle.id, timeout) from None
        return await handle.result()

    async def _start_goal(self, params: dict[str, Any]) -> AsyncGoalHandle:
        result, sink = await self._codex._transport.start_goal(self.id, params, abandoned=self._stop_started_goal)
        goal = result.get("goal") if isinstance(result, dict) else None
        if not isinstance(goal, dict):
            self._codex._transport.release(sink)
            raise CodexError(f"the app-server set no goal: {str(result)[:200]}")
        return AsyncGoalHandle(self._codex, self.id, goal, sink)

    async def _run_goal(self, params: dict[str, Any], timeout: float | None) -> GoalResult:
        handle = await self._start_goal(params)
        try:
            return await handle.run(timeout)
        except TimeoutError:
            await finish_despite_cancellation(handle._stop())
            raise TimeoutError(
                f"the goal of thread {self.id} was not reached within {timeout:g}s; its turn was interrupted"
            ) from None


class _AsyncRun:
    """What :class:`AsyncTurnHandle` and :class:`AsyncGoalHandle` share: one consumer at a time takes the run's
    notifications from its sink until the run is over; cancelling the consuming task stops the run
    (``_stop``) before the cancellation goes on."""

    _noun: str  # "turn", "goal run": what the refusal of a second consumer names

    def __init__(self, codex: AsyncCodex, sink: AsyncTurnSink, state: TurnState | GoalState) -> None:
        self._codex = codex
        self._sink = sink
        self._state = state
        self._consuming = False

    @property
    def done(self) -> bool:
        """Whether the run is over (its last notification has been taken)."""
        return self._state.done

    def _still_running(self) -> str:
        """The :class:`TimeoutError` message when a deadline passes with the run still going."""
        raise NotImplementedError

    async def _stop(self, wait: float = INTERRUPT_WAIT_S) -> None:
        raise NotImplementedError

    async def _events(self, deadline: float | None) -> AsyncIterator[Notification]:
        if self._consuming:
            raise RuntimeError(f"this {self._noun} is already being consumed (stream() or run() elsewhere)")
        self._consuming = True
        try:
            sink = self._sink
            while not self._state.done:
                note = sink.get_nowait()  # what a read delivered is taken without an await per notification
                if note is None:
                    try:
                        note = await _next(sink, deadline)
                    except _TIMEOUTS:
                        raise TimeoutError(self._still_running()) from None
                self._state.observe(note)
                yield note
        except asyncio.CancelledError:
            await finish_despite_cancellation(self._stop())
            raise
        finally:
            self._consuming = False
            if self._state.done:
                self._codex._transport.release(self._sink)


class AsyncTurnHandle(_AsyncRun, AsyncTurnHandleRequests):
    """A running turn: ``await handle.run()`` or ``async for n in handle.stream()``."""

    _noun = "turn"
    _state: TurnState

    def __init__(self, codex: AsyncCodex, thread_id: str, turn_id: str, sink: AsyncTurnSink) -> None:
        super().__init__(codex, sink, TurnState(thread_id, turn_id))
        self.thread_id = thread_id
        self.id = turn_id

    def __repr__(self) -> str:
        return f"AsyncTurnHandle(id={self.id!r}, thread_id={self.thread_id!r}, done={self._state.done})"

    def stream(self) -> AsyncIterator[Notification]:
        """Yield this turn's notifications as they arrive; the last one is its ``turn/completed``.

        Cancelling the task while it waits here sends ``turn/interrupt`` and waits up to
        :data:`INTERRUPT_WAIT_S` for the turn to complete before the cancellation goes on.
        """
        return self._events(None)

    def _still_running(self) -> str:
        return f"turn {self.id} is still running; call interrupt() to stop it, or wait again"

    async def _stop(self, wait: float = INTERRUPT_WAIT_S) -> None:
        """Send ``turn/interrupt`` and wait up to ``wait`` seconds for the turn to complete (no error)."""
        deadline = asyncio.get_running_loop().time() + wait
        params = {"threadId": self.thread_id, "turnId": self.id}
        with contextlib.suppress(CodexError, *_TIMEOUTS):  # e.g. the turn is over already
            await self._codex._transport.request("turn/interrupt", params, timeout=wait)
        with contextlib.suppress(CodexError, *_TIMEOUTS):
            while not self._state.done:
                self._state.observe(await _next(self._sink, deadline))

    async def run(self, timeout: float | None = None) -> Turn:
        """Wait for the turn to finish and return it (``status``, ``error``, ``items``).

        With ``timeout``, raise :class:`TimeoutError` if it is still running after that many seconds (the
        turn goes on: interrupt it, or call ``run()`` again; no event is lost).
        """
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        async for _ in self._events(deadline):
            pass
        return self._state.turn()

    async def result(self) -> TurnResult:
        """The :class:`TurnResult` of the finished turn (consumes the rest of the turn first)."""
        await self.run()
        return self._state.result()

    # ---------------------------------------------------------------- primitives of the generated methods
    async def _request(self, method: str, params: Any) -> Any:
        return await self._codex._request(method, params)

    async def _interrupt_quietly(self) -> None:
        """``interrupt()`` with a short timeout and no error: the turn is being given up anyway."""
        params = {"threadId": self.thread_id, "turnId": self.id}
        with contextlib.suppress(CodexError, TimeoutError):
            await self._codex._transport.request("turn/interrupt", params, timeout=TERMINATE_GRACE_S * 4)
        self._codex._transport.release(self._sink)


class AsyncGoalHandle(_AsyncRun, AsyncGoalHandleRequests):
    """A goal run whose methods are coroutines: ``await handle.run()`` or ``async for n in handle.stream()``."""

    _noun = "goal run"
    _state: GoalState

    def __init__(self, codex: AsyncCodex, thread_id: str, goal: dict[str, Any], sink: AsyncTurnSink) -> None:
        super().__init__(codex, sink, GoalState(thread_id, goal))
        self._goal = goal
        self.thread_id = thread_id

    def __repr__(self) -> str:
        return f"AsyncGoalHandle(thread_id={self.thread_id!r}, done={self._state.done})"

    @property
    def goal(self) -> ThreadGoal:
        """The goal as ``thread/goal/set`` answered (the run's result has its last state)."""
        from openai_codex.generated.protocol import ThreadGoal

        return ThreadGoal.model_validate(self._goal)

    @property
    def turn_id(self) -> str:
        """The id of the goal's turn in progress (:class:`~openai_codex.CodexError` when there is none)."""
        turn_id = self._codex._transport.goal_turn(self._sink)
        if turn_id is None:
            raise CodexError(f"no turn of the goal of thread {self.thread_id} is in progress")
        return turn_id

    def stream(self) -> AsyncIterator[Notification]:
        """Yield the notifications of every turn of the goal, and the thread's own, in order, until the goal
        run is over. Cancelling the task while it waits here interrupts the goal's turn (see
        :data:`INTERRUPT_WAIT_S`)."""
        return self._events(None)

    def _still_running(self) -> str:
        return f"the goal of thread {self.thread_id} is still running; interrupt() or clear it, or wait again"

    async def run(self, timeout: float | None = None) -> GoalResult:
        """Wait for the goal run to end and return its :class:`GoalResult` (every turn, the goal's last state).

        With ``timeout``, raise :class:`TimeoutError` if it still runs after that many seconds (it goes on).
        """
        deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout
        async for _ in self._events(deadline):
            pass
        return self._state.result()

    # ---------------------------------------------------------------- primitives of the generated methods
    async def _request(self, method: str, params: Any) -> Any:
        return await self._codex._request(method, params)

    async def _stop(self, wait: float = INTERRUPT_WAIT_S) -> None:
        """Interrupt the goal's turn (and one that starts meanwhile) and wait up to ``wait`` seconds for the run
        to end (no error)."""
        deadline = asyncio.get_running_loop().time() + wait
        interrupted: set[str] = set()
        with contextlib.suppress(CodexError, *_TIMEOUTS):
            while not self._state.done:
                turn_id = self._state.lifecycle.turn_id or self._codex._transport.goal_turn(self._sink)
                if turn_id is not None and turn_id not in interrupted:
                    interrupted.add(turn_id)
                    params = {"threadId": self.thread_id, "turnId": turn_id}
                    with contextlib.suppress(CodexError, *_TIMEOUTS):
                        await self._codex._transport.request("turn/interrupt", params, timeout=wait)
                self._state.observe(await _next(self._sink, deadline))
        if self._state.done:
            self._codex._transport.release(self._sink)
