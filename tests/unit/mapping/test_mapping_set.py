from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowservice.lake import fields_from_dicts
from flowservice.mapping import MappingInvalid, MappingSet

SOURCE = pa.schema(
    [
        ("CustomerID", pa.int32()),
        ("First Name", pa.string()),
        ("last", pa.string()),
        ("born", pa.string()),
        ("balance", pa.string()),
        ("created", pa.timestamp("us")),
    ]
)
DATASET = fields_from_dicts(
    [
        {"name": "id", "type": "integer", "nullable": False},
        {
            "name": "person",
            "type": "object",
            "fields": [
                {"name": "name", "type": "string"},
                {"name": "born", "type": "date"},
            ],
        },
        {"name": "balance", "type": "decimal(12,2)"},
        {"name": "createdAt", "type": "date-time"},
        {"name": "unused", "type": "string"},
    ]
)
MAPPINGS = [
    {"sourceAttribute": "CustomerID", "destinationXdmPath": "id"},
    {"sourceAttribute": "First Name", "destinationXdmPath": "person.name"},
    {"sourceAttribute": "to_date(born, 'yyyy-MM-dd')", "destinationXdmPath": "person.born"},
    {"sourceAttribute": "balance", "destinationXdmPath": "balance"},
    {"sourceAttribute": "created", "destinationXdmPath": "createdAt"},
]


def _batch() -> pa.RecordBatch:
    return pa.record_batch(
        [
            pa.array([1, 2, None, 4], pa.int32()),
            pa.array(["Zoë", None, "x", "Ünal"]),
            pa.array(["A", "B", "C", "D"]),
            pa.array(["2000-02-29", "1999-02-29", "2001-01-01", None]),
            pa.array(["10.50", "1", "2", "abc"]),
            pa.array([dt.datetime(2024, 1, 1, 8)] * 4, pa.timestamp("us")),
        ],
        schema=SOURCE,
    )


def test_good_rows_come_out_in_dataset_shape() -> None:
    mapping = MappingSet.compile(MAPPINGS, source=SOURCE, dataset=DATASET)
    assert mapping.output_schema.names == ["id", "person", "balance", "createdAt"]
    assert mapping.source_columns == {"CustomerID", "First Name", "born", "balance", "created"}
    result = mapping.apply(_batch())
    assert result.records.to_pylist() == [
        {
            "id": 1,
            "person": {"name": "Zoë", "born": dt.date(2000, 2, 29)},
            "balance": Decimal("10.50"),
            "createdAt": dt.datetime(2024, 1, 1, 8, tzinfo=dt.UTC),
        }
    ]
    assert result.error_mask.to_pylist() == [False, True, True, True]
    assert result.failed_count == 3
    assert [(e.row, e.destination) for e in result.errors] == [
        (1, "person.born"),
        (2, "id"),
        (3, "balance"),
    ]
    assert result.errors[0].reason == "cannot parse '1999-02-29' as a date with format 'yyyy-MM-dd'"
    assert result.errors[1].reason == "required field 'id' is null"
    assert result.errors[2].reason == "cannot convert 'abc' to decimal(12,2)"


def test_error_samples_are_capped_but_all_failures_are_counted() -> None:
    mapping = MappingSet.compile(MAPPINGS, source=SOURCE, dataset=DATASET)
    result = mapping.apply(_batch(), max_error_samples=1)
    assert result.failed_count == 3 and len(result.errors) == 1


