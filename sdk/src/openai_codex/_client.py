"""The synchronous client: :class:`Codex`, :class:`Thread`, :class:`TurnHandle`.

Their request methods (``thread_start``, ``read``, ``interrupt``, ...) are generated from the pinned schema
into the mixins of :mod:`openai_codex.generated.api`, with typed keyword parameters; this module writes out
the rest (lifecycle, turns, logins) and the primitives those methods call (see :mod:`openai_codex._requests`).
:mod:`openai_codex._async_client` is the same written out with ``await``.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import weakref
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from openai_codex._drivers import EVENTS_CAP
from openai_codex._goals import INTERRUPT_WAIT_S, GoalResult, GoalState
from openai_codex._requests import offer_tools, thread_info
from openai_codex._runtime import TERMINATE_GRACE_S
from openai_codex._structured import output_type_of
from openai_codex._sync_transport import EventSubscription, SyncTransport, TurnSink
from openai_codex._turns import TurnResult, TurnState, interrupted_timeout_error, turn_id_of
from openai_codex.config import CodexConfig
from openai_codex.errors import CodexError
from openai_codex.generated.api import CodexRequests, GoalHandleRequests, ThreadRequests, TurnHandleRequests
from openai_codex.hooks import Hooks, checked_hooks
from openai_codex.notifications import Notification

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from openai_codex._login import ChatgptLogin, DeviceCodeLogin
    from openai_codex.generated.protocol import ThreadGoal
    from openai_codex.generated.rpc import Rpc
    from openai_codex.tools import Tool
    from openai_codex.types import Turn

__all__ = ["Codex", "EventSubscription", "GoalHandle", "Thread", "TurnHandle"]

L = TypeVar("L", bound="ChatgptLogin")


class Codex(CodexRequests):
    """A connection to a ``codex app-server`` process (started and initialised by the constructor).

    ::

        with Codex() as codex:
            thread = codex.thread_start()
            print(thread.run("Summarise this repository.").final_response)

    Threads are created or continued only through :meth:`thread_start`, :meth:`thread_resume` and
    :meth:`thread_fork`. Methods are thread-safe: turns on different threads may run concurrently from
    different Python threads. Raises :class:`~openai_codex.RuntimeNotFoundError`,
    :class:`~openai_codex.IncompatibleRuntimeError` or :class:`~openai_codex.TransportClosedError` when
    the app-server cannot be started; nothing is left running then.
    """

    def __init__(self, config: CodexConfig | None = None, *, hooks: Hooks | None = None) -> None:
        """``hooks``: callbacks around the agent's commands, file changes and MCP tool calls
        (:class:`~openai_codex.Hooks`, see :mod:`openai_codex.hooks`)."""
        self.config = config or CodexConfig()
        self._transport = SyncTransport(self.config, checked_hooks(hooks))
        # Dropped unclosed: its runtime is killed when it is collected (the transport's threads hold
        # only the transport, never this object).
        self._finalizer = weakref.finalize(self, self._transport.abandon)
        self._rpc: Rpc | None = None

    # ---------------------------------------------------------------- lifecycle
    def close(self) -> None:
        """Shut the app-server down and reap it. Idempotent; running turns fail with TransportClosedError."""
        self._finalizer.detach()
        self._transport.close()

    def __enter__(self) -> Codex:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def runtime_version(self) -> str | None:
        """The version of the running ``codex`` (from its ``initialize`` answer)."""
        return self._transport.runtime_version

    @property
    def user_agent(self) -> str:
        """The app-server's user agent string (from its ``initialize`` answer)."""
        return str(self._transport.initialize_result.get("userAgent", ""))

    @property
    def pid(self) -> int:
        """Process id of the app-server."""
        return self._transport.pid

    @property
    def rpc(self) -> Rpc:
        """Every client request of the pinned protocol as a typed method, named by its wire method in
        snake_case (``codex.rpc.thread_goal_get(thread_id=...)``); see :mod:`openai_codex.generated.rpc`."""
        if self._rpc is None:
            from openai_codex.generated.rpc import Rpc

            self._rpc = Rpc(self._transport.request)
        return self._rpc

    def events(self, *, max_buffered: int = EVENTS_CAP) -> EventSubscription:
        """Every notification no turn handle consumes, from now on: rate limits, MCP server start-up,
        thread status, account changes, goal updates between turns, ``thread/search/partial``, ... (and the
        SDK's own :data:`~openai_codex.hooks.HOOK_FAILED` reports).

        Subscribe, then receive: nothing from before this call; at most ``max_buffered`` unread (the oldest
        dropped beyond that, counted in ``dropped``). Iteration ends when the
        subscription or the client is closed. See :class:`~openai_codex.EventSubscription`.
        """
        return EventSubscription(self._transport, None, max_buffered)

    # ---------------------------------------------------------------- primitives of the generated methods
    def _request(self, method: str, params: Any) -> Any:
        return self._transport.request(method, params)

    def _open_thread(
        self, method: str, params: dict[str, Any], tools: Iterable[Tool | Callable[..., Any]] | None = None
    ) -> Thread:
        registry = offer_tools(self.config.experimental_api, params, tools)
        info = thread_info(self._request(method, params))
        if registry is not None:
            self._transport.tools[info["id"]] = registry
        return Thread(self, info["id"], info)

    # ---------------------------------------------------------------- ChatGPT logins (not plain requests)
    def login_chatgpt(self) -> ChatgptLogin:
        """Start a ChatGPT browser login: open the handle's ``auth_url``, then ``wait()`` (or ``cancel()``)."""
        from openai_codex._login import ChatgptLogin

        return self._start_login(ChatgptLogin)

    def login_chatgpt_device_code(self) -> DeviceCodeLogin:
        """Start a device-code login: show ``verification_url`` and ``user_code``, then ``wait()``.

        Raises :class:`~openai_codex.LoginError` at once when the code cannot be obtained (no network);
        the client stays usable.
        """
        from openai_codex._login import DeviceCodeLogin

        return self._start_login(DeviceCodeLogin)

    def _start_login(self, cls: type[L]) -> L:
        from openai_codex import _login

        sink = self._transport.watch(_login.COMPLETED)  # before the request: the outcome cannot be missed
        with _login.starting(self._transport, sink, cls._KIND):
            result = self._transport.request(_login.START, _login.start_params(cls._KIND))
        return cls(self._transport, sink, result)


