"""``POST /runs`` params: an on-demand run's start time, window and delta column."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flowservice.errors import ValidationFailed
from flowservice.flows.schedule import EPOCH, INTEGER_TEXT, MAX_EPOCH_SECONDS, Window
from flowservice.flows.transformations import DeltaColumn, parse_delta_column

_KNOWN = ("startTime", "windowStartTime", "windowEndTime", "deltaColumn")


@dataclass(frozen=True)
class RunRequest:
    """A validated on-demand run: when to start it and what it copies."""

    start_at: datetime
    # None: a full snapshot (the flow has no delta column)
    window: Window | None
    delta_column: DeltaColumn | None
    # True when this request names the flow's delta column for the first time:
    # the caller stores it in the flow's Copy transformation
    sets_flow_delta_column: bool = False


def parse_run_request(
    params: Any, *, flow_delta_column: DeltaColumn | None, now: datetime
) -> RunRequest:
    """Validate ``params`` of ``POST /runs``; numbers sent as strings are accepted.

    Times are epoch seconds as in the docs' examples; values of 10^11 and more
    are read as epoch milliseconds, which the OpenAPI descriptions mention.
    """
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ValidationFailed("params must be an object")
    unknown = sorted(set(params) - set(_KNOWN))
    if unknown:
        raise ValidationFailed(f"params.{unknown[0]} is not a run parameter ({', '.join(_KNOWN)})")
    start_at = _moment("startTime", params["startTime"]) if "startTime" in params else now
    delta_column = flow_delta_column
    sets_flow = False
    if params.get("deltaColumn") is not None:
        given = parse_delta_column(params["deltaColumn"], "params.deltaColumn")
        if flow_delta_column is None:
            delta_column, sets_flow = given, True
        elif given.name != flow_delta_column.name:
            raise ValidationFailed(
                f"params.deltaColumn.name {given.name!r} differs from the flow's delta column "
                f"{flow_delta_column.name!r}; change the flow's Copy transformation instead"
            )
    has_window = "windowStartTime" in params or "windowEndTime" in params
    if delta_column is None:
        if has_window:
            raise ValidationFailed(
                "params.windowStartTime and windowEndTime need a deltaColumn: without one "
                "the flow copies full snapshots"
            )
        return RunRequest(start_at=start_at, window=None, delta_column=None)
    for field in ("windowStartTime", "windowEndTime"):
        if field not in params:
            raise ValidationFailed(f"params.{field} is required (epoch seconds, UTC)")
    start = _moment("windowStartTime", params["windowStartTime"])
    end = _moment("windowEndTime", params["windowEndTime"])
    if start >= end:
        raise ValidationFailed("params.windowStartTime must be before params.windowEndTime")
    if end > now:
        # rows landing later in a future window would be skipped by the next window
        raise ValidationFailed("params.windowEndTime must not be in the future")
    return RunRequest(
        start_at=start_at,
        window=Window(start, end),
        delta_column=delta_column,
        sets_flow_delta_column=sets_flow,
    )


def _moment(field: str, value: Any) -> datetime:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and INTEGER_TEXT.match(value.strip()):
        number = int(value.strip())
    if number is None:
        raise ValidationFailed(f"params.{field} must be an integer epoch time")
    if number < 0:
        raise ValidationFailed(f"params.{field} must not be negative")
    if number >= MAX_EPOCH_SECONDS:
        if number >= MAX_EPOCH_SECONDS * 1000:
            raise ValidationFailed(f"params.{field} is too large for an epoch time")
        return EPOCH + timedelta(milliseconds=number)
    return EPOCH + timedelta(seconds=number)
