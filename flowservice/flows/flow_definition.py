"""The body of ``POST /flows`` (and a flow after a PATCH), validated and normalised.

Checks that need the store (the connections exist in the sandbox, their specs
fit the flow spec) are the caller's: it looks the connections up and calls
``FlowSpec.check_source`` / ``check_target`` with their connection spec ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flowservice.errors import InvalidRequest, ValidationFailed
from flowservice.flows.flow_spec import FlowOptions, FlowSpec, FlowSpecCatalog, parse_options
from flowservice.flows.schedule import Schedule, parse_schedule
from flowservice.flows.transformations import (
    DeltaColumn,
    Transformations,
    parse_transformations,
)

STATE_ON_CREATE = 1410  # "state" is not allowed when creating a flow
MAX_NAME = 256

_CREATE_KEYS = frozenset(
    {
        "name",
        "description",
        "flowSpec",
        "sourceConnectionIds",
        "targetConnectionIds",
        "transformations",
        "scheduleParams",
        "options",
    }
)
# JSON Patch paths a flow accepts (first segment), as the docs' PATCH examples use them
PATCHABLE = frozenset({"name", "description", "scheduleParams", "transformations", "options"})


@dataclass(frozen=True)
class FlowDefinition:
    """What a flow is, apart from its identity, state and audit fields."""

    name: str
    flow_spec: FlowSpec
    source_connection_ids: tuple[str, ...]
    target_connection_ids: tuple[str, ...]
    transformations: Transformations
    schedule: Schedule
    options: FlowOptions
    description: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The normalised flow fields as stored and returned."""
        out: dict[str, Any] = {"name": self.name}
        if self.description is not None:
            out["description"] = self.description
        out.update(
            {
                "flowSpec": {"id": self.flow_spec.id, "version": self.flow_spec.version},
                "sourceConnectionIds": list(self.source_connection_ids),
                "targetConnectionIds": list(self.target_connection_ids),
                "transformations": self.transformations.to_list(),
                "scheduleParams": self.schedule.to_params(),
                "options": self.options.to_params(),
            }
        )
        return out


def parse_flow(body: Any, catalog: FlowSpecCatalog, *, creating: bool = True) -> FlowDefinition:
    """Validate a flow body; ``creating`` refuses ``state`` (1410) and unknown fields."""
    if not isinstance(body, Mapping):
        raise InvalidRequest("the request body must be a JSON object", code=1405)
    if creating and "state" in body:
        raise InvalidRequest(
            "state cannot be set when creating a flow; "
            "use POST /flows/{id}/action?op=enable|disable",
            code=STATE_ON_CREATE,
        )
    if creating:
        unknown = sorted(set(body) - _CREATE_KEYS)
        if unknown:
            raise ValidationFailed(f"{unknown[0]} is not a field of a flow")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise ValidationFailed(
            f"name is required: a non-empty string of at most {MAX_NAME} characters"
        )
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise ValidationFailed("description must be a string")
    spec = _flow_spec(body.get("flowSpec"), catalog)
    return FlowDefinition(
        name=name.strip(),
        description=description,
        flow_spec=spec,
        source_connection_ids=_ids(body, "sourceConnectionIds"),
        target_connection_ids=_ids(body, "targetConnectionIds"),
        transformations=parse_transformations(body.get("transformations")),
        schedule=_schedule(body, spec),
        options=parse_options(body.get("options")),
    )


def check_patch_paths(operations: Iterable[Mapping[str, Any]]) -> None:
    """Refuse JSON Patch operations on fields a flow does not let users change."""
    for index, op in enumerate(operations):
        path = op.get("path")
        first = path.split("/")[1] if isinstance(path, str) and path.startswith("/") else None
        if first not in PATCHABLE:
            raise ValidationFailed(
                f"patch operation {index}: path {path!r} cannot be changed; "
                f"patchable: {', '.join('/' + p for p in sorted(PATCHABLE))}"
            )


def declared_columns(source_params: Mapping[str, Any]) -> list[str] | None:
    """The column names a source connection declares in ``params.columns``; None: all columns."""
    columns = source_params.get("columns")
    if not columns:
        return None
    return [str(c["name"]) for c in columns if isinstance(c, Mapping) and "name" in c]


def check_delta_column(
    delta_column: DeltaColumn | None,
    declared: Sequence[str] | None,
    *,
    source_id: str,
    where: str = "transformations: Copy deltaColumn.name",
) -> None:
    """The delta column is one of the source's declared columns (SQL Server names ignore case).

    A source that declares no columns copies them all, and which exist is only known to
    the source itself: then any name is taken.
    """
    if delta_column is None or declared is None:
        return
    if delta_column.name.lower() not in {name.lower() for name in declared}:
        raise ValidationFailed(
            f"{where} {delta_column.name!r} is not a column of source connection {source_id} "
            f"(its params.columns: {', '.join(declared)})"
        )


def _flow_spec(value: Any, catalog: FlowSpecCatalog) -> FlowSpec:
    if not isinstance(value, Mapping) or not isinstance(value.get("id"), str):
        raise ValidationFailed("flowSpec.id is required")
    spec = catalog.find(value["id"])
    if spec is None:
        raise ValidationFailed(f"flowSpec.id {value['id']!r} is not a known flow spec")
    version = value.get("version")
    spec.check_version(None if version is None else str(version))
    return spec


def _ids(body: Mapping[str, Any], field: str) -> tuple[str, ...]:
    value = body.get(field)
    if (
        not isinstance(value, list)
        or len(value) != 1
        or not isinstance(value[0], str)
        or not value[0].strip()
    ):
        raise ValidationFailed(f"{field} must be a list holding exactly one connection id")
    return (value[0].strip(),)


def _schedule(body: Mapping[str, Any], spec: FlowSpec) -> Schedule:
    if "scheduleParams" not in body:
        raise ValidationFailed("scheduleParams is required")
    return parse_schedule(body["scheduleParams"], schema=spec.schedule_schema)
