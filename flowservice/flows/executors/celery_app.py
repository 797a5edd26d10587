"""The Celery application both sides share: servers send run messages, workers consume them.

One task, ``flowservice.run``, whose only argument is the run id: the message
carries no flow data, so a stale or repeated message can do no more than ask
the runner to look at the run again (claiming it under its lease is what makes
a repeated delivery a no-op). Celery is imported here only, and only by the
processes that use the Celery executor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flowservice.errors import InternalError
from flowservice.settings import Settings

if TYPE_CHECKING:
    from celery import Celery

RUN_TASK = "flowservice.run"


def broker_url(settings: Settings) -> str:
    if settings.broker_url is None:
        raise InternalError("the Celery executor needs broker_url")
    return settings.broker_url.get_secret_value()


def celery_app(settings: Settings) -> Celery:
    """A Celery app on the settings' broker; no result backend (the store holds outcomes)."""
    from celery import Celery

    app = Celery("flowservice", set_as_current=False)
    app.conf.update(
        broker_url=broker_url(settings),
        broker_connection_retry_on_startup=True,
        task_default_queue=settings.broker_queue,
        task_ignore_result=True,
        # acknowledged after the run, not before: a worker that dies mid-run leaves the
        # message to be delivered again (the run lease decides whether anything runs)
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # a worker takes one message per free slot, so queued runs go to idle workers
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        # no remote control, events or gossip: nothing here needs them, and each adds
        # broker traffic per worker
        worker_enable_remote_control=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
    )
    return app
