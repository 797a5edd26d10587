"""Engine, sessions and migrations of the metadata DB."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from flowservice.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_MIGRATION_LOCK_ID = 7_240_001  # arbitrary, constant: the advisory lock guarding migrations


def now_ms() -> int:
    return int(time.time() * 1000)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the API read while a writer commits; foreign keys are off by default in SQLite
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _create_owner_only(path: Path) -> None:
    """Create the SQLite file 0600 if it does not exist yet; an existing file keeps its mode.

    The DB holds the secrets' ciphertexts and the API clients, so it is as private as the
    key files. SQLite creates the ``-wal`` and ``-shm`` files with the DB file's mode.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
    finally:
        os.close(fd)


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # "file:..." URIs (uri=true) name their file their own way: SQLite creates those
        if parsed.database and parsed.database != ":memory:" and "uri" not in parsed.query:
            _create_owner_only(Path(parsed.database))
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # hide_parameters: statement values never reach error messages or logs
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def engine_for(settings: Settings) -> Engine:
    settings.home.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.effective_database_url)


def upgrade(engine: Engine) -> None:
    """Apply every Alembic migration not yet applied."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # several servers starting at once must not run the same migration twice
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_ID})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with factory() as session, session.begin():
        yield session
