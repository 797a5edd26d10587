"""The wizard's signed state and the parsing of each step's form."""

from __future__ import annotations

import pytest

from flowservice.console.wizard_state import (
    dataset_choice,
    mappings_of,
    schedule_of,
    schedule_params,
    sign,
    unsign,
    utc_local_text,
    utc_seconds,
)
from flowservice.errors import InvalidRequest, PermissionDenied

SCHEDULE = {"frequency": "hour", "interval": "2", "start": "2026-12-03T15:04", "backfill": "true"}


def test_the_state_round_trips_only_with_the_same_session_secret() -> None:
    token = sign({"step": 2, "table": "crm.People"}, "secret-a")
    assert unsign(token, "secret-a") == {"step": 2, "table": "crm.People"}
    with pytest.raises(PermissionDenied):
        unsign(token, "secret-b")
    payload, _, mac = token.partition(".")
    with pytest.raises(PermissionDenied):
        unsign(payload[:-2] + "xx." + mac, "secret-a")
    with pytest.raises(PermissionDenied):
        unsign("", "secret-a")


def test_dataset_choice_needs_a_name_or_an_id() -> None:
    assert dataset_choice({"dataset_name": " people "}) == {
        "mode": "new",
        "name": "people",
        "description": "",
    }
    assert dataset_choice({"dataset_mode": "existing", "dataset_id": "d1"}) == {
        "mode": "existing",
        "id": "d1",
    }
    for form in ({"dataset_name": " "}, {"dataset_mode": "existing", "dataset_id": ""}):
        with pytest.raises(InvalidRequest):
            dataset_choice(form)


def test_blank_mapping_rows_are_dropped() -> None:
    form = {"destination_0": "n", "expression_0": "lower(Name)", "destination_1": ""}
    assert mappings_of(form) == [{"destination": "n", "expression": "lower(Name)"}]


def test_the_schedule_is_read_as_utc_and_checked_against_the_table() -> None:
    parsed = schedule_of(
        {**SCHEDULE, "incremental": "delta:Updated"},
        delta_columns=["Updated"],
        change_tracking=False,
    )
    assert parsed["start"] == utc_seconds("2026-12-03T15:04") == 1_796_310_240
    assert utc_local_text(parsed["start"]) == "2026-12-03T15:04"
    assert schedule_params(parsed) == {
        "startTime": "1796310240",
        "frequency": "hour",
        "interval": "2",
        "backfill": "true",
    }
    once = schedule_of({**SCHEDULE, "frequency": "once"}, delta_columns=[], change_tracking=False)
    assert schedule_params(once) == {"startTime": "1796310240", "frequency": "once"}
    bad = [
        {"incremental": "delta:Name"},
        {"incremental": "cdc"},
        {"incremental": "sometimes"},
        {"frequency": "yearly"},
        {"write_mode": "upsert"},
        {"start": "tomorrow"},
    ]
    for change in bad:
        with pytest.raises(InvalidRequest):
            schedule_of({**SCHEDULE, **change}, delta_columns=["Updated"], change_tracking=False)
