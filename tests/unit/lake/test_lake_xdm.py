from __future__ import annotations

import pyarrow as pa
import pytest

from flowservice.errors import SchemaMismatch, ValidationFailed
from flowservice.lake.xdm import (
    XdmField,
    arrow_schema,
    field_from_dict,
    fields_from_arrow,
    fields_from_dicts,
    parse_type,
)

EXPECTED_ARROW = {
    "string": pa.string(),
    "number": pa.float64(),
    "integer": pa.int64(),
    "int": pa.int32(),
    "short": pa.int16(),
    "byte": pa.int8(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "date-time": pa.timestamp("us", tz="UTC"),
    "binary": pa.binary(),
    "decimal(19,4)": pa.decimal128(19, 4),
}


@pytest.mark.parametrize(("xdm", "arrow"), EXPECTED_ARROW.items())
def test_every_type_round_trips_through_arrow(xdm: str, arrow: pa.DataType) -> None:
    schema = arrow_schema([XdmField("c", xdm)])
    assert schema.field("c").type == arrow
    assert fields_from_arrow(schema) == (XdmField("c", xdm),)


def test_type_spellings_are_normalised() -> None:
    assert parse_type(" Decimal( 38 , 0 ) ") == "decimal(38,0)"
    assert parse_type("DATE-TIME") == "date-time"


@pytest.mark.parametrize(
    "bad", ["decimal(39,2)", "decimal(5,6)", "decimal(0,0)", "decimal", "varchar", "map"]
)
def test_bad_types_are_rejected(bad: str) -> None:
    with pytest.raises(ValidationFailed):
        parse_type(bad)


def test_xdm_json_string_formats_are_accepted() -> None:
    field = field_from_dict({"name": "born", "type": "string", "format": "date"})
    assert field == XdmField("born", "date")
    assert (
        field_from_dict({"name": "t", "type": "string", "format": "date-time"}).type == "date-time"
    )


def test_objects_become_structs_and_back() -> None:
    raw = {
        "name": "offset_ts",
        "type": "object",
        "fields": [
            {"name": "utc", "type": "date-time"},
            {"name": "offsetMinutes", "type": "short", "nullable": False},
        ],
    }
    field = field_from_dict(raw)
    schema = arrow_schema([field])
    assert schema.field("offset_ts").type == pa.struct(
        [
            pa.field("utc", pa.timestamp("us", tz="UTC")),
            pa.field("offsetMinutes", pa.int16(), nullable=False),
        ]
    )
    assert fields_from_arrow(schema) == (field,)
    assert field.to_dict() == raw


def test_duplicate_names_are_rejected_case_insensitively() -> None:
    with pytest.raises(ValidationFailed, match="duplicate"):
        fields_from_dicts([{"name": "Id", "type": "int"}, {"name": "id", "type": "string"}])


def test_field_dicts_need_name_and_type() -> None:
    with pytest.raises(ValidationFailed, match="name"):
        field_from_dict({"type": "int"})
    with pytest.raises(ValidationFailed, match="type"):
        field_from_dict({"name": "x"})


def test_arrow_types_without_xdm_counterpart_name_the_column() -> None:
    schema = pa.schema([("tags", pa.list_(pa.string()))])
    with pytest.raises(SchemaMismatch, match="'tags'"):
        fields_from_arrow(schema)


def test_unsigned_and_narrow_arrow_types_widen_to_fit() -> None:
    schema = pa.schema(
        [("a", pa.uint8()), ("b", pa.uint64()), ("c", pa.float32()), ("d", pa.large_string())]
    )
    assert [f.type for f in fields_from_arrow(schema)] == [
        "short",
        "decimal(20,0)",
        "number",
        "string",
    ]
