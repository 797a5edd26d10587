"""Thousands of rows with random NULL patterns read back exactly (NBCROW bitmaps, PLP, slices)."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from drivers import DRIVERS, Driver

from mssql_emulator.testing import RunningEmulator, running_emulator

ROWS = 3000
LOB_ROWS = 150
COLUMNS = [
    ("c_int", "int", pa.int32()),
    ("c_bigint", "bigint", pa.int64()),
    ("c_bit", "bit", pa.bool_()),
    ("c_dec", "decimal(18,3)", pa.decimal128(18, 3)),
    ("c_float", "float", pa.float64()),
    ("c_nvc", "nvarchar(40)", pa.string()),
    ("c_nvmax", "nvarchar(max)", pa.string()),
    ("c_vc", "varchar(30)", pa.string()),
    ("c_vb", "varbinary(20)", pa.binary()),
    ("c_date", "date", pa.date32()),
    ("c_dt2", "datetime2(6)", pa.timestamp("us")),
    ("c_guid", "uniqueidentifier", pa.string()),
]


def _values(rng: np.random.Generator) -> dict[str, list[Any]]:
    words = ["", "a", "héllo", "𝄞 music", "日本語", "x" * 40]
    base = dt.datetime(2000, 1, 1)
    data: dict[str, list[Any]] = {
        "c_int": [int(v) for v in rng.integers(-(2**31), 2**31 - 1, ROWS)],
        "c_bigint": [int(v) for v in rng.integers(-(2**62), 2**62, ROWS)],
        "c_bit": [bool(v) for v in rng.integers(0, 2, ROWS)],
        "c_dec": [
            decimal.Decimal(int(v)).scaleb(-3) for v in rng.integers(-(10**15), 10**15, ROWS)
        ],
        "c_float": [float(v) for v in rng.normal(0, 1e6, ROWS)],
        "c_nvc": [words[int(i)] for i in rng.integers(0, len(words), ROWS)],
        "c_nvmax": [words[int(i)] * int(rng.integers(0, 300)) for i in rng.integers(0, 6, ROWS)],
        "c_vc": [f"code-{int(v)}" for v in rng.integers(0, 10**9, ROWS)],
        "c_vb": [
            bytes(rng.integers(0, 256, int(n), dtype=np.uint8)) for n in rng.integers(0, 21, ROWS)
        ],
        "c_date": [
            dt.date(1, 1, 1) + dt.timedelta(days=int(v)) for v in rng.integers(0, 3_652_058, ROWS)
        ],
        "c_dt2": [
            base + dt.timedelta(microseconds=int(v)) for v in rng.integers(-(10**15), 10**15, ROWS)
        ],
        "c_guid": [
            str(uuid.UUID(bytes=bytes(rng.integers(0, 256, 16, dtype=np.uint8))))
            for _ in range(ROWS)
        ],
    }
    for name, values in data.items():
        nulls = rng.random(ROWS) < 0.3
        data[name] = [None if n else v for v, n in zip(values, nulls, strict=True)]
    return data


@pytest.fixture(scope="module")
def random_table() -> Iterator[tuple[RunningEmulator, dict[str, list[Any]]]]:
    from mssql_emulator.engine import DuckDBEngine

    data = _values(np.random.default_rng(42))
    engine = DuckDBEngine(["randdb"])
    columns = ", ".join(f"{name} {sql_type} NULL" for name, sql_type, _ in COLUMNS)
    engine.run_script("randdb", f"CREATE TABLE dbo.rand (id int NOT NULL PRIMARY KEY, {columns})")
    arrow = pa.table(
        {
            "id": pa.array(range(ROWS), pa.int32()),
            **{name: pa.array(data[name], t) for name, _, t in COLUMNS},
        }
    )
    engine.load_arrow("randdb", "dbo.rand", arrow)
    with running_emulator(database="randdb", engine=engine) as emu:
        yield emu, data
    engine.close()


@pytest.mark.parametrize(
    "driver", [d for d in DRIVERS if d.name in ("pytds", "mssql-python")], ids=lambda d: d.name
)
def test_random_rows_with_nulls_read_back_exactly(
    random_table: tuple[RunningEmulator, dict[str, list[Any]]], driver: Driver
) -> None:
    emu, data = random_table
    conn = driver.connect(emu)
    try:
        cur = conn.cursor()
        names = ", ".join(name for name, _, _ in COLUMNS)
        cur.execute(f"SELECT {names} FROM dbo.rand ORDER BY id")
        rows = cur.fetchall()
    finally:
        conn.close()
    assert len(rows) == ROWS
    for index, (name, _, _) in enumerate(COLUMNS):
        got = [row[index] for row in rows]
        if name == "c_guid":
            got = [None if v is None else str(v).lower() for v in got]
        assert got == data[name], name


def test_random_rows_through_arrow_fetch(
    random_table: tuple[RunningEmulator, dict[str, list[Any]]],
) -> None:
    import mssql_python

    emu, data = random_table
    conn = mssql_python.connect(emu.odbc_connection_string(), timeout=10)
    try:
        cur = conn.cursor()
        cur.execute("SELECT c_int, c_nvc, c_dt2 FROM dbo.rand ORDER BY id")
        table = pa.Table.from_batches(list(cur.arrow_reader(1000)))
        # mssql-python reads (max) columns with SQLGetData while holding the GIL: with the
        # server in this same process the reply must fit one burst (docs/emulator.md).
        cur.execute(f"SELECT c_nvmax FROM dbo.rand WHERE id < {LOB_ROWS} ORDER BY id")
        lobs = pa.Table.from_batches(list(cur.arrow_reader(1000)))
    finally:
        conn.close()
    assert table.column(0).to_pylist() == data["c_int"]
    assert table.column(1).to_pylist() == data["c_nvc"]
    assert table.column(2).to_pylist() == data["c_dt2"]
    assert lobs.column(0).to_pylist() == data["c_nvmax"][:LOB_ROWS]


def test_large_lob_replies_through_arrow_with_a_server_process() -> None:
    import mssql_python

    from mssql_emulator.testing import running_emulator_process

    digits = ", ".join(f"({i})" for i in range(10))
    script = (
        "CREATE TABLE dbo.docs (id int NOT NULL PRIMARY KEY, body nvarchar(max))\nGO\n"
        f"INSERT INTO dbo.docs SELECT a.d * 10 + b.d, REPLICATE(CAST(N'é' AS nvarchar(max)), "
        f"(a.d * 10 + b.d) * 500) FROM (VALUES {digits}) a(d) CROSS JOIN (VALUES {digits}) b(d)\n"
    )
    with running_emulator_process(init_sql=[script]) as emu:
        conn = mssql_python.connect(emu.odbc_connection_string(), timeout=10)
        try:
            cur = conn.cursor()
            cur.execute("SELECT id, body FROM dbo.docs ORDER BY id")
            table = pa.Table.from_batches(list(cur.arrow_reader(1000)))
        finally:
            conn.close()
    # about 5 MB of text: many bursts, values cut between them
    assert table.column(0).to_pylist() == list(range(100))
    assert [len(v) for v in table.column(1).to_pylist()] == [i * 500 for i in range(100)]
    assert set("".join(table.column(1).to_pylist())) == {"é"}
