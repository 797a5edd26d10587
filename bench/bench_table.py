"""The 10-column table the SQL Server benchmarks read, and the raw driver read they compare with."""

from __future__ import annotations

import multiprocessing as mp
import resource
import time
from collections.abc import Callable

COLUMNS = (
    "id bigint NOT NULL PRIMARY KEY, qty int, price decimal(19,4), ratio float, "
    "flag bit, code nvarchar(20), note varchar(40), created datetime2(6), "
    "day date, amount money"
)
NAMES = ("id", "qty", "price", "ratio", "flag", "code", "note", "created", "day", "amount")
# the statement the connector sends for a whole-table read, so a ratio is the product's cost
RAW_SELECT = "SELECT " + ", ".join(f"[{n}]" for n in NAMES) + " FROM [dbo].[bench]"
USER, PASSWORD, DATABASE = "bench", "Bench_Pass1", "benchdb"

# (rows read, seconds, the reader's peak RSS in KiB)
Reading = tuple[int, float, int]


def init_script(rows: int) -> str:
    return f"""
CREATE TABLE dbo.bench ({COLUMNS});
{insert_statement(1, rows)}
"""


def insert_statement(first: int, last: int) -> str:
    """Rows with keys ``first`` to ``last`` (inclusive), every column derived from the key."""
    return f"""INSERT INTO dbo.bench
SELECT value, value % 1000, CAST(value AS decimal(19,4)) / 7, value * 0.5, value % 2,
       CONCAT(N'code-', value % 977), CONCAT('note ', value),
       DATEADD(second, value, CAST('2020-01-01' AS datetime2(6))),
       DATEADD(day, value % 3650, CAST('2000-01-01' AS date)),
       CAST(value AS money) / 100
FROM GENERATE_SERIES({first}, {last});"""


def read_raw(port: int, batch_rows: int, out: mp.Queue[Reading]) -> None:
    """The whole table with mssql-python's ``arrow_reader``, timed from execute to last batch."""
    import mssql_python
    import pyarrow  # noqa: F401  (mssql-python imports it lazily: keep that out of the timing)

    connection = mssql_python.connect(
        f"Server=tcp:127.0.0.1,{port};Database={DATABASE};UID={USER};PWD={PASSWORD};Encrypt=no",
        autocommit=True,
    )
    cursor = connection.cursor()
    started = time.perf_counter()
    cursor.execute(RAW_SELECT, ())
    rows = sum(batch.num_rows for batch in cursor.arrow_reader(batch_rows))
    elapsed = time.perf_counter() - started
    connection.close()
    out.put((rows, elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def run_child(target: Callable[..., None], port: int, batch_rows: int) -> Reading:
    """Run one reader in a fresh process, so its imports and peak memory are its own."""
    context = mp.get_context("spawn")
    out: mp.Queue[Reading] = context.Queue()
    child = context.Process(target=target, args=(port, batch_rows, out))
    child.start()
    result = out.get(timeout=3600)
    child.join()
    return result
