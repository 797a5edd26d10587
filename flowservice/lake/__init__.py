"""Datasets stored as Delta Lake tables: schemas, batches (one commit each), previews."""

from __future__ import annotations

from flowservice.lake.batches import BatchInfo
from flowservice.lake.conform import SCHEMA_POLICIES, SchemaPolicy
from flowservice.lake.dataset import Dataset, WriteMode, WriteResult
from flowservice.lake.location import LakeLocation, dataset_location
from flowservice.lake.preview import count_rows, preview
from flowservice.lake.schema_forms import dataset_fields, fields_from_json_schema
from flowservice.lake.xdm import XdmField, field_from_dict, fields_from_dicts, parse_type

__all__ = [
    "SCHEMA_POLICIES",
    "BatchInfo",
    "Dataset",
    "LakeLocation",
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
]
