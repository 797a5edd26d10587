"""Console sessions and link nonces in the metadata DB, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from service_harness import make_settings
from sqlalchemy.orm import Session, sessionmaker

from flowservice.auth.tokens import Caller
from flowservice.console.session_store import (
    create_session,
    end_session,
    find_session,
    spend_link_nonce,
)
from flowservice.errors import InvalidRequest
from flowservice.store import db
from flowservice.store.tables import ConsoleSessionRow

CALLER = Caller(org_id="ORG@AdobeOrg", client_id="c", subject="s@AdobeID", scope="read")


@pytest.fixture
def sessions(database_url: str, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = db.engine_for(make_settings(tmp_path, database_url))
    db.upgrade(engine)
    yield db.session_factory(engine)
    engine.dispose()


def test_a_session_is_found_by_its_secret_until_it_expires_or_ends(
    sessions: sessionmaker[Session],
) -> None:
    with db.transaction(sessions) as session:
        secret = create_session(
            session, caller=CALLER, sandbox_name="prod", now=1_000, expires_at=2_000
        )
    with db.transaction(sessions) as session:
        found = find_session(session, secret=secret, now=1_999)
        assert found is not None and found.caller == CALLER and not found.caller.can_write
        assert found.sandbox_name == "prod" and len(found.csrf_token) >= 32
        assert find_session(session, secret=secret, now=2_000) is None
        assert find_session(session, secret=secret + "x", now=1_500) is None
        # only the secret's hash is stored
        assert session.get(ConsoleSessionRow, secret) is None
    with db.transaction(sessions) as session:
        end_session(session, secret=secret)
    with db.transaction(sessions) as session:
        assert find_session(session, secret=secret, now=1_500) is None


def test_a_link_nonce_is_spent_once(sessions: sessionmaker[Session]) -> None:
    nonce = f"nonce-{id(sessions)}"
    with db.transaction(sessions) as session:
        spend_link_nonce(session, nonce=nonce, now=1_000, expires_at=1_300)
    with pytest.raises(InvalidRequest, match="already been used"), db.transaction(sessions) as s:
        spend_link_nonce(s, nonce=nonce, now=1_010, expires_at=1_300)
