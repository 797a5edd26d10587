"""The SQLite metadata DB holds sealed secrets and API clients: owner-only, like the key files."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from flowservice.store import db


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual umask (022): files are world-readable unless created otherwise."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
def test_a_new_database_and_its_wal_files_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "home" / "flowservice.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE probe (x INTEGER)"))
        conn.execute(text("INSERT INTO probe VALUES (1)"))
        conn.commit()
        # while a connection is open, WAL mode keeps the -wal and -shm files next to the DB
        companions = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
        assert all(p.exists() for p in companions)
        assert {p.name: mode(p) for p in [path, *companions]} == {
            p.name: 0o600 for p in [path, *companions]
        }
    engine.dispose()


@pytest.mark.usefixtures("open_umask")
def test_an_existing_database_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    first = db.make_engine(f"sqlite:///{path}")
    db.upgrade(first)
    first.dispose()
    os.chmod(path, 0o640)  # chosen by its owner: not ours to change
    again = db.make_engine(f"sqlite:///{path}")
    db.upgrade(again)
    again.dispose()
    assert mode(path) == 0o640


def test_in_memory_databases_create_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    engine = db.make_engine("sqlite://")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
    assert list(tmp_path.iterdir()) == []
