"""Schedules: validate ``scheduleParams`` and compute the UTC windows that are due.

A periodic schedule lays a grid over time: ``startTime + k * interval * unit``
for k = 0, 1, 2, ...  Each run copies the half-open window [start, end) whose
end is a grid point that is not in the future. ``backfill=true`` adds a first
window from the beginning of history (``start=None``) to ``startTime``, due at
``startTime``; ``backfill=false`` starts copying at ``startTime``. A ``once``
schedule has one window, [beginning of history, startTime), due at startTime.
Windows missed while the service was down are coalesced by default (see
``CatchUp``). See docs/flows.md for why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from jsonschema import Draft7Validator

from flowservice.connectors.base import ReadWindow
from flowservice.errors import InternalError, ValidationFailed

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Epoch seconds at or above this are year 5138+: almost surely milliseconds sent by mistake.
MAX_EPOCH_SECONDS = 10**11
# A schedule starts from 2000-01-01 up to (not including) 2100-01-01, UTC.
EARLIEST_START_TIME = 946_684_800
LATEST_START_TIME = 4_102_444_800
MIN_MINUTE_INTERVAL = 15
# The longest period is one year (365 days) whatever the frequency.
MAX_PERIOD_SECONDS = 365 * 86400

# an integer sent as a string: at most 20 digits (anything longer is out of every bound)
INTEGER_TEXT = re.compile(r"^[+-]?\d{1,20}$")


class Frequency(StrEnum):
    ONCE = "once"
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


_UNIT_SECONDS = {
    Frequency.MINUTE: 60,
    Frequency.HOUR: 3600,
    Frequency.DAY: 86400,
    Frequency.WEEK: 7 * 86400,
}


class CatchUp(StrEnum):
    """How windows missed while the service was down are run."""

    COALESCE = "coalesce"  # one run from the watermark to the latest due grid point
    EACH = "each"  # one run per missed grid window


@dataclass(frozen=True)
class Schedule:
    """A validated, normalised ``scheduleParams``."""

    start_time: int  # epoch seconds, UTC
    frequency: Frequency
    interval: int | None = None  # None only for ``once``
    backfill: bool | None = None  # None only for ``once``

    @property
    def start(self) -> datetime:
        return EPOCH + timedelta(seconds=self.start_time)

    @property
    def period(self) -> timedelta | None:
        if self.frequency is Frequency.ONCE or self.interval is None:
            return None
        return timedelta(seconds=_UNIT_SECONDS[self.frequency] * self.interval)

    def to_params(self) -> dict[str, Any]:
        """The normalised ``scheduleParams`` as stored and returned (typed, not strings)."""
        out: dict[str, Any] = {"startTime": self.start_time, "frequency": str(self.frequency)}
        if self.interval is not None:
            out["interval"] = self.interval
        if self.backfill is not None:
            out["backfill"] = self.backfill
        return out


@dataclass(frozen=True)
class Window:
    """The half-open UTC window [start, end); ``start=None`` is the beginning of history."""

    start: datetime | None
    end: datetime

    def __post_init__(self) -> None:
        _require_aware(self.end, "window end")
        if self.start is not None:
            _require_aware(self.start, "window start")
            if self.start >= self.end:
                raise InternalError(f"empty window [{self.start}, {self.end})")

    @property
    def start_ms(self) -> int:
        """Epoch ms as the API shows it; 0 stands for the beginning of history."""
        return 0 if self.start is None else to_epoch_ms(self.start)

    @property
    def end_ms(self) -> int:
        return to_epoch_ms(self.end)

    def read_window(self, column: str) -> ReadWindow:
        return ReadWindow(column=column, start=self.start, end=self.end)


def to_epoch_ms(moment: datetime) -> int:
    return _to_us(moment) // 1000


def from_epoch_seconds(seconds: int) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def parse_schedule(params: Any, *, schema: Mapping[str, Any] | None = None) -> Schedule:
    """Validate ``scheduleParams``; numbers and booleans sent as strings are accepted.

    ``schema`` is the flow spec's scheduleSpec JSON Schema; when given, the
    normalised params are checked against it as well, so what we accept never
    drifts from what we serve.
    """
    if not isinstance(params, Mapping):
        raise ValidationFailed("scheduleParams must be an object")
    unknown = sorted(set(params) - {"startTime", "frequency", "interval", "backfill"})
    if unknown:
        raise ValidationFailed(
            f"scheduleParams.{unknown[0]} is not a known schedule parameter "
            "(startTime, frequency, interval, backfill)"
        )
    if "startTime" not in params:
        raise ValidationFailed("scheduleParams.startTime is required (epoch seconds, UTC)")
    if "frequency" not in params:
        raise ValidationFailed("scheduleParams.frequency is required (once|minute|hour|day|week)")
    start_time = _start_time(params["startTime"])
    frequency = _frequency(params["frequency"])
    if frequency is Frequency.ONCE:
        for field in ("interval", "backfill"):
            if field in params:
                raise ValidationFailed(
                    f"scheduleParams.{field} is not allowed with frequency 'once'"
                )
        schedule = Schedule(start_time=start_time, frequency=frequency)
    else:
        if "interval" not in params:
            raise ValidationFailed(
                f"scheduleParams.interval is required with frequency '{frequency}'"
            )
        interval = _integer("interval", params["interval"])
        minimum = MIN_MINUTE_INTERVAL if frequency is Frequency.MINUTE else 1
        if interval < minimum:
            raise ValidationFailed(
                f"scheduleParams.interval must be at least {minimum} "
                f"with frequency '{frequency}' (got {interval})"
            )
        maximum = max_interval(frequency)
        if interval > maximum:
            raise ValidationFailed(
                f"scheduleParams.interval must be at most {maximum} with frequency "
                f"'{frequency}' (one year); got {_show(interval)}"
            )
        backfill = _boolean("backfill", params["backfill"]) if "backfill" in params else True
        schedule = Schedule(start_time, frequency, interval, backfill)
    if schema is not None:
        _check_schema(schema, schedule.to_params())
    return schedule


def due_windows(
    schedule: Schedule,
    *,
    last_end: datetime | None,
    now: datetime,
    catch_up: CatchUp = CatchUp.COALESCE,
    limit: int = 1000,
) -> list[Window]:
    """The windows to run now, in order, contiguous from ``last_end``, none ending after ``now``.

    ``last_end`` is the flow's watermark: the end of the last window whose
    data was committed (None if none was). With ``CatchUp.EACH`` at most
    ``limit`` windows are returned; the rest come on the next call.
    """
    _require_aware(now, "now")
    if last_end is not None:
        _require_aware(last_end, "last_end")
    start_us = _to_us(schedule.start)
    now_us = _to_us(now)
    if now_us < start_us:
        return []
    period = schedule.period
    if period is None:  # once
        return [] if last_end is not None else [Window(None, schedule.start)]
    period_us = _to_us_delta(period)
    latest_us = start_us + (now_us - start_us) // period_us * period_us
    if last_end is None:
        origin_us: int | None = None if schedule.backfill else start_us
        first_k = 0 if schedule.backfill else 1
    else:
        origin_us = _to_us(last_end)
        # first grid point strictly after the watermark; grid points start at k=0
        first_k = max(0, (origin_us - start_us) // period_us + 1)
    first_us = start_us + first_k * period_us
    if first_us > latest_us:
        return []
    if catch_up is CatchUp.COALESCE:
        return [Window(_maybe_moment(origin_us), _moment(latest_us))]
    windows: list[Window] = []
    cursor, grid = origin_us, first_us
    while grid <= latest_us and len(windows) < limit:
        windows.append(Window(_maybe_moment(cursor), _moment(grid)))
        cursor, grid = grid, grid + period_us
    return windows


def next_due_time(
    schedule: Schedule, *, last_end: datetime | None, now: datetime
) -> datetime | None:
    """When ``due_windows`` will next have something to run (``now`` if it has already)."""
    if due_windows(schedule, last_end=last_end, now=now, limit=1):
        return now
    start_us = _to_us(schedule.start)
    period = schedule.period
    if period is None:
        return schedule.start if last_end is None and _to_us(now) < start_us else None
    period_us = _to_us_delta(period)
    # nothing is due before both now and the watermark have passed
    ref_us = max(_to_us(now), _to_us(last_end)) if last_end is not None else _to_us(now)
    k = 0 if ref_us < start_us else (ref_us - start_us) // period_us + 1
    for candidate_k in (k, k + 1):  # backfill=false skips the k=0 grid point
        candidate = _moment(start_us + candidate_k * period_us)
        if due_windows(schedule, last_end=last_end, now=candidate, limit=1):
            return candidate
    return None


def max_interval(frequency: Frequency) -> int:
    """The largest ``interval`` of a periodic frequency: one year's worth of its unit."""
    return MAX_PERIOD_SECONDS // _UNIT_SECONDS[frequency]


