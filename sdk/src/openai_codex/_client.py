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

from openai_codex._requests import offer_tools, thread_info
from openai_codex._runtime import TERMINATE_GRACE_S
from openai_codex._structured import output_type_of
from openai_codex._sync_transport import SyncTransport, TurnSink
from openai_codex._turns import TurnResult, TurnState, interrupted_timeout_error, turn_id_of
from openai_codex.config import CodexConfig
from openai_codex.errors import CodexError
from openai_codex.generated.api import CodexRequests, ThreadRequests, TurnHandleRequests
from openai_codex.notifications import Notification

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from openai_codex._login import ChatgptLogin, DeviceCodeLogin
    from openai_codex.generated.rpc import Rpc
    from openai_codex.tools import Tool
    from openai_codex.types import Turn

__all__ = ["Codex", "Thread", "TurnHandle"]

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

    # ---------------------------------------------------------------- primitives of the generated methods
    def _request(self, method: str, params: Any) -> Any:
        return self._codex._request(method, params)

    def _start_turn(self, params: dict[str, Any]) -> TurnHandle:
        result, sink = self._codex._transport.start_turn(self.id, params)
        handle = TurnHandle(self._codex, self.id, turn_id_of(result), sink)
        handle._state.output_type = output_type_of(params.get("outputSchema"))
        return handle

    def _run_turn(self, params: dict[str, Any], timeout: float | None) -> TurnResult:
        handle = self._start_turn(params)
        try:
            handle.run(timeout)
        except TimeoutError:
            handle._interrupt_quietly()
            raise interrupted_timeout_error(handle.id, timeout) from None
        return handle.result()


class TurnHandle(TurnHandleRequests):
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

    # ---------------------------------------------------------------- primitives of the generated methods
    def _request(self, method: str, params: Any) -> Any:
        return self._codex._request(method, params)

    def _interrupt_quietly(self) -> None:
        """``interrupt()`` with a short timeout and no error: the turn is being given up anyway."""
        params = {"threadId": self.thread_id, "turnId": self.id}
        with contextlib.suppress(CodexError, TimeoutError):
            self._codex._transport.request("turn/interrupt", params, timeout=TERMINATE_GRACE_S * 4)
        self._codex._transport.release(self._sink)