class Thread(ThreadRequests):
    """A conversation. Create it with :meth:`Codex.thread_start` / :meth:`Codex.thread_resume`."""

    def __init__(self, codex: Codex, thread_id: str, info: dict[str, Any] | None = None) -> None:
        self._codex = codex
        self.id = thread_id
        self.info: dict[str, Any] = info or {"id": thread_id}
        """The thread object the app-server returned (raw JSON: ``id``, ``cwd``, ``preview``, ...)."""

    def __repr__(self) -> str:
        return f"Thread(id={self.id!r})"

    def events(self, *, max_buffered: int = EVENTS_CAP) -> EventSubscription:
        """This thread's notifications that no turn handle consumes (those naming this thread: its status,
        name, goal between turns, ...), from now on; the contract of :meth:`Codex.events`."""
        return EventSubscription(self._codex._transport, self.id, max_buffered)

    # ---------------------------------------------------------------- primitives of the generated methods
    def _request(self, method: str, params: Any) -> Any:
        return self._codex._request(method, params)

    def _start_turn(self, params: dict[str, Any]) -> TurnHandle:
        result, sink = self._codex._transport.start_turn(self.id, params, abandoned=self._stop_started_turn)
        handle = TurnHandle(self._codex, self.id, turn_id_of(result), sink)
        handle._state.output_type = output_type_of(params.get("outputSchema"))
        return handle

    def _stop_started_turn(self, result: Any, sink: TurnSink) -> None:
        """Ctrl-C while ``turn/start`` was answered: stop that turn as Ctrl-C during ``run()`` does."""
        with contextlib.suppress(CodexError):
            TurnHandle(self._codex, self.id, turn_id_of(result), sink)._stop()

    def _stop_started_goal(self, result: Any, sink: TurnSink) -> None:
        """Ctrl-C while ``thread/goal/set`` was answered: stop the goal's turn as Ctrl-C during ``run()`` does."""
        goal = result.get("goal") if isinstance(result, dict) else None
        if isinstance(goal, dict):
            GoalHandle(self._codex, self.id, goal, sink)._stop()

    def _run_turn(self, params: dict[str, Any], timeout: float | None) -> TurnResult:
        handle = self._start_turn(params)
        try:
            handle.run(timeout)
        except TimeoutError:
            handle._interrupt_quietly()
            raise interrupted_timeout_error(handle.id, timeout) from None
        return handle.result()

    def _start_goal(self, params: dict[str, Any]) -> GoalHandle:
        result, sink = self._codex._transport.start_goal(self.id, params, abandoned=self._stop_started_goal)
        goal = result.get("goal") if isinstance(result, dict) else None
        if not isinstance(goal, dict):
            self._codex._transport.release(sink)
            raise CodexError(f"the app-server set no goal: {str(result)[:200]}")
        return GoalHandle(self._codex, self.id, goal, sink)

    def _run_goal(self, params: dict[str, Any], timeout: float | None) -> GoalResult:
        handle = self._start_goal(params)
        try:
            return handle.run(timeout)
        except TimeoutError:
            handle._stop()
            raise TimeoutError(
                f"the goal of thread {self.id} was not reached within {timeout:g}s; its turn was interrupted"
            ) from None


