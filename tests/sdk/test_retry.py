"""retry_on_overload and its async twin: only overload errors are retried, with capped, jittered backoff."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import Any

import pytest

from openai_codex import (
    InternalRpcError,
    InvalidParamsError,
    JsonRpcError,
    RetryLimitExceededError,
    ServerBusyError,
    TransportClosedError,
    is_retryable_error,
    retry_on_overload,
    retry_on_overload_async,
)
from openai_codex.retry import backoff_delays

BUSY = ServerBusyError(-32001, "Server overloaded; retry later.", method="thread/start")


class FlakyOp:
    """Fails with the given errors, in order, then returns ``"ok"``."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    monkeypatch.setattr(time, "sleep", recorded.append)
    return recorded


def test_succeeds_after_overloads(sleeps: list[float]) -> None:
    op = FlakyOp(BUSY, BUSY)
    assert retry_on_overload(op, max_attempts=3, initial_delay_s=0.25, jitter_ratio=0) == "ok"
    assert op.calls == 3
    assert sleeps == [0.25, 0.5]


def test_no_retry_on_success(sleeps: list[float]) -> None:
    op = FlakyOp()
    assert retry_on_overload(op) == "ok"
    assert (op.calls, sleeps) == (1, [])


@pytest.mark.parametrize(
    "error",
    [
        InvalidParamsError(-32602, "bad"),
        InternalRpcError(-32603, "boom"),
        JsonRpcError(-32050, "other server error"),
        TransportClosedError("gone"),
        ValueError("not ours"),
    ],
)
def test_other_errors_propagate_at_once(sleeps: list[float], error: BaseException) -> None:
    op = FlakyOp(error)
    with pytest.raises(type(error)):
        retry_on_overload(op)
    assert (op.calls, sleeps) == (1, [])


def test_gives_up_with_retry_limit_exceeded(sleeps: list[float]) -> None:
    op = FlakyOp(BUSY, BUSY, BUSY, BUSY)
    with pytest.raises(RetryLimitExceededError) as caught:
        retry_on_overload(op, max_attempts=3, jitter_ratio=0)
    error = caught.value
    assert op.calls == 3
    assert len(sleeps) == 2
    assert error.attempts == 3
    assert error.__cause__ is error.last_error
    assert isinstance(error.last_error, ServerBusyError)
    assert error.code == -32001
    assert error.method == "thread/start"
    assert "after 3 attempts" in str(error)
    assert not is_retryable_error(error)  # an outer retry loop does not retry an exhausted inner one


def test_max_attempts_one_never_sleeps(sleeps: list[float]) -> None:
    with pytest.raises(RetryLimitExceededError):
        retry_on_overload(FlakyOp(BUSY), max_attempts=1)
    assert sleeps == []


def test_backoff_is_exponential_capped_and_jittered() -> None:
    assert backoff_delays(6, 0.25, 2.0, 0.0) == [0.25, 0.5, 1.0, 2.0, 2.0]
    rng = random.Random(7)
    for delay, base in zip(backoff_delays(6, 0.25, 2.0, 0.2, rng), [0.25, 0.5, 1.0, 2.0, 2.0], strict=True):
        assert base * 0.8 <= delay <= min(2.0, base * 1.2)
    jittered = {tuple(backoff_delays(3, 1.0, 10.0, 0.5, random.Random(seed))) for seed in range(5)}
    assert len(jittered) > 1  # jitter really varies


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"initial_delay_s": -1}, "initial_delay_s"),
        ({"jitter_ratio": 1.5}, "jitter_ratio"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], match: str) -> None:
    op = FlakyOp()
    with pytest.raises(ValueError, match=match):
        retry_on_overload(op, **kwargs)
    assert op.calls == 0


async def test_async_twin(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def fake_sleep(delay: float) -> None:
        slept.append(delay)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    op = FlakyOp(BUSY)

    async def call() -> str:
        return op()

    assert await retry_on_overload_async(call, initial_delay_s=0.1, jitter_ratio=0) == "ok"
    assert slept == [0.1]
    failing: Callable[[], Any] = FlakyOp(BUSY, BUSY, BUSY)

    async def call_failing() -> str:
        return str(failing())

    with pytest.raises(RetryLimitExceededError):
        await retry_on_overload_async(call_failing, max_attempts=2)
    with pytest.raises(InvalidParamsError):
        await retry_on_overload_async(lambda: _raise(InvalidParamsError(-32602, "bad")))


async def _raise(error: BaseException) -> str:
    raise error
