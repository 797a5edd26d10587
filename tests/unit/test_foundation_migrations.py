"""The migrations build exactly the tables the ORM declares, and re-running them is a no-op."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from flowservice.store import db
from flowservice.store.tables import Base


def test_migrations_match_the_orm(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    db.upgrade(engine)
    db.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
    assert diff == []
    assert mode == "wal"
    assert {"orgs", "api_clients", "sandboxes", "resources"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def test_concurrent_upgrades_on_postgres(postgres_database: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    engines = [db.make_engine(postgres_database) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(db.upgrade, engines))
    with engines[0].connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    for engine in engines:
        engine.dispose()
