"""Cooperative cancellation of a run: a signal the runner checks between batches."""

from __future__ import annotations

import threading
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
