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

from openai_codex._async_transport import AsyncTransport, AsyncTurnSink
from openai_codex._requests import offer_tools, thread_info
from openai_codex._runtime import TERMINATE_GRACE_S
from openai_codex._structured import output_type_of
from openai_codex._turns import TurnResult, TurnState, interrupted_timeout_error, turn_id_of
from openai_codex.config import CodexConfig
from openai_codex.errors import CodexError
from openai_codex.generated.api import AsyncCodexRequests, AsyncThreadRequests, AsyncTurnHandleRequests
from openai_codex.notifications import Notification

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from openai_codex._login import AsyncChatgptLogin, AsyncDeviceCodeLogin
    from openai_codex.generated.rpc import AsyncRpc
    from openai_codex.tools import Tool
    from openai_codex.types import Turn

__all__ = ["AsyncCodex", "AsyncThread", "AsyncTurnHandle"]

L = TypeVar("L", bound="AsyncChatgptLogin")


class AsyncCodex(AsyncCodexRequests):
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

            self._rpc = AsyncRpc(self._transport.request)
        return self._rpc

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

    # ---------------------------------------------------------------- primitives of the generated methods
    async def _request(self, method: str, params: Any) -> Any:
        return await self._codex._request(method, params)

    async def _start_turn(self, params: dict[str, Any]) -> AsyncTurnHandle:
        result, sink = await self._codex._transport.start_turn(self.id, params)
        handle = AsyncTurnHandle(self._codex, self.id, turn_id_of(result), sink)
        handle._state.output_type = output_type_of(params.get("outputSchema"))
        return handle

    async def _run_turn(self, params: dict[str, Any], timeout: float | None) -> TurnResult:
        handle = await self._start_turn(params)
        try:
            await handle.run(timeout)
        except TimeoutError:
            await handle._interrupt_quietly()
            raise interrupted_timeout_error(handle.id, timeout) from None
        return await handle.result()


class AsyncTurnHandle(AsyncTurnHandleRequests):
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

    # ---------------------------------------------------------------- primitives of the generated methods
    async def _request(self, method: str, params: Any) -> Any:
        return await self._codex._request(method, params)

    async def _interrupt_quietly(self) -> None:
        """``interrupt()`` with a short timeout and no error: the turn is being given up anyway."""
        params = {"threadId": self.thread_id, "turnId": self.id}
        with contextlib.suppress(CodexError, TimeoutError):
            await self._codex._transport.request("turn/interrupt", params, timeout=TERMINATE_GRACE_S * 4)
        self._codex._transport.release(self._sink)
