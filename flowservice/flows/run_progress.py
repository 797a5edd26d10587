"""Live record counts of a running run, saved every few seconds so watchers see them move.

A run's metrics are otherwise recorded when it ends. ``LiveProgress`` is
updated by the copy as batches are read and handed to the writer (an attempt
that is retried starts again from zero); ``ProgressReporter`` is a daemon
thread that hands a changed snapshot to ``save`` every ``interval`` seconds.
Saving is best effort: a failed or skipped save changes nothing about the run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProgressSnapshot:
    read: int = 0
    written: int = 0
    failed: int = 0


class LiveProgress:
    """Counts of the current attempt; written by the copy's threads, read by the reporter."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._now = ProgressSnapshot()

    def restart(self) -> None:
        with self._lock:
            self._now = ProgressSnapshot()

    def read(self, *, records: int, failed: int) -> None:
        """Totals so far of the attempt's source rows and of those that failed mapping."""
        with self._lock:
            self._now = ProgressSnapshot(records, self._now.written, failed)

    def wrote(self, records: int) -> None:
        with self._lock:
            now = self._now
            self._now = ProgressSnapshot(now.read, now.written + records, now.failed)

    def snapshot(self) -> ProgressSnapshot:
        with self._lock:
            return self._now


class ProgressReporter:
    """``with ProgressReporter(progress, save, interval):`` saves changed snapshots meanwhile."""

    def __init__(
        self,
        progress: LiveProgress,
        save: Callable[[ProgressSnapshot], object],
        *,
        interval: float,
        name: str = "run-progress",
    ) -> None:
        self._progress, self._save, self._interval = progress, save, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._report, name=name, daemon=True)

    def __enter__(self) -> ProgressReporter:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _report(self) -> None:
        last = ProgressSnapshot()
        while not self._stop.wait(self._interval):
            now = self._progress.snapshot()
            if now == last:
                continue
            try:
                self._save(now)
            except Exception as exc:  # the run goes on; its final counts are saved at the end
                log.debug("run progress not saved (%s)", type(exc).__name__)
                continue
            last = now
