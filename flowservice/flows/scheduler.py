"""The scheduler's decision: which flows get a new run now, and for which window.

Pure: the caller (the leader process, see ``lease.Leadership``) reads the
flows, calls ``plan_runs`` and creates the planned runs. A flow gets at most
one new run per tick, and none while it already has a run ``scheduled`` or
``inProgress``: a crashed run is recovered with its own window first, so a
replay is recognised by the lake instead of being copied again inside a
larger window. A flow whose window failed waits for its retry time (see
``failure_policy``). An error while planning one flow is logged with its id
and never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flowservice.flows.failure_policy import FailurePolicy, WindowAttempt
from flowservice.flows.schedule import CatchUp, Schedule, Window, due_windows

log = logging.getLogger(__name__)
FIRST_ATTEMPT = WindowAttempt(number=1, of=FailurePolicy().max_attempts)


@dataclass(frozen=True)
class FlowSchedule:
    """What the scheduler needs to know about one flow."""

    flow_id: str
    schedule: Schedule
    # end of the last committed window (schedule position for full-snapshot flows)
    watermark: datetime | None
    enabled: bool = True
    incremental: bool = True
    has_active_run: bool = False
    # failed scheduled runs of the window at the watermark, and when the next may start
    failures: int = 0
    retry_at: datetime | None = None


@dataclass(frozen=True)
class PlannedRun:
    flow_id: str
    # the schedule window; the run copies it if ``incremental``, else a full snapshot
    window: Window
    incremental: bool
    attempt: WindowAttempt = FIRST_ATTEMPT

    @property
    def copy_window(self) -> Window | None:
        """``Run.window``; and ``Run.schedule_end`` is ``window.end``."""
        return self.window if self.incremental else None


def plan_runs(
    flows: Iterable[FlowSchedule],
    *,
    now: datetime,
    catch_up: CatchUp = CatchUp.COALESCE,
    policy: FailurePolicy | None = None,
) -> list[PlannedRun]:
    """The runs to create now, at most one per flow, in the order of the flows given."""
    policy = policy or FailurePolicy()
    planned: list[PlannedRun] = []
    for flow in flows:
        try:
            run = _plan_one(flow, now=now, catch_up=catch_up, policy=policy)
        except Exception as exc:
            log.error("flow %s skipped by the scheduler: %s", flow.flow_id, type(exc).__name__)
            continue
        if run is not None:
            planned.append(run)
    return planned


def _plan_one(
    flow: FlowSchedule, *, now: datetime, catch_up: CatchUp, policy: FailurePolicy
) -> PlannedRun | None:
    if not flow.enabled or flow.has_active_run:
        return None
    if flow.retry_at is not None and flow.retry_at > now:
        return None  # backing off after a failed run of this window
    # several snapshots in a row would copy the same data: always coalesce them
    mode = catch_up if flow.incremental else CatchUp.COALESCE
    windows = due_windows(flow.schedule, last_end=flow.watermark, now=now, catch_up=mode, limit=1)
    if not windows:
        return None
    attempt = WindowAttempt(
        number=flow.failures + 1,
        of=policy.max_attempts,
        backoff_seconds=policy.backoff(flow.failures),
    )
    return PlannedRun(flow.flow_id, windows[0], flow.incremental, attempt)
