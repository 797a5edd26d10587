"""GET /flowSpecs and /flowSpecs/{id}: global, read-only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from flowservice.api.deps import CallerDep, RuntimeDep
from flowservice.api.listing import ListParamsDep, select_page
from flowservice.flows.flow_spec import flow_specs

router = APIRouter(tags=["Flow specs"])

FILTERABLE = frozenset(
    {
        "id",
        "name",
        "providerId",
        "version",
        "sourceConnectionSpecIds[]",
        "targetConnectionSpecIds[]",
    }
)


@router.get("/flowSpecs", summary="List flow specs")
def list_flow_specs(
    runtime: RuntimeDep, _caller: CallerDep, params: ListParamsDep
) -> dict[str, Any]:
    query = params.parse(
        kind="flowSpecs",
        default_limit=runtime.settings.max_page_size,
        max_limit=runtime.settings.max_page_size,
        filterable=FILTERABLE,
    )
    return select_page([spec.doc for spec in flow_specs().all()], query, path="/flowSpecs")


@router.get("/flowSpecs/{spec_id}", summary="Retrieve a flow spec")
def get_flow_spec(spec_id: str, _caller: CallerDep) -> dict[str, Any]:
    return {"items": [flow_specs().get(spec_id).doc]}
