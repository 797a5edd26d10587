"""List latency as a sandbox grows: runs and connections read in SQL pages, not whole.

Usage: ``.venv/bin/python bench/list_scale.py [--clients 4] [--seconds 8] [--rounds 2]``
(``--database-url postgresql+psycopg://.../db`` for a PostgreSQL metadata DB; the bench
creates and drops a database of its own next to the one named)

Two services, one after the other (``flowservice serve``, each on its own temporary home):
one whose sandbox holds 10 connections and 100 runs, one whose sandbox holds 10,000
connections and 100,000 runs. The rows are written straight into the service's metadata
DB through the store (one real connection created by the service code, its row copied
with other ids and names; run rows from real run records, one every 15 minutes over
three flows), then ``--clients`` keep-alive clients (``api_load.Http1``) send one kind of
request for ``--seconds``, the kinds alternated ``--rounds`` times:
``GET /runs?limit=10``, ``GET /connections?limit=10`` and ``GET /connections/{id}``.

Targets: ``GET /runs?limit=10`` p50 with 100,000 runs at most 2x its p50 with 100 runs;
``GET /connections?limit=10`` with 10,000 connections at least 0.5x the throughput of
``GET /connections/{id}``. Exits 1 on a request error.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from api_load import Http1, TransportError, connection_body, percentile
from sqlalchemy import insert
from sqlalchemy.engine import make_url

from flowservice.api.runtime import Runtime
from flowservice.api.services import connections
from flowservice.demo.processes import free_port, issue_token, start_service
from flowservice.flows.run_json import run_to_record
from flowservice.flows.run_state import RecordCounts, Run, RunStatus
from flowservice.flows.schedule import EPOCH
from flowservice.settings import API_PREFIX, Settings
from flowservice.store.repos import identity
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

ORG = "LISTSCALE@AdobeOrg"
FLOW_SPEC_ID = "14518937-270c-4525-bdec-c2ba7cce3860"
FIRST_RUN_US = 1_700_000_000 * 1_000_000
BATCH = 5_000
SIZES = {"small": (10, 100), "large": (10_000, 100_000)}  # connections, runs


@dataclass
class Phase:
    """Latencies of one kind of request, over every round."""

    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: int = 0

    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def line(self, title: str) -> str:
        p50, p99 = (percentile(self.latencies, q) * 1000 for q in (0.5, 0.99))
        return (
            f"  {title:<36}{len(self.latencies):>8,}{self.errors:>7}"
            f"{self.rate():>9.1f}{p50:>9.2f}{p99:>9.2f}"
        )


def _run_rows(scope: Scope, count: int) -> Iterator[list[dict[str, Any]]]:
    """Rows of finished runs, 15 minutes apart, over three flows, ``BATCH`` at a time."""
    flows = [str(uuid.uuid4()) for _ in range(3)]
    batch: list[dict[str, Any]] = []
    for index in range(count):
        created = EPOCH + timedelta(microseconds=FIRST_RUN_US) + timedelta(minutes=15 * index)
        run = Run(
            id=str(uuid.uuid4()),
            flow_id=flows[index % 3],
            flow_spec_id=FLOW_SPEC_ID,
            flow_spec_version="1.0",
            created_at=created,
            source_connection_ids=[str(uuid.uuid4())],
            target_connection_ids=[str(uuid.uuid4())],
            status=RunStatus.SUCCESS if index % 10 else RunStatus.FAILED,
            started_at=created,
            completed_at=created + timedelta(seconds=40),
            updated_at=created + timedelta(seconds=40),
            counts=RecordCounts(input_records=1000, output_records=1000, output_bytes=65_536),
        )
        # created_at: the migration's trigger sets the run's own creation time
        batch.append(
            _row(scope, run.id, "runs", run.flow_id, FLOW_SPEC_ID, str(run.status))
            | {"doc": {"run": run_to_record(run), "startAtUs": 0}, "name": None}
        )
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _row(
    scope: Scope, row_id: str, kind: str, parent: str | None, spec: str, state: str
) -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {
        "id": row_id,
        "kind": kind,
        "org_id": scope.org_id,
        "sandbox_id": scope.sandbox_id,
        "state": state,
        "spec_id": spec,
        "parent_id": parent,
        "etag": str(uuid.uuid4()),
        "created_at": now,
        "updated_at": now,
        "created_by": scope.actor,
        "updated_by": scope.actor,
        "created_client": scope.client_id,
        "updated_client": scope.client_id,
        "secret_doc": None,
    }


def fill(settings: Settings, *, connection_count: int, run_count: int) -> str:
    """Write the sandbox's rows; returns the id of a connection to read by id."""
    runtime = Runtime.start(settings)
    try:
        with runtime.transaction() as session:
            sandbox = identity.get_sandbox(session, org_id=ORG, name="prod")
            scope = Scope(ORG, sandbox.id, sandbox.name, "bench@AdobeID", "list-scale")
            model = connections.create_connection(
                session, runtime, scope, connection_body("conn-0")
            )
            template = {c.key: getattr(model, c.key) for c in Resource.__table__.columns}
        copies = [
            template | {"id": str(uuid.uuid4()), "name": f"conn-{i}", "created_at": i, "etag": "e"}
            for i in range(1, connection_count)
        ]
        with runtime.transaction() as session:
            for start in range(0, len(copies), BATCH):
                session.execute(insert(Resource), copies[start : start + BATCH])
        for batch in _run_rows(scope, run_count):
            with runtime.transaction() as session:
                session.execute(insert(Resource), batch)
        return str(model.id)
    finally:
        runtime.close()


