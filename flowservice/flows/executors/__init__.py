"""Executors: where runs execute. ``executor_factory`` picks the one the settings name."""

from __future__ import annotations

from collections.abc import Callable

from flowservice.core import Core
from flowservice.flows.executors.base import Executor, RunHandler


def executor_factory(core: Core) -> Callable[[RunHandler], Executor]:
    """For ``FlowEngine(core, executor=...)``: threads here (local) or the broker (celery)."""
    settings = core.settings
    if settings.executor == "celery":
        # imported only when chosen: the embedded mode needs no broker client
        from flowservice.flows.executors.celery import celery_executor

        return celery_executor(core)
    from flowservice.flows.executors.local import LocalExecutor

    return lambda handler: LocalExecutor(handler, workers=settings.executor_workers)
