"""The three sources of ``bench/peers.py``: one 10-column table each, and how every tool reaches it.

Each source makes the same table (``id`` bigint primary key, then an int, a decimal(19,4), a
double, a boolean, two strings, a microsecond timestamp, a date and a second decimal), every
value derived from the key, on a server of its own kind:

* ``sqlserver``: the SQL Server emulator (``python -m mssql_emulator``) in a child process;
* ``postgresql``: ``$FLOWSERVICE_TEST_POSTGRES_URL`` (else ``.ci/start-postgres.sh``);
* ``mariadb``: ``$FLOWSERVICE_TEST_MARIADB_URL`` (else ``.ci/start-mariadb.sh``).

A source is set up in a context manager that drops what it made. ``Prepared`` is plain data,
so the child processes that time each tool get it pickled.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flowservice.demo.processes import free_port, start_emulator

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("id", "qty", "price", "ratio", "flag", "code", "note", "created", "day", "amount")
SQLSERVER_SPEC = "1f372ff9-38a4-4492-96f5-b9a4e4bd00ec"
POSTGRES_SPEC = "74a1c565-4e59-48d7-9d67-7c03b8a13137"
MARIADB_SPEC = "3000eb99-cd47-43f3-827c-43caf170f015"
AUTH_SPEC = "Connection String Based Authentication"


@dataclass(frozen=True)
class Prepared:
    """A loaded table and the addresses each tool needs."""

    source: str
    rows: int
    spec_id: str
    connection_string: str  # flowservice's connection (Adobe's format for the spec)
    table: str  # as the flow names it: schema.table
    select: str  # the 10 columns, for the raw read and ConnectorX
    raw_url: str  # what the raw driver connects with
    connectorx_url: str
    sqlalchemy_url: str  # for dlt's sql_database
    dlt_schema: str | None


@contextmanager
def prepared(source: str, rows: int) -> Iterator[Prepared]:
    makers = {"sqlserver": _sqlserver, "postgresql": _postgresql, "mariadb": _mariadb}
    with makers[source](rows) as ready:
        yield ready


def _select(quote: str, table: str) -> str:
    left, right = (quote, quote) if len(quote) == 1 else (quote[0], quote[1])
    return "SELECT " + ", ".join(f"{left}{n}{right}" for n in NAMES) + f" FROM {table}"


@contextmanager
def _sqlserver(rows: int) -> Iterator[Prepared]:
    user, password, database = "bench", "Bench_Pass1", "benchdb"
    script = f"""
CREATE TABLE dbo.bench (id bigint NOT NULL PRIMARY KEY, qty int, price decimal(19,4),
  ratio float, flag bit, code nvarchar(20), note varchar(40), created datetime2(6), day date,
  amount decimal(19,4));
INSERT INTO dbo.bench
SELECT value, value % 1000, CAST(value AS decimal(19,4)) / 7, value * 0.5, value % 2,
       CONCAT(N'code-', value % 977), CONCAT('note ', value),
       DATEADD(second, value, CAST('2020-01-01' AS datetime2(6))),
       DATEADD(day, value % 3650, CAST('2000-01-01' AS date)), CAST(value AS decimal(19,4)) / 100
