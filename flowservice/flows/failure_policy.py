"""What happens after a scheduled run fails: retry its window later, or give the window up.

A scheduled window gets ``1 + retries`` runs at most. After the n-th failed
run the next one waits ``base_delay × 2^(n-1)`` seconds (capped at
``max_delay``); after the last one the window stays failed, the flow's
position moves past it and the schedule goes on with its next window. A
failed run can still be re-triggered by hand. On-demand runs are not retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class FailurePolicy:
    retries: int = 3
    base_delay: float = 60.0
    max_delay: float = 3600.0

    @property
    def max_attempts(self) -> int:
        return 1 + self.retries

    def backoff(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failed run of a window (1-based)."""
        if failures <= 0:
            return 0.0
        # the exponent is bounded by retries; min() keeps a huge retries setting finite
        return min(self.max_delay, self.base_delay * 2.0 ** min(failures - 1, 64))

    def after_failure(self, failures: int, now: datetime) -> datetime | None:
        """When to run the window again after its ``failures``-th failure; None: give it up."""
        if failures >= self.max_attempts:
            return None
        return now + timedelta(seconds=self.backoff(failures))


@dataclass(frozen=True)
class WindowAttempt:
    """Where a scheduled run stands among the runs of its window (shown in its activities)."""

    number: int  # 1 for the first run of a window
    of: int  # 1 + retries
    backoff_seconds: float = 0.0  # waited after the previous failed run
    # set when this run failed: when the next attempt is due, or that the window was given up
    next_attempt_at: datetime | None = None
    given_up: bool = False
