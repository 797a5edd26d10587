"""The executor interface: where runs execute, separate from how a run executes.

The runner is one function, ``handler(run_id, cancel)``, that loads the run
from the store, claims it (``scheduled → inProgress`` under a heartbeat
lease), copies its window and records the outcome. An executor only decides
where and when that function is called:

* ``LocalExecutor`` — a pool of N threads in the server process (embedded default).
* a distributed backend (e.g. Celery) — ``submit`` sends the run id as a task
  message, a worker process calls the same handler with a ``CancelSignal``
  that polls the run's cancel flag in the store, ``cancel`` sets that flag and
  revokes the task if still queued.

Because delivery may be repeated (a worker crash, an at-least-once queue, a
restart that re-submits ``scheduled`` runs), the handler must be idempotent:
claiming the run is what makes a second delivery a no-op.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from flowservice.flows.cancellation import CancelSignal

RunHandler = Callable[[str, CancelSignal], None]


class Executor(ABC):
    """Runs run ids through the runner's handler."""

    @abstractmethod
    def submit(self, run_id: str) -> bool:
        """Queue the run; False if it is already queued or running here."""

    @abstractmethod
    def cancel(self, run_id: str) -> bool:
        """Ask the run to stop (dropped if still queued); False if it is not known here."""

    @abstractmethod
    def shutdown(self, *, wait: bool = True, timeout: float | None = None) -> None:
        """Stop taking runs; queued runs are dropped (they stay ``scheduled`` in the store).

        With ``wait`` block until running handlers return (up to ``timeout``).
        """
