"""The embedded executor: a pool of N worker threads in the server process."""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time

from flowservice.errors import InternalError
from flowservice.flows.cancellation import CancelEvent
from flowservice.flows.executors.base import Executor, RunHandler

log = logging.getLogger(__name__)

# The driver's fetch drops the GIL around its network reads; getting it back from a thread
# that is running Python (API requests, scheduler ticks) costs up to one switch interval
# per drop. At CPython's default (5 ms) a run's read slowed down measurably next to other
# work, so a process executing runs hands the GIL over at least this often.
RUN_SWITCH_INTERVAL_SECONDS = 0.0005


def favour_io_threads(interval: float = RUN_SWITCH_INTERVAL_SECONDS) -> None:
    """Lower the interpreter's GIL switch interval to ``interval`` (never raise it)."""
    if sys.getswitchinterval() > interval:
        sys.setswitchinterval(interval)


class LocalExecutor(Executor):
    """FIFO queue of run ids served by ``workers`` threads; each run id at most once at a time."""

    def __init__(self, handler: RunHandler, *, workers: int = 4, name: str = "flow-run") -> None:
        if workers < 1:
            raise InternalError("an executor needs at least one worker")
        self._handler = handler
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._queued: dict[str, CancelEvent] = {}
        self._running: dict[str, CancelEvent] = {}
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, run_id: str) -> bool:
        with self._lock:
            if self._closed:
                raise InternalError("the executor is shut down")
            if run_id in self._queued or run_id in self._running:
                return False
            self._queued[run_id] = CancelEvent()
        self._queue.put(run_id)
        return True

    def cancel(self, run_id: str) -> bool:
        with self._lock:
            signal = self._queued.pop(run_id, None) or self._running.get(run_id)
        if signal is None:
            return False
        signal.cancel()
        return True

    def queued(self) -> list[str]:
        with self._lock:
            return list(self._queued)

    def running(self) -> list[str]:
        with self._lock:
            return list(self._running)

    def shutdown(
        self, *, wait: bool = True, timeout: float | None = None, cancel_running: bool = False
    ) -> None:
        """Also ``cancel_running``: signal running handlers to stop (graceful stop of a server)."""
        with self._lock:
            self._closed = True
            self._queued.clear()
            running = list(self._running.values())
        if cancel_running:
            for signal in running:
                signal.cancel()
        for _ in self._threads:
            self._queue.put(None)
        if wait:
            deadline = None if timeout is None else time.monotonic() + timeout
            for thread in self._threads:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                thread.join(remaining)

    def _work(self) -> None:
        while True:
            run_id = self._queue.get()
            if run_id is None:
                return
            with self._lock:
                # dropped while queued: cancelled, or the executor was shut down
                signal = self._queued.pop(run_id, None)
                if signal is None:
                    continue
                self._running[run_id] = signal
            favour_io_threads()
            try:
                self._handler(run_id, signal)
            except Exception as exc:
                # the runner records run failures itself; this is a bug in it. The type
                # only: messages of foreign exceptions may quote connection strings.
                log.error("run %s: handler raised %s", run_id, type(exc).__name__)
            finally:
                with self._lock:
                    self._running.pop(run_id, None)
