"""The asyncio client: :class:`AsyncCodex`, :class:`AsyncThread`, :class:`AsyncTurnHandle`."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from openai_codex import _calls as calls
from openai_codex._async_transport import AsyncTransport, AsyncTurnSink
from openai_codex._calls import ThreadInfo
from openai_codex._runtime import TERMINATE_GRACE_S
from openai_codex._turns import TurnResult, TurnState, interrupted_timeout_error, turn_id_of
from openai_codex.config import CodexConfig
from openai_codex.errors import CodexError
from openai_codex.inputs import Input
from openai_codex.notifications import Notification

if TYPE_CHECKING:
    from openai_codex._login import AsyncChatgptLogin, AsyncDeviceCodeLogin
    from openai_codex.generated.protocol import GetAccountResponse, ThreadGoal
    from openai_codex.generated.protocol import Thread as ThreadModel
    from openai_codex.generated.rpc import AsyncRpc
    from openai_codex.types import ModelListResponse, ThreadListResponse, Turn

__all__ = ["AsyncCodex", "AsyncThread", "AsyncTurnHandle"]

L = TypeVar("L", bound="AsyncChatgptLogin")


@calls.shell
class AsyncCodex(calls.AsyncCalls):
    """The asyncio twin of :class:`~openai_codex.Codex`.

    It starts the app-server lazily: on ``async with`` or on the first awaited call. ::

        async with AsyncCodex() as codex:
            thread = await codex.thread_start()
            result = await thread.run("Summarise this repository.")

    Use one instance from one event loop. Start-up failures raise the same errors as ``Codex()``.
    """

    def __init__(self, config: CodexConfig | None = None) -> None:
        self.config = config or CodexConfig()
        self._transport = AsyncTransport(self.config)
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

            self._rpc = AsyncRpc(self._transport.call)
        return self._rpc

    # ---------------------------------------------------------------- plain requests (see _calls)
    async def _send(self, method: str, params: Any) -> Any:
        return await self._transport.call(method, params)

    def _thread(self, info: ThreadInfo) -> AsyncThread:
        return AsyncThread(self, info["id"], info)

    async def thread_start(self, **params: Any) -> AsyncThread:
        return self._thread(await self._call(calls.thread_start, **params))

    async def thread_resume(self, thread_id: str, **params: Any) -> AsyncThread:
        return self._thread(await self._call(calls.thread_resume, thread_id, **params))

    async def thread_fork(self, thread_id: str, **params: Any) -> AsyncThread:
        return self._thread(await self._call(calls.thread_fork, thread_id, **params))

    async def thread_list(self, **params: Any) -> ThreadListResponse:
        return await self._call(calls.thread_list, **params)

    async def thread_archive(self, thread_id: str) -> None:
        return await self._call(calls.thread_archive, thread_id)

    async def thread_unarchive(self, thread_id: str) -> AsyncThread:
        return self._thread(await self._call(calls.thread_unarchive, thread_id))

    async def model_list(self, **params: Any) -> ModelListResponse:
        return await self._call(calls.model_list, **params)

    async def models(self, **params: Any) -> ModelListResponse:
        return await self._call(calls.models, **params)

    async def login_api_key(self, api_key: str) -> None:
        return await self._call(calls.login_api_key, api_key)

    async def account(self) -> GetAccountResponse:
        return await self._call(calls.account)

    async def logout(self) -> None:
        return await self._call(calls.logout)

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


@calls.shell
class AsyncThread(calls.AsyncCalls):
    """A conversation whose methods are coroutines; created by :meth:`AsyncCodex.thread_start` / ``thread_resume``."""

    def __init__(self, codex: AsyncCodex, thread_id: str, info: dict[str, Any] | None = None) -> None:
        self._codex = codex
        self.id = thread_id
        self.info: dict[str, Any] = info or {"id": thread_id}

    def __repr__(self) -> str:
        return f"AsyncThread(id={self.id!r})"

    # ---------------------------------------------------------------- plain requests (see _calls)
    async def _send(self, method: str, params: Any) -> Any:
        return await self._codex._send(method, params)

    async def read(self, include_turns: bool = False) -> ThreadModel:
        return await self._call(calls.read, include_turns)

    async def set_name(self, name: str) -> None:
        return await self._call(calls.set_name, name)

    async def compact(self) -> None:
        return await self._call(calls.compact)

    async def set_goal(self, objective: str, token_budget: int | None = None) -> ThreadGoal:
        return await self._call(calls.set_goal, objective, token_budget)

    async def goal(self) -> ThreadGoal | None:
        return await self._call(calls.goal)

    async def clear_goal(self) -> bool:
        return await self._call(calls.clear_goal)

    # ---------------------------------------------------------------- turns
    async def turn(self, input: Input, **params: Any) -> AsyncTurnHandle:
        """Start a turn (``TurnStartParams`` keywords, snake_case); consume it with the returned handle."""
        return await self._start_turn("turn", input, params)

    async def _start_turn(self, function: str, input: Input, params: dict[str, Any]) -> AsyncTurnHandle:
        wire = calls.turn_start_params(function, self.id, input, params)
        transport = await self._codex._transport.ensure_started()
        result, sink = await transport.start_turn(self.id, wire)
        return AsyncTurnHandle(self._codex, self.id, turn_id_of(result), sink)

    async def run(self, input: Input, *, timeout: float | None = None, **params: Any) -> TurnResult:
        """Run a turn to completion and return its :class:`TurnResult`.

        With ``timeout``, a turn still running after that many seconds is interrupted and
        :class:`TimeoutError` raised (e.g. while the runtime keeps retrying an unreachable model).
        """
        handle = await self._start_turn("run", input, params)
        try:
            await handle.run(timeout)
        except TimeoutError:
            await handle._interrupt_quietly()
            raise interrupted_timeout_error(handle.id, timeout) from None
        return await handle.result()


@calls.shell
class AsyncTurnHandle(calls.AsyncCalls):
    """A running turn: ``await handle.run()`` or ``async for n in handle.stream()``."""

    def __init__(self, codex: AsyncCodex, thread_id: str, turn_id: str, sink: AsyncTurnSink) -> None:
        self._codex = codex
        self._sink = sink
        self._state = TurnState(thread_id, turn_id)
        self._consuming = False
        self.thread_id = thread_id
        self.id = turn_id

    def __repr__(self) -> str:
        return f"AsyncTurnHandle(id={self.id!r}, thread_id={self.thread_id!r}, done={self._state.done})"

    @property
    def done(self) -> bool:
        return self._state.done

    async def stream(self) -> AsyncIterator[Notification]:
        """Yield this turn's notifications as they arrive; the last one is its ``turn/completed``."""
        if self._consuming:
            raise RuntimeError("this turn is already being consumed (stream() or run() elsewhere)")
        self._consuming = True
        try:
            while not self._state.done:
                note = await self._sink.get()
                self._state.observe(note)
                yield note
        finally:
            self._consuming = False
            if self._state.done:
                self._codex._transport.release(self._sink)

    async def run(self, timeout: float | None = None) -> Turn:
        """Wait for the turn to finish and return it (``status``, ``error``, ``items``).

        With ``timeout``, raise :class:`TimeoutError` if it is still running after that many seconds (the
        turn goes on: interrupt it, or call ``run()`` again; no event is lost).
        """
        if timeout is None:
            async for _ in self.stream():
                pass
            return self._state.turn()
        try:
            return await asyncio.wait_for(self.run(), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"turn {self.id} is still running; call interrupt() to stop it, or wait again") from None

    async def result(self) -> TurnResult:
        """The :class:`TurnResult` of the finished turn (consumes the rest of the turn first)."""
        await self.run()
        return self._state.result()

    # ---------------------------------------------------------------- plain requests (see _calls)
    async def _send(self, method: str, params: Any) -> Any:
        return await self._codex._send(method, params)

    async def interrupt(self) -> None:
        return await self._call(calls.interrupt)

    async def steer(self, input: Input) -> None:
        return await self._call(calls.steer, input)

    async def _interrupt_quietly(self) -> None:
        params, _ = calls.interrupt.prepare(self, (), {})
        with contextlib.suppress(CodexError, TimeoutError):
            await self._codex._transport.request(calls.interrupt.method, params, timeout=TERMINATE_GRACE_S * 4)
        self._codex._transport.release(self._sink)
