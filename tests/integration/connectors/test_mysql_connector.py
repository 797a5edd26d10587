"""The MySQL / MariaDB connector against a real MariaDB: check, explore, preview, exact types.

Needs ``FLOWSERVICE_TEST_MARIADB_URL`` (``.ci/start-mariadb.sh`` prints it); the module
works in a database of its own and drops it at the end.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pytest

from flowservice.connectors.mysql.connector import MariaDbConnector, MySqlConnector
from flowservice.errors import NotFound, SourceConfigError

MARIADB_ENV = "FLOWSERVICE_TEST_MARIADB_URL"
ODD_PASSWORD = "p@ss;w:rd/\"'%?#&{}=é😀"

SETUP = [
    """CREATE TABLE customers (
        id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL, born DATE)""",
    "INSERT INTO customers (name, born) VALUES ('Ann', '1990-05-01'), ('Bo😀', NULL)",
    "CREATE VIEW customer_names AS SELECT name FROM customers",
    "CREATE TABLE order_lines (order_id INT NOT NULL, line INT NOT NULL, "
    "PRIMARY KEY (order_id, line))",
    """CREATE TABLE types (
        id INT NOT NULL PRIMARY KEY,
        d_small DECIMAL(5,2), d_edge DECIMAL(28,10), d_wide DECIMAL(38,10),
        d_huge DECIMAL(65,30),
        dt DATETIME(6), ts TIMESTAMP(6) NULL, da DATE, ti TIME(6),
        flag BOOL, ti8 TINYINT, ut8 TINYINT UNSIGNED, i16 SMALLINT, ui16 SMALLINT UNSIGNED,
        i24 MEDIUMINT, ui24 MEDIUMINT UNSIGNED, i32 INT, ui32 INT UNSIGNED,
        i64 BIGINT, ui64 BIGINT UNSIGNED, b1 BIT(1), b12 BIT(12), b64 BIT(64),
        f FLOAT, dbl DOUBLE, c CHAR(4), vc VARCHAR(20), tx TEXT, lt LONGTEXT,
        bn BINARY(3), vb VARBINARY(8), bl BLOB, js JSON, en ENUM('red','green'),
        st SET('a','b','c'), yr YEAR
    ) DEFAULT CHARSET = utf8mb4""",
    """INSERT INTO types VALUES (
        1, -999.99, 999999999999999999.9999999999, 1234567890123456789012345678.0123456789,
        12345678901234567890123456789012345.123456789012345678901234567891,
        '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', '1000-01-01',
        '-838:59:59.000000',
        TRUE, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
        -9223372036854775808, 18446744073709551615, b'1', b'111111111111',
        b'1000000000000000000000000000000000000000000000000000000000000001',
        1.5, 0.1, 'ab', 'héllo 😀', 'τεξτ 🚀', REPEAT('x', 70000),
        0x000102, 0xdeadbeef, 0x00, '{"k": [1, "😀"]}', 'green', 'a,c', 2155)""",
    """INSERT INTO types (id, dt, ts, da, ti, yr, d_small, d_edge) VALUES
        (2, '1000-01-01 00:00:00', '1970-01-01 00:00:01', '9999-12-31', '838:59:59.999999',
         1901, 0, -0.0000000001)""",
    "INSERT INTO types (id) VALUES (3)",
    # zero dates need a permissive sql_mode (as old data often has them)
    "SET SESSION sql_mode = ''",
    "INSERT INTO types (id, dt, ts, da) "
    "VALUES (4, '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00')",
    "INSERT INTO types (id, da, dt) VALUES (5, '2020-00-15', '2020-02-00 10:00:00')",
]

EXPECTED_FIRST = {
    "id": 1,
    "d_small": Decimal("-999.99"),
    "d_edge": Decimal("999999999999999999.9999999999"),
    "d_wide": Decimal("1234567890123456789012345678.0123456789"),
    "d_huge": "12345678901234567890123456789012345.123456789012345678901234567891",
    "dt": datetime(9999, 12, 31, 23, 59, 59, 999999),
    "ts": datetime(2038, 1, 19, 3, 14, 7, 999999, tzinfo=UTC),
    "da": date(1000, 1, 1),
    "ti": "-838:59:59.000000",
    "flag": 1,
    "ti8": -128,
    "ut8": 255,
    "i16": -32768,
    "ui16": 65535,
    "i24": -8388608,
    "ui24": 16777215,
    "i32": -2147483648,
    "ui32": 4294967295,
    "i64": -9223372036854775808,
    "ui64": 18446744073709551615,
    "b1": True,
    "b12": 4095,
    "b64": 2**63 + 1,
    "f": 1.5,
    "dbl": 0.1,
    "c": "ab",
    "vc": "héllo 😀",
    "tx": "τεξτ 🚀",
    "lt": "x" * 70000,
    "bn": b"\x00\x01\x02",
    "vb": b"\xde\xad\xbe\xef",
    "bl": b"\x00",
    "js": '{"k": [1, "😀"]}',
    "en": "green",
    "st": "a,c",
    "yr": 2155,
}


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    password: str
    database: str

    def connection_string(self, **changes: Any) -> str:
        values = {
            "Server": self.host,
            "Port": self.port,
            "Database": self.database,
            "UID": self.user,
            "PWD": self.password,
        }
        values.update(changes)
        return ";".join(f"{k}={v}" for k, v in values.items() if v is not None)

    def connector(self, **changes: Any) -> MySqlConnector:
        return MariaDbConnector({"connectionString": self.connection_string(**changes)})


def admin(server: Server, database: str | None = None) -> Any:
    import pymysql

    return pymysql.connect(
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password,
        database=database,
        autocommit=True,
        charset="utf8mb4",
    )


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    url = os.environ.get(MARIADB_ENV)
    if not url:
        pytest.skip(f"{MARIADB_ENV} is not set (run .ci/start-mariadb.sh)")
    parts = urlsplit(url)
    name = f"fs_mysql_{uuid.uuid4().hex[:10]}"
    made = Server(
        parts.hostname or "127.0.0.1",
        parts.port or 3306,
        unquote(parts.username or ""),
        unquote(parts.password or ""),
        name,
    )
    with admin(made) as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        cursor.execute(f"USE `{name}`")
        for statement in SETUP:
            cursor.execute(statement)
    yield made
    with admin(made) as conn, conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture(scope="module")
def odd_user(server: Server) -> Iterator[str]:
    """A login whose password holds every character that could break a string or URL."""
    user = f"odd_{uuid.uuid4().hex[:8]}"
    with admin(server) as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (ODD_PASSWORD,))
        cursor.execute(f"GRANT SELECT ON `{server.database}`.* TO '{user}'@'%'")
    yield user
    with admin(server) as conn, conn.cursor() as cursor:
        cursor.execute(f"DROP USER IF EXISTS '{user}'@'%'")


def server_ca(server: Server) -> str | None:
    with admin(server) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT @@ssl_ca")
        row = cursor.fetchone()
    path = row[0] if row else None
    return str(path) if path and Path(str(path)).is_file() else None


def test_check_succeeds(server: Server) -> None:
    result = server.connector().check()
    assert result.ok, result.message
    assert "MariaDB" in result.details["serverVersion"]


@pytest.mark.parametrize(
    ("changes", "reason", "kind"),
    [
        ({"PWD": "wrong-password-123"}, "login_failed", "config"),
        ({"UID": "nobody_here"}, "login_failed", "config"),
        ({"Database": "no_such_db_xyz"}, "unknown_database", "config"),
        ({"Port": 1}, "refused", "transient"),
        ({"Server": "no-such-host.invalid"}, "unknown_host", "config"),
        ({"SslMode": "VerifyCA"}, "tls", "config"),
    ],
)
def test_check_classifies_failures(
    server: Server, changes: dict[str, Any], reason: str, kind: str
) -> None:
    result = server.connector(**changes).check()
    assert not result.ok
    assert result.details["reason"] == reason
    assert result.message
    assert "wrong-password-123" not in result.message
    assert server.password not in result.message.replace(server.user, "")


def test_tls_modes(server: Server) -> None:
    assert server.connector(SslMode="Required").check().ok
    assert server.connector(SslMode="Disabled").check().ok
    ca = server_ca(server)
    if ca is None:
        pytest.skip("the server has no readable CA file")
    assert server.connector(SslMode="VerifyCA", SslCA=ca).check().ok
    mismatch = server.connector(Server="127.0.0.1", SslMode="VerifyIdentity", SslCA=ca).check()
    assert (mismatch.ok, mismatch.details.get("reason")) == (False, "tls")
    rows = list(server.connector(SslMode="VerifyCA", SslCA=ca).read("customers"))
    assert sum(b.num_rows for b in rows) == 2


def test_list_objects_of_the_connection_database(server: Server) -> None:
    found = server.connector().list_objects()
    names = [(o.name, o.type) for o in found]
    db = server.database
    assert names == [
        (f"{db}.customer_names", "view"),
        (f"{db}.customers", "table"),
        (f"{db}.order_lines", "table"),
        (f"{db}.types", "table"),
    ]
    assert [o.name for o in server.connector().list_objects(start=1, limit=2)] == [
        f"{db}.customers",
        f"{db}.order_lines",
    ]


def test_list_objects_without_a_database_leaves_out_system_schemas(server: Server) -> None:
    found = [o.name for o in server.connector(Database=None).list_objects()]
    assert f"{server.database}.types" in found
    schemas = {name.split(".", 1)[0] for name in found}
    assert not schemas & {"mysql", "information_schema", "performance_schema", "sys"}


def test_describe(server: Server) -> None:
    schema = server.connector().describe("customers")
    assert schema.name == f"{server.database}.customers"
    cols = {c.name: c for c in schema.columns}
    assert cols["id"].primary_key_position == 1 and not cols["id"].nullable
    assert cols["name"].original_type == "varchar(40)"
    assert (cols["born"].xdm_type, cols["born"].arrow_type) == ("date", pa.date32())
    assert server.connector().primary_key("order_lines") == ["order_id", "line"]
    qualified = server.connector(Database=None).describe(f"`{server.database}`.`types`")
    assert len(qualified.columns) == len(EXPECTED_FIRST)
    with pytest.raises(NotFound):
        server.connector().describe("missing")
    with pytest.raises(NotFound):
        server.connector().describe("mysql.user")


def test_preview(server: Server) -> None:
    schema, rows = server.connector().preview("types", count=2)
    assert [c.name for c in schema.columns] == list(EXPECTED_FIRST)
    first = rows[0]
    assert first["d_wide"] == "1234567890123456789012345678.0123456789"
    assert first["ts"] == "2038-01-19T03:14:07.999999+00:00"
    assert first["vb"] == "3q2+7w=="
    assert first["vc"] == "héllo 😀"
    assert len(rows) == 2
    _, view_rows = server.connector().preview("customer_names")
    assert sorted(r["name"] for r in view_rows) == ["Ann", "Bo😀"]


def test_types_round_trip_exactly(server: Server) -> None:
    connector = server.connector()
    promised = pa.schema(
        [pa.field(c.name, c.arrow_type) for c in connector.describe("types").columns]
    )
    batches = list(connector.read("types", ordered=True))
    table = pa.Table.from_batches(batches, schema=promised)
    assert all(b.schema == promised for b in batches)
    rows = table.to_pylist()
    assert rows[0] == EXPECTED_FIRST
    second = rows[1]
    assert second["dt"] == datetime(1000, 1, 1)
    assert second["ts"] == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert second["da"] == date(9999, 12, 31)
    assert second["ti"] == "838:59:59.999999"
    assert (second["yr"], second["d_small"]) == (1901, Decimal("0.00"))
    assert second["d_edge"] == Decimal("-0.0000000001")
    assert all(v is None for k, v in rows[2].items() if k != "id")
    # zero dates, and dates with a zero month or day, are read as NULL
    assert (rows[3]["dt"], rows[3]["ts"], rows[3]["da"]) == (None, None, None)
    assert (rows[4]["dt"], rows[4]["da"]) == (None, None)


def test_column_subset_in_the_asked_order(server: Server) -> None:
    batches = list(server.connector().read("types", columns=["VC", "id"], ordered=True))
    assert batches[0].schema.names == ["vc", "id"]
    assert batches[0].column(0)[0].as_py() == "héllo 😀"
    with pytest.raises(SourceConfigError, match="not in"):
        list(server.connector().read("types", columns=["nope"]))


def test_an_odd_password_works_and_never_shows(
    server: Server,
    odd_user: str,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    quoted = "'" + ODD_PASSWORD.replace("'", "''") + "'"
    good = server.connector(UID=odd_user, PWD=quoted)
    assert good.check().ok
    assert sum(b.num_rows for b in good.read("customers")) == 2
    masked = MySqlConnector.mask_secret("connectionString", server.connection_string(PWD=quoted))
    assert ODD_PASSWORD not in masked and "****" in masked

    caplog.set_level(logging.DEBUG)
    wrong = "'" + ODD_PASSWORD[::-1].replace("'", "''") + "'"
    bad = server.connector(UID=odd_user, PWD=wrong)
    result = bad.check()
    assert result.details["reason"] == "login_failed"
    with pytest.raises(SourceConfigError) as caught:
        list(bad.read("customers"))
    out, err = capfd.readouterr()
    for text in (str(result.message), caught.value.message, caplog.text, out, err):
        assert ODD_PASSWORD not in text
        assert ODD_PASSWORD[::-1] not in text


def test_mariadb_text_types(server: Server) -> None:
    with admin(server, server.database) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT VERSION()")
        if tuple(int(p) for p in str(cursor.fetchone()[0]).split("-")[0].split(".")[:2]) < (10, 10):
            pytest.skip("UUID, INET4 and INET6 need MariaDB 10.10")
        cursor.execute("CREATE TABLE addresses (id INT PRIMARY KEY, u UUID, v4 INET4, v6 INET6)")
        cursor.execute(
            "INSERT INTO addresses VALUES "
            "(1, '123e4567-e89b-12d3-a456-426655440000', '10.0.0.1', '2001:db8::1')"
        )
    described = server.connector().describe("addresses").columns
    assert [(c.xdm_type, c.lossy) for c in described[1:]] == [("string", False)] * 3
    rows = pa.Table.from_batches(list(server.connector().read("addresses"))).to_pylist()
    assert rows == [
        {
            "id": 1,
            "u": "123e4567-e89b-12d3-a456-426655440000",
            "v4": "10.0.0.1",
            "v6": "2001:db8::1",
        }
    ]
