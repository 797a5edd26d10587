"""Schema Registry rows: the latest revision in ``resources``, every revision in ``xdm_versions``.

Scoped by (org, sandbox) like every repo: another org's or sandbox's row is missing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from flowservice.store.db import now_ms
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource, XdmVersion


def find(session: Session, *, scope: Scope, kind: str, resource_id: str) -> Resource | None:
    return session.scalars(
        select(Resource).where(
            Resource.id == resource_id,
            Resource.kind == kind,
            Resource.org_id == scope.org_id,
            Resource.sandbox_id == scope.sandbox_id,
        )
    ).one_or_none()


def list_rows(session: Session, *, scope: Scope, kind: str) -> list[Resource]:
    return resources.list_resources(session, scope=scope, kind=kind)


def count(session: Session, *, scope: Scope, kind: str) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                Resource.kind == kind,
                Resource.org_id == scope.org_id,
                Resource.sandbox_id == scope.sandbox_id,
            )
        )
        or 0
    )


def insert(
    session: Session,
    *,
    scope: Scope,
    kind: str,
    resource_id: str,
    doc: dict[str, Any],
    name: str | None,
    parent_id: str | None = None,
) -> Resource:
    """A new resource at revision 0."""
    row = resources.insert_resource(
        session,
        scope=scope,
        kind=kind,
        doc=doc,
        name=name,
        parent_id=parent_id,
        resource_id=resource_id,
    )
    session.add(XdmVersion(resource_id=row.id, revision=0, doc=doc, created_at=row.created_at))
    session.flush()
    return row


def next_revision(session: Session, *, resource_id: str) -> int:
    latest = session.scalar(
        select(func.max(XdmVersion.revision)).where(XdmVersion.resource_id == resource_id)
    )
    return 0 if latest is None else int(latest) + 1


def replace(
    session: Session,
    *,
    scope: Scope,
    row: Resource,
    revision: int,
    doc: dict[str, Any],
    name: str | None,
) -> Resource:
    """Store ``doc`` as the row's new latest revision (``revision`` from ``next_revision``)."""
    row = resources.replace_resource(
        session, scope=scope, row=row, expected_etag=None, doc=doc, name=name
    )
    session.add(XdmVersion(resource_id=row.id, revision=revision, doc=doc, created_at=now_ms()))
    session.flush()
    return row


def revision_doc(session: Session, *, resource_id: str, revision: int) -> dict[str, Any] | None:
    doc = session.scalar(
        select(XdmVersion.doc).where(
            XdmVersion.resource_id == resource_id, XdmVersion.revision == revision
        )
    )
    return dict(doc) if doc is not None else None


def remove(session: Session, *, row: Resource) -> None:
    """The row and all its revisions (explicitly: SQLite may not enforce the cascade)."""
    session.execute(delete(XdmVersion).where(XdmVersion.resource_id == row.id))
    resources.delete_resource(session, row=row)


def ids_referencing(session: Session, *, scope: Scope, kind: str, key: str, uri: str) -> list[str]:
    """Ids of the rows of ``kind`` whose ``doc[key]`` (``schemaRef.id``, ...) is ``uri``."""
    path = key.split(".")
    column: Any = Resource.doc
    for part in path:
        column = column[part]
    return list(
        session.scalars(
            select(Resource.id)
            .where(
                Resource.kind == kind,
                Resource.org_id == scope.org_id,
                Resource.sandbox_id == scope.sandbox_id,
                column.as_string() == uri,
            )
            .order_by(Resource.created_at, Resource.id)
        )
    )
