"""Catalog /dataSets: create, list, get, patch, delete, preview."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from sqlalchemy.orm import Session

from flowservice.api.deps import JsonBody, RuntimeDep, ScopeDep, WriteAccess
from flowservice.api.patching import required_etag
from flowservice.api.request_bodies import json_body
from flowservice.api.runtime import Runtime
from flowservice.api.schemas.datasets import DataSetCreate
from flowservice.api.services import batches, datasets
from flowservice.api.services.catalog_query import parse_catalog_query, select
from flowservice.api.services.dataset_preview import DEFAULT_PREVIEW_ROWS, preview_body
from flowservice.api.services.json_decimals import DECIMALS_AS_STRINGS, DECIMALS_AS_STRINGS_HELP
from flowservice.lake.preview import MAX_PREVIEW_ROWS
from flowservice.settings import CATALOG_PREFIX
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

router = APIRouter(tags=["Datasets"])


def _item(session: Session, runtime: Runtime, scope: Scope, row: Resource) -> dict[str, Any]:
    """The full dataset object: its row plus what the lake knows (schema, last batch)."""
    dataset = datasets.dataset_of(runtime.settings, scope, row)
    return datasets.to_wire(
        row,
        scope,
        fields=dataset.fields(),
        base_path=dataset.location.uri,
        last_batch=batches.last_batch(session, runtime, scope, row),
    )


def _only(item: dict[str, Any], properties: str | None) -> dict[str, Any]:
    """``properties=a,b``: only those top-level properties."""
    if not properties:
        return item
    wanted = {p.strip() for p in properties.split(",") if p.strip()}
    return {k: v for k, v in item.items() if k in wanted}


@router.post(
    "/dataSets",
    status_code=201,
    response_model=list[str],
    summary="Create a dataset (and its Delta table)",
    openapi_extra=json_body(DataSetCreate),
)
def create_dataset(
    runtime: RuntimeDep, _caller: WriteAccess, scope: ScopeDep, body: JsonBody, response: Response
) -> list[str]:
    with runtime.transaction() as session:
        row = datasets.create_dataset(session, runtime.settings, scope, body)
    response.headers["Location"] = f"{CATALOG_PREFIX}/dataSets/{row.id}"
    return [f"@/dataSets/{row.id}"]


@router.get("/dataSets", summary="List datasets (an object keyed by id)")
def list_datasets(
    runtime: RuntimeDep,
    scope: ScopeDep,
    limit: Annotated[str | None, Query(description="Page size, 1 to 100 (default 50)")] = None,
    start: Annotated[str | None, Query(description="Offset of the page (default 0)")] = None,
    order_by: Annotated[
        str | None, Query(alias="orderBy", description="asc:created, desc:name, ...")
    ] = None,
    property: Annotated[
        list[str] | None, Query(description="Filter, repeatable: name==x, name~^acme, tags")
    ] = None,
    name: Annotated[str | None, Query(description="Only datasets with this name")] = None,
    properties: Annotated[
        str | None, Query(description="Comma-separated top-level properties to return")
    ] = None,
) -> dict[str, Any]:
    conditions = list(property or ())
    if name is not None:
        conditions.append(f"name=={name}")
    query = parse_catalog_query(
        properties=conditions,
        order_by=order_by,
        limit=limit,
        start=start,
        filterable=datasets.FILTERABLE,
        default_limit=datasets.DEFAULT_LIMIT,
        max_limit=datasets.MAX_LIMIT,
    )
    with runtime.transaction() as session:
        rows = {
            row.id: row
            for row in resources.list_resources(session, scope=scope, kind=datasets.KIND)
        }
        # filter and page on the metadata; only the page's datasets are read from the lake
        light = [datasets.to_wire(row, scope, fields=None, base_path="") for row in rows.values()]
        page = select(light, query, created_key="created")
        return {
            str(item["id"]): _only(
                _item(session, runtime, scope, rows[str(item["id"])]), properties
            )
            for item in page
        }


@router.get("/dataSets/{dataset_id}", summary="Retrieve a dataset (an object keyed by id)")
def get_dataset(
    dataset_id: str,
    runtime: RuntimeDep,
    scope: ScopeDep,
    properties: Annotated[
        str | None, Query(description="Comma-separated top-level properties to return")
    ] = None,
) -> dict[str, Any]:
    with runtime.transaction() as session:
        row = resources.get_resource(
            session, scope=scope, kind=datasets.KIND, resource_id=dataset_id
        )
        return {row.id: _only(_item(session, runtime, scope, row), properties)}


@router.patch(
    "/dataSets/{dataset_id}",
    response_model=list[str],
    summary="Update a dataset's descriptive fields (JSON Patch or a partial object)",
)
def patch_dataset(
    dataset_id: str,
    runtime: RuntimeDep,
    _caller: WriteAccess,
    scope: ScopeDep,
    body: JsonBody,
    if_match: Annotated[str | None, Header(description="Optional: the etag last read")] = None,
) -> list[str]:
    etag = required_etag(if_match) if if_match is not None else None
    with runtime.transaction() as session:
        row = resources.get_resource(
            session, scope=scope, kind=datasets.KIND, resource_id=dataset_id
        )
        datasets.patch_dataset(session, scope, row, expected_etag=etag, body=body)
    return [f"@/dataSets/{dataset_id}"]


@router.delete(
    "/dataSets/{dataset_id}",
    response_model=list[str],
    summary="Delete a dataset and its files (refused while a dataflow targets it)",
)
def delete_dataset(
    dataset_id: str, runtime: RuntimeDep, _caller: WriteAccess, scope: ScopeDep
) -> list[str]:
    with runtime.transaction() as session:
        row = resources.get_resource(
            session, scope=scope, kind=datasets.KIND, resource_id=dataset_id
        )
        datasets.delete_dataset(session, runtime.settings, scope, row)
    return [f"@/dataSets/{dataset_id}"]


@router.get("/dataSets/{dataset_id}/preview", summary="The first rows of a dataset, via DuckDB")
def preview_dataset(
    dataset_id: str,
    runtime: RuntimeDep,
    scope: ScopeDep,
    limit: Annotated[
        int, Query(ge=1, le=MAX_PREVIEW_ROWS, description="Rows to return (1 to 1000)")
    ] = DEFAULT_PREVIEW_ROWS,
    decimals_as_strings: Annotated[
        bool, Query(alias=DECIMALS_AS_STRINGS, description=DECIMALS_AS_STRINGS_HELP)
    ] = False,
) -> dict[str, Any]:
    with runtime.transaction() as session:
        dataset = datasets.open_dataset(session, runtime.settings, scope, dataset_id)
    return preview_body(dataset, limit, decimals_as_strings=decimals_as_strings)
