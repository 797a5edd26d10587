"""Sandbox management: /data/foundation/sandbox-management (list, get, create, delete).

Create and delete answer 202 as the published contract says, but the work is
already done: the body shows the final state (``active`` / ``deleted``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import Field

from flowservice.api.deps import CallerDep, JsonBody, RuntimeDep, WriteAccess
from flowservice.api.schemas.common import WireModel
from flowservice.store.repos import identity
from flowservice.store.tables import Sandbox

router = APIRouter(tags=["Sandboxes"])


class SandboxCreate(WireModel):
    name: str = Field(
        min_length=1,
        max_length=255,
        pattern=r"^[a-z0-9-]+$",
        description="lower-case letters, digits and dashes",
    )
    title: str = Field(min_length=1, max_length=255)
    type: Literal["production", "development"]


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def sandbox_to_wire(sandbox: Sandbox, state: str | None = None) -> dict[str, Any]:
    return {
        "id": sandbox.id,
        "name": sandbox.name,
        "title": sandbox.title,
        "state": state or sandbox.state,
        "type": sandbox.type,
        "region": "local",
        "isDefault": sandbox.is_default,
        "etag": sandbox.etag,
        "createdDate": _iso(sandbox.created_at),
        "lastModifiedDate": _iso(sandbox.updated_at),
        "createdBy": sandbox.created_by,
        "modifiedBy": sandbox.updated_by,
    }


def _listing(runtime: RuntimeDep, caller: CallerDep) -> dict[str, Any]:
    with runtime.transaction() as session:
        items = [sandbox_to_wire(s) for s in identity.list_sandboxes(session, org_id=caller.org_id)]
    return {"sandboxes": items, "_page": {"limit": len(items), "count": len(items)}, "_links": {}}


@router.get("/", summary="List sandboxes available to the caller")
def list_available_sandboxes(runtime: RuntimeDep, caller: CallerDep) -> dict[str, Any]:
    return _listing(runtime, caller)


@router.get("/sandboxes", summary="List the organization's sandboxes")
def list_sandboxes(runtime: RuntimeDep, caller: CallerDep) -> dict[str, Any]:
    return _listing(runtime, caller)


@router.post(
    "/sandboxes",
    status_code=202,
    summary="Create a sandbox",
    responses={409: {"description": "A sandbox with this name exists"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": SandboxCreate.model_json_schema()}},
        }
    },
)
def create_sandbox(runtime: RuntimeDep, caller: WriteAccess, body: JsonBody) -> dict[str, Any]:
    model = SandboxCreate.model_validate(body)
    with runtime.transaction() as session:
        sandbox = identity.create_sandbox(
            session,
            org_id=caller.org_id,
            name=model.name,
            title=model.title,
            type=model.type,
            actor=caller.subject,
        )
        return sandbox_to_wire(sandbox)


@router.get("/sandboxes/{name}", summary="Retrieve a sandbox")
def get_sandbox(name: str, runtime: RuntimeDep, caller: CallerDep) -> dict[str, Any]:
    with runtime.transaction() as session:
        return sandbox_to_wire(identity.get_sandbox(session, org_id=caller.org_id, name=name))


@router.delete(
    "/sandboxes/{name}", status_code=202, summary="Delete a sandbox and everything in it"
)
def delete_sandbox(name: str, runtime: RuntimeDep, caller: WriteAccess) -> dict[str, Any]:
    with runtime.transaction() as session:
        sandbox = identity.delete_sandbox(session, org_id=caller.org_id, name=name)
        return sandbox_to_wire(sandbox, state="deleted")