def _start_time(value: Any) -> int:
    start_time = _integer("startTime", value)
    if start_time < 0:
        raise ValidationFailed("scheduleParams.startTime must not be negative")
    if start_time >= MAX_EPOCH_SECONDS:
        raise ValidationFailed(
            "scheduleParams.startTime must be in epoch seconds; the value looks like milliseconds"
        )
    if not EARLIEST_START_TIME <= start_time < LATEST_START_TIME:
        raise ValidationFailed(
            "scheduleParams.startTime must be from 2000-01-01 to 2099-12-31 UTC "
            f"(epoch seconds {EARLIEST_START_TIME} to {LATEST_START_TIME - 1}); got {start_time}"
        )
    return start_time


def _integer(field: str, value: Any) -> int:
    if isinstance(value, bool):
        raise ValidationFailed(f"scheduleParams.{field} must be an integer, not a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and INTEGER_TEXT.match(value.strip()):
        return int(value.strip())
    raise ValidationFailed(f"scheduleParams.{field} must be an integer (got {_show(value)})")


def _boolean(field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValidationFailed(f"scheduleParams.{field} must be true or false (got {_show(value)})")


def _frequency(value: Any) -> Frequency:
    if isinstance(value, str):
        try:
            return Frequency(value.strip().lower())
        except ValueError:
            pass
    raise ValidationFailed(
        f"scheduleParams.frequency must be one of once, minute, hour, day, week "
        f"(got {_show(value)})"
    )


def _check_schema(schema: Mapping[str, Any], params: dict[str, Any]) -> None:
    errors = sorted(Draft7Validator(dict(schema)).iter_errors(params), key=lambda e: list(e.path))
    if errors:
        err = errors[0]
        where = "scheduleParams" + "".join(f".{p}" for p in err.path)
        raise ValidationFailed(f"{where} does not fit the schedule spec: {err.message}")


def _show(value: Any) -> str:
    if isinstance(value, int) and abs(value) >= 10**30:
        return "an integer of more than 30 digits"  # str() of a huge int may itself fail
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _require_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InternalError(f"{what} must be a timezone-aware datetime")


def _to_us(moment: datetime) -> int:
    return _to_us_delta(moment - EPOCH)


def _to_us_delta(delta: timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _moment(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def _maybe_moment(us: int | None) -> datetime | None:
    return None if us is None else _moment(us)
