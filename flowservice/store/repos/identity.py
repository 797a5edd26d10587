"""Orgs, API clients and sandboxes."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flowservice.errors import Conflict, InvalidRequest, NotFound
from flowservice.store.db import now_ms
from flowservice.store.tables import ApiClient, Org, Resource, Sandbox

DEFAULT_SANDBOX = "prod"
SANDBOX_TYPES = ("production", "development")


def ensure_org(session: Session, *, org_id: str, actor: str = "system") -> Org:
    """The org, created with its default ``prod`` sandbox on first sight."""
    org = session.get(Org, org_id)
    if org is None:
        org = Org(id=org_id, name=org_id, created_at=now_ms())
        session.add(org)
        session.flush()
        create_sandbox(
            session,
            org_id=org_id,
            name=DEFAULT_SANDBOX,
            title="Production",
            type="production",
            actor=actor,
            is_default=True,
        )
    return org


def ensure_client(session: Session, *, org_id: str, client_id: str) -> ApiClient:
    client = session.get(ApiClient, client_id)
    if client is None:
        client = ApiClient(id=client_id, org_id=org_id, name=client_id, created_at=now_ms())
        session.add(client)
        session.flush()
    elif client.org_id != org_id:
        raise Conflict(
            f"API key {client_id} belongs to org {client.org_id} (one API key serves one org); "
            f"for org {org_id}, use --client-id with a new key",
            code=1100,
        )
    return client


def find_client(session: Session, *, client_id: str) -> ApiClient | None:
    return session.get(ApiClient, client_id)


def create_sandbox(
    session: Session,
    *,
    org_id: str,
    name: str,
    title: str,
    type: str,
    actor: str,
    is_default: bool = False,
) -> Sandbox:
    if type not in SANDBOX_TYPES:
        raise InvalidRequest(f"sandbox type must be one of {', '.join(SANDBOX_TYPES)}")
    if not name or name != name.lower() or not all(c.isalnum() or c == "-" for c in name):
        raise InvalidRequest("sandbox name must be lower-case letters, digits and dashes")
    if find_sandbox(session, org_id=org_id, name=name) is not None:
        raise Conflict(f"sandbox {name} already exists", code=2103, status=409)
    now = now_ms()
    sandbox = Sandbox(
        id=str(uuid.uuid4()),
        org_id=org_id,
        name=name,
        title=title,
        type=type,
        state="active",
        is_default=is_default,
        etag=1,
        created_at=now,
        updated_at=now,
        created_by=actor,
        updated_by=actor,
    )
    session.add(sandbox)
    try:
        session.flush()
    except IntegrityError:
        # another request created the same name between the check and the insert
        raise Conflict(f"sandbox {name} already exists", code=2103, status=409) from None
    return sandbox


def find_sandbox(session: Session, *, org_id: str, name: str) -> Sandbox | None:
    return session.scalars(
        select(Sandbox).where(Sandbox.org_id == org_id, Sandbox.name == name)
    ).one_or_none()


def get_sandbox(session: Session, *, org_id: str, name: str) -> Sandbox:
    sandbox = find_sandbox(session, org_id=org_id, name=name)
    if sandbox is None:
        raise NotFound(
            f"Sandbox {name} is not found.", code=2100, resource_type="sandbox", resource_id=name
        )
    return sandbox


def list_sandboxes(session: Session, *, org_id: str) -> list[Sandbox]:
    return list(
        session.scalars(select(Sandbox).where(Sandbox.org_id == org_id).order_by(Sandbox.name))
    )


def delete_sandbox(session: Session, *, org_id: str, name: str) -> Sandbox:
    """Remove the sandbox and every resource in it; the default sandbox stays."""
    sandbox = get_sandbox(session, org_id=org_id, name=name)
    if sandbox.is_default:
        raise Conflict("the default production sandbox cannot be deleted", code=2104)
    session.execute(delete(Resource).where(Resource.sandbox_id == sandbox.id))
    session.delete(sandbox)
    session.flush()
    return sandbox
