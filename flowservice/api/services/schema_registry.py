"""Schema Registry reads: resolving ids, the views an Accept header asks for, stats.

Tenant resources are ``resources`` rows (kinds in ``KINDS``) whose ``doc`` is the
``xed`` view without registry metadata; the global classes and field groups
come from ``flowservice.schemaregistry.standard``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy.orm import Session

from flowservice.errors import InvalidRequest, NotFound
from flowservice.flows.persistence.datasets import DATASET_KIND as DATASET_KIND
from flowservice.schemaregistry import standard
from flowservice.schemaregistry.accept import AcceptView, parse_accept
from flowservice.schemaregistry.dataset_fields import field_dicts
from flowservice.schemaregistry.ids import (
    TenantRef,
    global_uri,
    parse_tenant_ref,
    tenant_id_of,
    tenant_namespace,
    uri_of,
)
from flowservice.schemaregistry.resolve import full_view
from flowservice.store.repos import identity
from flowservice.store.repos import schema_registry as repo
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

PREFIX = "/data/foundation/schemaregistry"


@dataclass(frozen=True)
class Kind:
    """One tenant resource kind: its store kind, its ``$id`` segment and resourceType."""

    name: str  # "schemas", "fieldgroups", "datatypes"
    store: str
    segment: str
    resource_type: str
    noun: str


SCHEMAS = Kind("schemas", "xdm.schemas", "schemas", "schemas", "schema")
FIELD_GROUPS = Kind("fieldgroups", "xdm.fieldgroups", "mixins", "mixins", "field group")
DATA_TYPES = Kind("datatypes", "xdm.datatypes", "datatypes", "datatypes", "data type")
KINDS = {k.name: k for k in (SCHEMAS, FIELD_GROUPS, DATA_TYPES)}
DESCRIPTORS_KIND = "xdm.descriptors"


@dataclass
class Registry:
    """One request's view of the registry: its scope, tenant and a lookup cache."""

    session: Session
    scope: Scope
    overrides: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def tenant(self) -> str:
        return tenant_id_of(self.scope.org_id)

    @cached_property
    def sandbox_type(self) -> str:
        """``production`` or ``development``, as ``meta:sandboxType`` says it."""
        sandbox = identity.get_sandbox(
            self.session, org_id=self.scope.org_id, name=self.scope.sandbox_name
        )
        return sandbox.type

    def tenant_ref(self, text: str) -> TenantRef | None:
        return parse_tenant_ref(text, self.tenant)

    def row(self, kind: Kind, text: str) -> Resource:
        """The tenant row ``text`` (``$id``, URL-encoded ``$id`` or ``meta:altId``) names."""
        ref = self.tenant_ref(text)
        row = None
        if ref is not None and ref.kind == kind.name:
            row = repo.find(self.session, scope=self.scope, kind=kind.store, resource_id=ref.hex_id)
        if row is None:
            raise NotFound(
                f"The {kind.noun} {text} is not found in this org and sandbox.",
                resource_type=kind.name,
                resource_id=text,
            )
        return row

    def lookup(self, uri: str) -> Mapping[str, Any] | None:
        """The ``xed`` doc of a global or tenant resource, or None."""
        if uri in self.overrides:
            return self.overrides[uri]
        found = standard.global_resource(global_uri(uri))
        if found is not None:
            return found
        ref = self.tenant_ref(uri)
        if ref is None or ref.kind not in KINDS:
            return None
        row = repo.find(
            self.session, scope=self.scope, kind=KINDS[ref.kind].store, resource_id=ref.hex_id
        )
        return row.doc if row is not None else None

    def canonical(self, ref: str) -> str:
        """The ``$id`` a ``$ref`` (``$id``, URL-encoded ``$id`` or ``meta:altId``) names."""
        uri = global_uri(ref)
        if standard.global_resource(uri) is not None:
            return uri
        tenant_ref = self.tenant_ref(ref)
        if tenant_ref is None:
            return ref
        return uri_of(self.tenant, KINDS[tenant_ref.kind].segment, tenant_ref.hex_id)

    def full(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        return full_view(doc, self.lookup)


def version_of(revision: int) -> str:
    return f"1.{revision}"


def revision_of(doc: Mapping[str, Any]) -> int:
    return int(str(doc.get("version", "1.0")).partition(".")[2] or 0)


def selected_doc(registry: Registry, row: Resource, view: AcceptView) -> dict[str, Any]:
    """The row's doc at the version the Accept header names (404 for one never stored)."""
    wanted = view.version
    if wanted is None or wanted == "1":
        return dict(row.doc)
    major, _, minor = wanted.partition(".")
    doc = None
    if major == "1" and minor:
        doc = repo.revision_doc(registry.session, resource_id=row.id, revision=int(minor))
    if doc is None:
        raise NotFound(
            f"Requested resource {row.doc.get('$id')} with version {wanted} is not found",
            resource_type=row.kind,
            resource_id=str(row.doc.get("$id")),
        )
    return doc


def decorate(registry: Registry, row: Resource, doc: Mapping[str, Any]) -> dict[str, Any]:
    """The stored doc plus what the registry adds: org, container, sandbox, metadata."""
    with_meta = dict(doc)
    with_meta.update(
        {
            "imsOrg": row.org_id,
            "meta:registryMetadata": {
                "repo:createdDate": row.created_at,
                "repo:lastModifiedDate": row.updated_at,
                "xdm:createdClientId": row.created_client,
                "xdm:lastModifiedClientId": row.updated_client,
                "xdm:createdUserId": row.created_by,
                "xdm:lastModifiedUserId": row.updated_by,
                "eTag": row.etag,
                "meta:globalLibVersion": standard.GLOBAL_LIB_VERSION,
            },
            "meta:containerId": "tenant",
            "meta:sandboxId": row.sandbox_id,
            "meta:sandboxType": registry.sandbox_type,
            "meta:tenantNamespace": tenant_namespace(registry.tenant),
        }
    )
    return with_meta


def render(registry: Registry, doc: Mapping[str, Any], view: AcceptView) -> dict[str, Any]:
    """``doc`` as the Accept header's variant: refs kept or resolved, text kept or dropped."""
    out = registry.full(doc) if view.full else copy.deepcopy(dict(doc))
    if view.no_titles or view.no_descriptions:
        out = _without_text(out, titles=view.no_titles, descriptions=view.no_descriptions)
    return out


def _without_text(node: Any, *, titles: bool, descriptions: bool) -> Any:
    if isinstance(node, dict):
        return {
            k: _without_text(v, titles=titles, descriptions=descriptions)
            for k, v in node.items()
            if not (titles and k == "title") and not (descriptions and k == "description")
        }
    if isinstance(node, list):
        return [_without_text(v, titles=titles, descriptions=descriptions) for v in node]
    return node


def summary(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The ``xed-id`` listing item."""
    return {
        "$id": doc["$id"],
        "meta:altId": doc["meta:altId"],
        "version": doc.get("version", "1.0"),
        "title": doc.get("title", ""),
    }


def listing(
    items: list[dict[str, Any]],
    *,
    view: AcceptView,
    properties: list[str] | None,
    orderby: str | None,
    limit: int | None,
    links: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A list answer: ``results`` filtered, ordered and cut as asked, ``_page`` and ``_links``."""
    for condition in properties or ():
        items = [item for item in items if _matches(item, condition)]
    order = (orderby or "").split(",")[0].strip()
    if order:
        key = order.lstrip("-+")
        items.sort(key=lambda item: str(item.get(key, "")), reverse=order.startswith("-"))
    if limit is not None:
        items = items[:limit]
    results = [summary(i) for i in items] if view.ids_only or view.links else items
    # one page holds everything: "next" is left out (Adobe types it a string when present)
    page: dict[str, Any] = {"count": len(results)}
    if order:
        page["orderby"] = order
    return {"results": results, "_page": page, "_links": dict(links or {})}


def _matches(item: Mapping[str, Any], condition: str) -> bool:
    """``key==value``, ``key!=value`` or ``key`` (present); lists match on any member."""
    for op in ("!=", "=="):
        if op in condition:
            key, _, value = condition.partition(op)
            found = item.get(key.strip())
            values = found if isinstance(found, list) else [found]
            hit = value.strip() in [str(v) for v in values]
            return hit if op == "==" else not hit
    if not condition.strip():
        raise InvalidRequest("An empty property filter is not valid.", code=1100)
    return condition.strip() in item


def tenant_items(registry: Registry, kind: Kind, view: AcceptView) -> list[dict[str, Any]]:
    rows = repo.list_rows(registry.session, scope=registry.scope, kind=kind.store)
    return [render(registry, decorate(registry, row, row.doc), view) for row in rows]


def global_doc(catalog: Mapping[str, Mapping[str, Any]], text: str, noun: str) -> dict[str, Any]:
    uri = global_uri(text)
    doc = catalog.get(uri)
    if doc is None:
        raise NotFound(f"The {noun} {text} is not found.", resource_type=noun, resource_id=text)
    return copy.deepcopy(dict(doc))


def check_global_version(doc: Mapping[str, Any], view: AcceptView) -> None:
    if view.version not in (None, "1", doc.get("version")):
        raise NotFound(
            f"Requested resource {doc['$id']} with version {view.version} is not found",
            resource_id=str(doc["$id"]),
        )


def schema_fields(
    session: Session, scope: Scope, schema_id: str, content_type: str | None
) -> tuple[str, list[dict[str, Any]]]:
    """A tenant schema's ``$id`` and dataset fields (Catalog ``schemaRef``); 400 if unknown."""
    registry = Registry(session, scope)
    ref = registry.tenant_ref(schema_id)
    row = None
    if ref is not None and ref.kind == "schemas":
        row = repo.find(session, scope=scope, kind=SCHEMAS.store, resource_id=ref.hex_id)
    if row is None:
        raise InvalidRequest(
            f"schemaRef.id {schema_id} names no schema of the Schema Registry in this org and "
            "sandbox; create it at /data/foundation/schemaregistry/tenant/schemas first.",
            code=1455,
        )
    view = parse_accept(content_type)
    try:
        doc = selected_doc(registry, row, view)
    except NotFound as exc:
        raise InvalidRequest(exc.message, code=1455) from None
    fields = field_dicts(registry.full(doc))
    if not fields:
        raise InvalidRequest(f"The schema {schema_id} has no fields a dataset can hold.", code=1455)
    return str(row.doc["$id"]), fields


def stats(registry: Registry) -> dict[str, Any]:
    """``GET /stats``: tenant id, counts, recent resources and which classes schemas use."""
    session, scope = registry.session, registry.scope
    rows = [
        row
        for kind in KINDS.values()
        for row in repo.list_rows(session, scope=scope, kind=kind.store)
    ]
    schemas = [row for row in rows if row.kind == SCHEMAS.store]
    usage = []
    for uri, cls in standard.CLASSES.items():
        using = [r.doc for r in schemas if r.doc.get("meta:class") == uri]
        if using:
            usage.append(
                {
                    "$id": uri,
                    "title": cls["title"],
                    "numberOfSchemas": len(using),
                    "schemas": [
                        {k: d[k] for k in ("$id", "title", "meta:altId") if k in d} for d in using
                    ],
                }
            )
    return {
        "imsOrg": scope.org_id,
        "tenantId": registry.tenant,
        "counts": {
            "schemas": len(schemas),
            "mixins": sum(1 for r in rows if r.kind == FIELD_GROUPS.store),
            "datatypes": sum(1 for r in rows if r.kind == DATA_TYPES.store),
            "classes": 0,
            "unions": 0,
        },
        "recentlyCreatedResources": [
            summary(r.doc) for r in sorted(rows, key=lambda r: -r.created_at)[:5]
        ],
        "recentlyUpdatedResources": [
            summary(r.doc) for r in sorted(rows, key=lambda r: -r.updated_at)[:5]
        ],
        "classUsage": usage,
    }
