"""When to try a request again, and how long to wait: pure decisions, no I/O.

Only idempotent methods are retried (``GET``, ``HEAD``, ``PUT``, ``DELETE``,
``OPTIONS``), on 429/502/503/504 and on connection failures: a ``POST`` that
timed out may have created a run or a connection, so it is retried only when
the caller vouches for it (``idempotent=True``). Waits grow exponentially with
"equal jitter" (half the cap, plus a random share of the other half), so
clients that failed together do not come back together; a ``Retry-After`` the
server sends is honoured as is, and a wait that would pass the total time
budget ends the retries instead.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: ``max_attempts`` includes the first; ``total_timeout`` in seconds."""

    max_attempts: int = 5
    initial_delay: float = 0.5
    max_delay: float = 30.0
    multiplier: float = 2.0
    total_timeout: float = 120.0
    statuses: frozenset[int] = field(default=RETRY_STATUSES)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.initial_delay < 0 or self.max_delay < 0 or self.total_timeout < 0:
            raise ValueError("delays and the total timeout must not be negative")
        if self.multiplier < 1:
            raise ValueError("multiplier must be at least 1")

    def cap(self, retry: int) -> float:
        """The longest wait before retry number ``retry`` (1 = the first retry)."""
        exponent = min(retry - 1, 64)  # past 2**64 every cap is max_delay anyway
        return min(self.max_delay, self.initial_delay * self.multiplier**exponent)

    def backoff(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """A wait in ``[cap / 2, cap]`` before retry number ``retry``."""
        cap = self.cap(retry)
        return cap / 2 + rand() * cap / 2


NO_RETRIES = RetryPolicy(max_attempts=1)


def may_retry(method: str, idempotent: bool | None) -> bool:
    """Whether a request may be sent twice: by its method, unless the caller says."""
    return method.upper() in IDEMPOTENT_METHODS if idempotent is None else idempotent


class RetryState:
    """The retries of one request: asked after each failure, answers a wait or ``None``."""

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        retryable: bool,
        started: float,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy
        self.retryable = retryable
        self.started = started
        self.attempts = 1
        self._rand = rand

    def after_status(self, status: int, retry_after: float | None, now: float) -> float | None:
        """The wait before trying again after answer ``status``, or None to stop here."""
        if status not in self.policy.statuses:
            return None
        return self._next(retry_after, now)

    def after_transport_error(self, now: float) -> float | None:
        """The wait before trying again after a connection failure, or None to give up."""
        return self._next(None, now)

    def _next(self, retry_after: float | None, now: float) -> float | None:
        if not self.retryable or self.attempts >= self.policy.max_attempts:
            return None
        delay = (
            self.policy.backoff(self.attempts, self._rand) if retry_after is None else retry_after
        )
        if now - self.started + delay > self.policy.total_timeout:
            return None
        self.attempts += 1
        return delay
