"""A mapping set: compiled once against source columns and dataset schema, applied per batch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from flowservice.errors import SchemaMismatch
from flowservice.lake.conform import is_safe_cast
from flowservice.lake.xdm import XdmField, arrow_type, xdm_type_of
from flowservice.mapping.casting import Evaluated, Failure, can_cast, cast_checked
from flowservice.mapping.expressions import (
    CompiledExpression,
    ExpressionTypeError,
    compile_expression,
    resolve_column,
    sharing_subexpressions,
)
from flowservice.mapping.problems import MappingInvalid, MappingProblem
from flowservice.mapping.syntax import Column, ExpressionSyntaxError, Node, parse

DEFAULT_ERROR_SAMPLES = 100


@dataclass(frozen=True)
class MappingRule:
    """One ``{sourceAttribute, destinationXdmPath}`` as written by the user."""

    source_attribute: str
    destination: str
    source_type: str | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> MappingRule:
        if not isinstance(raw, Mapping):
            return cls(source_attribute="", destination="")
        source = raw.get("sourceAttribute", raw.get("source"))
        destination = raw.get("destinationXdmPath", raw.get("destination"))
        source_type = raw.get("sourceType")
        return cls(
            source_attribute=source if isinstance(source, str) else "",
            destination=destination if isinstance(destination, str) else "",
            source_type=source_type if isinstance(source_type, str) else None,
        )


@dataclass(frozen=True)
class RowError:
    """Why one input row was left out: its index in the batch and the first failing mapping."""

    row: int
    mapping: int
    destination: str
    reason: str


@dataclass(frozen=True)
class MappedBatch:
    """The rows that mapped cleanly, plus which rows failed and (a sample of) why."""

    records: pa.RecordBatch
    error_mask: pa.Array
    failed_count: int
    errors: tuple[RowError, ...]


@dataclass(frozen=True)
class _Bound:
    index: int
    rule: MappingRule
    path: tuple[str, ...]
    expression: CompiledExpression
    target: pa.DataType
    required: bool


class MappingSet:
    """Compiled mappings; ``apply`` turns a source batch into dataset-shaped rows."""

    def __init__(self, bound: Sequence[_Bound], output_schema: pa.Schema) -> None:
        self._bound = tuple(bound)
        self.output_schema = output_schema

    @property
    def source_columns(self) -> frozenset[str]:
        """Source columns the mappings read (what the connector has to select)."""
        return frozenset().union(*(b.expression.columns for b in self._bound))

    @classmethod
    def compile(
        cls,
        mappings: Sequence[Mapping[str, Any] | MappingRule],
        *,
        source: pa.Schema,
        dataset: Sequence[XdmField] | None = None,
    ) -> MappingSet:
        """Parse and check every mapping; raises MappingInvalid listing all the bad ones."""
        rules = [m if isinstance(m, MappingRule) else MappingRule.from_dict(m) for m in mappings]
        problems: list[MappingProblem] = []
        if not rules:
            problems.append(
                MappingProblem(None, "", "", "a mapping set needs at least one mapping")
            )
        with sharing_subexpressions():
            bound = cls._bind_all(rules, source, dataset, problems)
        if dataset is not None:
            filled = {b.path[0] for b in bound}
            for field in dataset:
                if not field.nullable and field.type != "object" and field.name not in filled:
                    message = "required dataset field has no mapping"
                    problems.append(MappingProblem(None, "", field.name, message))
        if problems:
            raise MappingInvalid(problems)
        return cls(bound, _output_schema(bound, dataset))

    @staticmethod
    def _bind_all(
        rules: Sequence[MappingRule],
        source: pa.Schema,
        dataset: Sequence[XdmField] | None,
        problems: list[MappingProblem],
    ) -> list[_Bound]:
        bound: list[_Bound] = []
        seen: dict[tuple[str, ...], int] = {}
        for index, rule in enumerate(rules):
            try:
                item = _bind(index, rule, source, dataset)
            except _Problem as exc:
                problems.append(
                    MappingProblem(
                        index, rule.source_attribute, rule.destination, exc.message, exc.position
                    )
                )
                continue
            key = tuple(p.lower() for p in item.path)
            if key in seen:
                message = f"destination already filled by mapping {seen[key]}"
                problems.append(
                    MappingProblem(index, rule.source_attribute, rule.destination, message)
                )
                continue
            seen[key] = index
            bound.append(item)
        return bound

    def apply(
        self, batch: pa.RecordBatch, *, max_error_samples: int = DEFAULT_ERROR_SAMPLES
    ) -> MappedBatch:
        """Evaluate every mapping on the whole batch; failed rows are masked out, not raised."""
        leaves: dict[tuple[str, ...], pa.Array] = {}
        failures: list[tuple[_Bound, Failure]] = []
        for item in self._bound:
            result = item.expression.evaluate(batch)
            if result.values.type != item.target:
                converted = cast_checked(result.values, item.target, _type_name(item.target))
                result = Evaluated(converted.values, result.failures + converted.failures)
            failures.extend((item, f) for f in result.failures)
            if item.required and result.values.null_count:
                failures.append((item, _required_failure(result.values, item)))
            leaves[item.path] = result.values
        columns = [
            _assemble(field, (field.name,), leaves, batch.num_rows) for field in self.output_schema
        ]
        full = pa.RecordBatch.from_arrays(columns, schema=self.output_schema)
        mask = pa.repeat(pa.scalar(False), batch.num_rows)
        for _, failure in failures:
            mask = pc.or_(mask, pc.fill_null(failure.mask, False))
        failed_count = int(pc.sum(mask.cast(pa.int64())).as_py() or 0)
        if failed_count == 0:
            return MappedBatch(full, mask, 0, ())
        good = full.filter(pc.invert(mask))
        return MappedBatch(good, mask, failed_count, _samples(mask, failures, max_error_samples))


class _Problem(Exception):
    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


def _bind(
    index: int, rule: MappingRule, source: pa.Schema, dataset: Sequence[XdmField] | None
) -> _Bound:
    if not rule.source_attribute.strip():
        raise _Problem("sourceAttribute is empty")
    if not rule.destination.strip():
        raise _Problem("destinationXdmPath is empty")
    node = _source_node(rule, source)
    try:
        expression = compile_expression(node, source)
    except ExpressionTypeError as exc:
        raise _Problem(exc.message, exc.position) from None
    path = tuple(rule.destination.split("."))
    if any(not part for part in path):
        raise _Problem("destinationXdmPath has an empty segment")
    if dataset is None:
        target = _canonical(expression.type, rule.destination)
        return _Bound(index, rule, path, expression, target, required=False)
    field = _lookup(dataset, path)
    target = arrow_type(field)
    if not _assignable(expression.type, target):
        raise _Problem(
            f"expression gives {_type_name(expression.type)} but {rule.destination!r} is "
            f"{field.type}; convert it explicitly (cast, to_float, to_date, to_timestamp)"
        )
    return _Bound(index, rule, path, expression, target, required=not field.nullable)


def _source_node(rule: MappingRule, source: pa.Schema) -> Node:
    text = rule.source_attribute
    # A plain column name is taken as is, so names with spaces or symbols need no quoting.
    if rule.source_type == "ATTRIBUTE" or resolve_column(text, source) is not None:
        return Column(text, 0)
    try:
        return parse(text)
    except ExpressionSyntaxError as exc:
        raise _Problem(exc.message, exc.position) from None


def _lookup(fields: Sequence[XdmField], path: tuple[str, ...]) -> XdmField:
    current: Sequence[XdmField] = fields
    for depth, part in enumerate(path):
        match = next((f for f in current if f.name == part), None)
        if match is None:
            match = next((f for f in current if f.name.lower() == part.lower()), None)
        if match is None:
            raise _Problem(f"the dataset has no field {'.'.join(path[: depth + 1])!r}")
        if depth == len(path) - 1:
            if match.type == "object":
                raise _Problem(f"{'.'.join(path)!r} is an object; map its fields one by one")
            return match
        if match.type != "object":
            raise _Problem(f"{'.'.join(path[: depth + 1])!r} is {match.type}, not an object")
        current = match.fields
    raise AssertionError("unreachable")


# A double holds every decimal of at most 15 significant digits and gives it back unchanged.
_DOUBLE_DIGITS = 15


def _assignable(result: pa.DataType, target: pa.DataType) -> bool:
    if result == target or is_safe_cast(result, target):
        return True
    if pa.types.is_float64(target) and pa.types.is_decimal(result):
        # XDM's number is a double: decimals that round-trip exactly go in as Data Prep does.
        return bool(result.precision <= _DOUBLE_DIGITS)
    if pa.types.is_string(target):
        return can_cast(result, target)
    # Text converts to any scalar type, row by row, as Data Prep does.
    return bool(pa.types.is_string(result) or pa.types.is_large_string(result)) and can_cast(
        result, target
    )


def _canonical(data_type: pa.DataType, destination: str) -> pa.DataType:
    try:
        return arrow_type(xdm_type_of(data_type, column=destination))
    except SchemaMismatch as exc:
        raise _Problem(exc.message) from None


def _type_name(data_type: pa.DataType) -> str:
    try:
        return xdm_type_of(data_type, column="value").type
    except SchemaMismatch:
        return str(data_type)


def _output_schema(bound: Sequence[_Bound], dataset: Sequence[XdmField] | None) -> pa.Schema:
    """Mapped top-level fields in dataset order (or mapping order), objects complete."""
    if dataset is not None:
        used = {b.path[0] for b in bound}
        names = [f.name for f in dataset if f.name in used]
        by_name = {f.name: f for f in dataset}
        return pa.schema(
            [pa.field(n, arrow_type(by_name[n]), nullable=by_name[n].nullable) for n in names]
        )
    tree: dict[str, Any] = {}
    for item in bound:
        node = tree
        for part in item.path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                rule = item.rule
                message = "destination is below a scalar field"
                problem = MappingProblem(
                    item.index, rule.source_attribute, rule.destination, message
                )
                raise MappingInvalid([problem])
            node = child
        node[item.path[-1]] = item.target
    return pa.schema([_tree_field(name, value) for name, value in tree.items()])


def _tree_field(name: str, value: Any) -> pa.Field:
    if isinstance(value, dict):
        return pa.field(name, pa.struct([_tree_field(n, v) for n, v in value.items()]))
    return pa.field(name, value)


def _assemble(
    field: pa.Field, path: tuple[str, ...], leaves: dict[tuple[str, ...], pa.Array], rows: int
) -> pa.Array:
    wanted = tuple(p.lower() for p in path)
    for key, values in leaves.items():
        # a mapping may target a whole struct (e.g. datetimeoffset's {utc, offset_minutes})
        if tuple(p.lower() for p in key) == wanted:
            return values
    if not pa.types.is_struct(field.type):
        return pa.nulls(rows, field.type)
    children = [field.type.field(i) for i in range(field.type.num_fields)]
    arrays = [_assemble(child, (*path, child.name), leaves, rows) for child in children]
    return pa.StructArray.from_arrays(arrays, fields=children)


def _required_failure(values: pa.Array, item: _Bound) -> Failure:
    def reason(row: int) -> str:
        return f"required field {item.rule.destination!r} is null"

    return Failure(pc.is_null(values), reason)


def _samples(
    mask: pa.Array, failures: Sequence[tuple[_Bound, Failure]], limit: int
) -> tuple[RowError, ...]:
    rows = pc.indices_nonzero(mask).slice(0, max(limit, 0)).to_pylist()
    out: list[RowError] = []
    for row in rows:
        for item, failure in failures:
            if failure.mask[row].as_py():
                out.append(RowError(row, item.index, item.rule.destination, failure.reason(row)))
                break
    return tuple(out)
