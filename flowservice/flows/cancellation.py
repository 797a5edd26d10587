"""Cooperative cancellation of a run: a signal the runner checks between batches."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from flowservice.errors import FlowServiceError


class RunCancelled(FlowServiceError):
    """The run was asked to stop; the runner marks it ``cancelled`` and commits nothing."""

    code = 1416
    status = 400
    title = "Run cancelled"


class CancelSignal(Protocol):
    """What a runner sees of a cancel request (a thread event locally, a DB flag elsewhere)."""

    def is_cancelled(self) -> bool: ...

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True as soon as the run is cancelled."""
        ...


class CancelEvent:
    """A ``CancelSignal`` backed by a ``threading.Event``."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def is_cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        return self._event.wait(max(0.0, seconds))


def raise_if_cancelled(signal: CancelSignal, run_id: str | None = None) -> None:
    if signal.is_cancelled():
        raise RunCancelled("the run was cancelled", resource_type="runs", resource_id=run_id)


class PollingCancel:
    """``local`` or a flag read with ``requested()`` (e.g. from the store) at most every
    ``every`` seconds: a cancel sent to any process reaches the one executing the run."""

    def __init__(
        self, local: CancelSignal, requested: Callable[[], bool], *, every: float = 1.0
    ) -> None:
        self._local, self._requested, self._every = local, requested, every
        self._checked = float("-inf")
        self._seen = False

    def _poll(self) -> bool:
        now = time.monotonic()
        if not self._seen and now - self._checked >= self._every:
            self._checked = now
            try:
                self._seen = self._requested()
            except Exception:
                # the store briefly away: keep running, ask again at the next poll
                self._seen = False
        return self._seen

    def is_cancelled(self) -> bool:
        return self._local.is_cancelled() or self._poll()

    def wait(self, seconds: float) -> bool:
        deadline = time.monotonic() + max(0.0, seconds)
        while not self.is_cancelled():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self._local.wait(min(remaining, self._every)):
                return True
        return True
