"""The run engine of a server process: its runner, an executor and the scheduler loop.

``FlowEngine(core)`` executes runs in a local thread pool by default; pass
``executor=`` (a factory given the run handler) to send them elsewhere. Every
process runs the loop; the ``scheduler`` lease picks the one that plans and
submits. The API starts one in its lifespan (``Settings.scheduler_enabled``).
"""

from __future__ import annotations

from collections.abc import Callable

from flowservice.alerts.delay_watch import DelayWatch
from flowservice.alerts.dispatcher import AlertDispatcher
from flowservice.core import Core
from flowservice.flows.executors.base import Executor, RunHandler
from flowservice.flows.executors.local import LocalExecutor
from flowservice.flows.lease import Leadership
from flowservice.flows.persistence.schedules import StoreScheduleRepository
from flowservice.flows.process_runner import build_runner, failure_policy
from flowservice.flows.scheduler_loop import SchedulerLoop
from flowservice.settings import Settings

# given the handler that executes a run here; a distributed executor may only submit
ExecutorFactory = Callable[[RunHandler], Executor]


def local_executor(settings: Settings) -> ExecutorFactory:
    """``Settings.executor_workers`` threads of this process."""
    return lambda handler: LocalExecutor(handler, workers=settings.executor_workers)


class FlowEngine:
    """Scheduler loop + runner + executor of one server process."""

    def __init__(
        self, core: Core, *, executor: ExecutorFactory | None = None, holder: str | None = None
    ) -> None:
        settings = core.settings
        self.process_runner = build_runner(core, holder=holder)
        self.holder = self.process_runner.holder
        self.runner = self.process_runner.runner
        self.executor = (executor or local_executor(settings))(self.process_runner)
        self.alerts = AlertDispatcher(core)
        delays = DelayWatch(
            core.sessions,
            self.process_runner.repo.alert_runs_in_progress,
            retry_window_ms=int(settings.alert_retry_window_seconds * 1000),
        )
        self.loop = SchedulerLoop(
            StoreScheduleRepository(core.sessions),
            self.runner,
            self.executor,
            Leadership(
                self.process_runner.leases, self.holder, ttl=settings.scheduler_lease_seconds
            ),
            interval=settings.scheduler_interval_seconds,
            failure_policy=failure_policy(settings),
            on_lead=delays.watch,
        )

    def start(self) -> None:
        self.process_runner.start()  # imports the drivers in the background, before the first run
        self.loop.start()
        self.alerts.start()

    def submit(self, run_id: str) -> None:
        self.executor.submit(run_id)

    def stop(self) -> None:
        self.loop.stop(timeout=10)
        self.alerts.stop(timeout=10)
        # running runs are not cancelled: one still running when the process exits keeps its
        # status and is requeued by whichever process leads once its heartbeat lease expires
        self.executor.shutdown(wait=True, timeout=5)
        self.process_runner.stop()
