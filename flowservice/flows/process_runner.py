"""The runner of one process, built from a ``Core``: what executes a run wherever it lands.

``build_runner(core)`` gives a ``ProcessRunner``: the ``Runner`` over the
store's run repository (which also records Catalog batches) and DB leases,
reading sources in child processes when ``Settings.isolated_source_reads``.
It is an executor's ``RunHandler``: the server's ``FlowEngine`` hands it to
its executor, a worker process calls it for each run id it is given.
"""

from __future__ import annotations

import os
import socket
import uuid

from flowservice.connectors.base import Connector
from flowservice.core import Core
from flowservice.flows.cancellation import CancelSignal, PollingCancel
from flowservice.flows.catalog_runs import CatalogRunRepository
from flowservice.flows.failure_policy import FailurePolicy
from flowservice.flows.persistence.leases import DbLeaseStore
from flowservice.flows.retry import RetryPolicy
from flowservice.flows.runner import Runner
from flowservice.flows.source_process import ProcessSource, SourceProcesses
from flowservice.settings import Settings


def new_holder() -> str:
    """A name for this process in leases: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def failure_policy(settings: Settings) -> FailurePolicy:
    return FailurePolicy(
        retries=settings.run_failure_retries,
        base_delay=settings.run_failure_backoff_seconds,
        max_delay=settings.run_failure_backoff_max_seconds,
    )


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=settings.run_retry_attempts,
        base_delay=settings.run_retry_base_delay,
        max_delay=max(60.0, settings.run_retry_base_delay),
    )


class ProcessRunner:
    """``process_runner(run_id, cancel)`` executes one run; ``start``/``stop`` own the readers."""

    def __init__(
        self,
        runner: Runner,
        repo: CatalogRunRepository,
        leases: DbLeaseStore,
        sources: SourceProcesses | None = None,
    ) -> None:
        self.runner, self.repo, self.leases, self.sources = runner, repo, leases, sources

    @property
    def holder(self) -> str:
        return self.runner.holder

    def __call__(self, run_id: str, cancel: CancelSignal) -> None:
        # a cancel may reach any process: the executing one also polls the run's flag
        self.runner(run_id, PollingCancel(cancel, lambda: self.repo.cancel_requested(run_id)))

    def start(self) -> None:
        """Launch the source reader processes (their drivers import meanwhile)."""
        if self.sources is not None:
            self.sources.start()

    def stop(self) -> None:
        if self.sources is not None:
            self.sources.stop()


def build_runner(core: Core, *, holder: str | None = None) -> ProcessRunner:
    """The runner of this process over ``core``'s store, named ``holder`` in leases."""
    settings = core.settings
    sources = SourceProcesses() if settings.isolated_source_reads else None
    parts = settings.source_read_parts

    def in_children(connector: Connector) -> ProcessSource:
        assert sources is not None
        return ProcessSource(connector, sources, parts=parts)

    repo = CatalogRunRepository(core, failure_policy(settings))
    leases = DbLeaseStore(core.sessions)
    runner = Runner(
        repo,
        leases,
        holder=holder or new_holder(),
        retry=retry_policy(settings),
        heartbeat_ttl=settings.run_heartbeat_seconds,
        reader=None if sources is None else in_children,
        progress_interval=settings.run_progress_seconds,
    )
    return ProcessRunner(runner, repo, leases, sources)
