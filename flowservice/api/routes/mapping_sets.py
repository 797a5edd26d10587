"""Data Prep /mappingSets: create, list, get (any version), update (a new version), mappings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query

from flowservice.api.deps import JsonBody, RuntimeDep, ScopeDep, WriteAccess
from flowservice.api.patching import required_etag
from flowservice.api.request_bodies import json_body
from flowservice.api.schemas.mapping_sets import MappingSetCreate, MappingSetPreview
from flowservice.api.services import mapping_sets as service
from flowservice.api.services.catalog_query import matching, parse_catalog_query
from flowservice.errors import NotFound
from flowservice.store.repos import resources

router = APIRouter(tags=["Mapping sets"])


@router.post(
    "/mappingSets",
    summary="Create a mapping set (validated against the dataset's schema)",
    openapi_extra=json_body(MappingSetCreate),
)
def create_mapping_set(
    runtime: RuntimeDep, _caller: WriteAccess, scope: ScopeDep, body: JsonBody
) -> dict[str, Any]:
    with runtime.transaction() as session:
        row = service.create_mapping_set(session, runtime.settings, scope, body)
        return service.summary(row)


@router.post(
    "/mappingSets/validate",
    summary="Check a mapping set against the source schema in the body, without storing it",
    openapi_extra=json_body(MappingSetCreate),
)
def validate_mapping_set(runtime: RuntimeDep, scope: ScopeDep, body: JsonBody) -> dict[str, Any]:
    with runtime.transaction() as session:
        return service.validate_mapping_set(session, runtime.settings, scope, body)


@router.post(
    "/mappingSets/preview",
    summary="Map sample rows with a mapping set: mapped rows and per-row errors",
    openapi_extra=json_body(MappingSetPreview),
)
def preview_mapping_set(runtime: RuntimeDep, scope: ScopeDep, body: JsonBody) -> dict[str, Any]:
    with runtime.transaction() as session:
        return service.preview_mapping_set(session, runtime.settings, scope, body)


@router.get("/mappingSets", summary="List mapping sets ({data, _page})")
def list_mapping_sets(
    runtime: RuntimeDep,
    scope: ScopeDep,
    limit: Annotated[str | None, Query(description="Page size, 1 to 100 (default 10)")] = None,
    start: Annotated[str | None, Query(description="Offset of the page (default 0)")] = None,
    name: Annotated[str | None, Query(description="Only mapping sets with this name")] = None,
    order_by: Annotated[
        str | None, Query(alias="orderBy", description="+createdDate, -modifiedDate, ...")
    ] = None,
) -> dict[str, Any]:
    query = parse_catalog_query(
        properties=[f"name=={name}"] if name is not None else [],
        # Data Prep calls the update time both updatedDate and modifiedDate
        order_by=(order_by or "-modifiedDate").replace("updatedDate", "modifiedDate"),
        limit=limit,
        start=start,
        filterable=service.FILTERABLE,
        default_limit=service.DEFAULT_LIMIT,
        max_limit=service.MAX_LIMIT,
    )
    with runtime.transaction() as session:
        rows = resources.list_resources(session, scope=scope, kind=service.KIND)
        items = [service.to_wire(row, scope) for row in rows]
    kept = matching(items, query, created_key="createdDate")
    page = kept[query.start : query.start + query.limit]
    return {"data": page, "_page": {"count": len(kept), "limit": query.limit}, "_links": {}}


@router.get("/mappingSets/{mapping_set_id}", summary="Retrieve a mapping set, any version")
def get_mapping_set(
    mapping_set_id: str,
    runtime: RuntimeDep,
    scope: ScopeDep,
    version: Annotated[
        int | None, Query(ge=0, description="The version to read (default the latest)")
    ] = None,
) -> dict[str, Any]:
    with runtime.transaction() as session:
        row = resources.get_resource(
            session, scope=scope, kind=service.KIND, resource_id=mapping_set_id
        )
        return service.to_wire(row, scope, version)


@router.put(
    "/mappingSets/{mapping_set_id}",
    summary="Update a mapping set: the body becomes its next version",
    openapi_extra=json_body(MappingSetCreate),
)
def update_mapping_set(
    mapping_set_id: str,
    runtime: RuntimeDep,
    _caller: WriteAccess,
    scope: ScopeDep,
    body: JsonBody,
    if_match: Annotated[str | None, Header(description="Optional: the etag last read")] = None,
) -> dict[str, Any]:
    etag = required_etag(if_match) if if_match is not None else None
    with runtime.transaction() as session:
        row = resources.get_resource(
            session, scope=scope, kind=service.KIND, resource_id=mapping_set_id
        )
        row = service.update_mapping_set(
            session, runtime.settings, scope, row, body, expected_etag=etag
        )
        return service.to_wire(row, scope)


@router.get("/mappingSets/{mapping_set_id}/mappings", summary="The mappings of a mapping set")
def list_mappings(
    mapping_set_id: str, runtime: RuntimeDep, scope: ScopeDep
) -> list[dict[str, Any]]:
    with runtime.transaction() as session:
        row = resources.get_resource(
            session, scope=scope, kind=service.KIND, resource_id=mapping_set_id
        )
        mappings: list[dict[str, Any]] = service.to_wire(row, scope)["mappings"]
        return mappings


@router.get(
    "/mappingSets/{mapping_set_id}/mappings/{mapping_id}", summary="One mapping of a mapping set"
)
def get_mapping(
    mapping_set_id: str, mapping_id: str, runtime: RuntimeDep, scope: ScopeDep
) -> dict[str, Any]:
    with runtime.transaction() as session:
        row = resources.get_resource(
            session, scope=scope, kind=service.KIND, resource_id=mapping_set_id
        )
        for mapping in service.to_wire(row, scope)["mappings"]:
            if mapping["id"] == mapping_id:
                found: dict[str, Any] = mapping
                return found
    raise NotFound(
        f"Mapping {mapping_id} is not in mapping set {mapping_set_id}.",
        resource_type="mappings",
        resource_id=mapping_id,
    )
