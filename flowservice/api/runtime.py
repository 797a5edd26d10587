"""Everything a running app holds: settings, DB, secret keys, token verifier, specs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from flowservice.auth.tokens import TokenVerifier
from flowservice.secrets import SecretBox
from flowservice.settings import Settings
from flowservice.specs.catalog import SpecCatalog, connection_specs
from flowservice.store import db


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    secret_box: SecretBox
    verifier: TokenVerifier
    specs: SpecCatalog
    known_clients: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        """Open the DB, apply migrations, load keys and specs."""
        engine = db.engine_for(settings)
        db.upgrade(engine)
        return cls(
            settings=settings,
            engine=engine,
            sessions=db.session_factory(engine),
            secret_box=SecretBox.from_settings(settings),
            verifier=TokenVerifier(settings),
            specs=connection_specs(),
        )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with db.transaction(self.sessions) as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()
