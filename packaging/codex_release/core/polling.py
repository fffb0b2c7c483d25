"""Asking a package index again until it shows what was just uploaded: the one loop every waiting command uses.

An index's JSON API and its CDN lag behind an upload by seconds to minutes, so a first answer that lacks
a new file says little. ``wait-for-index`` (between the two publish batches) and ``verify-index`` (after
the last upload) both ask again through :func:`poll`, so the deadline, the waits between attempts and
the one log line per attempt behave the same in both.

The attempt itself decides what is worth waiting for (:attr:`Outcome.final`): only answers that can be
lag are retried; anything that waiting cannot fix ends the loop at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Backoff", "Outcome", "Polled", "poll"]

T = TypeVar("T")

_MAX_DOUBLINGS = 64
"""Beyond this the cap has long taken over; it only keeps ``factor ** n`` from overflowing a float."""


@dataclass(frozen=True)
class Backoff:
    """The wait after attempt ``n``: ``first_s * factor ** (n - 1)``, at most ``cap_s``, less a random share.

    Growing waits keep a long wait from hammering the index; the cap keeps a file that appears late from
    being noticed much later still; the random share (up to ``jitter`` of the wait) keeps jobs that poll
    one index at the same moment from asking in lockstep. A wait never exceeds ``cap_s``.
    """

    first_s: float
    factor: float = 2.0
    cap_s: float = 60.0
    jitter: float = 0.5

    @classmethod
    def fixed(cls, interval_s: float) -> Backoff:
        """The same wait every time (``wait-for-index --interval``)."""
        return cls(first_s=interval_s, factor=1.0, cap_s=interval_s, jitter=0.0)

    def delay(self, attempt: int, draw: float) -> float:
        """The wait after attempt ``attempt`` (1-based), given ``draw`` in [0, 1)."""
        base = min(self.cap_s, self.first_s * self.factor ** min(attempt - 1, _MAX_DOUBLINGS))
        return max(0.0, base * (1.0 - self.jitter * draw))


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What one attempt found."""

    value: T
    final: bool
    """True: stop asking (success, or a fault that no amount of waiting fixes); False: it can be lag."""
    summary: str
    """One line for the log: what this attempt saw."""


@dataclass(frozen=True)
class Polled(Generic[T]):
    """The last attempt's value and how the polling ended."""

    value: T
    final: bool
    """False when the time ran out while the last attempt still looked like lag."""
    attempts: int
    elapsed_s: float

    def attempts_line(self) -> str:
        """``waited 42 s over 5 attempts``: how long the index was given, for the failure report."""
        plural = "" if self.attempts == 1 else "s"
        return f"waited {self.elapsed_s:.0f} s over {self.attempts} attempt{plural}"


def poll(
    attempt: Callable[[], Outcome[T]],
    *,
    timeout_s: float,
    backoff: Backoff,
    label: str,
    echo: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    draw: Callable[[], float] = random.random,
) -> Polled[T]:
    """Run ``attempt`` until its outcome is final or ``timeout_s`` has passed (0: exactly one attempt).

    A wait never runs past the deadline; the attempt after the last wait still runs, so the bound is
    ``timeout_s`` plus one attempt. Each attempt is logged as one ``echo`` line (``label: attempt 2 (7 s):
    summary; next attempt in 9 s``) once there is more than one, so a run that needs no waiting prints
    nothing extra and a CI log shows the progress of one that does.
    """
    start = clock()
    deadline = start + timeout_s
    count = 0
    while True:
        count += 1
        outcome = attempt()
        now = clock()
        remaining = deadline - now
        line = f"{label}: attempt {count} ({now - start:.0f} s): {outcome.summary}"
        if outcome.final or remaining <= 0:
            if count > 1:
                echo(line)
            return Polled(outcome.value, outcome.final, count, now - start)
        wait = min(backoff.delay(count, draw()), remaining)
        echo(f"{line}; next attempt in {wait:.0f} s")
        sleep(wait)
