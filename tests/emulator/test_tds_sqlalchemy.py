"""SQLAlchemy's mssql dialect reflects what the emulator was told: keys, indexes, views."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from drivers import msodbc18_connection_string

from mssql_emulator.testing import RunningEmulator


def _pymssql_url(emu: RunningEmulator) -> sa.URL:
    return sa.URL.create(
        "mssql+pymssql",
        username=emu.user,
        password=emu.password,
        host=emu.host,
        port=emu.port,
        database=emu.database,
    )


def _pyodbc_url(emu: RunningEmulator) -> sa.URL:
    return sa.URL.create("mssql+pyodbc", query={"odbc_connect": emu.freetds_connection_string()})


def _pyodbc_msodbc18_url(emu: RunningEmulator) -> sa.URL:
    odbc = msodbc18_connection_string(emu, emu.user, emu.password, emu.database)
    return sa.URL.create("mssql+pyodbc", query={"odbc_connect": odbc})


def _mssql_python_url(emu: RunningEmulator) -> sa.URL:
    return _pymssql_url(emu).set(drivername="mssql+mssqlpython", query={"Encrypt": "no"})


def _pytds_url(emu: RunningEmulator) -> sa.URL:
    return _pymssql_url(emu).set(drivername="mssql+pytds")


@pytest.fixture(
    params=[_pymssql_url, _pyodbc_url, _pyodbc_msodbc18_url, _mssql_python_url, _pytds_url],
    ids=["pymssql", "pyodbc-freetds", "pyodbc-msodbc18", "mssql-python", "pytds"],
)
def engine(request: pytest.FixtureRequest, emulator: RunningEmulator) -> Iterator[sa.Engine]:
    created = sa.create_engine(request.param(emulator))
    yield created
    created.dispose()


def _schema(suffix: str) -> sa.MetaData:
    metadata = sa.MetaData()
    sa.Table(
        f"owners_{suffix}",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(3), nullable=False, unique=True),
        sa.Column("name", sa.Unicode(40)),
    )
    sa.Table(
        f"pets_{suffix}",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey(f"owners_{suffix}.id"), nullable=False),
        sa.Column("owner_code", sa.String(3)),
        sa.Column("born", sa.Date),
        sa.ForeignKeyConstraint(
            ["owner_code"],
            [f"owners_{suffix}.code"],
            name=f"fk_code_{suffix}",
            ondelete="CASCADE",
        ),
        sa.Index(f"ix_born_{suffix}", "born", "owner_id"),
    )
    return metadata


def test_reflects_tables_keys_indexes_and_views(engine: sa.Engine) -> None:
    suffix = uuid.uuid4().hex[:8]
    owners, pets = f"owners_{suffix}", f"pets_{suffix}"
    _schema(suffix).create_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE VIEW v_{suffix} AS SELECT id, name FROM {owners}")
    inspector = sa.inspect(engine)
    assert {owners, pets} <= set(inspector.get_table_names())
    columns = inspector.get_columns(pets)
    assert [c["name"] for c in columns] == ["id", "owner_id", "owner_code", "born"]
    assert [c["nullable"] for c in columns] == [False, False, True, True]
    assert isinstance(columns[3]["type"], sa.DATE)
    assert inspector.get_pk_constraint(pets)["constrained_columns"] == ["id"]
    foreign = {fk["constrained_columns"][0]: fk for fk in inspector.get_foreign_keys(pets)}
    assert foreign["owner_id"]["referred_table"] == owners
    assert foreign["owner_id"]["referred_columns"] == ["id"]
    assert foreign["owner_code"]["name"] == f"fk_code_{suffix}"
    assert foreign["owner_code"]["referred_columns"] == ["code"]
    assert foreign["owner_code"]["options"] == {"ondelete": "CASCADE"}
    indexes = {ix["name"]: ix for ix in inspector.get_indexes(pets)}
    assert indexes[f"ix_born_{suffix}"]["column_names"] == ["born", "owner_id"]
    assert indexes[f"ix_born_{suffix}"]["unique"] is False
    assert f"v_{suffix}" in inspector.get_view_names()
    definition = inspector.get_view_definition(f"v_{suffix}")
    assert definition.startswith(f"CREATE VIEW v_{suffix} AS SELECT id, name")
    reflected = sa.MetaData()
    reflected.reflect(engine, only=[owners, pets])
    assert {fk.column.table.name for fk in reflected.tables[pets].foreign_keys} == {owners}
    _schema(suffix).drop_all(engine)
    assert pets not in sa.inspect(engine).get_table_names()
