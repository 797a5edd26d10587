"""Mint an access token from the local home (``auth token`` and ``login`` without --token)."""

from __future__ import annotations

from typing import Literal

from flowservice.auth.tokens import IssuedToken, issue_token, parse_ttl
from flowservice.settings import Settings


def mint_token(
    settings: Settings,
    *,
    org: str,
    client_id: str,
    subject: str = "",
    scope: Literal["read", "write"] = "write",
    ttl: str | None = None,
) -> IssuedToken:
    """A token for ORG signed with the home's key; the org and client are registered if new."""
    from flowservice.store import db
    from flowservice.store.repos import identity

    ttl_seconds = parse_ttl(ttl) if ttl else None
    engine = db.engine_for(settings)
    try:
        db.upgrade(engine)
        with db.transaction(db.session_factory(engine)) as session:
            identity.ensure_org(session, org_id=org)
            identity.ensure_client(session, org_id=org, client_id=client_id)
    finally:
        engine.dispose()
    return issue_token(
        settings,
        org_id=org,
        client_id=client_id,
        subject=subject or f"{client_id}@AdobeID",
        scope=scope,
        ttl_seconds=ttl_seconds,
    )