def test_every_bad_mapping_is_named_in_one_error() -> None:
    bad = [
        {"sourceAttribute": "CustomerID", "destinationXdmPath": "id"},
        {"sourceAttribute": "lower(last", "destinationXdmPath": "person.name"},
        {"sourceAttribute": "nope", "destinationXdmPath": "balance"},
        {"sourceAttribute": "last", "destinationXdmPath": "person.age"},
        {"sourceAttribute": "created", "destinationXdmPath": "person.born"},
        {"sourceAttribute": "CustomerID", "destinationXdmPath": "ID"},
        {"sourceAttribute": "last", "destinationXdmPath": "person"},
    ]
    with pytest.raises(MappingInvalid) as err:
        MappingSet.compile(bad, source=SOURCE, dataset=DATASET)
    error = err.value
    assert (error.code, error.status) == (1419, 400)
    by_index = {p.index: p for p in error.problems}
    assert sorted(i for i in by_index if i is not None) == [1, 2, 3, 4, 5, 6]
    assert None not in by_index
    assert by_index[1].position == 10 and "expected ','" in by_index[1].message
    assert "no source column 'nope'" in by_index[2].message
    assert "no field 'person.age'" in by_index[3].message
    assert "date-time but 'person.born' is date" in by_index[4].message
    assert "already filled by mapping 0" in by_index[5].message
    assert "is an object" in by_index[6].message
    assert (
        "mapping 1 (sourceAttribute 'lower(last' -> destinationXdmPath 'person.name')"
        in error.message
    )


def test_required_field_without_mapping_and_empty_sets_are_refused() -> None:
    with pytest.raises(
        MappingInvalid, match="dataset field 'id': required dataset field has no mapping"
    ):
        MappingSet.compile(MAPPINGS[1:], source=SOURCE, dataset=DATASET)
    with pytest.raises(MappingInvalid, match="at least one mapping"):
        MappingSet.compile([], source=SOURCE, dataset=DATASET)
    with pytest.raises(MappingInvalid, match="sourceAttribute is empty"):
        MappingSet.compile([{"destinationXdmPath": "id"}], source=SOURCE, dataset=DATASET)


def test_lossy_implicit_conversions_need_an_explicit_cast() -> None:
    source = pa.schema([("price", pa.float64())])
    dataset = fields_from_dicts([{"name": "amount", "type": "decimal(10,2)"}])
    with pytest.raises(MappingInvalid, match="convert it explicitly"):
        MappingSet.compile(
            [{"sourceAttribute": "price", "destinationXdmPath": "amount"}],
            source=source,
            dataset=dataset,
        )
    mapping = MappingSet.compile(
        [{"sourceAttribute": "cast(price, 'decimal(10,2)')", "destinationXdmPath": "amount"}],
        source=source,
        dataset=dataset,
    )
    # An explicit cast from a float rounds to the scale but never overflows silently.
    result = mapping.apply(pa.record_batch([pa.array([1.25, 0.125, 1e12])], schema=source))
    assert result.records.column("amount").to_pylist() == [Decimal("1.25"), Decimal("0.12")]
    assert result.failed_count == 1 and result.errors[0].row == 2


@settings(max_examples=60, deadline=None)
@given(data=st.data(), precision=st.integers(1, 15))
def test_decimals_that_a_double_holds_go_into_an_xdm_number_unchanged(
    data: st.DataObject, precision: int
) -> None:
    scale = data.draw(st.integers(0, precision))
    values = data.draw(
        st.lists(
            st.none()
            | st.decimals(
                min_value=-(10 ** (precision - scale)) + 1,
                max_value=10 ** (precision - scale) - 1,
                places=scale,
                allow_nan=False,
                allow_infinity=False,
            ),
            max_size=20,
        )
    )
    decimal_type = pa.decimal128(precision, scale)
    source = pa.record_batch([pa.array(values, decimal_type)], names=["score"])
    dataset = fields_from_dicts([{"name": "score", "type": "number"}])
    rules = [{"sourceAttribute": "score", "destinationXdmPath": "score"}]
    mapped = MappingSet.compile(rules, source=source.schema, dataset=dataset).apply(source)
    assert mapped.failed_count == 0
    back = [
        None if v is None else Decimal(repr(v)).quantize(Decimal(1).scaleb(-scale))
        for v in mapped.records.column(0).to_pylist()
    ]
    assert back == values