class _Run:
    """What :class:`TurnHandle` and :class:`GoalHandle` share: one consumer at a time takes the run's
    notifications from its sink until the run is over; Ctrl-C stops the run (``_stop``) and goes on."""

    _noun: str  # "turn", "goal run": what the refusal of a second consumer names

    def __init__(self, codex: Codex, sink: TurnSink, state: TurnState | GoalState) -> None:
        self._codex = codex
        self._sink = sink
        self._state = state
        self._consumer = threading.Lock()

    @property
    def done(self) -> bool:
        """Whether the run is over (its last notification has been taken)."""
        return self._state.done

    def _still_running(self) -> str:
        """The :class:`TimeoutError` message when a deadline passes with the run still going."""
        raise NotImplementedError

    def _stop(self, wait: float = INTERRUPT_WAIT_S) -> None:
        raise NotImplementedError

    def _events(self, deadline: float | None) -> Iterator[Notification]:
        if not self._consumer.acquire(blocking=False):
            raise RuntimeError(f"this {self._noun} is already being consumed (stream() or run() in another place)")
        try:
            while not self._state.done:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    note = self._sink.get(remaining)
                except queue.Empty:
                    raise TimeoutError(self._still_running()) from None
                self._state.observe(note)
                yield note
        except KeyboardInterrupt:
            self._stop()  # Ctrl-C stops the run on the server too, then goes on
            raise
        finally:
            self._consumer.release()
            if self._state.done:
                self._codex._transport.release(self._sink)


