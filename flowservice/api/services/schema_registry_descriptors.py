"""Schema descriptors: identity (one primary per schema), relationships and others, stored as given.

A descriptor's ``xdm:sourceSchema`` must be a tenant schema of this org and
sandbox and its ``xdm:sourceProperty`` (a JSON Pointer such as
``/personalEmail/address``) a field of that schema's full view.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowservice.api.schemas.schema_registry import XdmDescriptorIn
from flowservice.api.services.body_checks import parse_body
from flowservice.api.services.schema_registry import (
    DESCRIPTORS_KIND,
    SCHEMAS,
    Registry,
    decorate,
)
from flowservice.errors import Conflict, NotFound, ValidationFailed
from flowservice.schemaregistry.ids import new_hex
from flowservice.store.repos import schema_registry as repo
from flowservice.store.tables import Resource

IDENTITY = "xdm:descriptorIdentity"
_GENERATED = ("@id", "imsOrg", "version", "meta:containerId", "meta:sandboxId", "meta:sandboxType")


def _validated(registry: Registry, body: Any, *, own_id: str | None) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise ValidationFailed("The request body must be a JSON object.")
    model = parse_body(XdmDescriptorIn, body)
    schema = registry.row(SCHEMAS, model.source_schema) if _known(registry, model) else None
    if schema is None:
        raise ValidationFailed(
            f"xdm:sourceSchema {model.source_schema} names no schema in this org and sandbox."
        )
    if model.source_property is not None:
        _check_property(registry.full(schema.doc), model.source_property)
    elif model.type == IDENTITY:
        raise ValidationFailed("An identity descriptor needs an xdm:sourceProperty.")
    if model.type == IDENTITY:
        if not model.namespace:
            raise ValidationFailed("An identity descriptor needs an xdm:namespace.")
        if model.is_primary:
            _check_one_primary(registry, str(schema.doc["$id"]), own_id)
    doc = {k: v for k, v in body.items() if k not in _GENERATED}
    doc["xdm:sourceSchema"] = schema.doc["$id"]
    try:
        doc["xdm:sourceVersion"] = int(model.source_version)
    except ValueError:
        raise ValidationFailed("xdm:sourceVersion must be a whole number.") from None
    return doc


def _known(registry: Registry, model: XdmDescriptorIn) -> bool:
    ref = registry.tenant_ref(model.source_schema)
    return (
        ref is not None
        and ref.kind == SCHEMAS.name
        and (
            repo.find(
                registry.session, scope=registry.scope, kind=SCHEMAS.store, resource_id=ref.hex_id
            )
            is not None
        )
    )


def _check_property(full: Mapping[str, Any], pointer: str) -> None:
    node: Mapping[str, Any] = full
    for part in pointer.strip("/").split("/"):
        children = node.get("properties") or {}
        if part not in children:
            raise ValidationFailed(f"xdm:sourceProperty {pointer} is not a field of the schema.")
        node = children[part]


def _check_one_primary(registry: Registry, schema_uri: str, own_id: str | None) -> None:
    for other_id in repo.ids_referencing(
        registry.session,
        scope=registry.scope,
        kind=DESCRIPTORS_KIND,
        key="xdm:sourceSchema",
        uri=schema_uri,
    ):
        other = repo.find(
            registry.session, scope=registry.scope, kind=DESCRIPTORS_KIND, resource_id=other_id
        )
        if (
            other is not None
            and other.id != own_id
            and other.doc.get("@type") == IDENTITY
            and other.doc.get("xdm:isPrimary")
        ):
            raise Conflict(
                f"The schema {schema_uri} already has a primary identity descriptor ({other.id}).",
                resource_type="descriptors",
                resource_id=other.id,
            )


def get(registry: Registry, descriptor_id: str) -> Resource:
    row = repo.find(
        registry.session, scope=registry.scope, kind=DESCRIPTORS_KIND, resource_id=descriptor_id
    )
    if row is None:
        raise NotFound(
            f"The descriptor {descriptor_id} is not found in this org and sandbox.",
            resource_type="descriptors",
            resource_id=descriptor_id,
        )
    return row


def create(registry: Registry, body: Any) -> Resource:
    doc = _validated(registry, body, own_id=None)
    hex_id = new_hex()
    doc["@id"] = hex_id
    return repo.insert(
        registry.session,
        scope=registry.scope,
        kind=DESCRIPTORS_KIND,
        resource_id=hex_id,
        doc=doc,
        name=str(doc["@type"]),
    )


def replace(registry: Registry, row: Resource, body: Any) -> Resource:
    doc = _validated(registry, body, own_id=row.id)
    doc["@id"] = row.id
    return repo.replace(
        registry.session,
        scope=registry.scope,
        row=row,
        revision=repo.next_revision(registry.session, resource_id=row.id),
        doc=doc,
        name=str(doc["@type"]),
    )


def delete(registry: Registry, row: Resource) -> None:
    repo.remove(registry.session, row=row)


def to_wire(registry: Registry, row: Resource) -> dict[str, Any]:
    out = decorate(registry, row, row.doc)
    for key in ("meta:tenantNamespace", "meta:registryMetadata"):
        out.pop(key, None)
    out["version"] = "1"
    return out


def grouped(registry: Registry, *, ids_only: bool, links: bool) -> dict[str, list[Any]]:
    """``GET /tenant/descriptors``: descriptors grouped by ``@type``."""
    out: dict[str, list[Any]] = {}
    for row in repo.list_rows(registry.session, scope=registry.scope, kind=DESCRIPTORS_KIND):
        if ids_only:
            item: Any = row.id
        elif links:
            item = f"/data/foundation/schemaregistry/tenant/descriptors/{row.id}"
        else:
            item = to_wire(registry, row)
        out.setdefault(str(row.doc["@type"]), []).append(item)
    return out
