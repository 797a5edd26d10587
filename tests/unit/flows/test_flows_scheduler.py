from __future__ import annotations

import itertools
import logging
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowservice.flows.failure_policy import FailurePolicy, WindowAttempt
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


def test_a_flow_that_cannot_be_planned_is_logged_and_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # a schedule no validation would let through (e.g. written straight into the database)
    absurd = Schedule(1_700_000_000, Frequency.MINUTE, 10**30, True)
    flows = [
        FlowSchedule("before", HOURLY, watermark=None),
        FlowSchedule("absurd", absurd, watermark=START),
        FlowSchedule("after", HOURLY, watermark=START),
    ]
    with caplog.at_level(logging.ERROR):
        planned = plan_runs(flows, now=START + at(2.5))
    assert [p.flow_id for p in planned] == ["before", "after"]
    assert any("flow absurd skipped by the scheduler" in r.getMessage() for r in caplog.records)


def test_a_failed_window_waits_for_its_retry_time_and_counts_its_attempts() -> None:
    policy = FailurePolicy(retries=3, base_delay=60, max_delay=600)
    retry_at = START + at(3.1)
    flow = FlowSchedule("f", HOURLY, watermark=START, failures=2, retry_at=retry_at)
    assert plan_runs([flow], now=START + at(3.05), policy=policy) == []
    [run] = plan_runs([flow], now=retry_at, policy=policy)
    assert run.window == Window(START, START + at(3))
    assert run.attempt == WindowAttempt(number=3, of=4, backoff_seconds=120)


@given(
    retries=st.integers(min_value=0, max_value=10),
    base=st.floats(min_value=0, max_value=3600),
    cap=st.floats(min_value=0, max_value=86400),
)
def test_backoff_doubles_up_to_its_cap_and_attempts_are_bounded(
    retries: int, base: float, cap: float
) -> None:
    policy = FailurePolicy(retries=retries, base_delay=base, max_delay=cap)
    delays = [policy.backoff(n) for n in range(1, retries + 1)]
    assert all(0 <= d <= cap for d in delays)
    assert all(b == min(cap, 2 * a) or a == cap for a, b in itertools.pairwise(delays))
    # a window gets 1 + retries runs: the last failure gives it up
    moments = [policy.after_failure(n, START) for n in range(1, retries + 2)]
    assert all(m is not None and m >= START for m in moments[:-1])
    assert moments[-1] is None
