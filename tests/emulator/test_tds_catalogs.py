"""Catalog queries a source connector runs, through every driver and SQLAlchemy's inspector."""

from __future__ import annotations

import uuid

import pytest
from drivers import DRIVERS, Driver

from mssql_emulator.testing import RunningEmulator


@pytest.fixture(params=DRIVERS, ids=lambda d: d.name)
def driver(request: pytest.FixtureRequest) -> Driver:
    result: Driver = request.param
    return result


def test_information_schema_and_sys_catalogs(emulator: RunningEmulator, driver: Driver) -> None:
    table = f"cat_{uuid.uuid4().hex[:8]}"
    conn = driver.connect(emulator)
    try:
        cur = conn.cursor()
        cur.execute(
            f"CREATE TABLE dbo.{table} (id int IDENTITY(1,1) NOT NULL PRIMARY KEY, "
            "name nvarchar(50) NULL, amount decimal(19,4) NOT NULL)"
        )
        cur.execute(f"INSERT INTO dbo.{table} (name, amount) VALUES (N'a', 1.5), (N'b', 2)")
        conn.commit()
        cur.execute(
            driver.sql(
                "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, "
                "NUMERIC_SCALE, IS_NULLABLE FROM INFORMATION_SCHEMA.COLUMNS "
                "WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION"
            ),
            ("dbo", table),
        )
        assert [tuple(r) for r in cur.fetchall()] == [
            ("id", "int", None, 10, 0, "NO"),
            ("name", "nvarchar", 50, None, None, "YES"),
            ("amount", "decimal", None, 19, 4, "NO"),
        ]
        cur.execute(
            driver.sql(
                "SELECT c.name FROM sys.indexes i "
                "JOIN sys.index_columns ic "
                "ON ic.object_id = i.object_id AND ic.index_id = i.index_id "
                "JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id "
                "WHERE i.is_primary_key = 1 AND i.object_id = OBJECT_ID(?)"
            ),
            (f"dbo.{table}",),
        )
        assert [r[0] for r in cur.fetchall()] == ["id"]
        cur.execute(
            driver.sql(
                "SELECT SUM(p.rows) FROM sys.partitions p "
                "WHERE p.object_id = OBJECT_ID(?) AND p.index_id IN (0, 1)"
            ),
            (f"dbo.{table}",),
        )
        assert cur.fetchone()[0] == 2
    finally:
        conn.close()


def test_sqlalchemy_inspector_lists_tables_and_columns(emulator: RunningEmulator) -> None:
    import sqlalchemy as sa

    table = f"insp_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(
        sa.URL.create("mssql+pyodbc", query={"odbc_connect": emulator.freetds_connection_string()})
    )
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    f"CREATE TABLE dbo.{table} (id int NOT NULL PRIMARY KEY, "
                    "label varchar(20) NULL)"
                )
            )
        inspector = sa.inspect(engine)
        assert table in inspector.get_table_names(schema="dbo")
        columns = {c["name"]: c for c in inspector.get_columns(table, schema="dbo")}
        assert set(columns) == {"id", "label"}
        assert columns["label"]["nullable"] is True and columns["id"]["nullable"] is False
        assert inspector.get_pk_constraint(table, schema="dbo")["constrained_columns"] == ["id"]
        # the emulator keeps no foreign keys: none are reflected, and reflecting asks
        # INFORMATION_SCHEMA.REFERENTIAL_CONSTRAINTS, which must exist
        assert inspector.get_foreign_keys(table, schema="dbo") == []
        reflected = sa.Table(table, sa.MetaData(), schema="dbo", autoload_with=engine)
        assert [c.name for c in reflected.columns] == ["id", "label"]
    finally:
        engine.dispose()