FROM GENERATE_SERIES(1, {rows});
"""
    with tempfile.TemporaryDirectory(prefix="flowservice-peers-mssql-") as scratch:
        home = Path(scratch)
        init = home / "bench.sql"
        init.write_text(script, encoding="utf-8")
        port = free_port()
        emulator = start_emulator(
            home=home, port=port, user=user, password=password, database=database, init=init,
            timeout=3600,
        )  # fmt: skip
        try:
            yield Prepared(
                source="sqlserver",
                rows=rows,
                spec_id=SQLSERVER_SPEC,
                connection_string=(
                    f"Data Source=127.0.0.1,{port};Initial Catalog={database};"
                    f"Integrated Security=False;User ID={user};Password={password};Encrypt=False;"
                ),
                table="dbo.bench",
                select=_select("[]", "[dbo].[bench]"),
                raw_url=(
                    f"Server=tcp:127.0.0.1,{port};Database={database};UID={user};"
                    f"PWD={password};Encrypt=no"
                ),
                connectorx_url=f"mssql://{user}:{password}@127.0.0.1:{port}/{database}",
                sqlalchemy_url=(
                    f"mssql+pyodbc://{user}:{password}@127.0.0.1:{port}/{database}"
                    "?driver=FreeTDS&TDS_Version=7.4"
                ),
                dlt_schema="dbo",
            )
        finally:
            emulator.stop()


def _server_url(variable: str, script: str) -> str:
    url = os.environ.get(variable)
    if url:
        return url
    done = subprocess.run(
        ["bash", str(ROOT / ".ci" / script)], capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1]


@contextmanager
def _postgresql(rows: int) -> Iterator[Prepared]:
    import psycopg

    parts = urlsplit(_server_url("FLOWSERVICE_TEST_POSTGRES_URL", "start-postgres.sh"))
    user, password = parts.username or "", parts.password or ""
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    admin = f"postgresql://{user}:{password}@{host}:{port}/{parts.path.lstrip('/')}"
    database = f"peers_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    url = f"postgresql://{user}:{password}@{host}:{port}/{database}"
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE public.bench (id bigint PRIMARY KEY, qty int, price numeric(19,4),"
                " ratio double precision, flag boolean, code varchar(20), note varchar(40),"
                " created timestamp(6), day date, amount numeric(19,4))"
            )
            conn.execute(
                "INSERT INTO public.bench SELECT v, v %% 1000, v::numeric(19,4) / 7, v * 0.5,"
                " v %% 2 = 1, 'code-' || (v %% 977), 'note ' || v,"
                " timestamp '2020-01-01' + v * interval '1 second',"
                " date '2000-01-01' + (v %% 3650)::int, v::numeric(19,4) / 100"
                " FROM generate_series(1, %s) AS v",
                (rows,),
            )
            conn.execute("VACUUM ANALYZE public.bench")
        yield Prepared(
            source="postgresql",
            rows=rows,
            spec_id=POSTGRES_SPEC,
            connection_string=(
                f"Server={host};Database={database};Port={port};UID={user};Password={password}"
            ),
            table="public.bench",
            select=_select('"', "public.bench"),
            raw_url=url,
            connectorx_url=url,
            sqlalchemy_url=f"postgresql+psycopg://{user}:{password}@{host}:{port}/{database}",
            dlt_schema="public",
        )
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@contextmanager
def _mariadb(rows: int) -> Iterator[Prepared]:
    import pymysql

    parts = urlsplit(_server_url("FLOWSERVICE_TEST_MARIADB_URL", "start-mariadb.sh"))
    user, password = parts.username or "", parts.password or ""
    host, port = parts.hostname or "127.0.0.1", parts.port or 3306
    database = f"peers_{uuid.uuid4().hex[:10]}"
    conn = pymysql.connect(host=host, port=port, user=user, password=password, autocommit=True)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
            cursor.execute(f"USE `{database}`")  # MariaDB's seq_1_to_N lives in any database
            cursor.execute(
                f"CREATE TABLE `{database}`.bench (id bigint PRIMARY KEY, qty int,"
                " price decimal(19,4), ratio double, flag boolean, code varchar(20),"
                " note varchar(40), created datetime(6), day date, amount decimal(19,4))"
            )
            cursor.execute(
                f"INSERT INTO `{database}`.bench SELECT seq, seq % 1000,"
                " CAST(seq AS decimal(19,4)) / 7, seq * 0.5, seq % 2, CONCAT('code-', seq % 977),"
                " CONCAT('note ', seq), TIMESTAMP '2020-01-01 00:00:00' + INTERVAL seq SECOND,"
                " DATE '2000-01-01' + INTERVAL (seq % 3650) DAY, CAST(seq AS decimal(19,4)) / 100"
                f" FROM seq_1_to_{rows}"
            )
        address = f"{user}:{password}@{host}:{port}/{database}"
        yield Prepared(
            source="mariadb",
            rows=rows,
            spec_id=MARIADB_SPEC,
            connection_string=(
                f"Server={host};Port={port};Database={database};UID={user};PWD={password}"
            ),
            table=f"{database}.bench",
            select=_select("`", f"`{database}`.`bench`"),
            raw_url=f"mysql://{address}",
            connectorx_url=f"mysql://{address}",
            sqlalchemy_url=f"mysql+pymysql://{address}",
            dlt_schema=None,
        )
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
        conn.close()
