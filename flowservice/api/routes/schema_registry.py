"""Schema Registry (tenant container): stats, schemas, field groups (and mixins), data types,
descriptors, and the global classes and field groups, at ``/data/foundation/schemaregistry``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from flowservice.api.deps import JsonBody, RuntimeDep, ScopeDep, WriteAccess
from flowservice.api.request_bodies import JSON_PATCH_BODY, json_body
from flowservice.api.schemas.schema_registry import XdmDescriptorIn, XdmResourceIn, XdmSchemaIn
from flowservice.api.services import schema_registry as reg
from flowservice.api.services import schema_registry_descriptors as descriptors
from flowservice.api.services import schema_registry_writes as writes
from flowservice.errors import InvalidRequest
from flowservice.schemaregistry import standard
from flowservice.schemaregistry.accept import parse_accept

router = APIRouter(prefix=reg.PREFIX, tags=["Schema Registry"])

AcceptHeader = Annotated[
    str | None,
    Header(description="application/vnd.adobe.xed[-full|-id|-notext]+json[; version=1]"),
]
DescriptorAccept = Annotated[
    str | None,
    Header(description="application/vnd.adobe.xdm[-id|-link]+json"),
]
PropertyQuery = Annotated[
    str | None, Query(description="Filter: key==value, key!=value or key (comma-separated)")
]
OrderQuery = Annotated[str | None, Query(description="title or -title")]
LimitQuery = Annotated[int | None, Query(ge=0, le=500, description="At most this many")]


def _conditions(prop: str | None) -> list[str]:
    return [c for c in (prop or "").split(",") if c.strip()]


@router.get("/stats", summary="Your tenant id and Schema Registry usage")
def get_stats(runtime: RuntimeDep, scope: ScopeDep) -> dict[str, Any]:
    with runtime.transaction() as session:
        return reg.stats(reg.Registry(session, scope))


def _add_tenant_routes(path: str, kind: reg.Kind) -> None:
    noun = kind.noun

    @router.get(f"/tenant/{path}", summary=f"List {noun}s of the tenant container")
    def list_items(
        runtime: RuntimeDep,
        scope: ScopeDep,
        accept: AcceptHeader = None,
        property: PropertyQuery = None,
        orderby: OrderQuery = None,
        limit: LimitQuery = None,
    ) -> dict[str, Any]:
        view = parse_accept(accept, listing=True)
        with runtime.transaction() as session:
            registry = reg.Registry(session, scope)
            return reg.listing(
                reg.tenant_items(registry, kind, view),
                view=view,
                properties=_conditions(property),
                orderby=orderby,
                limit=limit,
            )

    @router.get(f"/tenant/{path}/{{resource_id:path}}", summary=f"Retrieve a {noun}")
    def get_item(
        resource_id: str, runtime: RuntimeDep, scope: ScopeDep, accept: AcceptHeader = None
    ) -> dict[str, Any]:
        view = parse_accept(accept)
        with runtime.transaction() as session:
            registry = reg.Registry(session, scope)
            row = registry.row(kind, resource_id)
            doc = reg.selected_doc(registry, row, view)
            return reg.render(registry, reg.decorate(registry, row, doc), view)

    model = XdmSchemaIn if kind is reg.SCHEMAS else XdmResourceIn

    @router.post(
        f"/tenant/{path}",
        status_code=201,
        summary=f"Create a {noun}",
        openapi_extra=json_body(model),
    )
    def create_item(
        runtime: RuntimeDep,
        _caller: WriteAccess,
        scope: ScopeDep,
        body: JsonBody,
        response: Response,
    ) -> dict[str, Any]:
        with runtime.transaction() as session:
            registry = reg.Registry(session, scope)
            row = writes.create(registry, kind, body)
            made = reg.decorate(registry, row, row.doc)
        response.headers["Location"] = f"{reg.PREFIX}/tenant/{path}/{made['meta:altId']}"
        return made

    @router.put(
        f"/tenant/{path}/{{resource_id:path}}",
        summary=f"Replace a {noun}",
        openapi_extra=json_body(model),
    )
    def replace_item(
        resource_id: str, runtime: RuntimeDep, _caller: WriteAccess, scope: ScopeDep, body: JsonBody
    ) -> dict[str, Any]:
        with runtime.transaction() as session:
            registry = reg.Registry(session, scope)
            row = writes.replace(registry, kind, registry.row(kind, resource_id), body)
            return reg.decorate(registry, row, row.doc)

    @router.patch(
        f"/tenant/{path}/{{resource_id:path}}",
        summary=f"Update a {noun} with JSON Patch",
        openapi_extra=JSON_PATCH_BODY,
    )
    def patch_item(
        resource_id: str, runtime: RuntimeDep, _caller: WriteAccess, scope: ScopeDep, body: JsonBody
    ) -> dict[str, Any]:
        with runtime.transaction() as session:
            registry = reg.Registry(session, scope)
            row = writes.patch(registry, kind, registry.row(kind, resource_id), body)
            return reg.decorate(registry, row, row.doc)

    @router.delete(
        f"/tenant/{path}/{{resource_id:path}}",
        status_code=204,
        response_class=Response,
        summary=f"Delete a {noun} (refused while in use)",
    )
    def delete_item(
        resource_id: str, runtime: RuntimeDep, _caller: WriteAccess, scope: ScopeDep
    ) -> Response:
        with runtime.transaction() as session:
            registry = reg.Registry(session, scope)
            writes.delete(registry, kind, registry.row(kind, resource_id))
        return Response(status_code=204)


for _path, _kind in (
    ("schemas", reg.SCHEMAS),
    ("fieldgroups", reg.FIELD_GROUPS),
    ("mixins", reg.FIELD_GROUPS),
    ("datatypes", reg.DATA_TYPES),
):
    _add_tenant_routes(_path, _kind)


def _add_global_routes(
    path: str, catalog: Mapping[str, Mapping[str, Any]], noun: str, nouns: str
) -> None:
    @router.get(f"/global/{path}", summary=f"List the standard {nouns}")
    def list_global(
        runtime: RuntimeDep,
        scope: ScopeDep,
        accept: AcceptHeader = None,
        property: PropertyQuery = None,
        orderby: OrderQuery = None,
        limit: LimitQuery = None,
    ) -> dict[str, Any]:
        view = parse_accept(accept, listing=True)
        with runtime.transaction() as session:
            registry = reg.Registry(session, scope)
            items = [reg.render(registry, doc, view) for doc in catalog.values()]
        return reg.listing(
            items, view=view, properties=_conditions(property), orderby=orderby, limit=limit
        )

    @router.get(f"/global/{path}/{{resource_id:path}}", summary=f"Retrieve a standard {noun}")
    def get_global(
        resource_id: str, runtime: RuntimeDep, scope: ScopeDep, accept: AcceptHeader = None
    ) -> dict[str, Any]:
        view = parse_accept(accept)
        doc = reg.global_doc(catalog, resource_id, noun)
        reg.check_global_version(doc, view)
        with runtime.transaction() as session:
            return reg.render(reg.Registry(session, scope), doc, view)


_add_global_routes("classes", standard.CLASSES, "class", "classes")
_add_global_routes("fieldgroups", standard.FIELD_GROUPS, "field group", "field groups")
_add_global_routes("mixins", standard.FIELD_GROUPS, "field group", "field groups")


def _descriptor_view(accept: str | None, *, listing: bool) -> tuple[bool, bool]:
    view = parse_accept(accept, listing=listing)
    if view.family != "xdm" and accept and "vnd.adobe" in accept:
        raise InvalidRequest(
            "The supplied Accept header is not valid: descriptors take "
            "application/vnd.adobe.xdm[-id|-link]+json",
            code=1008 if listing else 1009,
        )
    return view.ids_only, view.links


@router.get("/tenant/descriptors", summary="List descriptors, grouped by @type")
def list_descriptors(
    runtime: RuntimeDep, scope: ScopeDep, accept: DescriptorAccept = None
) -> dict[str, Any]:
    ids_only, links = _descriptor_view(accept, listing=True)
    with runtime.transaction() as session:
        return descriptors.grouped(reg.Registry(session, scope), ids_only=ids_only, links=links)


@router.get("/tenant/descriptors/{descriptor_id}", summary="Retrieve a descriptor")
def get_descriptor(
    descriptor_id: str, runtime: RuntimeDep, scope: ScopeDep, accept: DescriptorAccept = None
) -> dict[str, Any]:
    _descriptor_view(accept, listing=False)
    with runtime.transaction() as session:
        registry = reg.Registry(session, scope)
        return descriptors.to_wire(registry, descriptors.get(registry, descriptor_id))


@router.post(
    "/tenant/descriptors",
    status_code=201,
    summary="Create a descriptor",
    openapi_extra=json_body(XdmDescriptorIn),
)
def create_descriptor(
    runtime: RuntimeDep, _caller: WriteAccess, scope: ScopeDep, body: JsonBody, response: Response
) -> dict[str, Any]:
    with runtime.transaction() as session:
        registry = reg.Registry(session, scope)
        made = descriptors.to_wire(registry, descriptors.create(registry, body))
    response.headers["Location"] = f"{reg.PREFIX}/tenant/descriptors/{made['@id']}"
    return made


@router.put(
    "/tenant/descriptors/{descriptor_id}",
    summary="Replace a descriptor",
    openapi_extra=json_body(XdmDescriptorIn),
)
def replace_descriptor(
    descriptor_id: str, runtime: RuntimeDep, _caller: WriteAccess, scope: ScopeDep, body: JsonBody
) -> dict[str, Any]:
    with runtime.transaction() as session:
        registry = reg.Registry(session, scope)
        row = descriptors.replace(registry, descriptors.get(registry, descriptor_id), body)
        return descriptors.to_wire(registry, row)


@router.delete(
    "/tenant/descriptors/{descriptor_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a descriptor",
)
def delete_descriptor(
    descriptor_id: str, runtime: RuntimeDep, _caller: WriteAccess, scope: ScopeDep
) -> Response:
    with runtime.transaction() as session:
        registry = reg.Registry(session, scope)
        descriptors.delete(registry, descriptors.get(registry, descriptor_id))
    return Response(status_code=204)
