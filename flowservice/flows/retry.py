"""Retry transient source errors with exponential backoff and jitter, a bounded number of times."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flowservice.errors import FlowServiceError, InternalError
from flowservice.flows.cancellation import CancelEvent, CancelSignal, RunCancelled

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` counts the first try; delays grow by ``multiplier`` up to ``max_delay``."""

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_delay < 0 or self.max_delay < self.base_delay:
            raise InternalError(f"invalid retry policy {self}")

    def backoff(self, retry: int) -> float:
        """The un-jittered delay before retry number ``retry`` (1-based)."""
        return float(min(self.max_delay, self.base_delay * self.multiplier ** (retry - 1)))

    def delay(self, retry: int, rng: random.Random) -> float:
        # "equal jitter": at least half the backoff (so retries do back off), the rest random
        # (so many runs failing together do not retry in lock-step)
        cap = self.backoff(retry)
        return cap / 2 + rng.uniform(0, cap / 2)


def is_retryable(exc: BaseException) -> bool:
    """Only errors of our tree that say so (``TransientSourceError`` and kin) are retried."""
    return isinstance(exc, FlowServiceError) and bool(getattr(exc, "retryable", False))


def call_with_retry(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    cancel: CancelSignal | None = None,
    rng: random.Random | None = None,
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> T:
    """``fn()``, tried again after transient errors; the last error is raised when attempts run out.

    Non-retryable errors propagate at once. A cancel during a backoff sleep
    raises ``RunCancelled`` from the transient error.
    """
    rng = rng or random.Random()
    signal: CancelSignal = cancel if cancel is not None else CancelEvent()
    attempt = 1
    while True:
        try:
            return fn()
        except Exception as exc:
            if not is_retryable(exc) or attempt >= policy.max_attempts:
                raise
            delay = policy.delay(attempt, rng)
            log.warning(
                "transient error (%s), attempt %d of %d; retrying in %.2fs",
                type(exc).__name__,
                attempt,
                policy.max_attempts,
                delay,
            )
            if on_retry is not None:
                on_retry(attempt, exc, delay)
            if signal.wait(delay):
                raise RunCancelled("the run was cancelled while waiting to retry") from exc
            attempt += 1
