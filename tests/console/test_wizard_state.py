"""The wizard's signed state and the parsing of each step's form."""

from __future__ import annotations

from typing import Any

import pytest

from flowservice.console.wizard_state import (
    dataset_choice,
    mappings_of,
    schedule_of,
    schedule_params,
    sign,
    target_params,
    unsign,
    utc_local_text,
    utc_seconds,
)
from flowservice.errors import InvalidRequest, PermissionDenied

SCHEDULE = {"frequency": "hour", "interval": "2", "start": "2026-12-03T15:04", "backfill": "true"}
TABLE: dict[str, Any] = {
    "columns": ["Id", "Name", "Updated"],
    "primary_key": ["Id"],
    "delta_columns": ["Updated"],
    "change_tracking": False,
}


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
        **TABLE,
    )
    assert parsed["start"] == utc_seconds("2026-12-03T15:04") == 1_796_310_240
    assert utc_local_text(parsed["start"]) == "2026-12-03T15:04"
    assert schedule_params(parsed) == {
        "startTime": "1796310240",
        "frequency": "hour",
        "interval": "2",
        "backfill": "true",
    }
    once = schedule_of({**SCHEDULE, "frequency": "once"}, **TABLE)
    assert schedule_params(once) == {"startTime": "1796310240", "frequency": "once"}
    bad = [
        {"incremental": "delta:Name"},
        {"incremental": "cdc"},
        {"incremental": "sometimes"},
        {"frequency": "yearly"},
        {"write_mode": "upsert"},
        {"start": "tomorrow"},
        {"write_mode": "merge", "key_columns": "Id, Nope"},
        {"write_mode": "merge", "key_columns": "Id, id"},
        {"write_mode": "merge", "delete_mode": "archive"},
    ]
    for change in bad:
        with pytest.raises(InvalidRequest):
            schedule_of({**SCHEDULE, **change}, **TABLE)


def test_merge_names_its_key_or_falls_back_to_the_primary_key() -> None:
    typed = schedule_of(
        {**SCHEDULE, "write_mode": "merge", "key_columns": " name , id ", "delete_mode": "soft"},
        **TABLE,
    )
    assert (typed["key_columns"], typed["delete_mode"]) == (["Name", "Id"], "soft")
    assert target_params("ds1", typed) == {
        "dataSetId": "ds1",
        "writeMode": "merge",
        "keyColumns": ["Name", "Id"],
        "deleteMode": "soft",
    }
    by_primary_key = schedule_of({**SCHEDULE, "write_mode": "merge"}, **TABLE)
    assert target_params("ds1", by_primary_key) == {
        "dataSetId": "ds1",
        "writeMode": "merge",
        "deleteMode": "hard",
    }
    appended = schedule_of({**SCHEDULE, "key_columns": "Id", "delete_mode": "soft"}, **TABLE)
    assert target_params("ds1", appended) == {"dataSetId": "ds1", "writeMode": "append"}
    no_key = {**TABLE, "primary_key": []}
    with pytest.raises(InvalidRequest, match="no primary key"):
        schedule_of({**SCHEDULE, "write_mode": "merge"}, **no_key)
    assert schedule_of({**SCHEDULE, "write_mode": "merge", "key_columns": "Id"}, **no_key)[
        "key_columns"
    ] == ["Id"]
