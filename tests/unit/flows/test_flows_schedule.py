from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowservice.errors import InternalError, ValidationFailed
from flowservice.flows.flow_spec import CRM_TO_AEP_ID, flow_specs
from flowservice.flows.schedule import (
    EPOCH,
    LATEST_START_TIME,
    CatchUp,
    Frequency,
    Schedule,
    Window,
    due_windows,
    max_interval,
    next_due_time,
    parse_schedule,
)

SCHEMA = flow_specs().get(CRM_TO_AEP_ID).schedule_schema
T0 = 1_700_000_000  # 2023-11-14T22:13:20Z
START = EPOCH + timedelta(seconds=T0)


def parse(params: dict[str, Any]) -> Schedule:
    return parse_schedule(params, schema=SCHEMA)


# --- validation -----------------------------------------------------------


def test_docs_example_with_strings_is_accepted_and_normalised() -> None:
    schedule = parse(
        {"startTime": "1612310466", "frequency": "minute", "interval": "15", "backfill": "true"}
    )
    assert schedule == Schedule(1612310466, Frequency.MINUTE, 15, True)
    assert schedule.to_params() == {
        "startTime": 1612310466,
        "frequency": "minute",
        "interval": 15,
        "backfill": True,
    }


def test_typed_values_and_default_backfill() -> None:
    schedule = parse({"startTime": T0, "frequency": "day", "interval": 1})
    assert schedule.backfill is True
    assert schedule.period == timedelta(days=1)
    assert (
        parse({"startTime": T0, "frequency": "hour", "interval": 2, "backfill": "False"}).backfill
        is False
    )


