"""Source reads in children of the fork server, against the emulator with the real driver.

The emulator runs in its own process: mssql-python's Arrow fetch of ``(max)``
columns holds the GIL, so an in-process server could never send the rest.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import stat
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from pathlib import Path
from typing import cast

import psutil
import pyarrow as pa
import pytest

from flowservice.connectors.base import ReadWindow
from flowservice.connectors.sqlserver.connector import SqlServerConnector
from flowservice.errors import NotFound, SourceConfigError, SourceSystemError
from flowservice.flows.source_process import ProcessSource, SourceProcesses
from mssql_emulator.testing import RunningEmulator, running_emulator_process

ROWS = 200_000
BATCH_ROWS = 30_000
FORK_SERVER_MODULE = "flowservice.flows.source_process.fork_server"
WRONG_PASSWORD = "Wrong-Secret-9"
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)  # row n was taken n seconds after this

# NULLs in every nullable column at different strides; ~30 MB in all, far more
# than the socket buffers hold, so a child is still sending when the run takes a batch.
INIT_SQL = f"""
CREATE TABLE dbo.readings (
    id int NOT NULL PRIMARY KEY,
    amount decimal(19,4), ratio float, flag bit,
    taken datetime2(6) NOT NULL, label nvarchar(40), payload varbinary(max)
);
INSERT INTO dbo.readings
SELECT value,
       CASE WHEN value % 5 = 0 THEN NULL ELSE CAST(value AS decimal(19,4)) / 8 END,
       value * 0.25,
       CASE WHEN value % 3 = 0 THEN NULL ELSE value % 2 END,
       DATEADD(second, value, CAST('2024-01-01' AS datetime2(6))),
       CASE WHEN value % 7 = 0 THEN NULL ELSE CONCAT(N'Zürich – 東京 ', value) END,
       CASE WHEN value % 11 = 0 THEN NULL
            ELSE CAST(REPLICATE(CONCAT('row ', value, ' '), 8) AS varbinary(max)) END
