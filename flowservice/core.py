"""What every flowservice process holds: settings, the metadata DB and the secret keys.

The API's ``Runtime`` adds the token verifier and the connection specs to it;
the run engine and a worker process need only this, so they never import the API.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from flowservice.secrets import SecretBox
from flowservice.settings import Settings
from flowservice.store import db


@dataclass
class Core:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    secret_box: SecretBox

    @classmethod
    def start(cls, settings: Settings) -> Core:
        """Open the DB, apply migrations, load the secret keys."""
        engine = db.engine_for(settings)
        db.upgrade(engine)
        return Core(
            settings=settings,
            engine=engine,
            sessions=db.session_factory(engine),
            secret_box=SecretBox.from_settings(settings),
        )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with db.transaction(self.sessions) as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()
