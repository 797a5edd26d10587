"""A Celery worker process's side: the ``flowservice.run`` task over this process's runner.

``serve_worker(core, concurrency=N)`` consumes run messages with N threads,
each calling the runner's handler with the run id; the handler claims the run
under its heartbeat lease (a repeated or stale message finds the run claimed
or finished and does nothing) and polls the run's cancel flag in the store.
Nothing here imports the API.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time

from flowservice.core import Core
from flowservice.flows.cancellation import CancelEvent
from flowservice.flows.executors.celery_app import RUN_TASK, celery_app
from flowservice.flows.executors.local import favour_io_threads
from flowservice.flows.process_runner import build_runner

log = logging.getLogger(__name__)


def serve_worker(core: Core, *, concurrency: int) -> None:
    """Consume run messages until SIGTERM/SIGINT (a warm stop: running runs finish first)."""
    app = celery_app(core.settings)
    process_runner = build_runner(core)
    handled = 0
    running: set[str] = set()
    lock = threading.Lock()

    def run_flow(run_id: str) -> None:
        nonlocal handled
        favour_io_threads()
        started = time.monotonic()
        with lock:
            # a repeated message reaching another thread of this process: the run lease is
            # per process (the holder), so only this set keeps the copy from claiming it too
            duplicate = run_id in running
            running.add(run_id)
        try:
            if not duplicate:
                process_runner(run_id, CancelEvent())
        except Exception as exc:
            # the runner records run failures itself; acknowledging keeps a poisoned message
            # from coming back forever. The type only: messages may quote connection strings.
            log.error("run %s: handler raised %s", run_id, type(exc).__name__)
        finally:
            with lock:
                handled += 1
                if not duplicate:
                    running.discard(run_id)
        # one line per message, repeated ones included (those run nothing): at-least-once
        # delivery made visible
        log.info("message for run %s handled in %.1f s", run_id, time.monotonic() - started)

    app.task(name=RUN_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)(
        run_flow
    )

    process_runner.start()
    log.info("flowservice worker %s: %d threads", process_runner.holder, concurrency)
    try:
        worker = app.Worker(
            hostname=f"flowservice-{os.getpid()}@{socket.gethostname()}",
            pool_cls="threads",
            concurrency=concurrency,
            quiet=True,  # no banner: it would print the broker's address
            without_mingle=True,
            without_gossip=True,
            without_heartbeat=True,
            loglevel=logging.getLevelName(logging.getLogger().getEffectiveLevel()),
        )
        worker.start()
    finally:
        process_runner.stop()
        app.close()
        # the worker must run without the API; this line lets tests and operators check it
        log.info(
            "flowservice worker stopped after %d messages; fastapi loaded: %s",
            handled,
            "fastapi" in sys.modules,
        )