FROM GENERATE_SERIES(1, {ROWS});
"""


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator_process(init_sql=[INIT_SQL]) as running:
        yield running


def connection_string(emu: RunningEmulator, password: str | None = None) -> str:
    return (
        f"Data Source={emu.host},{emu.port};Initial Catalog={emu.database};"
        f"User ID={emu.user};Password={password or emu.password};Encrypt=false"
    )


@pytest.fixture(scope="module")
def connector(emulator: RunningEmulator) -> SqlServerConnector:
    return SqlServerConnector({"connectionString": connection_string(emulator)})


@pytest.fixture
def processes() -> Iterator[SourceProcesses]:
    started = SourceProcesses()
    started.start()
    yield started
    started.stop()


# --- helpers -------------------------------------------------------------


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def fork_server(processes: SourceProcesses) -> psutil.Process:
    """The live fork server of ``processes`` (other tests' servers may run beside it)."""
    found: list[psutil.Process] = []

    def live() -> bool:
        pid = processes.pid
        if pid is None:
            return False
        with contextlib.suppress(psutil.NoSuchProcess):
            server = psutil.Process(pid)
            if server.status() != psutil.STATUS_ZOMBIE and FORK_SERVER_MODULE in server.cmdline():
                found[:] = [server]
                return True
        return False

    wait_until(live, "a live fork server")
    return found[0]


def socket_directory(server: psutil.Process) -> Path:
    """The directory of the socket the server listens on (its last argument)."""
    return Path(server.cmdline()[-1]).parent


def exited(pid: int) -> bool:
    """Whether our child ``pid`` has wholly exited, without reaping it (its ``Popen`` does that).

    A zombie status alone is not enough: the leader of a process with threads is
    a zombie while its other threads are still being torn down.
    """
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def read_children(server: psutil.Process) -> list[psutil.Process]:
    return [c for c in server.children() if c.status() != psutil.STATUS_ZOMBIE]


def table_of(batches: list[pa.RecordBatch]) -> pa.Table:
    assert batches, "the read returned no batches"
    return pa.Table.from_batches(batches)


def assert_same_read(
    connector: SqlServerConnector, processes: SourceProcesses, *, window: ReadWindow | None = None
) -> list[pa.RecordBatch]:
    """The child's batches equal the in-process read's: schema, values and batch sizes."""
    expected = list(connector.read("dbo.readings", window=window, batch_rows=BATCH_ROWS))
    got = list(processes.read(connector, "dbo.readings", window=window, batch_rows=BATCH_ROWS))
    assert [b.num_rows for b in got] == [b.num_rows for b in expected]
    assert table_of(got).schema.equals(table_of(expected).schema, check_metadata=True)
    assert table_of(got).equals(table_of(expected))
    return got


def small_batches(
    connector: SqlServerConnector, processes: SourceProcesses
) -> Generator[pa.RecordBatch, None, None]:
    """A whole-table read in 20 batches (``read`` is a generator; the tests close it)."""
    read = processes.read(connector, "dbo.readings", batch_rows=10_000)
    return cast(Generator[pa.RecordBatch, None, None], read)


def raised(read: Callable[[], object]) -> BaseException:
    with pytest.raises(Exception) as info:
        read()
    return info.value


def assert_same_error(child: BaseException, in_process: BaseException) -> None:
    assert type(child) is type(in_process)
    assert str(child) == str(in_process)
    assert vars(child) == vars(in_process)  # message, reason, resource fields


def assert_reads_whole_table(connector: SqlServerConnector, processes: SourceProcesses) -> None:
    rows = sum(b.num_rows for b in processes.read(connector, "dbo.readings", batch_rows=BATCH_ROWS))
    assert rows == ROWS


# --- same results as in-process ------------------------------------------


def test_whole_table_matches_in_process_read(
    connector: SqlServerConnector, processes: SourceProcesses
) -> None:
    got = assert_same_read(connector, processes)
    assert [b.num_rows for b in got] == [BATCH_ROWS] * 6 + [ROWS - 6 * BATCH_ROWS]
    table = table_of(got)
    assert table.num_rows == ROWS
    assert table.schema.names == ["id", "amount", "ratio", "flag", "taken", "label", "payload"]
    for column in ("amount", "flag", "label", "payload"):
        assert table[column].null_count > 0, column
    assert table.slice(0, 1).to_pylist()[0]["label"] == "Zürich – 東京 1"


def test_column_subset_matches_in_process_read(
    connector: SqlServerConnector, processes: SourceProcesses
) -> None:
    columns = ["payload", "id", "label"]
    expected = table_of(list(connector.read("dbo.readings", columns=columns)))
    got = table_of(list(ProcessSource(connector, processes).read("dbo.readings", columns=columns)))
    assert got.schema.names == expected.schema.names
    assert got.schema.equals(expected.schema, check_metadata=True)
    assert got.equals(expected)
    assert got.num_rows == ROWS


def test_split_read_returns_every_row_once(
    connector: SqlServerConnector, processes: SourceProcesses
) -> None:
    assert len(connector.split("dbo.readings", parts=3, min_rows=BATCH_ROWS)) == 3
    expected = table_of(list(connector.read("dbo.readings", batch_rows=BATCH_ROWS)))
    parts = ProcessSource(connector, processes, parts=3)
    got = table_of(list(parts.read("dbo.readings", batch_rows=BATCH_ROWS)))
    assert got.schema.equals(expected.schema, check_metadata=True)
    assert got.sort_by("id").equals(expected.sort_by("id"))


def test_window_on_datetime2_matches_in_process_read(
    connector: SqlServerConnector, processes: SourceProcesses
) -> None:
    window = ReadWindow(
        "taken", START + dt.timedelta(seconds=50_000), START + dt.timedelta(seconds=130_000)
    )
    got = assert_same_read(connector, processes, window=window)
    ids = table_of(got)["id"].to_pylist()
    assert ids[0] == 50_000 and ids[-1] == 129_999 and len(ids) == 80_000
    assert [b.num_rows for b in got] == [30_000, 30_000, 20_000]


def test_empty_window_yields_no_batches(
    connector: SqlServerConnector, processes: SourceProcesses
) -> None:
    window = ReadWindow("taken", dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert list(connector.read("dbo.readings", window=window)) == []
    assert list(processes.read(connector, "dbo.readings", window=window)) == []
    assert_reads_whole_table(connector, processes)


# --- errors arrive as they are raised in-process -------------------------


def test_unknown_table_raises_the_in_process_error(
    connector: SqlServerConnector, processes: SourceProcesses
) -> None:
    in_process = raised(lambda: list(connector.read("dbo.no_such_table")))
    child = raised(lambda: list(processes.read(connector, "dbo.no_such_table")))
    assert isinstance(child, NotFound)
    assert_same_error(child, in_process)


def test_unknown_column_raises_the_in_process_error(
    connector: SqlServerConnector, processes: SourceProcesses
) -> None:
    in_process = raised(lambda: list(connector.read("dbo.readings", columns=["id", "nope"])))
    child = raised(lambda: list(processes.read(connector, "dbo.readings", columns=["id", "nope"])))
    assert isinstance(child, SourceConfigError)
    assert "nope" in str(child)
    assert_same_error(child, in_process)


def test_wrong_password_raises_a_login_error_without_the_password(
    emulator: RunningEmulator, processes: SourceProcesses
) -> None:
    wrong = SqlServerConnector({"connectionString": connection_string(emulator, WRONG_PASSWORD)})
    in_process = raised(lambda: list(wrong.read("dbo.readings")))
    child = raised(lambda: list(processes.read(wrong, "dbo.readings")))
    assert isinstance(child, SourceConfigError)
    assert getattr(child, "reason", None) == "login_failed"
    assert WRONG_PASSWORD not in str(child) and WRONG_PASSWORD not in repr(child)
    assert_same_error(child, in_process)


# --- children and the server going away -----------------------------------


def test_child_killed_mid_read_raises_source_system_error(
    connector: SqlServerConnector, processes: SourceProcesses
) -> None:
    server = fork_server(processes)
    with closing(small_batches(connector, processes)) as batches:
        assert next(batches).num_rows == 10_000
        children = read_children(server)
        assert len(children) == 1
        children[0].send_signal(signal.SIGKILL)
        with pytest.raises(SourceSystemError):
            for _ in batches:
                pass
    assert_reads_whole_table(connector, processes)


def test_consumer_closing_early_ends_the_child(
    connector: SqlServerConnector, processes: SourceProcesses
) -> None:
    server = fork_server(processes)
    batches = small_batches(connector, processes)
    assert next(batches).num_rows == 10_000
    assert len(read_children(server)) == 1
    batches.close()
    wait_until(lambda: not read_children(server), "the fork server has no read child")
    assert_reads_whole_table(connector, processes)
    assert server.is_running(), "the fork server itself stays up"


def test_killed_fork_server_is_replaced_at_the_next_read(
    connector: SqlServerConnector, processes: SourceProcesses
) -> None:
    assert_reads_whole_table(connector, processes)
    old = fork_server(processes)
    old_directory = socket_directory(old)
    old.send_signal(signal.SIGKILL)
    wait_until(lambda: exited(old.pid), "the killed fork server has exited")
    assert_reads_whole_table(connector, processes)
    new = fork_server(processes)
    assert new.pid != old.pid
    assert not old_directory.exists()


def test_fork_server_is_single_threaded(
    connector: SqlServerConnector, processes: SourceProcesses
) -> None:
    # fork() copies only the calling thread: a lock another thread holds stays locked in the child
    assert_reads_whole_table(connector, processes)  # drivers and pyarrow are loaded by now
    server = fork_server(processes)
    threads = sorted(Path(f"/proc/{server.pid}/task").iterdir())
    names = [(task / "comm").read_text().strip() for task in threads]
    assert len(names) == 1, f"threads of the fork server: {names}"


def test_stop_ends_the_server_and_removes_its_socket_directory(
    connector: SqlServerConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWSERVICE_TEST_SECRET", "not-for-children")
    processes = SourceProcesses()
    processes.start()
    try:
        server = fork_server(processes)
        directory = socket_directory(server)
        assert_reads_whole_table(connector, processes)  # the server is up and listening
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        environ = Path(f"/proc/{server.pid}/environ").read_bytes().split(b"\0")
        assert b"ARROW_DEFAULT_MEMORY_POOL=system" in environ  # the server's own environment
        assert not [v for v in environ if v.startswith(b"FLOWSERVICE_")]
    finally:
        processes.stop()
    assert not server.is_running()
    assert not directory.exists()
