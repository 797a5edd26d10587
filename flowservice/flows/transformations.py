"""A flow's ``transformations``: an optional ``Copy`` (with a delta column) and ``Mapping``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flowservice.errors import ValidationFailed

COPY = "Copy"
MAPPING = "Mapping"
KNOWN = (COPY, MAPPING)

# Delta values are compared as UTC instants; other zones would need per-column conversion.
_UTC_NAMES = frozenset({"utc", "gmt", "etc/utc", "etc/gmt", "z", "+00:00", "utc+0", "utc+00:00"})
_MAX_IDENTIFIER = 128  # SQL Server's sysname length
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
INVALID_MAPPING_VERSION = 1412


@dataclass(frozen=True)
class DeltaColumn:
    """The timestamp column whose value puts a row in a run's window."""

    name: str
    date_format: str | None = None
    timezone: str = "UTC"

    def to_params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.date_format is not None:
            out["dateFormat"] = self.date_format
        out["timezone"] = self.timezone
        return out


@dataclass(frozen=True)
class MappingRef:
    """A mapping set by id; ``version=None`` means its newest version."""

    mapping_id: str
    version: int | None = None


@dataclass(frozen=True)
class Transformations:
    """What a flow does to the rows: copy fully or by window, mapped or as they are."""

    delta_column: DeltaColumn | None = None
    mapping: MappingRef | None = None
    has_copy: bool = True

    @property
    def incremental(self) -> bool:
        return self.delta_column is not None

    def with_delta_column(self, delta_column: DeltaColumn) -> Transformations:
        """The same transformations with the Copy's delta column set (first on-demand run)."""
        return Transformations(delta_column=delta_column, mapping=self.mapping, has_copy=True)

    def to_list(self) -> list[dict[str, Any]]:
        """The normalised ``transformations`` as stored and returned."""
        out: list[dict[str, Any]] = []
        if self.has_copy or self.delta_column is not None:
            params: dict[str, Any] = {}
            if self.delta_column is not None:
                params["deltaColumn"] = self.delta_column.to_params()
            out.append({"name": COPY, "params": params})
        if self.mapping is not None:
            mapping: dict[str, Any] = {"mappingId": self.mapping.mapping_id}
            if self.mapping.version is not None:
                mapping["mappingVersion"] = self.mapping.version
            out.append({"name": MAPPING, "params": mapping})
        return out


def parse_transformations(value: Any, *, delta_column_required: bool = False) -> Transformations:
    """Validate a flow's ``transformations`` list; ``ValidationFailed`` names the bad entry.

    Without a ``Copy`` the flow copies full snapshots; without a ``Mapping``
    columns copy as they are. ``delta_column_required`` enforces Adobe's rule
    that relational sources carry a delta column, for callers that want it.
    """
    if value is None:
        value = []
    if not isinstance(value, list):
        raise ValidationFailed("transformations must be a list")
    seen: dict[str, Any] = {}
    for index, item in enumerate(value):
        where = f"transformations[{index}]"
        if not isinstance(item, Mapping):
            raise ValidationFailed(f"{where} must be an object with name and params")
        name = item.get("name")
        if name not in KNOWN:
            raise ValidationFailed(
                f"{where}.name {_show(name)} is not a known transformation "
                f"(known: {', '.join(KNOWN)})"
            )
        if name in seen:
            raise ValidationFailed(f"{where}: only one {name} transformation is allowed")
        unknown = sorted(set(item) - {"name", "params"})
        if unknown:
            raise ValidationFailed(f"{where}.{unknown[0]} is not allowed")
        params = item.get("params", {} if name == COPY else None)
        if not isinstance(params, Mapping):
            raise ValidationFailed(f"{where}.params must be an object")
        seen[name] = _parse_copy(params, where) if name == COPY else _parse_mapping(params, where)
    delta_column: DeltaColumn | None = seen.get(COPY)
    if delta_column_required and delta_column is None:
        raise ValidationFailed(
            "transformations: relational sources need a Copy transformation with "
            "params.deltaColumn.name"
        )
    return Transformations(
        delta_column=delta_column, mapping=seen.get(MAPPING), has_copy=COPY in seen
    )


def parse_delta_column(value: Any, where: str = "deltaColumn") -> DeltaColumn:
    """Validate a ``deltaColumn`` object ({name, dateFormat?, timezone?})."""
    if not isinstance(value, Mapping):
        raise ValidationFailed(f"{where} must be an object with a name")
    unknown = sorted(set(value) - {"name", "dateFormat", "timezone"})
    if unknown:
        raise ValidationFailed(f"{where}.{unknown[0]} is not allowed (name, dateFormat, timezone)")
    name = value.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed(f"{where}.name is required and must be a column name")
    if len(name) > _MAX_IDENTIFIER or _CONTROL.search(name):
        raise ValidationFailed(f"{where}.name is not a valid column name")
    date_format = value.get("dateFormat")
    if date_format is not None and (not isinstance(date_format, str) or not date_format.strip()):
        raise ValidationFailed(f"{where}.dateFormat must be a non-empty string")
    timezone = value.get("timezone", "UTC")
    if not isinstance(timezone, str) or timezone.strip().lower() not in _UTC_NAMES:
        raise ValidationFailed(
            f"{where}.timezone {_show(timezone)} is not supported: delta column values "
            "are compared in UTC, use 'UTC'"
        )
    return DeltaColumn(name=name.strip(), date_format=date_format, timezone="UTC")


def _parse_copy(params: Mapping[str, Any], where: str) -> DeltaColumn | None:
    unknown = sorted(set(params) - {"deltaColumn"})
    if unknown:
        raise ValidationFailed(f"{where}.params.{unknown[0]} is not a Copy parameter")
    if params.get("deltaColumn") is None:
        return None
    return parse_delta_column(params["deltaColumn"], f"{where}.params.deltaColumn")


def _parse_mapping(params: Mapping[str, Any], where: str) -> MappingRef:
    unknown = sorted(set(params) - {"mappingId", "mappingVersion"})
    if unknown:
        raise ValidationFailed(f"{where}.params.{unknown[0]} is not a Mapping parameter")
    mapping_id = params.get("mappingId")
    if not isinstance(mapping_id, str) or not mapping_id.strip():
        raise ValidationFailed(f"{where}.params.mappingId is required")
    version = params.get("mappingVersion")
    if version is None:
        return MappingRef(mapping_id.strip())
    if isinstance(version, str) and re.fullmatch(r"[0-9]+", version.strip()):
        version = int(version.strip())
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ValidationFailed(
            f"{where}.params.mappingVersion must be a non-negative integer (got {_show(version)})",
            code=INVALID_MAPPING_VERSION,
        )
    return MappingRef(mapping_id.strip(), version)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
