"""The one contract both drivers keep (:class:`~openai_codex._sync_transport.SyncTransport` and
:class:`~openai_codex._async_transport.AsyncTransport`); the clients rely on nothing else.

- **Start.** The blocking driver starts the app-server in its constructor (``Codex()`` is ready, or has
  raised); the asyncio one cannot (a constructor cannot await), so it starts on the first ``request`` (or
  ``AsyncCodex.start()`` / ``async with``), once, however many callers race there. A failed start is final:
  every later ``request`` raises the same error and spawns nothing.
- **request(method, params, timeout=...)** is the one way to send: it starts the app-server if needed
  and returns the answer's ``result``, or raises a typed error: :class:`~openai_codex.JsonRpcError` (the
  server answered with an error), :class:`~openai_codex.TransportClosedError` (the app-server is gone, or the
  client was closed, started or not), :class:`TimeoutError` (``timeout``, by default
  ``CodexConfig.request_timeout_s``). Never a bare assertion.
- **close()** ends the app-server and everything it started, and reaps it; idempotent, and final.
- **abandon()** kills it without waiting (a client dropped unclosed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from openai_codex import tools

__all__ = ["Transport"]

Answer_co = TypeVar("Answer_co", covariant=True)
Done_co = TypeVar("Done_co", covariant=True)


class Transport(Protocol[Answer_co, Done_co]):
    """A driver: ``Transport[Any, None]`` blocks, ``Transport[Awaitable[Any], Awaitable[None]]`` awaits."""

    runtime_version: str | None
    initialize_result: dict[str, Any]
    tools: dict[str, dict[str, tools.Tool]]

    def request(
        self, method: str, params: Mapping[str, Any] | None = None, *, timeout: float | None = ...
    ) -> Answer_co: ...

    def close(self) -> Done_co: ...

    def abandon(self) -> None: ...
