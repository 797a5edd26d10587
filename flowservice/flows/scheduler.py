"""The scheduler's decision: which flows get a new run now, and for which window.

Pure: the caller (the leader process, see ``lease.Leadership``) reads the
flows, calls ``plan_runs`` and creates the planned runs. A flow gets at most
one new run per tick, and none while it already has a run ``scheduled`` or
``inProgress``: a crashed run is recovered with its own window first, so a
replay is recognised by the lake instead of being copied again inside a
larger window.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flowservice.flows.schedule import CatchUp, Schedule, Window, due_windows


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


@dataclass(frozen=True)
class PlannedRun:
    flow_id: str
    # the schedule window; the run copies it if ``incremental``, else a full snapshot
    window: Window
    incremental: bool

    @property
    def copy_window(self) -> Window | None:
        """``Run.window``; and ``Run.schedule_end`` is ``window.end``."""
        return self.window if self.incremental else None


def plan_runs(
    flows: Iterable[FlowSchedule], *, now: datetime, catch_up: CatchUp = CatchUp.COALESCE
) -> list[PlannedRun]:
    """The runs to create now, at most one per flow, in the order of the flows given."""
    planned: list[PlannedRun] = []
    for flow in flows:
        if not flow.enabled or flow.has_active_run:
            continue
        # several snapshots in a row would copy the same data: always coalesce them
        mode = catch_up if flow.incremental else CatchUp.COALESCE
        windows = due_windows(
            flow.schedule, last_end=flow.watermark, now=now, catch_up=mode, limit=1
        )
        if windows:
            planned.append(PlannedRun(flow.flow_id, windows[0], flow.incremental))
    return planned
