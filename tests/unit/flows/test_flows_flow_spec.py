from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft7Validator

from flowservice.errors import NotFound, ValidationFailed
from flowservice.flows.flow_spec import (
    CRM_TO_AEP_ID,
    DATA_LAKE_SPEC_ID,
    SQL_SERVER_SPEC_ID,
    FlowOptions,
    flow_specs,
    parse_options,
)


def test_crm_to_aep_document() -> None:
    spec = flow_specs().get(CRM_TO_AEP_ID)
    assert flow_specs().by_name("CRMToAEP") is spec
    doc = spec.doc
    assert doc["providerId"] == "0ed90a81-07f4-4586-8190-b40eccef1c5a"
    assert doc["version"] == "1.0"
    assert SQL_SERVER_SPEC_ID in doc["sourceConnectionSpecIds"]
    assert doc["targetConnectionSpecIds"] == [DATA_LAKE_SPEC_ID]
    assert doc["attributes"]["isSourceFlow"] is True
    assert doc["scheduleSpec"]["name"] == "PeriodicSchedule"
    assert doc["scheduleSpec"]["type"] == "Periodic"
    assert spec.transformation_names == ["Copy", "Mapping"]
    assert set(doc["optionSpec"]["spec"]["properties"]) == {
        "errorDiagnosticsEnabled",
        "partialIngestionPercent",
    }
    assert set(spec.run_schema["required"]) == {
        "startTime",
        "windowStartTime",
        "windowEndTime",
        "deltaColumn",
    }
    for schema in (spec.schedule_schema, spec.option_schema, spec.run_schema):
        Draft7Validator.check_schema(schema)
    for entry in doc["transformationSpec"]:
        Draft7Validator.check_schema(entry["spec"])


@pytest.mark.parametrize(
    ("params", "valid"),
    [
        ({"startTime": 1, "frequency": "once"}, True),
        ({"startTime": 1, "frequency": "once", "interval": 1}, False),
        ({"startTime": 1, "frequency": "once", "backfill": True}, False),
        ({"startTime": 1, "frequency": "minute", "interval": 15}, True),
        ({"startTime": 1, "frequency": "minute", "interval": 14}, False),
        ({"startTime": 1, "frequency": "hour", "interval": 1}, True),
        ({"startTime": 1, "frequency": "hour", "interval": 0}, False),
        ({"startTime": 1, "frequency": "hour"}, False),
        ({"frequency": "hour", "interval": 1}, False),
        ({"startTime": 1, "frequency": "year", "interval": 1}, False),
    ],
)
def test_schedule_schema_says_what_the_docs_say(params: dict[str, Any], valid: bool) -> None:
    validator = Draft7Validator(flow_specs().get(CRM_TO_AEP_ID).schedule_schema)
    assert validator.is_valid(params) is valid


def test_unknown_flow_spec_is_not_found() -> None:
    with pytest.raises(NotFound) as info:
        flow_specs().get("00000000-0000-0000-0000-000000000000")
    assert info.value.status == 404
    assert flow_specs().find("nope") is None
    assert flow_specs().by_name("nope") is None
    assert [s.id for s in flow_specs().all()] == [CRM_TO_AEP_ID]


def test_sources_targets_and_versions() -> None:
    spec = flow_specs().get(CRM_TO_AEP_ID)
    spec.check_source(SQL_SERVER_SPEC_ID)
    spec.check_target(DATA_LAKE_SPEC_ID)
    spec.check_version(None)
    spec.check_version("1.0")
    with pytest.raises(ValidationFailed, match="source connection spec"):
        spec.check_source(DATA_LAKE_SPEC_ID)
    with pytest.raises(ValidationFailed, match="target connection spec"):
        spec.check_target(SQL_SERVER_SPEC_ID)
    with pytest.raises(ValidationFailed, match=r"flowSpec\.version '2\.0'"):
        spec.check_version("2.0")


def test_options() -> None:
    assert parse_options(None) == FlowOptions()
    parsed = parse_options({"errorDiagnosticsEnabled": "true", "partialIngestionPercent": "5"})
    assert parsed == FlowOptions(True, 5.0)
    assert parsed.to_params() == {"errorDiagnosticsEnabled": True, "partialIngestionPercent": 5.0}
    assert parse_options({"partialIngestionPercent": 0.5}).partial_ingestion_percent == 0.5
    assert FlowOptions().to_params() == {"errorDiagnosticsEnabled": False}


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ([], "options must be an object"),
        ({"x": 1}, "options.x is not a known option"),
        ({"errorDiagnosticsEnabled": "maybe"}, "errorDiagnosticsEnabled must be a boolean"),
        ({"partialIngestionPercent": 0}, "greater than 0 and at most 100"),
        ({"partialIngestionPercent": 101}, "greater than 0 and at most 100"),
        ({"partialIngestionPercent": "five"}, "partialIngestionPercent must be a number"),
        ({"partialIngestionPercent": True}, "partialIngestionPercent must be a number"),
    ],
)
def test_invalid_options(options: Any, fragment: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_options(options)
    assert fragment in info.value.message
