"""Retrying requests the app-server refused because it was overloaded.

``codex app-server`` admits requests through a bounded queue; when it is full it answers
``-32001 "Server overloaded; retry later."`` (:class:`~openai_codex.ServerBusyError`) without having
started the work, so retrying is safe. Nothing else is retried: other errors propagate at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from openai_codex.errors import OVERLOADED_ERROR_CODE, RetryLimitExceededError, ServerBusyError

__all__ = ["backoff_delays", "retry_on_overload", "retry_on_overload_async"]

T = TypeVar("T")


def _check(max_attempts: int, initial_delay_s: float, max_delay_s: float, jitter_ratio: float) -> None:
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be >= 1, got {max_attempts}")
    if initial_delay_s < 0 or max_delay_s < 0:
        raise ValueError("initial_delay_s and max_delay_s must be >= 0")
    if not 0 <= jitter_ratio <= 1:
        raise ValueError(f"jitter_ratio must be between 0 and 1, got {jitter_ratio}")


def backoff_delays(
    max_attempts: int, initial_delay_s: float, max_delay_s: float, jitter_ratio: float, rng: random.Random | None = None
) -> list[float]:
    """The sleeps between ``max_attempts`` attempts: ``initial * 2**n`` capped at ``max_delay_s``, each
    spread by ``±jitter_ratio`` (never negative, never above the cap)."""
    _check(max_attempts, initial_delay_s, max_delay_s, jitter_ratio)
    uniform = (rng or random).uniform
    delays = []
    for attempt in range(max_attempts - 1):
        base = min(max_delay_s, initial_delay_s * (2**attempt))
        jitter = base * jitter_ratio
        delays.append(min(max_delay_s, max(0.0, base + uniform(-jitter, jitter))))
    return delays


def _exhausted(error: ServerBusyError, attempts: int) -> RetryLimitExceededError:
    return RetryLimitExceededError(
        OVERLOADED_ERROR_CODE,
        f"server still overloaded after {attempts} attempts: {error.message}",
        error.data,
        method=error.method,
        attempts=attempts,
        last_error=error,
    )


def retry_on_overload(
    op: Callable[[], T],
    *,
    max_attempts: int = 3,
    initial_delay_s: float = 0.25,
    max_delay_s: float = 2.0,
    jitter_ratio: float = 0.2,
) -> T:
    """Call ``op()``; while it raises :class:`~openai_codex.ServerBusyError`, wait and call it again.

    Waits grow exponentially from ``initial_delay_s`` (doubling, capped at ``max_delay_s``) with
    ``±jitter_ratio`` random spread. After ``max_attempts`` overloaded attempts it raises
    :class:`~openai_codex.RetryLimitExceededError` (its ``__cause__`` is the last overload error). Any
    other exception propagates immediately. ::

        thread = retry_on_overload(lambda: codex.thread_start(model="gpt-5.1"))
    """
    delays = backoff_delays(max_attempts, initial_delay_s, max_delay_s, jitter_ratio)
    for attempt in range(1, max_attempts + 1):
        try:
            return op()
        except ServerBusyError as exc:
            if attempt == max_attempts:
                raise _exhausted(exc, attempt) from exc
            time.sleep(delays[attempt - 1])
    raise AssertionError("unreachable")  # pragma: no cover


async def retry_on_overload_async(
    op: Callable[[], Awaitable[T]],
    *,
    max_attempts: int = 3,
    initial_delay_s: float = 0.25,
    max_delay_s: float = 2.0,
    jitter_ratio: float = 0.2,
) -> T:
    """The asyncio twin of :func:`retry_on_overload`: ``op`` returns an awaitable (a fresh one per call). ::

    thread = await retry_on_overload_async(lambda: codex.thread_start())
    """
    import asyncio  # here, so that sync users never pay for importing asyncio

    delays = backoff_delays(max_attempts, initial_delay_s, max_delay_s, jitter_ratio)
    for attempt in range(1, max_attempts + 1):
        try:
            return await op()
        except ServerBusyError as exc:
            if attempt == max_attempts:
                raise _exhausted(exc, attempt) from exc
            await asyncio.sleep(delays[attempt - 1])
    raise AssertionError("unreachable")  # pragma: no cover
