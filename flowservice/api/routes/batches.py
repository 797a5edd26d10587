"""Catalog /batches: the batches written into datasets, with status, counts and times."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from flowservice.api.deps import RuntimeDep, ScopeDep
from flowservice.api.services import batches, datasets
from flowservice.api.services.catalog_query import parse_catalog_query, select
from flowservice.store.repos import resources

router = APIRouter(tags=["Batches"])


@router.get("/batches", summary="List batches (an object keyed by id), e.g. ?dataSet=ID")
def list_batches(
    runtime: RuntimeDep,
    scope: ScopeDep,
    data_set: Annotated[
        str | None, Query(alias="dataSet", description="Only batches of this dataset")
    ] = None,
    status: Annotated[str | None, Query(description="Only batches with this status")] = None,
    created_after: Annotated[
        int | None, Query(alias="createdAfter", description="Created after (epoch ms, exclusive)")
    ] = None,
    created_before: Annotated[
        int | None,
        Query(alias="createdBefore", description="Created before (epoch ms, exclusive)"),
    ] = None,
    limit: Annotated[str | None, Query(description="Page size, 1 to 100 (default 50)")] = None,
    start: Annotated[str | None, Query(description="Offset of the page (default 0)")] = None,
    order_by: Annotated[
        str | None, Query(alias="orderBy", description="asc:created, desc:created, ...")
    ] = None,
    property: Annotated[
        list[str] | None, Query(description="Filter, repeatable: status==success, size>0")
    ] = None,
) -> dict[str, Any]:
    conditions = list(property or ())
    if status is not None:
        conditions.append(f"status=={status}")
    if created_after is not None:
        conditions.append(f"created>{created_after}")
    if created_before is not None:
        conditions.append(f"created<{created_before}")
    query = parse_catalog_query(
        properties=conditions,
        # newest first unless asked otherwise, as the Catalog lists batches
        order_by=order_by or "desc:created",
        limit=limit,
        start=start,
        filterable=batches.FILTERABLE,
        default_limit=datasets.DEFAULT_LIMIT,
        max_limit=datasets.MAX_LIMIT,
    )
    with runtime.transaction() as session:
        if data_set is not None:
            row = resources.get_resource(
                session, scope=scope, kind=datasets.KIND, resource_id=data_set
            )
            items = batches.batches_of_dataset(session, runtime, scope, row)
        else:
            items = batches.all_batches(session, runtime, scope)
    return {str(item["id"]): item for item in select(items, query, created_key="created")}


@router.get("/batches/{batch_id}", summary="Retrieve a batch (an object keyed by id)")
def get_batch(batch_id: str, runtime: RuntimeDep, scope: ScopeDep) -> dict[str, Any]:
    with runtime.transaction() as session:
        item = batches.find_batch(session, runtime, scope, batch_id)
    return {str(item["id"]): item}
