"""Mapping sets: source columns and small expressions onto dataset fields, on Arrow batches."""

from __future__ import annotations

from flowservice.mapping.expressions import FUNCTIONS
from flowservice.mapping.mapping_set import MappedBatch, MappingRule, MappingSet, RowError
from flowservice.mapping.problems import MappingInvalid, MappingProblem

__all__ = [
    "FUNCTIONS",
    "MappedBatch",
    "MappingInvalid",
    "MappingProblem",
    "MappingRule",
    "MappingSet",
    "RowError",
]
