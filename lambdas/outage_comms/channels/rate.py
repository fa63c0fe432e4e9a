"""A token bucket, so one sender never exceeds its share of the account's send rate.

The bulk state machine runs ``max_concurrency`` senders at once and gives each
``account rate / max_concurrency`` tokens per second; SMS spends one token per message *part*
(MPS counts parts), email one per recipient (SES counts recipients).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """``acquire(n)`` blocks until ``n`` tokens are available; returns the seconds it waited."""

    def __init__(
        self,
        rate_per_second: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        self.rate = float(rate_per_second)
        self.capacity = float(burst if burst is not None else max(1.0, rate_per_second))
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self.waited = 0.0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def acquire(self, tokens: float = 1.0) -> float:
        """Take ``tokens``, first sleeping exactly as long as the rate needs to earn what is missing.

        A request bigger than the bucket (a 6-part SMS on a 3 MPS number) waits for all of its parts,
        so no window ever carries more than ``capacity + rate * seconds`` parts.
        """
        self._refill()
        if self._tokens >= tokens:
            self._tokens -= tokens
            return 0.0
        pause = (tokens - self._tokens) / self.rate
        self._sleep(pause)
        self._last = self._clock()
        self._tokens = 0.0
        self.waited += pause
        return pause
