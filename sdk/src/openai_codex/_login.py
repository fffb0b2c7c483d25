"""Login handles: a ChatGPT browser login or device-code login in progress (sync and async).

``account/login/start`` answers at once with what the user needs (the URL, or the URL and code); the
outcome arrives later as an ``account/login/completed`` notification, which the handle's sink receives
(it is registered before the request is sent, so it cannot be missed).
"""

from __future__ import annotations

import contextlib
import queue
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from openai_codex.errors import CodexError, JsonRpcError, LoginError
from openai_codex.generated.api import AsyncChatgptLoginRequests, ChatgptLoginRequests

if TYPE_CHECKING:
    from openai_codex._async_transport import AsyncTransport, AsyncTurnSink
    from openai_codex._sync_transport import SyncTransport, TurnSink
    from openai_codex.generated.protocol import AccountLoginCompletedNotification

__all__ = ["AsyncChatgptLogin", "AsyncDeviceCodeLogin", "ChatgptLogin", "DeviceCodeLogin"]

COMPLETED = "account/login/completed"
START = "account/login/start"


def start_params(kind: str) -> dict[str, Any]:
    return {"type": kind}


def start_failed(kind: str, error: JsonRpcError) -> LoginError:
    what = "device-code login" if kind == "chatgptDeviceCode" else "ChatGPT login"
    return LoginError(f"the {what} could not start: {error.message}")


@contextlib.contextmanager
def starting(transport: Any, sink: Any, kind: str) -> Iterator[None]:
    """Around the ``account/login/start`` request (both clients): if it fails, ``sink`` stops watching,
    and a JSON-RPC error becomes a :class:`LoginError`."""
    try:
        yield
    except JsonRpcError as exc:
        transport.unwatch(sink)
        raise start_failed(kind, exc) from exc
    except BaseException:
        transport.unwatch(sink)
        raise


def outcome(params: dict[str, Any], login_id: str) -> AccountLoginCompletedNotification | None:
    """The typed completion if ``params`` (of an ``account/login/completed``) is this login's; raises
    :class:`LoginError` if it failed."""
    if params.get("loginId") not in (None, login_id):
        return None
    from openai_codex.generated.protocol import AccountLoginCompletedNotification

    done = AccountLoginCompletedNotification.model_validate(params)
    if not done.success:
        raise LoginError(f"login {login_id} did not succeed: {done.error or 'no reason given'}")
    return done


class _LoginState:
    """What the sync and async login handles share: the fields of the start answer, and settling a
    completion notification (the sink is released once the outcome is known)."""

    _KIND = "chatgpt"
    """The ``type`` of the ``account/login/start`` that begins this kind of login."""

    def __init__(self, transport: Any, sink: Any, result: dict[str, Any]) -> None:
        self._transport = transport
        self._sink = sink
        self.login_id: str = result["loginId"]
        self.auth_url: str = result.get("authUrl", "")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(login_id={self.login_id!r})"

    def _settle(self, params: dict[str, Any]) -> AccountLoginCompletedNotification | None:
        """The completion when ``params`` is this login's (raising for a failed one), else ``None``."""
        try:
            done = outcome(params, self.login_id)
        except CodexError:
            self._transport.unwatch(self._sink)
            raise
        if done is not None:
            self._transport.unwatch(self._sink)
        return done


class _DeviceCodeState(_LoginState):
    """What the sync and async device-code handles add: the code and where to enter it."""

    _KIND = "chatgptDeviceCode"

    def __init__(self, transport: Any, sink: Any, result: dict[str, Any]) -> None:
        super().__init__(transport, sink, result)
        self.verification_url: str = result.get("verificationUrl", "")
        self.user_code: str = result.get("userCode", "")


class ChatgptLogin(_LoginState, ChatgptLoginRequests):
    """A ChatGPT browser login in progress: open :attr:`auth_url`, then :meth:`wait` (or :meth:`cancel`)."""

    _transport: SyncTransport
    _sink: TurnSink

    def wait(self, timeout: float | None = None) -> AccountLoginCompletedNotification:
        """Block until the login completes; raise :class:`LoginError` if it failed or was cancelled, and
        :class:`TimeoutError` after ``timeout`` seconds (the login goes on: wait again or cancel)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                note = self._sink.get(remaining)
            except queue.Empty:
                raise TimeoutError(f"login {self.login_id} has not completed within {timeout:g}s") from None
            done = self._settle(note.params)
            if done is not None:
                return done

    def _request(self, method: str, params: Any) -> Any:
        return self._transport.request(method, params)


class DeviceCodeLogin(_DeviceCodeState, ChatgptLogin):
    """A device-code login in progress: show :attr:`verification_url` and :attr:`user_code`, then wait."""


class AsyncChatgptLogin(_LoginState, AsyncChatgptLoginRequests):
    """The asyncio twin of :class:`ChatgptLogin`."""

    _transport: AsyncTransport
    _sink: AsyncTurnSink

    async def wait(self, timeout: float | None = None) -> AccountLoginCompletedNotification:
        """Wait for the login to complete (see :meth:`ChatgptLogin.wait`)."""
        import asyncio

        try:
            return await asyncio.wait_for(self._wait(), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"login {self.login_id} has not completed within {timeout:g}s") from None

    async def _wait(self) -> AccountLoginCompletedNotification:
        while True:
            note = await self._sink.get()
            done = self._settle(note.params)
            if done is not None:
                return done

    async def _request(self, method: str, params: Any) -> Any:
        return await self._transport.request(method, params)


class AsyncDeviceCodeLogin(_DeviceCodeState, AsyncChatgptLogin):
    """The asyncio twin of :class:`DeviceCodeLogin`."""
