"""Console sessions and spent link nonces in the metadata DB."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flowservice.auth.tokens import Caller
from flowservice.errors import InvalidRequest
from flowservice.store.tables import ConsoleLinkUseRow, ConsoleSessionRow

SESSION_TTL_SECONDS = 8 * 3600


@dataclass(frozen=True)
class ConsoleSession:
    """A signed-in browser: the caller it acts as, its sandbox and its CSRF token."""

    caller: Caller
    sandbox_name: str
    csrf_token: str
    expires_at: int  # epoch seconds


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_session(
    session: Session, *, caller: Caller, sandbox_name: str, now: int, expires_at: int
) -> str:
    """Store a new session; returns the cookie's secret (only its hash is kept)."""
    session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.expires_at <= now))
    secret = secrets.token_urlsafe(32)
    session.add(
        ConsoleSessionRow(
            id_hash=_hash(secret),
            org_id=caller.org_id,
            client_id=caller.client_id,
            subject=caller.subject,
            scope=caller.scope,
            sandbox_name=sandbox_name,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=expires_at,
        )
    )
    return secret


def find_session(session: Session, *, secret: str, now: int) -> ConsoleSession | None:
    """The live session of a cookie's secret, or None (unknown or expired)."""
    row = session.get(ConsoleSessionRow, _hash(secret))
    if row is None or row.expires_at <= now:
        return None
    scope: Literal["read", "write"] = "write" if row.scope == "write" else "read"
    caller = Caller(org_id=row.org_id, client_id=row.client_id, subject=row.subject, scope=scope)
    return ConsoleSession(caller, row.sandbox_name, row.csrf_token, row.expires_at)


def switch_sandbox(session: Session, *, secret: str, sandbox_name: str) -> None:
    """Point the session at another sandbox (the caller checks that the org has it)."""
    session.execute(
        update(ConsoleSessionRow)
        .where(ConsoleSessionRow.id_hash == _hash(secret))
        .values(sandbox_name=sandbox_name)
    )


def end_session(session: Session, *, secret: str) -> None:
    session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.id_hash == _hash(secret)))


def spend_link_nonce(session: Session, *, nonce: str, now: int, expires_at: int) -> None:
    """Mark a link's nonce used; InvalidRequest when it was used before."""
    session.execute(delete(ConsoleLinkUseRow).where(ConsoleLinkUseRow.expires_at < now))
    if session.scalar(select(ConsoleLinkUseRow.nonce).where(ConsoleLinkUseRow.nonce == nonce)):
        raise _used()
    session.add(ConsoleLinkUseRow(nonce=nonce, used_at=now, expires_at=expires_at))
    try:
        session.flush()
    except IntegrityError:
        # a concurrent use of the same link won the insert
        raise _used() from None


def _used() -> InvalidRequest:
    return InvalidRequest(
        "This sign-in link has already been used. Ask for a new one with "
        "`flowservice auth console-link`."
    )
