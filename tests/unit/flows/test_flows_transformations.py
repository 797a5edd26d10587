from __future__ import annotations

from typing import Any

import pytest

from flowservice.errors import ValidationFailed
from flowservice.flows.transformations import (
    DeltaColumn,
    MappingRef,
    Transformations,
    parse_delta_column,
    parse_transformations,
)

DOCS_EXAMPLE = [
    {
        "name": "Copy",
        "params": {
            "deltaColumn": {"name": "Datefield", "dateFormat": "YYYY-MM-DD", "timezone": "UTC"}
        },
    },
    {
        "name": "Mapping",
        "params": {"mappingId": "0b090130b58b4819afc78b6dc98b484d", "mappingVersion": 0},
    },
]


def test_docs_example() -> None:
    parsed = parse_transformations(DOCS_EXAMPLE, delta_column_required=True)
    assert parsed.delta_column == DeltaColumn("Datefield", "YYYY-MM-DD", "UTC")
    assert parsed.mapping == MappingRef("0b090130b58b4819afc78b6dc98b484d", 0)
    assert parsed.incremental
    assert parsed.to_list() == DOCS_EXAMPLE
    assert parse_transformations(parsed.to_list()) == parsed


def test_copy_without_delta_column_is_a_full_snapshot() -> None:
    parsed = parse_transformations([{"name": "Copy", "params": {}}])
    assert parsed == Transformations(delta_column=None, mapping=None, has_copy=True)
    assert not parsed.incremental
    assert parsed.to_list() == [{"name": "Copy", "params": {}}]
    assert parse_transformations([{"name": "Copy"}]).to_list() == [{"name": "Copy", "params": {}}]


def test_empty_and_mapping_only() -> None:
    assert parse_transformations([]).to_list() == []
    assert parse_transformations(None).mapping is None
    only = parse_transformations([{"name": "Mapping", "params": {"mappingId": "m1"}}])
    assert only.mapping == MappingRef("m1", None)
    assert only.to_list() == [{"name": "Mapping", "params": {"mappingId": "m1"}}]


def test_mapping_version_as_string_and_delta_timezone_defaults() -> None:
    parsed = parse_transformations(
        [
            {"name": "Copy", "params": {"deltaColumn": {"name": " UpdatedAt "}}},
            {"name": "Mapping", "params": {"mappingId": "m1", "mappingVersion": "3"}},
        ]
    )
    assert parsed.delta_column == DeltaColumn("UpdatedAt", None, "UTC")
    assert parsed.mapping == MappingRef("m1", 3)
    assert parse_delta_column({"name": "d", "timezone": "Etc/UTC"}).timezone == "UTC"


def test_with_delta_column_adds_it_for_the_first_on_demand_run() -> None:
    parsed = parse_transformations([{"name": "Mapping", "params": {"mappingId": "m1"}}])
    updated = parsed.with_delta_column(DeltaColumn("DOB"))
    assert updated.delta_column == DeltaColumn("DOB")
    assert updated.mapping == parsed.mapping
    assert updated.to_list()[0] == {
        "name": "Copy",
        "params": {"deltaColumn": {"name": "DOB", "timezone": "UTC"}},
    }


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("Copy", "transformations must be a list"),
        (["Copy"], "transformations[0] must be an object"),
        ([{"name": "Filter", "params": {}}], "transformations[0].name 'Filter' is not a known"),
        ([{"params": {}}], "transformations[0].name None is not a known"),
        ([{"name": "Copy"}, {"name": "Copy"}], "transformations[1]: only one Copy"),
        ([{"name": "Copy", "params": [], "x": 1}], "transformations[0].x is not allowed"),
        ([{"name": "Copy", "params": []}], "transformations[0].params must be an object"),
        ([{"name": "Mapping"}], "transformations[0].params must be an object"),
        ([{"name": "Copy", "params": {"deltaColum": {}}}], "params.deltaColum is not a Copy"),
        ([{"name": "Copy", "params": {"deltaColumn": "d"}}], "deltaColumn must be an object"),
        ([{"name": "Copy", "params": {"deltaColumn": {}}}], "deltaColumn.name is required"),
        ([{"name": "Copy", "params": {"deltaColumn": {"name": "a\x00"}}}], "not a valid column"),
        (
            [{"name": "Copy", "params": {"deltaColumn": {"name": "d", "timezone": "PST"}}}],
            "deltaColumn.timezone 'PST' is not supported",
        ),
        (
            [{"name": "Copy", "params": {"deltaColumn": {"name": "d", "dateFormat": ""}}}],
            "dateFormat must be a non-empty string",
        ),
        (
            [{"name": "Copy", "params": {"deltaColumn": {"name": "d", "format": "x"}}}],
            "deltaColumn.format is not allowed",
        ),
        ([{"name": "Mapping", "params": {}}], "params.mappingId is required"),
        ([{"name": "Mapping", "params": {"mappingId": "m", "v": 1}}], "params.v is not a Mapping"),
    ],
)
def test_invalid_transformations(value: Any, fragment: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_transformations(value)
    assert fragment in info.value.message


@pytest.mark.parametrize("version", [-1, "x", 1.5, True, "²"])
def test_invalid_mapping_version_is_1412(version: Any) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_transformations(
            [{"name": "Mapping", "params": {"mappingId": "m", "mappingVersion": version}}]
        )
    assert info.value.code == 1412
    assert "mappingVersion must be a non-negative integer" in info.value.message


def test_delta_column_required_for_relational_sources_when_asked() -> None:
    with pytest.raises(ValidationFailed, match="need a Copy transformation with"):
        parse_transformations([{"name": "Copy", "params": {}}], delta_column_required=True)
