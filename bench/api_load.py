"""Concurrent API clients creating, reading, patching, listing and deleting connections.

Usage: ``.venv/bin/python bench/api_load.py [--clients 50] [--seconds 60] [--solo-seconds 20]``
(also ``--database-url postgresql+psycopg://...`` for a PostgreSQL metadata DB instead of the
embedded SQLite, and ``--set FLOWSERVICE_X=value`` for other service settings)

The service (``flowservice serve``, default settings, its own temporary home) runs in its own
process; the token comes from ``flowservice auth token --json``. The clients are coroutines in
this process, each on its own keep-alive connection, each sending its next request as soon as
the last one is answered. Client and service share the machine's cores, so what the client
spends is taken from the service: the clients speak HTTP/1.1 through ``Http1`` below, which
costs about a tenth of the CPU per request of ``httpx.AsyncClient`` (0.3 vs 3 ms measured on
the 2-core machine), and each phase prints the CPU the service, the client and every other
process used (with PostgreSQL, its server is one of the others). The service is one process
whose Python code holds the GIL, so about one core is all it can use.

Mixed phase (``--seconds``): each client picks create / get / patch / list / delete with the
weights of ``MIX``, on connections it created itself (a client with none creates). A patch
replaces the name with If-Match on the last acknowledged etag; a get checks the name and etag
of the last acknowledged write (read-your-writes); a list is ``GET /connections?limit=10``.
Then ``GET /connections/{id}`` alone (the baseline) and the list alone, alternated twice,
``--solo-seconds`` each in all. Rates count every answer over the phase's whole time, the wait
for those in flight at its end included (the service is busy until the last one); the service's
CPU time per request is the cost the other processes on the machine do not change.

Errors are any non-2xx answer or transport error, counted by operation and status. At the end
an independent client (httpx) reads back every connection the clients still hold, which must
carry its last acknowledged name; every acknowledged delete must answer 404, and
``count=true`` must match. Each acknowledged patch carried the etag of the write before it,
so the final state vouches for every acknowledged write. Exits 1 on any error or discrepancy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from flowservice.demo.processes import ChildProcess, free_port, issue_token, start_service
from flowservice.settings import API_PREFIX

SQLSERVER_SPEC_ID = "1f372ff9-38a4-4492-96f5-b9a4e4bd00ec"
CONNECTIONS = f"{API_PREFIX}/connections"
OPERATIONS = ("create", "get", "patch", "list", "delete")
# creates outnumber deletes, so the org's connection count grows while the bench runs
MIX = {"create": 15, "get": 35, "patch": 20, "list": 20, "delete": 10}
EXPECTED = {"create": 201, "get": 200, "patch": 200, "list": 200, "delete": 204}
ERROR_BODIES_SHOWN = 8
TIMEOUT_SECONDS = 30


class TransportError(Exception):
    """No complete HTTP answer: connection refused or reset, timeout, malformed response."""


class Http1:
    """One keep-alive HTTP/1.1 connection to the service, reopened after a transport error."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        fixed = {"Host": f"127.0.0.1:{port}", **headers}
        self.fixed = "".join(f"{name}: {value}\r\n" for name, value in fixed.items())
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(
        self, method: str, target: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """Status and body of one exchange; ``TransportError`` when there is no full answer."""
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                return await self._exchange(method, target, body, headers or {})
        except (
            OSError,
            TimeoutError,
            ValueError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ) as exc:
            await self.close()
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc

    async def _exchange(
        self, method: str, target: str, body: Any, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        if self.streams is not None and self.streams[0].at_eof():
            # the server closed it while idle (uvicorn's keep-alive timeout is 5 s): not an error
            await self.close()
        if self.streams is None:
            self.streams = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self.streams
        data = b"" if body is None else json.dumps(body).encode()
        if body is not None:
            headers = {**headers, "Content-Type": "application/json"}
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        head += f"Content-Length: {len(data)}\r\n" if data else ""
        writer.write(f"{method} {target} HTTP/1.1\r\n{self.fixed}{head}\r\n".encode() + data)
        lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        if fields.get("transfer-encoding") == "chunked":
            content = b""
            while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                content += (await reader.readexactly(size + 2))[:-2]
            await reader.readuntil(b"\r\n")
        else:
            content = await reader.readexactly(int(fields.get("content-length", "0")))
        if fields.get("connection") == "close":
            await self.close()
        return status, content

    async def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


@dataclass
class Known:
    """What a client was last told about a connection it created."""

    name: str
    etag: str
    # names it may carry after a write whose answer never came (the write may or may not be in)
    maybe: set[str] = field(default_factory=set)


@dataclass
class Tally:
    """Latencies, errors and read-your-writes discrepancies of one phase."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {op: [] for op in OPERATIONS})
    nominal_seconds: float = 0.0  # without the drain: waiting for the requests still in flight
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    error_bodies: list[tuple[str, str, str]] = field(default_factory=list)
    discrepancies: list[str] = field(default_factory=list)
    seconds: float = 0.0
    service_cpu: float = 0.0
    client_cpu: float = 0.0
    machine_busy: float = 0.0  # CPU-seconds used by every process on the machine

    def error(self, op: str, status: str, body: str) -> None:
        self.errors[(op, status)] += 1
        self._keep(op, status, body[:400])

    def _keep(self, op: str, status: str, body: str) -> None:
        # bodies differ by request id; the first of each operation and status tells the kind
        seen = any((o, s) == (op, status) for o, s, _ in self.error_bodies)
        if not seen and len(self.error_bodies) < ERROR_BODIES_SHOWN:
            self.error_bodies.append((op, status, body))

    def add(self, part: Tally) -> None:
        for op, values in part.latencies.items():
            self.latencies[op] += values
        self.errors.update(part.errors)
        self.nominal_seconds += part.nominal_seconds
        for kept in part.error_bodies:
            self._keep(*kept)
        self.discrepancies += part.discrepancies
        self.seconds += part.seconds
        self.service_cpu += part.service_cpu
        self.client_cpu += part.client_cpu
        self.machine_busy += part.machine_busy

    def total(self) -> int:
        return sum(len(v) for v in self.latencies.values()) + sum(self.errors.values())

    def service_ms(self) -> float:
        """The service's CPU time per request: its cost, whatever the other processes take."""
        return self.service_cpu / max(self.total(), 1) * 1000


class Client:
    """One API client: its own connection to the service, and the connections it created."""

    def __init__(self, me: int, port: int, headers: dict[str, str]) -> None:
        self.me = me
        self.http = Http1(port, headers)
        self.live: dict[str, Known] = {}
        self.deleted: set[str] = set()
        self.unknown_deletes: set[str] = set()
        self.unknown_creates = 0
        self.created = 0
        self.patched = 0
        self.made = 0  # names handed out so far

    async def call(
        self, tally: Tally, op: str, method: str, target: str, **kwargs: Any
    ) -> Any | None:
        """The JSON answer ({} for a 204) when the status is the expected one, else None."""
        started = time.perf_counter()
        try:
            status, content = await self.http.request(method, target, **kwargs)
        except TransportError as exc:
            tally.error(op, "transport", f"{method} {target}: {exc}")
            return None
        if status != EXPECTED[op]:
            text = content.decode("utf-8", errors="replace")
            tally.error(op, str(status), f"{method} {target}: {text}")
            return None
        tally.latencies[op].append(time.perf_counter() - started)
        return json.loads(content) if content else {}

    def name(self) -> str:
        self.made += 1
        return f"load-{self.me}-{self.made}"


def connection_body(name: str) -> dict[str, Any]:
    connection_string = (
        "Data Source=db.example.com;Initial Catalog=sales;Integrated Security=False;"
        "User ID=loader;Password=S3cret!pw;"
    )
    return {
        "name": name,
        "description": "api_load bench",
        "auth": {
            "specName": "Connection String Based Authentication",
            "params": {"connectionString": connection_string},
        },
        "connectionSpec": {"id": SQLSERVER_SPEC_ID, "version": "1.0"},
    }


async def create(client: Client, tally: Tally) -> None:
    name = client.name()
    made = await client.call(tally, "create", "POST", CONNECTIONS, body=connection_body(name))
    if made is None:
        client.unknown_creates += 1
        return
    client.live[made["id"]] = Known(name, made["etag"])
    client.created += 1


async def get(client: Client, tally: Tally, rng: random.Random) -> None:
    conn_id = rng.choice(list(client.live))
    known = client.live[conn_id]
    answer = await client.call(tally, "get", "GET", f"{CONNECTIONS}/{conn_id}")
    if answer is None or known.maybe:
        return
    item = answer["items"][0]
    if item["name"] != known.name or item["etag"] != known.etag:
        tally.discrepancies.append(
            f"GET {conn_id} after its acknowledged write showed name {item['name']!r} "
            f"etag {item['etag']}, expected {known.name!r} etag {known.etag}"
        )


async def patch(client: Client, tally: Tally, rng: random.Random) -> None:
    conn_id = rng.choice(list(client.live))
    known = client.live[conn_id]
    if known.maybe:  # its last write is in doubt, so its etag is too: read it instead
        await get(client, tally, rng)
        return
    name = client.name()
    answer = await client.call(
        tally,
        "patch",
        "PATCH",
        f"{CONNECTIONS}/{conn_id}",
        body=[{"op": "replace", "path": "/name", "value": name}],
        headers={"If-Match": known.etag},
    )
    if answer is None:
        known.maybe.add(name)
        return
    known.name, known.etag = name, answer["etag"]
    client.patched += 1


async def list_page(client: Client, tally: Tally) -> None:
    answer = await client.call(tally, "list", "GET", f"{CONNECTIONS}?limit=10")
    if answer is not None and len(answer["items"]) > 10:
        tally.discrepancies.append(f"GET /connections?limit=10 gave {len(answer['items'])} items")


async def delete(client: Client, tally: Tally, rng: random.Random) -> None:
    conn_id = rng.choice(list(client.live))
    del client.live[conn_id]
    answer = await client.call(tally, "delete", "DELETE", f"{CONNECTIONS}/{conn_id}")
    (client.deleted if answer is not None else client.unknown_deletes).add(conn_id)


async def drive(client: Client, tally: Tally, mix: dict[str, int], deadline: float) -> None:
    """``client`` sends requests picked from ``mix``, one at a time, until ``deadline``."""
    rng = random.Random(f"{client.me} {sorted(mix.items())} {deadline}")
    ops, weights = list(mix), list(mix.values())
    while time.perf_counter() < deadline:
        op = rng.choices(ops, weights)[0]
        if op != "list" and not client.live:
            op = "create"
        if op == "create":
            await create(client, tally)
        elif op == "get":
            await get(client, tally, rng)
        elif op == "patch":
            await patch(client, tally, rng)
        elif op == "list":
            await list_page(client, tally)
        else:
            await delete(client, tally, rng)


def busy_seconds() -> float:
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


async def phase(
    clients: list[Client], service: psutil.Process, mix: dict[str, int], seconds: float
) -> Tally:
    """Every client runs ``mix`` for ``seconds``; CPU of service, client and machine measured."""
    server_before, client_before = sum(service.cpu_times()[:2]), time.process_time()
    busy_before, started = busy_seconds(), time.perf_counter()
    tally, deadline = Tally(nominal_seconds=seconds), started + seconds
    await asyncio.gather(*(drive(client, tally, mix, deadline) for client in clients))
    tally.seconds = time.perf_counter() - started
    tally.service_cpu = sum(service.cpu_times()[:2]) - server_before
    tally.client_cpu = time.process_time() - client_before
    tally.machine_busy = busy_seconds() - busy_before
    return tally


async def verify(http: httpx.AsyncClient, client: Client) -> list[str]:
    """Read back every connection ``client`` holds or deleted; the discrepancies found."""
    try:
        return await verify_reads(http, client)
    except httpx.HTTPError as exc:
        return [f"client {client.me}: the read-back failed: {type(exc).__name__}: {exc}"]


async def verify_reads(http: httpx.AsyncClient, client: Client) -> list[str]:
    problems = []
    for conn_id, known in client.live.items():
        response = await http.get(f"{CONNECTIONS}/{conn_id}")
        if response.status_code != 200:
            problems.append(f"{conn_id}: created, not deleted, answers {response.status_code}")
            continue
        name = response.json()["items"][0]["name"]
        if name != known.name and name not in known.maybe:
            problems.append(f"{conn_id}: name {name!r}, last acknowledged {known.name!r}")
    for conn_id in client.deleted:
        response = await http.get(f"{CONNECTIONS}/{conn_id}")
        if response.status_code != 404:
            problems.append(f"{conn_id}: deleted (204), answers {response.status_code}")
    return problems


async def verify_all(
    clients: list[Client], base_url: str, headers: dict[str, str]
) -> tuple[int, list[str]]:
    """Acknowledged writes covered, and the discrepancies found: per client, then the count."""
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as http:
        found = await asyncio.gather(*(verify(http, client) for client in clients))
        counted = (await http.get(CONNECTIONS, params={"count": "true"})).json()["count"]
    problems = [problem for part in found for problem in part]
    live = sum(len(c.live) for c in clients)
    maybe = sum(len(c.unknown_deletes) + c.unknown_creates for c in clients)
    if not live <= counted <= live + maybe:
        problems.append(f"count=true says {counted}, the clients hold {live} (+{maybe} in doubt)")
    return sum(c.created + c.patched + len(c.deleted) for c in clients), problems


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def report_phase(title: str, tally: Tally, ops: tuple[str, ...]) -> None:
    """Rates over the whole phase, drain included: the service works until the last answer."""
    others = max(0.0, tally.machine_busy - tally.service_cpu - tally.client_cpu)
    print(
        f"{title}: {tally.total():,} requests, {tally.total() / tally.seconds:,.1f} requests/s "
        f"over {tally.nominal_seconds:.0f} s "
        f"+ {tally.seconds - tally.nominal_seconds:.1f} s for those in flight at the end"
    )
    print(f"  {'operation':<10}{'ok':>8}{'errors':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for op in ops:
        done = tally.latencies[op]
        failed = sum(count for (o, _), count in tally.errors.items() if o == op)
        p50, p99 = (percentile(done, q) * 1000 for q in (0.5, 0.99))
        rate = len(done) / tally.seconds
        print(f"  {op:<10}{len(done):>8,}{failed:>8,}{rate:>9.1f}{p50:>9.1f}{p99:>9.1f}")
    print(
        f"  CPU, in cores: service {tally.service_cpu / tally.seconds:.2f}, "
        f"client {tally.client_cpu / tally.seconds:.2f}, "
        f"other processes {others / tally.seconds:.2f} (of {psutil.cpu_count()}); "
        f"service CPU per request {tally.service_ms():.1f} ms",
        flush=True,
    )


def report_errors(tally: Tally) -> None:
    print("errors by operation and status:")
    for (op, status), count in sorted(tally.errors.items()):
        print(f"  {op:<8} {status:<10} {count:>7,}")
    print("first error body of each:")
    for op, status, body in tally.error_bodies:
        print(f"  [{op} {status}] {body}")


async def run(args: argparse.Namespace, port: int, token: dict[str, str], pid: int) -> int:
    headers = {
        "Authorization": f"Bearer {token['accessToken']}",
        "x-api-key": token["apiKey"],
        "x-gw-ims-org-id": token["orgId"],
        "x-sandbox-name": "prod",
    }
    clients = [Client(me, port, headers) for me in range(args.clients)]
    service = psutil.Process(pid)
    everything = Tally()
    try:
        mixed = await phase(clients, service, MIX, args.seconds)
        report_phase(f"mixed, {args.clients} clients", mixed, OPERATIONS)
        # every client needs a connection of its own to read in the get-only phase
        await asyncio.gather(*(create(c, everything) for c in clients if not c.live))
        solo = {"get": Tally(), "list": Tally()}
        for _ in range(2):  # alternated, so both see the same machine noise
            for op in ("get", "list"):
                solo[op].add(await phase(clients, service, {op: 1}, args.solo_seconds / 2))
    finally:
        await asyncio.gather(*(client.http.close() for client in clients))
    held = sum(len(c.live) for c in clients)  # the org's connections while get and list ran alone
    for op, title in (("get", "GET /connections/{id}"), ("list", "GET /connections?limit=10")):
        report_phase(f"{title} alone, {args.clients} clients, {held:,} in the org", solo[op], (op,))
    writes, problems = await verify_all(clients, f"http://127.0.0.1:{port}", headers)
    mixed_p50 = [percentile(mixed.latencies[op], 0.5) for op in ("get", "list")]
    solo_p50 = [percentile(solo[op].latencies[op], 0.5) for op in ("get", "list")]
    get_rate, list_rate = (len(solo[op].latencies[op]) / solo[op].seconds for op in solo)
    if all(mixed_p50) and all(solo_p50) and list_rate:
        print(
            f"list / get p50 latency: x{mixed_p50[1] / mixed_p50[0]:.2f} in the mix (where both "
            f"wait in the same queue), x{solo_p50[1] / solo_p50[0]:.2f} alone"
        )
        print(
            f"alone, GET /connections/{{id}} {get_rate:,.1f}/s vs GET /connections?limit=10 "
            f"{list_rate:,.1f}/s: get / list throughput x{get_rate / list_rate:.2f}, "
            f"service CPU per request x{solo['list'].service_ms() / solo['get'].service_ms():.2f}"
        )
    for part in (mixed, *solo.values()):
        everything.add(part)
    problems = everything.discrepancies + problems
    if everything.errors:
        report_errors(everything)
    if problems:
        print(f"{len(problems)} discrepancies:")
        for problem in problems[:20]:
            print(f"  {problem}")
    errors = sum(everything.errors.values())
    print(
        f"{errors:,} errors, {writes:,} acknowledged writes verified"
        + (f", {len(problems)} discrepancies" if problems else "")
        + f" (final state: {held:,} connections held, "
        f"{sum(len(c.deleted) for c in clients):,} deleted and answering 404)"
    )
    return 1 if errors or problems else 0


def show_log(service: ChildProcess, failed: bool, limit: int = 20) -> None:
    """The service log's lines above INFO; after a failed run, a copy of the log kept."""
    text = service.log_path.read_text(encoding="utf-8", errors="replace")
    lines = [line for line in text.splitlines() if line.strip() and "INFO" not in line[:40]]
    if lines:
        print(f"service log, {len(lines)} lines above INFO (first {limit}):")
        for line in lines[:limit]:
            print(f"  {line}")
    if failed:
        kept = Path(tempfile.mkstemp(prefix="api-load-service-", suffix=".log")[1])
        shutil.copyfile(service.log_path, kept)
        print(f"service log kept at {kept}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60, help="length of the mixed phase")
    parser.add_argument(
        "--solo-seconds", type=float, default=20, help="length of the get-only and list-only phases"
    )
    parser.add_argument("--database-url", help="metadata DB (default: SQLite in the temp home)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="FLOWSERVICE_X=VALUE", help="a setting"
    )
    args = parser.parse_args()
    settings = dict(item.split("=", 1) for item in args.set)
    if args.database_url:
        settings["FLOWSERVICE_DATABASE_URL"] = args.database_url
    with tempfile.TemporaryDirectory(prefix="flowservice-api-load-") as scratch:
        home, port = Path(scratch), free_port()
        service = start_service(home=home, port=port, timeout=120, settings=settings)
        try:
            token = issue_token(home, org="APILOAD@AdobeOrg", client_id="api-load")
            print(
                f"service pid {service.pid} on 127.0.0.1:{port}, "
                f"{'PostgreSQL' if args.database_url else 'SQLite'} metadata DB; "
                f"{args.clients} clients in this process on the same {psutil.cpu_count()} cores",
                flush=True,
            )
            status = asyncio.run(run(args, port, token, service.pid))
        finally:
            service.stop()
        show_log(service, failed=status != 0)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
