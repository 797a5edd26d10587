"""Data Prep mapping sets: versioned lists of ``{sourceAttribute, destinationXdmPath}``.

Every version is kept in the row's ``doc["versions"]``; ``PUT`` adds one and
``GET ?version=N`` reads any of them. Mappings are checked with the mapping
language against the destination dataset's schema before anything is stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from flowservice.api.schemas.mapping_sets import MappingSetCreate
from flowservice.api.services import mapping_schemas
from flowservice.api.services.body_checks import parse_body
from flowservice.errors import ValidationFailed
from flowservice.flows.persistence.mapping_sets import MAPPING_SET_KIND, rules, stored_version
from flowservice.settings import Settings
from flowservice.store.db import now_ms
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

KIND = MAPPING_SET_KIND
DEFAULT_LIMIT, MAX_LIMIT = 10, 100
FILTERABLE = frozenset({"id", "name", "createdDate", "modifiedDate", "updatedDate", "dataSetId"})
SOURCE_TYPES = ("ATTRIBUTE", "EXPRESSION", "STATIC", "text/x.schema-path")
# mapping keys kept as sent (Data Prep's identity settings and labels)
_PASSTHROUGH = (
    "identity",
    "primaryIdentity",
    "identityGroup",
    "namespaceCode",
    "name",
    "description",
    "functionVersion",
)


def parse_model(body: Any) -> MappingSetCreate:
    return parse_body(MappingSetCreate, body)


def _mapping(index: int, raw: Mapping[str, Any]) -> dict[str, Any]:
    """One mapping in its stored form; the Data Prep spellings and ours both accepted."""
    source = raw.get("sourceAttribute", raw.get("source"))
    target = raw.get("destinationXdmPath", raw.get("destination"))
    source_type = raw.get("sourceType") or "EXPRESSION"
    where = f"mappings[{index}]"
    if not isinstance(source, str) or not source.strip():
        raise ValidationFailed(f"{where}: sourceAttribute must be a non-empty string")
    if not isinstance(target, str) or not target.strip():
        raise ValidationFailed(f"{where}: destinationXdmPath must be a non-empty string")
    if source_type not in SOURCE_TYPES:
        raise ValidationFailed(f"{where}: sourceType must be one of {', '.join(SOURCE_TYPES)}")
    out: dict[str, Any] = {
        "id": str(raw.get("id") or uuid.uuid4().hex),
        "sourceType": source_type,
        "sourceAttribute": source,
        "destinationXdmPath": target,
    }
    out.update({k: raw[k] for k in _PASSTHROUGH if k in raw})
    return out


def _version(
    session: Session,
    settings: Settings,
    scope: Scope,
    body: Any,
    *,
    number: int,
    created: tuple[int, str] | None,
) -> dict[str, Any]:
    """Validate a request body and build the stored version ``number``."""
    model = parse_model(body)
    mappings = [_mapping(i, m) for i, m in enumerate(model.mappings)]
    dataset_id, fields = mapping_schemas.destination(session, settings, scope, model)
    version = {"mappings": mappings}
    compiled = rules(version)
    source_schema = mapping_schemas.source(session, scope, model, compiled)
    mapping_schemas.check(compiled, source_schema=source_schema, fields=fields)
    now = now_ms()
    created_at, created_by = created or (now, scope.actor)
    return {
        "version": number,
        "name": model.name,
        "description": model.description,
        "xdmSchema": model.xdm_schema,
        "xdmVersion": model.xdm_version,
        "schemaRef": model.schema_ref,
        "outputSchema": _dumped(model.output_schema),
        "inputSchema": _dumped(model.input_schema),
        "dataSetId": dataset_id,
        "sourceConnectionId": model.source_connection_id,
        "allowNullValues": bool(model.allow_null_values),
        "mappings": [
            m | {"version": number, "createdDate": now, "modifiedDate": now} for m in mappings
        ],
        "createdDate": created_at,
        "createdBy": created_by,
        "modifiedDate": now,
        "modifiedBy": scope.actor,
    }


def _dumped(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    dumped: dict[str, Any] = value.model_dump(by_alias=True, exclude_none=True)
    return dumped


def create_mapping_set(session: Session, settings: Settings, scope: Scope, body: Any) -> Resource:
    version = _version(session, settings, scope, body, number=0, created=None)
    return resources.insert_resource(
        session,
        scope=scope,
        kind=KIND,
        name=version["name"],
        doc={"versions": [version]},
        resource_id=uuid.uuid4().hex,
    )


def update_mapping_set(
    session: Session,
    settings: Settings,
    scope: Scope,
    row: Resource,
    body: Any,
    *,
    expected_etag: str | None,
) -> Resource:
    """``PUT``: the body becomes the next version; earlier versions stay readable."""
    if expected_etag is not None:
        resources.check_etag(row, expected_etag)
    versions = list(row.doc["versions"])
    first = versions[0]
    version = _version(
        session,
        settings,
        scope,
        body,
        number=len(versions),
        created=(first["createdDate"], first["createdBy"]),
    )
    return resources.replace_resource(
        session,
        scope=scope,
        row=row,
        expected_etag=expected_etag,
        doc={"versions": [*versions, version]},
        name=version["name"],
    )


def summary(row: Resource) -> dict[str, Any]:
    """Data Prep's SimpleRepresentation: what create answers."""
    version = stored_version(row)
    return {
        "id": row.id,
        "version": version["version"],
        "createdDate": version["createdDate"],
        "modifiedDate": version["modifiedDate"],
        "createdBy": version["createdBy"],
        "modifiedBy": version["modifiedBy"],
    }


def mapping_wire(mapping: Mapping[str, Any], version: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **mapping,
        "source": mapping["sourceAttribute"],
        "destination": mapping["destinationXdmPath"],
        "identity": bool(mapping.get("identity", False)),
        "primaryIdentity": bool(mapping.get("primaryIdentity", False)),
        "createdBy": version["modifiedBy"],
        "modifiedBy": version["modifiedBy"],
    }


def to_wire(row: Resource, scope: Scope, number: int | None = None) -> dict[str, Any]:
    version = stored_version(row, number)
    item: dict[str, Any] = summary(row) | {
        "version": version["version"],
        "modifiedDate": version["modifiedDate"],
        "modifiedBy": version["modifiedBy"],
    }
    for key in ("name", "description", "xdmSchema", "xdmVersion", "schemaRef", "outputSchema"):
        if version.get(key) is not None:
            item[key] = version[key]
    for key in ("inputSchema", "dataSetId", "sourceConnectionId"):
        if version.get(key) is not None:
            item[key] = version[key]
    item["allowNullValues"] = version["allowNullValues"]
    item["status"] = "PUBLISHED"
    item["latestVersion"] = len(row.doc["versions"]) - 1
    item["mappings"] = [mapping_wire(m, version) for m in version["mappings"]]
    item["imsOrgId"] = row.org_id
    item["sandboxName"] = scope.sandbox_name
    item["etag"] = f'"{row.etag}"'
    return item