def test_once_has_no_interval_or_backfill() -> None:
    schedule = parse({"startTime": str(T0), "frequency": "once"})
    assert schedule.to_params() == {"startTime": T0, "frequency": "once"}
    assert schedule.period is None


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"frequency": "day", "interval": 1}, "scheduleParams.startTime is required"),
        ({"startTime": T0, "interval": 1}, "scheduleParams.frequency is required"),
        (
            {"startTime": T0, "frequency": "month", "interval": 1},
            "scheduleParams.frequency must be one of",
        ),
        (
            {"startTime": T0, "frequency": "minute", "interval": 14},
            "scheduleParams.interval must be at least 15",
        ),
        ({"startTime": T0, "frequency": "minute", "interval": "5"}, "interval must be at least 15"),
        ({"startTime": T0, "frequency": "day", "interval": 0}, "interval must be at least 1"),
        ({"startTime": T0, "frequency": "day"}, "scheduleParams.interval is required"),
        (
            {"startTime": T0, "frequency": "once", "interval": 1},
            "interval is not allowed with frequency 'once'",
        ),
        ({"startTime": T0, "frequency": "once", "backfill": True}, "backfill is not allowed"),
        ({"startTime": "soon", "frequency": "once"}, "scheduleParams.startTime must be an integer"),
        ({"startTime": True, "frequency": "once"}, "startTime must be an integer, not a boolean"),
        ({"startTime": 1.5, "frequency": "once"}, "startTime must be an integer"),
        ({"startTime": -1, "frequency": "once"}, "startTime must not be negative"),
        ({"startTime": T0 * 1000, "frequency": "once"}, "looks like milliseconds"),
        ({"startTime": T0, "frequency": "day", "interval": "1.5"}, "interval must be an integer"),
        (
            {"startTime": T0, "frequency": "day", "interval": 1, "backfill": "yes"},
            "backfill must be true or false",
        ),
        (
            {"startTime": T0, "frequency": "day", "interval": 1, "timezone": "UTC"},
            "scheduleParams.timezone is not a known",
        ),
        # the probe's schedules: each stopped every scheduler tick with OverflowError
        (
            {"startTime": T0, "frequency": "minute", "interval": 10**30},
            "scheduleParams.interval must be at most 525600 with frequency 'minute'",
        ),
        (
            {"startTime": T0, "frequency": "hour", "interval": 10**9},
            "scheduleParams.interval must be at most 8760",
        ),
        (
            {"startTime": T0, "frequency": "day", "interval": 3_000_000},
            "scheduleParams.interval must be at most 365",
        ),
        (
            {"startTime": T0, "frequency": "week", "interval": 53},
            "scheduleParams.interval must be at most 52",
        ),
        ({"startTime": 0, "frequency": "once"}, "startTime must be from 2000-01-01"),
        (
            {"startTime": 99_999_999_999, "frequency": "week", "interval": 1},
            "startTime must be from 2000-01-01 to 2099-12-31",
        ),
        ({"startTime": "9" * 5000, "frequency": "once"}, "startTime must be an integer"),
        ({"startTime": 10**5000, "frequency": "once"}, "looks like milliseconds"),
        (
            {"startTime": T0, "frequency": "day", "interval": "1" + "0" * 4999},
            "interval must be an integer",
        ),
    ],
)
def test_invalid_params_name_the_field(params: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse(params)
    assert fragment in info.value.message
    assert info.value.status == 400


@pytest.mark.parametrize("frequency", ["minute", "hour", "day", "week"])
def test_the_longest_interval_is_one_year_and_plans_without_overflow(frequency: str) -> None:
    longest = max_interval(Frequency(frequency))
    schedule = parse(
        {"startTime": LATEST_START_TIME - 1, "frequency": frequency, "interval": longest}
    )
    assert schedule.period is not None and schedule.period <= timedelta(days=365)
    far = schedule.start + 100 * schedule.period
    assert due_windows(schedule, last_end=None, now=far)
    assert next_due_time(schedule, last_end=far, now=far) is not None


def test_not_an_object() -> None:
    with pytest.raises(ValidationFailed, match="scheduleParams must be an object"):
        parse_schedule(["startTime"])


def test_float_with_integral_value_is_an_integer() -> None:
    assert parse({"startTime": float(T0), "frequency": "week", "interval": 2.0}).interval == 2


# --- windows: fixed examples ----------------------------------------------


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def test_backfill_first_window_is_all_history_up_to_start() -> None:
    schedule = parse({"startTime": T0, "frequency": "hour", "interval": 1, "backfill": True})
    assert due_windows(schedule, last_end=None, now=at(-1)) == []
    assert due_windows(schedule, last_end=None, now=at(0)) == [Window(None, START)]
    assert due_windows(schedule, last_end=START, now=at(3599)) == []
    assert due_windows(schedule, last_end=START, now=at(3600)) == [Window(START, at(3600))]


def test_without_backfill_first_window_starts_at_start_time() -> None:
    schedule = parse({"startTime": T0, "frequency": "hour", "interval": 1, "backfill": False})
    assert due_windows(schedule, last_end=None, now=at(0)) == []
    assert due_windows(schedule, last_end=None, now=at(3600)) == [Window(START, at(3600))]


def test_missed_windows_coalesce_by_default_and_split_on_request() -> None:
    schedule = parse({"startTime": T0, "frequency": "minute", "interval": 15, "backfill": False})
    now = at(3 * 900 + 10)
    assert due_windows(schedule, last_end=START, now=now) == [Window(START, at(2700))]
    each = due_windows(schedule, last_end=START, now=now, catch_up=CatchUp.EACH)
    assert each == [Window(START, at(900)), Window(at(900), at(1800)), Window(at(1800), at(2700))]
    assert (
        due_windows(schedule, last_end=START, now=now, catch_up=CatchUp.EACH, limit=2) == each[:2]
    )


def test_once_runs_once_at_start_time() -> None:
    schedule = parse({"startTime": T0, "frequency": "once"})
    assert due_windows(schedule, last_end=None, now=at(-60)) == []
    assert due_windows(schedule, last_end=None, now=at(5)) == [Window(None, START)]
    assert due_windows(schedule, last_end=START, now=at(10**6)) == []


def test_watermark_off_the_grid_continues_from_the_watermark() -> None:
    # e.g. an on-demand run or a schedule PATCHed to a new grid
    schedule = parse({"startTime": T0, "frequency": "day", "interval": 1})
    watermark = at(100.5)
    assert due_windows(schedule, last_end=watermark, now=at(86400 * 2 + 1)) == [
        Window(watermark, at(86400 * 2))
    ]
    assert due_windows(schedule, last_end=at(-500), now=at(1), catch_up=CatchUp.EACH) == [
        Window(at(-500), START)
    ]


def test_window_bounds_in_epoch_ms_and_read_window() -> None:
    window = Window(None, START)
    assert window.start_ms == 0
    assert window.end_ms == T0 * 1000
    read = Window(START, at(0.25)).read_window("UpdatedAt")
    assert (read.column, read.start, read.end) == ("UpdatedAt", START, at(0.25))


def test_naive_datetimes_are_refused() -> None:
    schedule = parse({"startTime": T0, "frequency": "once"})
    with pytest.raises(InternalError):
        due_windows(schedule, last_end=None, now=datetime(2030, 1, 1))
    with pytest.raises(InternalError):
        Window(START, START)


def test_next_due_time() -> None:
    hourly = parse({"startTime": T0, "frequency": "hour", "interval": 1, "backfill": False})
    assert next_due_time(hourly, last_end=None, now=at(-10)) == at(3600)
    assert next_due_time(hourly, last_end=at(3600), now=at(4000)) == at(7200)
    assert next_due_time(hourly, last_end=at(3600), now=at(7300)) == at(7300)
    backfill = parse({"startTime": T0, "frequency": "hour", "interval": 1})
    assert next_due_time(backfill, last_end=None, now=at(-10)) == START
    once = parse({"startTime": T0, "frequency": "once"})
    assert next_due_time(once, last_end=None, now=at(-10)) == START
    assert next_due_time(once, last_end=START, now=at(10)) is None


# --- windows: properties --------------------------------------------------

schedules = st.builds(
    Schedule,
    start_time=st.integers(min_value=0, max_value=4_000_000_000),
    frequency=st.sampled_from([Frequency.MINUTE, Frequency.HOUR, Frequency.DAY, Frequency.WEEK]),
    interval=st.integers(min_value=15, max_value=60),
    backfill=st.booleans(),
)
offsets = st.integers(min_value=-(10**9), max_value=10**9)


@settings(max_examples=300, deadline=None)
@given(
    schedule=schedules,
    ticks=st.lists(offsets, min_size=1, max_size=8),
    catch_up=st.sampled_from(CatchUp),
)
def test_windows_are_contiguous_never_overlap_never_exceed_now(
    schedule: Schedule, ticks: list[int], catch_up: CatchUp
) -> None:
    """Run the scheduler at increasing times; the union of windows is gap- and overlap-free."""
    last_end: datetime | None = None
    ran: list[Window] = []
    for tick in sorted(ticks):
        now = schedule.start + timedelta(seconds=tick)
        windows = due_windows(schedule, last_end=last_end, now=now, catch_up=catch_up, limit=50)
        for window in windows:
            assert window.end <= now
            assert window.end >= schedule.start
            assert window.start == last_end or (
                last_end is None and window.start in (None, schedule.start)
            )
            if window.start is not None:
                assert window.start < window.end
            last_end = window.end
        ran.extend(windows)
        period = schedule.period
        assert period is not None
        # everything due has been handed out unless EACH hit its limit
        if len(windows) < 50:
            assert due_windows(schedule, last_end=last_end, now=now) == []
            if last_end is not None:
                assert now - last_end < period
    for earlier, later in itertools.pairwise(ran):
        assert earlier.end == later.start
    if ran:
        assert ran[0].start == (None if schedule.backfill else schedule.start)


@settings(max_examples=200, deadline=None)
@given(schedule=schedules, offset=st.integers(min_value=-(10**7), max_value=10**7))
def test_coalesced_window_equals_union_of_each_window(schedule: Schedule, offset: int) -> None:
    now = schedule.start + timedelta(seconds=offset)
    # at most 10^7 s / 900 s windows: well under the limit, so EACH returns them all
    each = due_windows(schedule, last_end=None, now=now, catch_up=CatchUp.EACH, limit=10**5)
    coalesced = due_windows(schedule, last_end=None, now=now)
    if not each:
        assert coalesced == []
    else:
        assert coalesced == [Window(each[0].start, each[-1].end)]


@settings(max_examples=200, deadline=None)
@given(schedule=schedules, offset=offsets, watermark=offsets)
def test_next_due_time_is_when_windows_become_due(
    schedule: Schedule, offset: int, watermark: int
) -> None:
    now = schedule.start + timedelta(seconds=offset)
    last_end = schedule.start + timedelta(seconds=watermark) if watermark % 2 else None
    due_at = next_due_time(schedule, last_end=last_end, now=now)
    assert due_at is not None and due_at >= now
    if due_at > now:
        assert (
            due_windows(schedule, last_end=last_end, now=due_at - timedelta(microseconds=1)) == []
        )
    assert due_windows(schedule, last_end=last_end, now=due_at)
