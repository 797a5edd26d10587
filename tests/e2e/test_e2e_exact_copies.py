"""Merge-mode flows keep an exact copy: after every run the dataset equals the source table.

A hypothesis state machine commits random transactions at the source (inserts,
updates, deletes, a key deleted then inserted again, rolled-back transactions)
between on-demand runs, through the real server, the emulator and the real
driver, and after every run compares the Delta table with the source table,
key by key and value by value.

Two ways of finding changes are tested:
* a delta column (``UpdatedAt``, set by every write): windows of it are merged
  by key. A deleted row leaves no timestamp behind, so this mode sees inserts
  and updates only; its machine makes no deletes.
* SQL Server Change Tracking (``cdcEnabled``): every change, deletes included.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import mssql_python
import pyarrow as pa
import pytest
from flow_journey import Journey, build_flow, commits, read_dataset, wait_for_run
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    rule,
    run_state_machine_as_test,
)
from service_harness import ApiClient, RunningServer, make_settings, new_org_id, start_server

from mssql_emulator.testing import RunningEmulator, running_emulator

pytestmark = pytest.mark.timeout(600)

KEYS = st.integers(min_value=1, max_value=12)
NAMES = st.sampled_from(["Ann", "Bob", "Cé", "Dora", "", "Émile"])
AMOUNTS = st.integers(min_value=-1000, max_value=1000) | st.none()
MACHINE_SETTINGS = settings(
    max_examples=5,
    stateful_step_count=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
T0 = datetime(2024, 1, 1, tzinfo=UTC)
_tables = itertools.count()
Change = tuple[str, int, str, int | None]  # (insert|update|delete, key, name, amount)


def _tomorrow() -> int:
    return int(datetime.now(UTC).timestamp()) + 86_400


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("exact") / "home"


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[RunningServer]:
    running = start_server(
        make_settings(home, f"sqlite:///{home / 'flowservice.db'}", scheduler_interval_seconds=0.2)
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator() as running:
        with mssql_python.connect(running.odbc_connection_string(), autocommit=True) as conn:
            conn.cursor().execute(
                f"ALTER DATABASE [{running.database}] SET CHANGE_TRACKING = ON "
                "(CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON)"
            )
        yield running


@pytest.fixture
def client(server: RunningServer) -> Iterator[ApiClient]:
    org = new_org_id()
    api = ApiClient(server, org_id=org, client_id=f"exact-{org}")
    yield api
    api.close()


class Source:
    """The source table through a real driver connection, and the same rows in Python."""

    def __init__(self, emulator: RunningEmulator, *, change_tracking: bool) -> None:
        self.table = f"dbo.Items{next(_tables)}"
        self.conn = mssql_python.connect(emulator.odbc_connection_string(), autocommit=True)
        self.clock = T0
        cursor = self.conn.cursor()
        cursor.execute(
            f"CREATE TABLE {self.table} (ID INT NOT NULL PRIMARY KEY, Name NVARCHAR(20), "
            "Amount INT, UpdatedAt DATETIME2)"
        )
        if change_tracking:
            cursor.execute(f"ALTER TABLE {self.table} ENABLE CHANGE_TRACKING")

    def tick(self) -> datetime:
        self.clock += timedelta(minutes=1)
        return self.clock

    def apply(self, ops: list[Change], *, commit: bool) -> None:
        """One transaction of ``(op, key, name, amount)``; skipped ops leave no trace."""
        cursor = self.conn.cursor()
        cursor.execute("BEGIN TRANSACTION")
        stamp = self.tick().replace(tzinfo=None)
        for op, key, name, amount in ops:
            if op == "insert":
                cursor.execute(f"DELETE FROM {self.table} WHERE ID = ?", key)
                cursor.execute(
                    f"INSERT INTO {self.table} VALUES (?, ?, ?, ?)", key, name, amount, stamp
                )
            elif op == "update":
                cursor.execute(
                    f"UPDATE {self.table} SET Name = ?, Amount = ?, UpdatedAt = ? WHERE ID = ?",
                    name,
                    amount,
                    stamp,
                    key,
                )
            else:
                cursor.execute(f"DELETE FROM {self.table} WHERE ID = ?", key)
        cursor.execute("COMMIT TRANSACTION" if commit else "ROLLBACK TRANSACTION")

    def rows(self) -> dict[int, tuple[str | None, int | None]]:
        cursor = self.conn.cursor()
        cursor.execute(f"SELECT ID, Name, Amount FROM {self.table}")
        return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}


def dataset_rows(
    client: ApiClient, home: Path, journey: Journey
) -> dict[int, tuple[str | None, int | None]]:
    if commits(home, journey.dataset_id) == 0:
        return {}  # no run has written yet: an empty copy
    table: pa.Table = read_dataset(client, home, journey.dataset_id)
    data = table.to_pylist()
    live = [r for r in data if r.get("_deleted_at") is None]
    out = {r["ID"]: (r["Name"], r["Amount"]) for r in live}
    assert len(out) == len(live), "a key is in the dataset twice"
    return out


OPS_WITHOUT_DELETES = st.sampled_from(["insert", "update"])
ALL_OPS = st.sampled_from(["insert", "update", "delete"])


def machine(
    client: ApiClient, home: Path, emulator: RunningEmulator, *, change_tracking: bool
) -> type[RuleBasedStateMachine]:
    ops = ALL_OPS if change_tracking else OPS_WITHOUT_DELETES

    class ExactCopy(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.source = Source(emulator, change_tracking=change_tracking)
            self.journey = build_flow(
                client,
                emulator,
                table=self.source.table,
                delta_column=None if change_tracking else "UpdatedAt",
                schedule={
                    "startTime": int(datetime.now(UTC).timestamp()) + 86_400,
                    "frequency": "once",
                },
                source_params={"cdcEnabled": True} if change_tracking else None,
                target_params={"writeMode": "merge"},
            )
            self.position: datetime | None = None

        @initialize(keys=st.lists(KEYS, min_size=1, max_size=6, unique=True))
        def first_rows_and_run(self, keys: list[int]) -> None:
            self.source.apply([("insert", k, f"first {k}", k) for k in keys], commit=True)
            self.run()

        @rule(
            changes=st.lists(st.tuples(ops, KEYS, NAMES, AMOUNTS), min_size=1, max_size=8),
            commit=st.booleans() | st.just(True),
        )
        def transaction(
            self, changes: list[tuple[str, int, str, int | None]], commit: bool
        ) -> None:
            self.source.apply(changes, commit=commit)

        @rule()
        def run(self) -> None:
            params: dict[str, Any] = {}
            if not change_tracking:
                end = self.source.tick()
                start = 0 if self.position is None else int(self.position.timestamp())
                params = {"windowStartTime": start, "windowEndTime": int(end.timestamp())}
                self.position = end
            response = client.post("/runs", json={"flowId": self.journey.flow_id, "params": params})
            assert response.status_code == 201, response.text
            done = wait_for_run(client, response.json()["id"])
            assert done["metrics"]["statusSummary"]["status"] == "success", done
            if change_tracking:
                versions = done["metrics"]["statusSummary"]["extensions"]["changeTracking"]
                assert versions["snapshot"] is (versions.get("fromVersion") is None)
            assert dataset_rows(client, home, self.journey) == self.source.rows()
            proof = client.post(f"/flows/{self.journey.flow_id}/verify")
            assert proof.status_code == 200, proof.text
            assert proof.json()["equal"] is True, proof.json()

        def teardown(self) -> None:
            self.source.conn.close()

    return ExactCopy


def test_delta_column_merge_keeps_an_exact_copy(
    client: ApiClient, home: Path, emulator: RunningEmulator
) -> None:
    run_state_machine_as_test(
        machine(client, home, emulator, change_tracking=False), settings=MACHINE_SETTINGS
    )


def test_change_tracking_merge_keeps_an_exact_copy(
    client: ApiClient, home: Path, emulator: RunningEmulator
) -> None:
    run_state_machine_as_test(
        machine(client, home, emulator, change_tracking=True), settings=MACHINE_SETTINGS
    )