def test_decimals_wider_than_a_double_need_an_explicit_to_float() -> None:
    source = pa.schema([("score", pa.decimal128(18, 2))])
    dataset = fields_from_dicts([{"name": "score", "type": "number"}])
    with pytest.raises(MappingInvalid, match="to_float"):
        MappingSet.compile(
            [{"sourceAttribute": "score", "destinationXdmPath": "score"}],
            source=source,
            dataset=dataset,
        )
    MappingSet.compile(
        [{"sourceAttribute": "to_float(score)", "destinationXdmPath": "score"}],
        source=source,
        dataset=dataset,
    )


def test_attribute_source_type_is_a_plain_column_even_if_it_looks_like_a_call() -> None:
    source = pa.schema([("lower(x)", pa.string())])
    mapping = MappingSet.compile(
        [{"sourceAttribute": "lower(x)", "destinationXdmPath": "y", "sourceType": "ATTRIBUTE"}],
        source=source,
    )
    out = mapping.apply(pa.record_batch([pa.array(["KEEP"])], schema=source))
    assert out.records.to_pylist() == [{"y": "KEEP"}]


def test_without_a_dataset_schema_types_come_from_the_expressions() -> None:
    mapping = MappingSet.compile(
        [
            {"sourceAttribute": "CustomerID", "destinationXdmPath": "id"},
            {
                "sourceAttribute": "concat(`First Name`, ' ', last)",
                "destinationXdmPath": "person.fullName",
            },
            {"sourceAttribute": "to_timestamp(born)", "destinationXdmPath": "person.born"},
        ],
        source=SOURCE,
    )
    assert mapping.output_schema == pa.schema(
        [
            ("id", pa.int32()),
            (
                "person",
                pa.struct([("fullName", pa.string()), ("born", pa.timestamp("us", tz="UTC"))]),
            ),
        ]
    )
    result = mapping.apply(_batch())
    assert result.failed_count == 1  # 1999-02-29 does not exist
    assert result.records.num_rows == 3
    assert result.records.column("person").to_pylist()[2] == {"fullName": "Ünal D", "born": None}


def test_a_batch_without_failures_is_returned_whole() -> None:
    mapping = MappingSet.compile(
        [{"sourceAttribute": "upper(last)", "destinationXdmPath": "l"}], source=SOURCE
    )
    result = mapping.apply(_batch())
    assert result.failed_count == 0 and result.errors == ()
    assert result.records.column("l").to_pylist() == ["A", "B", "C", "D"]


def test_malformed_entries_are_reported_not_crashed_on() -> None:
    with pytest.raises(MappingInvalid) as err:
        MappingSet.compile(
            ["id", {"sourceAttribute": 5, "destinationXdmPath": "id"}],  # type: ignore[list-item]
            source=SOURCE,
            dataset=DATASET,
        )
    assert [p.index for p in err.value.problems][:2] == [0, 1]


def test_a_whole_struct_column_maps_as_is() -> None:
    # datetimeoffset arrives from SQL Server as {utc, offset_minutes}; mapped whole, it must survive
    offset_type = pa.struct([("utc", pa.timestamp("us", tz="UTC")), ("offset_minutes", pa.int16())])
    source = pa.schema([("id", pa.int32()), ("placed", offset_type)])
    values = [
        {"utc": dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC), "offset_minutes": 330},
        None,
    ]
    batch = pa.record_batch(
        [pa.array([1, 2], pa.int32()), pa.array(values, offset_type)], schema=source
    )
    mapping = MappingSet.compile(
        [
            {"sourceAttribute": "id", "destinationXdmPath": "id"},
            {"sourceAttribute": "placed", "destinationXdmPath": "placedAt"},
        ],
        source=source,
    )
    result = mapping.apply(batch)
    assert result.failed_count == 0
    assert result.records.column("placedAt").to_pylist() == values
