from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from flowservice.errors import ValidationFailed
from flowservice.flows.run_request import RunRequest, parse_run_request
from flowservice.flows.schedule import Window
from flowservice.flows.transformations import DeltaColumn

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_docs_example_names_the_delta_column_on_the_first_run() -> None:
    request = parse_run_request(
        {
            "startTime": "1663735590",
            "windowStartTime": "1651584991",
            "windowEndTime": "1651585956",
            "deltaColumn": {"name": "DOB"},
        },
        flow_delta_column=None,
        now=NOW,
    )
    assert request == RunRequest(
        start_at=moment(1663735590),
        window=Window(moment(1651584991), moment(1651585956)),
        delta_column=DeltaColumn("DOB"),
        sets_flow_delta_column=True,
    )


def test_later_runs_use_the_flows_delta_column_and_accept_milliseconds() -> None:
    request = parse_run_request(
        {"windowStartTime": 1651584991000, "windowEndTime": 1651585956000},
        flow_delta_column=DeltaColumn("DOB"),
        now=NOW,
    )
    assert request.start_at == NOW
    assert request.window == Window(moment(1651584991), moment(1651585956))
    assert request.delta_column == DeltaColumn("DOB")
    assert not request.sets_flow_delta_column
    same = parse_run_request(
        {"windowStartTime": 1, "windowEndTime": 2, "deltaColumn": {"name": "DOB"}},
        flow_delta_column=DeltaColumn("DOB"),
        now=NOW,
    )
    assert not same.sets_flow_delta_column


def test_full_snapshot_flows_take_no_window() -> None:
    assert parse_run_request(None, flow_delta_column=None, now=NOW) == RunRequest(NOW, None, None)
    with pytest.raises(ValidationFailed, match="need a deltaColumn"):
        parse_run_request(
            {"windowStartTime": 1, "windowEndTime": 2}, flow_delta_column=None, now=NOW
        )


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ([], "params must be an object"),
        ({"window": 1}, "params.window is not a run parameter"),
        ({"windowEndTime": 5}, "params.windowStartTime is required"),
        ({"windowStartTime": 5}, "params.windowEndTime is required"),
        ({"windowStartTime": 5, "windowEndTime": 5}, "must be before"),
        ({"windowStartTime": "a", "windowEndTime": 5}, "windowStartTime must be an integer"),
        ({"windowStartTime": True, "windowEndTime": 5}, "must be an integer"),
        ({"windowStartTime": -5, "windowEndTime": 5}, "must not be negative"),
        ({"windowStartTime": 10**20, "windowEndTime": 5}, "too large"),
        ({"windowStartTime": 5, "windowEndTime": 1_800_000_000}, "must not be in the future"),
        (
            {"windowStartTime": 1, "windowEndTime": 2, "deltaColumn": {"name": "Other"}},
            "differs from the flow's delta column 'D'",
        ),
        ({"windowStartTime": 1, "windowEndTime": 2, "deltaColumn": {}}, "params.deltaColumn.name"),
    ],
)
def test_invalid_params(params: Any, fragment: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_run_request(params, flow_delta_column=DeltaColumn("D"), now=NOW)
    assert fragment in info.value.message
