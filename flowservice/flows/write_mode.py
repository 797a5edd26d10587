"""How a run writes into its dataset: the target connection's ``writeMode`` and the source's
``cdcEnabled``.

* ``append`` (default): every run adds its rows; the dataset keeps every version.
* ``merge``: the dataset is the current state of the source table, keyed by its
  primary key (or the target's ``keyColumns``): a run upserts its rows and
  applies deletes in one Delta commit. ``deleteMode`` ``hard`` removes deleted
  rows, ``soft`` keeps them with a deletion time.
* ``cdcEnabled`` on the source connection: runs read SQL Server Change Tracking
  (inserts, updates and deletes since the last run) instead of windows of a
  delta column; every row carries ``_change_request_type`` (``u``/``d``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from flowservice.errors import ValidationFailed

CHANGE_TYPE_COLUMN = "_change_request_type"
E = TypeVar("E", bound=StrEnum)


class WriteMode(StrEnum):
    APPEND = "append"
    MERGE = "merge"


class DeleteMode(StrEnum):
    HARD = "hard"
    SOFT = "soft"


@dataclass(frozen=True)
class TargetWrite:
    """A target connection's write settings, validated."""

    mode: WriteMode = WriteMode.APPEND
    key_columns: tuple[str, ...] | None = None  # None: the source table's primary key
    delete_mode: DeleteMode = DeleteMode.HARD


def parse_target_write(params: Mapping[str, Any] | None) -> TargetWrite:
    """``writeMode``, ``keyColumns`` and ``deleteMode`` of a target connection's params."""
    params = params or {}
    mode = _choice(params, "writeMode", WriteMode, WriteMode.APPEND)
    delete_mode = _choice(params, "deleteMode", DeleteMode, DeleteMode.HARD)
    keys = params.get("keyColumns")
    if keys is not None and not _column_names(keys):
        raise ValidationFailed("params.keyColumns must be a non-empty list of distinct names")
    if mode is WriteMode.APPEND and (keys is not None or "deleteMode" in params):
        raise ValidationFailed(
            "params.keyColumns and params.deleteMode apply to writeMode 'merge' only"
        )
    return TargetWrite(mode, None if keys is None else tuple(keys), delete_mode)


def _column_names(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(k, str) and k.strip() for k in value)
        and len({k.lower() for k in value}) == len(value)
    )


def cdc_enabled(source_params: Mapping[str, Any] | None) -> bool:
    """Adobe's ``params.cdcEnabled`` of a source connection (booleans or "true"/"false")."""
    value = (source_params or {}).get("cdcEnabled", False)
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _choice(params: Mapping[str, Any], field: str, kind: type[E], default: E) -> E:
    value = params.get(field)
    if value is None:
        return default
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(v) for v in kind)
        raise ValidationFailed(f"params.{field} must be one of {allowed}") from None
