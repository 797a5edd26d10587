"""Data Prep ``/languages/el``: the functions and operators mappings may use, and a checker."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from flowservice.api.deps import JsonBody, ScopeDep
from flowservice.api.request_bodies import json_body
from flowservice.api.schemas.expression_language import ExpressionValidate
from flowservice.api.services import mapping_sets as service
from flowservice.mapping import functions, operators

router = APIRouter(tags=["Functions"])


@router.get("/languages/el/functions", summary="List the functions of the mapping language")
def list_functions(_scope: ScopeDep) -> list[dict[str, Any]]:
    return [f.wire() for f in functions()]


@router.get("/languages/el/operators", summary="List the operators of the mapping language")
def list_operators(_scope: ScopeDep) -> list[dict[str, Any]]:
    return [o.wire() for o in operators()]


@router.post(
    "/languages/el/validate",
    summary="Validate one expression: true, or 400 naming the position and the reason",
    openapi_extra=json_body(ExpressionValidate),
)
def validate_expression(_scope: ScopeDep, body: JsonBody) -> bool:
    return service.validate_expression(body)
