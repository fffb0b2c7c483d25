"""The synchronous client: :class:`Codex`, :class:`Thread`, :class:`TurnHandle`."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import weakref
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from openai_codex import _calls as calls
from openai_codex._calls import ThreadInfo
from openai_codex._runtime import TERMINATE_GRACE_S
from openai_codex._sync_transport import SyncTransport, TurnSink
from openai_codex._turns import TurnResult, TurnState, interrupted_timeout_error, turn_id_of
from openai_codex.config import CodexConfig
from openai_codex.errors import CodexError
from openai_codex.inputs import Input
from openai_codex.notifications import Notification

if TYPE_CHECKING:
    from openai_codex._login import ChatgptLogin, DeviceCodeLogin
    from openai_codex.generated.protocol import GetAccountResponse, ThreadGoal
    from openai_codex.generated.protocol import Thread as ThreadModel
    from openai_codex.generated.rpc import Rpc
    from openai_codex.types import ModelListResponse, ThreadListResponse, Turn

__all__ = ["Codex", "Thread", "TurnHandle"]

L = TypeVar("L", bound="ChatgptLogin")


@calls.shell
class Codex(calls.SyncCalls):
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

    def __init__(self, config: CodexConfig | None = None) -> None:
        self.config = config or CodexConfig()
        self._transport = SyncTransport(self.config)
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

    # ---------------------------------------------------------------- plain requests (see _calls)
    def _send(self, method: str, params: Any) -> Any:
        return self._transport.request(method, params)

    def _thread(self, info: ThreadInfo) -> Thread:
        return Thread(self, info["id"], info)

    def thread_start(self, **params: Any) -> Thread:
        return self._thread(self._call(calls.thread_start, **params))

    def thread_resume(self, thread_id: str, **params: Any) -> Thread:
        return self._thread(self._call(calls.thread_resume, thread_id, **params))

    def thread_fork(self, thread_id: str, **params: Any) -> Thread:
        return self._thread(self._call(calls.thread_fork, thread_id, **params))

    def thread_list(self, **params: Any) -> ThreadListResponse:
        return self._call(calls.thread_list, **params)

    def thread_archive(self, thread_id: str) -> None:
        return self._call(calls.thread_archive, thread_id)

    def thread_unarchive(self, thread_id: str) -> Thread:
        return self._thread(self._call(calls.thread_unarchive, thread_id))

    def model_list(self, **params: Any) -> ModelListResponse:
        return self._call(calls.model_list, **params)

    def models(self, **params: Any) -> ModelListResponse:
        return self._call(calls.models, **params)

    def login_api_key(self, api_key: str) -> None:
        return self._call(calls.login_api_key, api_key)

    def account(self) -> GetAccountResponse:
        return self._call(calls.account)

    def logout(self) -> None:
        return self._call(calls.logout)

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


@calls.shell
class Thread(calls.SyncCalls):
    """A conversation. Create it with :meth:`Codex.thread_start` / :meth:`Codex.thread_resume`."""

    def __init__(self, codex: Codex, thread_id: str, info: dict[str, Any] | None = None) -> None:
        self._codex = codex
        self.id = thread_id
        self.info: dict[str, Any] = info or {"id": thread_id}
        """The thread object the app-server returned (raw JSON: ``id``, ``cwd``, ``preview``, ...)."""

    def __repr__(self) -> str:
        return f"Thread(id={self.id!r})"

    # ---------------------------------------------------------------- plain requests (see _calls)
    def _send(self, method: str, params: Any) -> Any:
        return self._codex._send(method, params)

    def read(self, include_turns: bool = False) -> ThreadModel:
        return self._call(calls.read, include_turns)

    def set_name(self, name: str) -> None:
        return self._call(calls.set_name, name)

    def compact(self) -> None:
        return self._call(calls.compact)

    def set_goal(self, objective: str, token_budget: int | None = None) -> ThreadGoal:
        return self._call(calls.set_goal, objective, token_budget)

    def goal(self) -> ThreadGoal | None:
        return self._call(calls.goal)

    def clear_goal(self) -> bool:
        return self._call(calls.clear_goal)

    # ---------------------------------------------------------------- turns
    def turn(self, input: Input, **params: Any) -> TurnHandle:
        """Start a turn and return at once; consume it with :meth:`TurnHandle.stream` or :meth:`TurnHandle.run`.

        Keywords are ``TurnStartParams`` fields in snake_case (``model``, ``effort``, ``output_schema``,
        ``sandbox_policy``, ``approval_policy``, ``cwd``, ...), applying to this turn and the next ones.
        """
        return self._start_turn("turn", input, params)

    def _start_turn(self, function: str, input: Input, params: dict[str, Any]) -> TurnHandle:
        wire = calls.turn_start_params(function, self.id, input, params)
        result, sink = self._codex._transport.start_turn(self.id, wire)
        return TurnHandle(self._codex, self.id, turn_id_of(result), sink)

    def run(self, input: Input, *, timeout: float | None = None, **params: Any) -> TurnResult:
        """Run a turn to completion: ``final_response``, ``items``, ``usage`` and the finished ``turn``.

        With ``timeout``, a turn still running after that many seconds is interrupted and
        :class:`TimeoutError` raised (e.g. while the runtime keeps retrying an unreachable model).
        """
        handle = self._start_turn("run", input, params)
        try:
            handle.run(timeout)
        except TimeoutError:
            handle._interrupt_quietly()
            raise interrupted_timeout_error(handle.id, timeout) from None
        return handle.result()


@calls.shell
class TurnHandle(calls.SyncCalls):
    """A running turn. Consume it once, with :meth:`stream` or :meth:`run` (which may follow a partial stream)."""

    def __init__(self, codex: Codex, thread_id: str, turn_id: str, sink: TurnSink) -> None:
        self._codex = codex
        self._sink = sink
        self._state = TurnState(thread_id, turn_id)
        self._consumer = threading.Lock()
        self.thread_id = thread_id
        self.id = turn_id

    def __repr__(self) -> str:
        return f"TurnHandle(id={self.id!r}, thread_id={self.thread_id!r}, done={self._state.done})"

    @property
    def done(self) -> bool:
        return self._state.done

    def stream(self) -> Iterator[Notification]:
        """Yield this turn's notifications as they arrive; the last one is its ``turn/completed``.

        Raises TransportClosedError if the app-server dies meanwhile.
        """
        return self._events(None)

    def _events(self, deadline: float | None) -> Iterator[Notification]:
        if not self._consumer.acquire(blocking=False):
            raise RuntimeError("this turn is already being consumed (stream() or run() in another place)")
        try:
            while not self._state.done:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    note = self._sink.get(remaining)
                except queue.Empty:
                    raise TimeoutError(
                        f"turn {self.id} is still running; call interrupt() to stop it, or wait again"
                    ) from None
                self._state.observe(note)
                yield note
        finally:
            self._consumer.release()
            if self._state.done:
                self._codex._transport.release(self._sink)

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

    # ---------------------------------------------------------------- plain requests (see _calls)
    def _send(self, method: str, params: Any) -> Any:
        return self._codex._send(method, params)

    def interrupt(self) -> None:
        return self._call(calls.interrupt)

    def steer(self, input: Input) -> None:
        return self._call(calls.steer, input)

    def _interrupt_quietly(self) -> None:
        params, _ = calls.interrupt.prepare(self, (), {})
        with contextlib.suppress(CodexError, TimeoutError):
            self._codex._transport.request(calls.interrupt.method, params, timeout=TERMINATE_GRACE_S * 4)
        self._codex._transport.release(self._sink)
