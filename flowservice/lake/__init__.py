"""Datasets stored as Delta Lake tables: schemas, batches (one commit each), previews."""

from __future__ import annotations

# First: sets deltalake's allocator options, which must precede deltalake's import.
from flowservice.lake import allocator  # noqa: F401
from flowservice.lake.batches import BatchInfo, MergeCounts
from flowservice.lake.conform import SCHEMA_POLICIES, SchemaPolicy
from flowservice.lake.dataset import Dataset, WriteMode, WriteResult
from flowservice.lake.location import LakeLocation, dataset_location
from flowservice.lake.merge import (
    CHANGE_TYPE_COLUMN,
    DELETE_MODES,
    DELETED_AT_COLUMN,
    DeleteMode,
)
from flowservice.lake.preview import count_rows, preview, rows_by_key
from flowservice.lake.schema_forms import dataset_fields, fields_from_json_schema
from flowservice.lake.xdm import XdmField, field_from_dict, fields_from_dicts, parse_type

__all__ = [
    "CHANGE_TYPE_COLUMN",
    "DELETED_AT_COLUMN",
    "DELETE_MODES",
    "SCHEMA_POLICIES",
    "BatchInfo",
    "Dataset",
    "DeleteMode",
    "LakeLocation",
    "MergeCounts",
    "SchemaPolicy",
    "WriteMode",
    "WriteResult",
    "XdmField",
    "count_rows",
    "dataset_fields",
    "dataset_location",
    "field_from_dict",
    "fields_from_dicts",
    "fields_from_json_schema",
    "parse_type",
    "preview",
    "rows_by_key",
]
