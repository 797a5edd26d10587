"""Stored Data Prep mapping sets (kind ``mappingSets``): every version in ``doc["versions"]``.

A run reads the version its flow names and compiles its ``rules``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from flowservice.errors import NotFound
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

MAPPING_SET_KIND = "mappingSets"


def stored_version(row: Resource, number: int | None = None) -> dict[str, Any]:
    """Version ``number`` of a mapping set (the latest when None)."""
    versions: list[dict[str, Any]] = row.doc["versions"]
    if number is None:
        return versions[-1]
    if not 0 <= number < len(versions):
        raise NotFound(
            f"Mapping set {row.id} has no version {number} (versions 0 to {len(versions) - 1}).",
            resource_type=MAPPING_SET_KIND,
            resource_id=row.id,
        )
    return versions[number]


def find_version(
    session: Session, scope: Scope, mapping_set_id: str, number: int | None = None
) -> dict[str, Any]:
    """For runners: a stored version, whose ``rules(...)`` feed ``MappingSet.compile``."""
    row = resources.get_resource(
        session, scope=scope, kind=MAPPING_SET_KIND, resource_id=mapping_set_id
    )
    return stored_version(row, number)


def static_expression(value: str) -> str:
    """A ``STATIC`` mapping's value as a string literal of the expression language."""
    return json.dumps(value, ensure_ascii=False)


def rules(version: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A stored version's mappings in the form ``MappingSet.compile`` takes."""
    out = []
    for mapping in version["mappings"]:
        source_type = mapping["sourceType"]
        text = mapping["sourceAttribute"]
        if source_type == "STATIC":
            text, source_type = static_expression(text), "EXPRESSION"
        rule = {"sourceAttribute": text, "destinationXdmPath": mapping["destinationXdmPath"]}
        if source_type == "ATTRIBUTE":
            rule["sourceType"] = "ATTRIBUTE"
        out.append(rule)
    return out