async def measure(
    port: int, headers: dict[str, str], targets: dict[str, str], clients: int, seconds: float
) -> dict[str, Phase]:
    """Each target alone, ``clients`` at a time, for ``seconds``; targets in turn."""
    phases = {name: Phase() for name in targets}
    connections_ = [Http1(port, headers) for _ in range(clients)]

    async def drive(http: Http1, target: str, phase: Phase, deadline: float) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                status, _ = await http.request("GET", target)
            except TransportError:
                phase.errors += 1
                continue
            if status == 200:
                phase.latencies.append(time.perf_counter() - started)
            else:
                phase.errors += 1

    try:
        for name, target in targets.items():
            started = time.perf_counter()
            deadline = started + seconds
            phase = phases[name]
            await asyncio.gather(*(drive(h, target, phase, deadline) for h in connections_))
            phase.seconds += time.perf_counter() - started
    finally:
        await asyncio.gather(*(h.close() for h in connections_))
    return phases


@contextmanager
def postgres_database(url: str | None) -> Iterator[str | None]:
    """A fresh database on the server of ``url`` (dropped afterwards); None: SQLite."""
    if url is None:
        yield None
        return
    parsed = make_url(url)
    name = f"list_scale_{uuid.uuid4().hex[:10]}"
    admin = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield parsed.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def one_size(args: argparse.Namespace, size: str) -> dict[str, Phase]:
    connection_count, run_count = SIZES[size]
    with (
        tempfile.TemporaryDirectory(prefix="flowservice-list-scale-") as scratch,
        postgres_database(args.database_url) as url,
    ):
        home, port = Path(scratch), free_port()
        env = {"FLOWSERVICE_DATABASE_URL": url} if url else {}
        service = start_service(home=home, port=port, timeout=120, settings=env)
        try:
            token = issue_token(home, org=ORG, client_id="list-scale")
            headers = {
                "Authorization": f"Bearer {token['accessToken']}",
                "x-api-key": token["apiKey"],
                "x-gw-ims-org-id": token["orgId"],
                "x-sandbox-name": "prod",
            }
            asyncio.run(measure(port, headers, {"hello": f"{API_PREFIX}/runs?limit=1"}, 1, 0.2))
            started = time.perf_counter()
            settings = Settings(home=home, database_url=url)
            connection_id = fill(settings, connection_count=connection_count, run_count=run_count)
            print(
                f"{size}: {connection_count:,} connections and {run_count:,} runs written in "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )
            targets = {
                "GET /runs?limit=10": f"{API_PREFIX}/runs?limit=10",
                "GET /connections?limit=10": f"{API_PREFIX}/connections?limit=10",
                "GET /connections/{id}": f"{API_PREFIX}/connections/{connection_id}",
            }
            phases = {name: Phase() for name in targets}
            for _ in range(args.rounds):
                done = asyncio.run(measure(port, headers, targets, args.clients, args.seconds))
                for name, phase in done.items():
                    phases[name].latencies += phase.latencies
                    phases[name].seconds += phase.seconds
                    phases[name].errors += phase.errors
        finally:
            service.stop()
    print(f"  {'request':<36}{'ok':>8}{'errors':>7}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for name, phase in phases.items():
        print(phase.line(name), flush=True)
    return phases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8, help="per request kind and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database-url", help="a PostgreSQL server (default: SQLite)")
    args = parser.parse_args()
    print(
        f"{'PostgreSQL' if args.database_url else 'SQLite'} metadata DB, {args.clients} clients, "
        f"{args.rounds} rounds of {args.seconds:.0f} s per request kind",
        flush=True,
    )
    small, large = one_size(args, "small"), one_size(args, "large")
    runs_small = percentile(small["GET /runs?limit=10"].latencies, 0.5)
    runs_large = percentile(large["GET /runs?limit=10"].latencies, 0.5)
    listed, got = large["GET /connections?limit=10"].rate(), large["GET /connections/{id}"].rate()
    # no answer at all (every request failed or timed out) misses the target
    runs_ratio = runs_large / runs_small if runs_small and runs_large else float("inf")
    rate_ratio = listed / got if got else 0.0
    print(
        f"GET /runs?limit=10 p50, 100,000 vs 100 runs: x{runs_ratio:.2f} "
        f"(target at most x2: {'met' if runs_ratio <= 2 else 'MISSED'})"
    )
    print(
        f"GET /connections?limit=10 vs GET /connections/{{id}} throughput with 10,000 "
        f"connections: x{rate_ratio:.2f} (target at least x0.5: "
        f"{'met' if rate_ratio >= 0.5 else 'MISSED'})"
    )
    errors = sum(p.errors for phases in (small, large) for p in phases.values())
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
