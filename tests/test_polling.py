"""The one polling loop behind ``wait-for-index`` and ``verify-index``: waits, deadline and log lines."""

from __future__ import annotations

import pytest

from codex_release.core.polling import Backoff, Outcome, poll


class _Clock:
    """A clock that only moves when the loop sleeps (and, optionally, while an attempt runs)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_waits_grow_up_to_the_cap_and_jitter_only_shortens_them() -> None:
    backoff = Backoff(first_s=5.0, factor=2.0, cap_s=60.0, jitter=0.5)
    assert [backoff.delay(n, 0.0) for n in range(1, 7)] == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0]
    assert backoff.delay(2, 0.999) == pytest.approx(5.0, rel=1e-2)
    assert all(2.5 <= backoff.delay(1, d / 10) <= 5.0 for d in range(10))
    assert backoff.delay(10_000, 0.0) == 60.0  # no overflow on a long fixed-interval wait
    assert {Backoff.fixed(20.0).delay(n, 0.7) for n in (1, 5, 50)} == {20.0}


def test_retries_until_final_and_logs_each_attempt_once_there_is_more_than_one() -> None:
    clock, lines = _Clock(), list[str]()
    answers = iter([Outcome(1, False, "not yet"), Outcome(2, False, "not yet"), Outcome(3, True, "there")])
    polled = poll(
        lambda: next(answers),
        timeout_s=600,
        backoff=Backoff(first_s=5.0, jitter=0.0),
        label="x",
        echo=lines.append,
        clock=clock,
        sleep=clock.sleep,
        draw=lambda: 0.0,
    )
    assert (polled.value, polled.final, polled.attempts, polled.elapsed_s) == (3, True, 3, 15.0)
    assert clock.sleeps == [5.0, 10.0]
    assert lines == [
        "x: attempt 1 (0 s): not yet; next attempt in 5 s",
        "x: attempt 2 (5 s): not yet; next attempt in 10 s",
        "x: attempt 3 (15 s): there",
    ]
    assert polled.attempts_line() == "waited 15 s over 3 attempts"


def test_never_waits_past_the_deadline_and_timeout_0_is_one_silent_attempt() -> None:
    clock, lines = _Clock(), list[str]()
    polled = poll(
        lambda: Outcome(None, False, "not yet"),
        timeout_s=12,
        backoff=Backoff(first_s=5.0, jitter=0.0),
        label="x",
        echo=lines.append,
        clock=clock,
        sleep=clock.sleep,
    )
    assert clock.sleeps == [5.0, 7.0]  # the second wait is cut to the deadline; the attempt after it still runs
    assert (polled.final, polled.attempts, len(lines)) == (False, 3, 3)
    clock, lines = _Clock(), list[str]()
    calls: list[int] = []

    def attempt() -> Outcome[None]:
        calls.append(1)
        return Outcome(None, False, "not yet")

    polled = poll(
        attempt,
        timeout_s=0,
        backoff=Backoff(first_s=5.0),
        label="x",
        echo=lines.append,
        clock=clock,
        sleep=clock.sleep,
    )
    assert (len(calls), clock.sleeps, lines, polled.attempts_line()) == (1, [], [], "waited 0 s over 1 attempt")
