from __future__ import annotations

from datetime import timedelta

from flowservice.flows.schedule import CatchUp, Frequency, Schedule, Window
from flowservice.flows.scheduler import FlowSchedule, PlannedRun, plan_runs

HOURLY = Schedule(1_700_000_000, Frequency.HOUR, 1, True)
START = HOURLY.start


def at(hours: float) -> timedelta:
    return timedelta(hours=hours)


def test_one_run_per_due_flow_none_for_busy_or_disabled() -> None:
    flows = [
        FlowSchedule("new", HOURLY, watermark=None),
        FlowSchedule("caught-up", HOURLY, watermark=START + at(3)),
        FlowSchedule("behind", HOURLY, watermark=START + at(1)),
        FlowSchedule("busy", HOURLY, watermark=START, has_active_run=True),
        FlowSchedule("off", HOURLY, watermark=START, enabled=False),
    ]
    planned = plan_runs(flows, now=START + at(3.5))
    assert planned == [
        PlannedRun("new", Window(None, START + at(3)), True),
        PlannedRun("behind", Window(START + at(1), START + at(3)), True),
    ]


def test_each_catch_up_plans_the_first_missed_window_only() -> None:
    flows = [FlowSchedule("f", HOURLY, watermark=START)]
    assert plan_runs(flows, now=START + at(5), catch_up=CatchUp.EACH) == [
        PlannedRun("f", Window(START, START + at(1)), True)
    ]


def test_snapshot_flows_always_coalesce_and_copy_no_window() -> None:
    flows = [FlowSchedule("snap", HOURLY, watermark=START, incremental=False)]
    [run] = plan_runs(flows, now=START + at(5), catch_up=CatchUp.EACH)
    assert run.window == Window(START, START + at(5))
    assert run.copy_window is None
