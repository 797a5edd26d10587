"""Create, read, list, replace and delete rows of the generic ``resources`` table.

Every function is scoped by (org, sandbox): a row of another org or sandbox
is indistinguishable from a missing one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from flowservice.errors import NotFound, PreconditionFailed
from flowservice.store.db import now_ms
from flowservice.store.tables import Resource


@dataclass(frozen=True)
class Scope:
    """Where a request acts: its org and sandbox, and who acts."""

    org_id: str
    sandbox_id: str
    sandbox_name: str
    actor: str
    client_id: str


def new_etag() -> str:
    return str(uuid.uuid4())


def insert_resource(
    session: Session,
    *,
    scope: Scope,
    kind: str,
    doc: dict[str, Any],
    name: str | None = None,
    state: str | None = None,
    spec_id: str | None = None,
    parent_id: str | None = None,
    secret_doc: str | None = None,
    resource_id: str | None = None,
) -> Resource:
    now = now_ms()
    row = Resource(
        id=resource_id or str(uuid.uuid4()),
        kind=kind,
        org_id=scope.org_id,
        sandbox_id=scope.sandbox_id,
        name=name,
        state=state,
        spec_id=spec_id,
        parent_id=parent_id,
        etag=new_etag(),
        created_at=now,
        updated_at=now,
        created_by=scope.actor,
        updated_by=scope.actor,
        created_client=scope.client_id,
        updated_client=scope.client_id,
        doc=doc,
        secret_doc=secret_doc,
    )
    session.add(row)
    session.flush()
    return row


def get_resource(session: Session, *, scope: Scope, kind: str, resource_id: str) -> Resource:
    row = session.scalars(
        select(Resource).where(
            Resource.id == resource_id,
            Resource.kind == kind,
            Resource.org_id == scope.org_id,
            Resource.sandbox_id == scope.sandbox_id,
        )
    ).one_or_none()
    if row is None:
        raise NotFound(
            f"The requested {kind} resource {resource_id} is not found. "
            "Verify the resource ID before trying again.",
            resource_type=kind,
            resource_id=resource_id,
        )
    return row


def list_resources(
    session: Session,
    *,
    scope: Scope,
    kind: str,
    ids: Sequence[str] | None = None,
    spec_ids: Sequence[str] | None = None,
    parent_ids: Sequence[str] | None = None,
) -> list[Resource]:
    """Rows of one kind in the scope, optionally narrowed in SQL by id, spec or parent."""
    query = select(Resource).where(
        Resource.kind == kind,
        Resource.org_id == scope.org_id,
        Resource.sandbox_id == scope.sandbox_id,
    )
    if ids is not None:
        query = query.where(Resource.id.in_(list(ids)))
    if spec_ids is not None:
        query = query.where(Resource.spec_id.in_(list(spec_ids)))
    if parent_ids is not None:
        query = query.where(Resource.parent_id.in_(list(parent_ids)))
    return list(session.scalars(query.order_by(Resource.created_at, Resource.id)))


def check_etag(row: Resource, expected: str) -> None:
    if row.etag != expected:
        raise PreconditionFailed(
            f'Supplied version=["{expected}"] does not match the current version on '
            f'entity=["{row.etag}"]',
            resource_type=row.kind,
            resource_id=row.id,
        )


def replace_resource(
    session: Session,
    *,
    scope: Scope,
    row: Resource,
    expected_etag: str | None,
    doc: dict[str, Any],
    name: str | None = None,
    state: str | None = None,
    secret_doc: str | None = None,
) -> Resource:
    """Store a new version of the row; ``PreconditionFailed`` if its etag moved on.

    The UPDATE is conditional on the etag read, so two concurrent writers
    cannot both win.
    """
    if expected_etag is not None:
        check_etag(row, expected_etag)
    values = {
        "doc": doc,
        "name": name,
        "state": state,
        "secret_doc": secret_doc,
        "etag": new_etag(),
        "updated_at": max(now_ms(), row.updated_at),
        "updated_by": scope.actor,
        "updated_client": scope.client_id,
    }
    result = session.execute(
        update(Resource)
        .where(Resource.id == row.id, Resource.etag == row.etag)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 1) != 1:
        raise PreconditionFailed(
            "the resource was changed by another request; read it again",
            resource_type=row.kind,
            resource_id=row.id,
        )
    session.refresh(row)
    return row


def delete_resource(session: Session, *, row: Resource) -> None:
    session.delete(row)
    session.flush()


def all_secret_rows(session: Session) -> list[Resource]:
    """Every row holding encrypted secrets, across orgs (for key rotation)."""
    return list(session.scalars(select(Resource).where(Resource.secret_doc.is_not(None))))
