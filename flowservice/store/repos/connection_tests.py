"""The last test of each base connection, read beside the connection's own (scoped) row."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from flowservice.store.tables import ConnectionTestRow


@dataclass(frozen=True)
class ConnectionTest:
    ok: bool
    message: str | None
    tested_at: int  # epoch milliseconds


def record_test(
    session: Session, connection_id: str, *, ok: bool, message: str | None, tested_at: int
) -> None:
    """Keep this test's outcome in place of the one before (the caller has read the row)."""
    row = session.get(ConnectionTestRow, connection_id)
    if row is None:
        session.add(
            ConnectionTestRow(
                connection_id=connection_id, ok=int(ok), message=message, tested_at=tested_at
            )
        )
    elif tested_at >= row.tested_at:
        row.ok, row.message, row.tested_at = int(ok), message, tested_at


def last_tests(session: Session, connection_ids: Iterable[str]) -> dict[str, ConnectionTest]:
    """The last test of each of these connections that has been tested (ids the caller scoped)."""
    ids = list(connection_ids)
    if not ids:
        return {}
    rows = session.scalars(
        select(ConnectionTestRow).where(ConnectionTestRow.connection_id.in_(ids))
    )
    return {r.connection_id: ConnectionTest(bool(r.ok), r.message, r.tested_at) for r in rows}


def forget_test(session: Session, connection_id: str) -> None:
    session.execute(
        delete(ConnectionTestRow).where(ConnectionTestRow.connection_id == connection_id)
    )
