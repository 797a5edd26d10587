"""The Celery executor of a server process: it only sends run ids to the broker.

``submit`` publishes one ``flowservice.run`` message; a ``flowservice worker``
consumes it and calls the runner's handler. Messages are at-least-once, so a
run may be sent again and a worker may receive it twice: the run lease and
the run's status in the store make that harmless.

Every server calls ``submit`` (on-demand runs from the API, every ``scheduled``
run on each of the leader's ticks), so sends are throttled across processes by
a marker in Redis next to the queue: ``SET NX`` on the run id and its version
(etag), expiring after ``broker_resubmit_seconds``. A run sent recently and
unchanged since is skipped; one that came back to ``scheduled`` (requeued after
its worker died, or re-triggered) has a new version and is sent at once. The
marker lives and dies with the messages: a broker restarted without its data
loses both, and the leader's next tick sends the run again.

``cancel`` does nothing here: the API sets the run's cancel flag in the store
(or cancels a queued run there), the worker's handler polls that flag, and a
message for a cancelled run finds it no longer ``scheduled``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select

from flowservice.core import Core
from flowservice.flows.executors.base import Executor, RunHandler
from flowservice.flows.executors.celery_app import RUN_TASK, broker_url, celery_app
from flowservice.flows.run_state import RunStatus
from flowservice.store.tables import Resource

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)

SENT_MARKER_PREFIX = "flowservice:sent:"

# reads a run's (status, version); None when the run no longer exists
RunVersion = Callable[[str], tuple[str, str] | None]


class Markers(Protocol):
    """The part of a Redis client the throttle uses."""

    def set(self, name: str, value: str, *, ex: int, nx: bool) -> Any: ...

    def delete(self, *names: str) -> Any: ...


def store_run_version(core: Core) -> RunVersion:
    def version(run_id: str) -> tuple[str, str] | None:
        with core.transaction() as session:
            row = session.execute(
                select(Resource.state, Resource.etag).where(Resource.id == run_id)
            ).one_or_none()
        return None if row is None else (str(row[0]), str(row[1]))

    return version


class CeleryExecutor(Executor):
    """Publishes run ids to the broker's queue; executes nothing in this process."""

    def __init__(
        self,
        app: Celery,
        markers: Markers,
        version: RunVersion,
        *,
        queue: str,
        resubmit_after: float,
    ) -> None:
        self._app, self._markers, self._version = app, markers, version
        self._queue, self._ttl = queue, max(1, round(resubmit_after))

    def submit(self, run_id: str) -> bool:
        current = self._version(run_id)
        if current is None or current[0] != str(RunStatus.SCHEDULED):
            return False  # finished, running or cancelled meanwhile: nothing to send
        marker = f"{SENT_MARKER_PREFIX}{run_id}:{current[1]}"
        try:
            if not self._markers.set(marker, "1", ex=self._ttl, nx=True):
                return False  # sent recently by some server, and not changed since
            try:
                self._app.send_task(RUN_TASK, args=[run_id], queue=self._queue)
            except BaseException:
                self._markers.delete(marker)  # not sent: let the next tick try again
                raise
        except Exception as exc:
            # broker away: the run stays scheduled and the leader sends it at a later tick.
            # The type only: connection errors may quote the broker URL.
            log.warning("run %s not sent to the broker: %s", run_id, type(exc).__name__)
            return False
        return True

    def cancel(self, run_id: str) -> bool:
        return False  # the store's cancel flag reaches the worker; see the module docstring

    def shutdown(self, *, wait: bool = True, timeout: float | None = None) -> None:
        self._app.close()  # the producer pool's broker connections


def redis_markers(url: str) -> Markers:
    import redis

    client: Markers = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    return client


def celery_executor(core: Core) -> Callable[[RunHandler], Executor]:
    """An ``ExecutorFactory`` for ``FlowEngine``: the handler stays unused (workers run it)."""
    settings = core.settings

    def factory(_handler: RunHandler) -> Executor:
        return CeleryExecutor(
            celery_app(settings),
            redis_markers(broker_url(settings)),
            store_run_version(core),
            queue=settings.broker_queue,
            resubmit_after=settings.broker_resubmit_seconds,
        )

    return factory
