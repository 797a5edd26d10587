"""Schema Registry writes: create, replace, patch, delete schemas, field groups, data types.

Every write normalizes the body into the stored ``xed`` doc (ids, version,
``meta:class``, ``meta:extends``), resolves it once to reject unknown refs
and conflicting fields, and, when datasets use an affected schema, holds the
change to Adobe's rule: additive only (``schemaregistry.evolution``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowservice.api.patching import apply_json_patch
from flowservice.api.schemas.schema_registry import XdmResourceIn, XdmSchemaIn
from flowservice.api.services.body_checks import parse_body
from flowservice.api.services.schema_registry import (
    DATASET_KIND,
    DESCRIPTORS_KIND,
    KINDS,
    SCHEMAS,
    Kind,
    Registry,
    version_of,
)
from flowservice.errors import Conflict, ValidationFailed
from flowservice.schemaregistry import standard
from flowservice.schemaregistry.evolution import breaking_changes
from flowservice.schemaregistry.ids import alt_id_of_uri, new_hex, uri_of
from flowservice.schemaregistry.resolve import closure
from flowservice.store.repos import schema_registry as repo
from flowservice.store.tables import Resource

# set by the registry, whatever a body says
_GENERATED = (
    "$id",
    "meta:altId",
    "meta:resourceType",
    "version",
    "meta:class",
    "meta:extends",
    "meta:containerId",
    "meta:sandboxId",
    "meta:sandboxType",
    "meta:tenantNamespace",
    "meta:registryMetadata",
    "imsOrg",
    "refs",
)


def _normalized(
    registry: Registry, kind: Kind, body: Any, *, uri: str, revision: int
) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise ValidationFailed("The request body must be a JSON object.")
    parse_body(XdmSchemaIn if kind is SCHEMAS else XdmResourceIn, body)
    for entry in body.get("allOf") or ():
        if not isinstance(entry.get("$ref"), str) or not entry["$ref"]:
            raise ValidationFailed("Every allOf entry needs a $ref naming a class or field group.")
    doc: dict[str, Any] = {k: v for k, v in body.items() if k not in _GENERATED}
    if doc.get("allOf") is None:
        doc.pop("allOf", None)
    else:
        doc["allOf"] = [
            {**e, "$ref": registry.canonical(e["$ref"])} if not e["$ref"].startswith("#") else e
            for e in doc["allOf"]
        ]
    doc.update(
        {
            "$id": uri,
            "meta:altId": alt_id_of_uri(uri),
            "meta:resourceType": kind.resource_type,
            "version": version_of(revision),
            "type": "object",
        }
    )
    doc.setdefault("meta:xdmType", "object")
    doc.setdefault("meta:extensible", kind is not SCHEMAS)
    doc.setdefault("meta:abstract", kind is not SCHEMAS)
    if kind is SCHEMAS:
        doc["meta:class"] = _schema_class(registry, doc)
    registry.overrides[uri] = doc
    try:
        registry.full(doc)  # unknown refs and conflicting fields are refused here
        extends = [registry.canonical(ref) for ref in closure(doc, registry.lookup)]
        doc["meta:extends"] = list(dict.fromkeys(ref for ref in extends if ref != uri))
    finally:
        registry.overrides.pop(uri, None)
    return doc


def _schema_class(registry: Registry, doc: Mapping[str, Any]) -> str:
    refs = [str(entry["$ref"]) for entry in doc.get("allOf") or ()]
    classes = [ref for ref in refs if ref in standard.CLASSES]
    if len(classes) != 1:
        raise ValidationFailed(
            "A schema's allOf must reference exactly one class, e.g. "
            f"{standard.PROFILE}; found {len(classes)}."
        )
    (cls,) = classes
    for ref in refs:
        target = registry.lookup(ref)
        intended = (target or {}).get("meta:intendedToExtend") or []
        if ref != cls and target is not None and intended and cls not in intended:
            raise ValidationFailed(f"The field group {ref} cannot be used with the class {cls}.")
    return cls


def create(registry: Registry, kind: Kind, body: Any) -> Resource:
    hex_id = new_hex()
    uri = uri_of(registry.tenant, kind.segment, hex_id)
    doc = _normalized(registry, kind, body, uri=uri, revision=0)
    return repo.insert(
        registry.session,
        scope=registry.scope,
        kind=kind.store,
        resource_id=hex_id,
        doc=doc,
        name=str(doc["title"]),
    )


def replace(registry: Registry, kind: Kind, row: Resource, body: Any) -> Resource:
    """``PUT``: the body is the whole new resource; its ``$id`` stays, its version moves on."""
    uri = str(row.doc["$id"])
    revision = repo.next_revision(registry.session, resource_id=row.id)
    doc = _normalized(registry, kind, body, uri=uri, revision=revision)
    if kind is SCHEMAS and doc["meta:class"] != row.doc.get("meta:class"):
        _refuse_if_used(registry, [row], ["the schema's class changed"])
    _check_evolution(registry, uri, row.doc, doc)
    return repo.replace(
        registry.session,
        scope=registry.scope,
        row=row,
        revision=revision,
        doc=doc,
        name=str(doc["title"]),
    )


def patch(registry: Registry, kind: Kind, row: Resource, operations: Any) -> Resource:
    """JSON Patch applied to the ``xed`` doc, then stored as by ``PUT``."""
    return replace(registry, kind, row, apply_json_patch(dict(row.doc), operations))


def _check_evolution(
    registry: Registry, uri: str, old: Mapping[str, Any], new: Mapping[str, Any]
) -> None:
    """Schemas that datasets use and that depend on ``uri`` must change additively only."""
    schemas = repo.list_rows(registry.session, scope=registry.scope, kind=SCHEMAS.store)
    affected = [
        s for s in schemas if s.doc["$id"] == uri or uri in (s.doc.get("meta:extends") or ())
    ]
    for schema in affected:
        if not _datasets_using(registry, schema):
            continue
        before = registry.full(schema.doc)
        registry.overrides[uri] = new
        try:
            after = registry.full(new if schema.doc["$id"] == uri else schema.doc)
        finally:
            registry.overrides.pop(uri, None)
        problems = breaking_changes(before, after)
        if problems:
            _refuse_if_used(registry, [schema], problems)


def _datasets_using(registry: Registry, schema: Resource) -> list[str]:
    return repo.ids_referencing(
        registry.session,
        scope=registry.scope,
        kind=DATASET_KIND,
        key="schemaRef.id",
        uri=str(schema.doc["$id"]),
    )


def _refuse_if_used(registry: Registry, schemas: list[Resource], problems: list[str]) -> None:
    for schema in schemas:
        datasets = _datasets_using(registry, schema)
        if datasets:
            raise Conflict(
                f"The schema {schema.doc['$id']} is used by dataset(s) "
                f"{', '.join(datasets[:5])}: only additive changes are allowed "
                f"(no removed or renamed fields, no type changes, no new required fields). "
                f"Refused: {'; '.join(problems[:10])}.",
                resource_type=SCHEMAS.name,
                resource_id=str(schema.doc["$id"]),
            )


def delete(registry: Registry, kind: Kind, row: Resource) -> None:
    """Refused while datasets use the schema or other resources reference it."""
    uri = str(row.doc["$id"])
    if kind is SCHEMAS:
        datasets = _datasets_using(registry, row)
        if datasets:
            raise Conflict(
                f"The schema {uri} is used by dataset(s) {', '.join(datasets[:5])}; "
                "delete those datasets first.",
                resource_type=kind.name,
                resource_id=uri,
            )
        for descriptor in repo.ids_referencing(
            registry.session,
            scope=registry.scope,
            kind=DESCRIPTORS_KIND,
            key="xdm:sourceSchema",
            uri=uri,
        ):
            found = repo.find(
                registry.session,
                scope=registry.scope,
                kind=DESCRIPTORS_KIND,
                resource_id=descriptor,
            )
            if found is not None:
                repo.remove(registry.session, row=found)
    else:
        users = [
            str(other.doc["$id"])
            for k in KINDS.values()
            for other in repo.list_rows(registry.session, scope=registry.scope, kind=k.store)
            if uri in (other.doc.get("meta:extends") or ())
        ]
        if users:
            raise Conflict(
                f"The {kind.noun} {uri} is referenced by {', '.join(users[:5])}; "
                "remove those references first.",
                resource_type=kind.name,
                resource_id=uri,
            )
    repo.remove(registry.session, row=row)