class TurnHandle(_Run, TurnHandleRequests):
    """A running turn. Consume it once, with :meth:`stream` or :meth:`run` (which may follow a partial stream)."""

    _noun = "turn"
    _state: TurnState

    def __init__(self, codex: Codex, thread_id: str, turn_id: str, sink: TurnSink) -> None:
        super().__init__(codex, sink, TurnState(thread_id, turn_id))
        self.thread_id = thread_id
        self.id = turn_id

    def __repr__(self) -> str:
        return f"TurnHandle(id={self.id!r}, thread_id={self.thread_id!r}, done={self._state.done})"

    def stream(self) -> Iterator[Notification]:
        """Yield this turn's notifications as they arrive; the last one is its ``turn/completed``.

        Raises TransportClosedError if the app-server dies meanwhile.
        """
        return self._events(None)

    def _still_running(self) -> str:
        return f"turn {self.id} is still running; call interrupt() to stop it, or wait again"

    def _stop(self, wait: float = INTERRUPT_WAIT_S) -> None:
        """Send ``turn/interrupt`` and wait up to ``wait`` seconds for the turn to complete (no error)."""
        deadline = time.monotonic() + wait
        params = {"threadId": self.thread_id, "turnId": self.id}
        with contextlib.suppress(CodexError, TimeoutError):  # e.g. the turn is over already
            self._codex._transport.request("turn/interrupt", params, timeout=wait)
        with contextlib.suppress(CodexError, queue.Empty):
            while not self._state.done:
                self._state.observe(self._sink.get(max(0.0, deadline - time.monotonic())))

    def run(self, timeout: float | None = None) -> Turn:
        """Wait for the turn to finish and return it (``status``, ``error``, ``items``).

        With ``timeout``, raise :class:`TimeoutError` if it is still running after that many seconds (the
        turn goes on: interrupt it, or call ``run()`` again; no event is lost).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        for _ in self._events(deadline):
            pass
        return self._state.turn()

    def result(self) -> TurnResult:
        """The :class:`TurnResult` of the finished turn (consumes the rest of the turn first)."""
        self.run()
        return self._state.result()

    # ---------------------------------------------------------------- primitives of the generated methods
    def _request(self, method: str, params: Any) -> Any:
        return self._codex._request(method, params)

    def _interrupt_quietly(self) -> None:
        """``interrupt()`` with a short timeout and no error: the turn is being given up anyway."""
        params = {"threadId": self.thread_id, "turnId": self.id}
        with contextlib.suppress(CodexError, TimeoutError):
            self._codex._transport.request("turn/interrupt", params, timeout=TERMINATE_GRACE_S * 4)
        self._codex._transport.release(self._sink)


class GoalHandle(_Run, GoalHandleRequests):
    """A goal run: every turn the runtime runs for the thread's goal, until the goal is complete, cleared, out
    of budget or blocked, or its turn is interrupted. Consume it once, with :meth:`stream` or :meth:`run`."""

    _noun = "goal run"
    _state: GoalState

    def __init__(self, codex: Codex, thread_id: str, goal: dict[str, Any], sink: TurnSink) -> None:
        super().__init__(codex, sink, GoalState(thread_id, goal))
        self._goal = goal
        self.thread_id = thread_id

    def __repr__(self) -> str:
        return f"GoalHandle(thread_id={self.thread_id!r}, done={self._state.done})"

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

    def stream(self) -> Iterator[Notification]:
        """Yield the notifications of every turn of the goal, and the thread's own (``thread/goal/updated``,
        ``thread/goal/cleared``, ...), in order, until the goal run is over."""
        return self._events(None)

    def _still_running(self) -> str:
        return f"the goal of thread {self.thread_id} is still running; interrupt() or clear it, or wait again"

    def run(self, timeout: float | None = None) -> GoalResult:
        """Wait for the goal run to end and return its :class:`GoalResult` (every turn, the goal's last state).

        With ``timeout``, raise :class:`TimeoutError` if it still runs after that many seconds (it goes on).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        for _ in self._events(deadline):
            pass
        return self._state.result()

    # ---------------------------------------------------------------- primitives of the generated methods
    def _request(self, method: str, params: Any) -> Any:
        return self._codex._request(method, params)

    def _stop(self, wait: float = INTERRUPT_WAIT_S) -> None:
        """Interrupt the goal's turn (and one that starts meanwhile) and wait up to ``wait`` seconds for the run
        to end (no error)."""
        deadline = time.monotonic() + wait
        interrupted: set[str] = set()
        with contextlib.suppress(CodexError, queue.Empty):
            while not self._state.done:
                turn_id = self._state.lifecycle.turn_id or self._codex._transport.goal_turn(self._sink)
                if turn_id is not None and turn_id not in interrupted:
                    interrupted.add(turn_id)
                    params = {"threadId": self.thread_id, "turnId": turn_id}
                    with contextlib.suppress(CodexError, TimeoutError):  # e.g. the turn is over already
                        self._codex._transport.request("turn/interrupt", params, timeout=wait)
                self._state.observe(self._sink.get(max(0.0, deadline - time.monotonic())))
        if self._state.done:
            self._codex._transport.release(self._sink)
