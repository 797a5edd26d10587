"""Fit incoming Arrow batches to a dataset's schema: safe casts only, new columns by policy."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from flowservice.errors import SchemaMismatch
from flowservice.lake.xdm import arrow_field, xdm_type_of

SchemaPolicy = Literal["evolve", "freeze"]
SCHEMA_POLICIES: tuple[SchemaPolicy, ...] = ("evolve", "freeze")

_INT_DIGITS = {8: 3, 16: 5, 32: 10, 64: 19}
_UINT_DIGITS = {8: 3, 16: 5, 32: 10, 64: 20}


@dataclass(frozen=True)
class WritePlan:
    """The schema a write produces and the columns it adds to the dataset."""

    target: pa.Schema
    added: tuple[str, ...]


def is_safe_cast(src: pa.DataType, dst: pa.DataType) -> bool:
    """True when every value of ``src`` fits ``dst`` (timestamps are value-checked later)."""
    if src == dst or pa.types.is_null(src):
        return True
    if pa.types.is_dictionary(src):
        return is_safe_cast(src.value_type, dst)
    if pa.types.is_integer(src):
        return _int_fits(src, dst)
    if pa.types.is_floating(src):
        return bool(pa.types.is_floating(dst) and dst.bit_width >= src.bit_width)
    if pa.types.is_decimal(src):
        return bool(
            pa.types.is_decimal(dst)
            and dst.scale >= src.scale
            and dst.precision - dst.scale >= src.precision - src.scale
        )
    if _is_string(src):
        return _is_string(dst)
    if _is_binary(src):
        return _is_binary(dst)
    if pa.types.is_date(src):
        return bool(pa.types.is_date(dst))
    if pa.types.is_timestamp(src):
        # Naive timestamps are taken as UTC; a finer unit is checked value by value
        # (a nanosecond that would be dropped fails the cast).
        return bool(pa.types.is_timestamp(dst))
    if pa.types.is_struct(src) and pa.types.is_struct(dst):
        return _struct_fits(src, dst)
    return False


def _int_fits(src: pa.DataType, dst: pa.DataType) -> bool:
    signed = pa.types.is_signed_integer(src)
    if pa.types.is_integer(dst):
        if signed:
            return bool(pa.types.is_signed_integer(dst) and dst.bit_width >= src.bit_width)
        if pa.types.is_unsigned_integer(dst):
            return bool(dst.bit_width >= src.bit_width)
        return bool(dst.bit_width > src.bit_width)
    if pa.types.is_floating(dst):
        # float64 holds integers exactly only up to 2**53.
        return bool(dst.bit_width == 64 and src.bit_width <= 32)
    if pa.types.is_decimal(dst):
        digits = (_INT_DIGITS if signed else _UINT_DIGITS)[src.bit_width]
        return bool(dst.precision - dst.scale >= digits)
    return False


def _struct_fits(src: pa.DataType, dst: pa.DataType) -> bool:
    src_fields = {src.field(i).name: src.field(i).type for i in range(src.num_fields)}
    dst_names = [dst.field(i).name for i in range(dst.num_fields)]
    if set(src_fields) - set(dst_names):
        return False
    return all(
        is_safe_cast(src_fields[dst.field(i).name], dst.field(i).type)
        for i in range(dst.num_fields)
        if dst.field(i).name in src_fields
    )


def _is_string(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t))


def _is_binary(t: pa.DataType) -> bool:
    return bool(
        pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_fixed_size_binary(t)
        or pa.types.is_binary_view(t)
    )


def plan_write(table: pa.Schema | None, incoming: pa.Schema, policy: SchemaPolicy) -> WritePlan:
    """Decide the written schema, or raise SchemaMismatch naming every offending column."""
    if policy not in SCHEMA_POLICIES:
        raise SchemaMismatch(f"unknown schema policy {policy!r}; use one of {SCHEMA_POLICIES}")
    _reject_duplicate_columns(incoming)
    if table is None:
        # The first batch sets the schema, in its canonical XDM form.
        return WritePlan(target=_canonical(incoming, nullable=True), added=())
    by_lower = {f.name.lower(): f for f in table}
    new: list[pa.Field] = []
    lossy: list[str] = []
    for field in incoming:
        existing = by_lower.get(field.name.lower())
        if existing is None:
            new.append(field)
        elif existing.name != field.name:
            lossy.append(
                f"{field.name!r} differs only in case from dataset column {existing.name!r}"
            )
        elif not is_safe_cast(field.type, existing.type):
            lossy.append(f"{field.name!r} is {field.type}, dataset has {existing.type}")
    present = {f.name for f in incoming}
    missing_required = [f.name for f in table if f.name not in present and not f.nullable]
    problems: list[str] = []
    if lossy:
        problems.append("type changes that would lose data: " + "; ".join(lossy))
    if new and policy == "freeze":
        names = ", ".join(repr(f.name) for f in new)
        problems.append(f"new columns not allowed by the dataset's freeze policy: {names}")
    if missing_required:
        names = ", ".join(repr(n) for n in missing_required)
        problems.append(f"required columns missing from the batch: {names}")
    if problems:
        raise SchemaMismatch("batch does not fit the dataset schema: " + " | ".join(problems))
    added = _canonical(pa.schema(new), nullable=True)
    return WritePlan(target=pa.schema([*table, *added]), added=tuple(f.name for f in added))


def _reject_duplicate_columns(schema: pa.Schema) -> None:
    seen: set[str] = set()
    for name in schema.names:
        if name.lower() in seen:
            raise SchemaMismatch(f"batch has column {name!r} twice (names are case-insensitive)")
        seen.add(name.lower())


def _canonical(schema: pa.Schema, *, nullable: bool) -> pa.Schema:
    fields = []
    for field in schema:
        xdm = xdm_type_of(field.type, column=field.name)
        fields.append(arrow_field(xdm).with_nullable(nullable or field.nullable))
    return pa.schema(fields)


def conform_batch(batch: pa.RecordBatch, target: pa.Schema) -> pa.RecordBatch:
    """Cast one batch to ``target``: reorder, fill absent nullable columns, checked casts."""
    strays = [name for name in batch.schema.names if target.get_field_index(name) < 0]
    if strays:
        raise SchemaMismatch(f"columns appeared in the middle of a write: {strays}")
    columns: list[pa.Array] = []
    for field in target:
        index = batch.schema.get_field_index(field.name)
        if index < 0:
            columns.append(pa.nulls(batch.num_rows, type=field.type))
            continue
        column = batch.column(index)
        if column.type != field.type:
            if not is_safe_cast(column.type, field.type):
                raise SchemaMismatch(
                    f"column {field.name!r} is {column.type}, dataset has {field.type}",
                    resource_type="column",
                    resource_id=field.name,
                )
            column = _cast(column, field)
        if not field.nullable and column.null_count:
            raise SchemaMismatch(
                f"column {field.name!r} is required but {column.null_count} rows are null",
                resource_type="column",
                resource_id=field.name,
            )
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=target)


def _cast(column: pa.Array, field: pa.Field) -> pa.Array:
    source = column.type
    if pa.types.is_timestamp(source) and source.tz is None and pa.types.is_timestamp(field.type):
        # Reinterprets the stored values as UTC; nothing is shifted.
        column = column.cast(pa.timestamp(source.unit, tz="UTC"))
    try:
        return pc.cast(column, field.type, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise SchemaMismatch(
            f"column {field.name!r}: values do not fit {field.type} without loss ({exc})",
            resource_type="column",
            resource_id=field.name,
        ) from exc


def conform_stream(
    batches: Iterator[pa.RecordBatch], target: pa.Schema, counter: list[int]
) -> Iterator[pa.RecordBatch]:
    """Conform batches lazily, adding each one's row count to ``counter[0]``."""
    for batch in batches:
        if batch.num_rows == 0:
            continue
        conformed = conform_batch(batch, target)
        counter[0] += conformed.num_rows
        yield conformed
