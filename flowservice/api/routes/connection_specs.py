"""GET /connectionSpecs and /connectionSpecs/{id}: global, read-only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from flowservice.api.deps import CallerDep, RuntimeDep
from flowservice.api.listing import ListParamsDep, select_page
from flowservice.errors import NotFound

router = APIRouter(tags=["Connection specs"])

FILTERABLE = frozenset(
    {"id", "name", "providerId", "version", "attributes.category", "attributes.isSource"}
)


@router.get("/connectionSpecs", summary="List connection specs")
def list_connection_specs(
    runtime: RuntimeDep, _caller: CallerDep, params: ListParamsDep
) -> dict[str, Any]:
    query = params.parse(
        kind="connectionSpecs",
        default_limit=runtime.settings.max_page_size,
        max_limit=runtime.settings.max_page_size,
        filterable=FILTERABLE,
    )
    docs = [spec.doc for spec in runtime.specs.all()]
    return select_page(docs, query, path="/connectionSpecs")


@router.get("/connectionSpecs/{spec_id}", summary="Retrieve a connection spec")
def get_connection_spec(spec_id: str, runtime: RuntimeDep, _caller: CallerDep) -> dict[str, Any]:
    spec = runtime.specs.find(spec_id)
    if spec is None:
        raise NotFound(
            f"The requested connectionSpecs resource {spec_id} is not found.",
            resource_type="connectionSpecs",
            resource_id=spec_id,
        )
    return {"items": [spec.doc]}
