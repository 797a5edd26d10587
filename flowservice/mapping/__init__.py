"""Mapping sets: source columns and small expressions onto dataset fields, on Arrow batches."""

from __future__ import annotations

# importing the function modules registers their functions and operators
from flowservice.mapping import (  # noqa: F401
    functions_dates,
    functions_hash,
    functions_logic,
    functions_numbers,
    functions_special,
    functions_text,
    functions_url,
)
from flowservice.mapping.function_registry import function_names, functions, operators
from flowservice.mapping.mapping_set import MappedBatch, MappingRule, MappingSet, RowError
from flowservice.mapping.problems import MappingInvalid, MappingProblem

#: The function names an expression may call.
FUNCTIONS: tuple[str, ...] = function_names()

__all__ = [
    "FUNCTIONS",
    "MappedBatch",
    "MappingInvalid",
    "MappingProblem",
    "MappingRule",
    "MappingSet",
    "RowError",
    "functions",
    "operators",
]
