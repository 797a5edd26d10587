"""Shared fixtures: a real flowservice server on loopback over each metadata DB.

``server`` is parametrised over SQLite and PostgreSQL (the PostgreSQL variant
needs ``FLOWSERVICE_TEST_POSTGRES_URL`` and gets a fresh database per test
session). ``api`` gives each test its own org (so tests never see each
other's data) and an HTTP client that sends the documented headers with a
real token from the real token code.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.engine import make_url

from flowservice.api.app import create_app
from flowservice.api.runtime import Runtime
from flowservice.auth.tokens import Scope, issue_token
from flowservice.settings import API_PREFIX, CATALOG_PREFIX, Settings
from flowservice.store.repos import identity, resources
from flowservice.store.repos.resources import Scope as StoreScope

POSTGRES_ENV = "FLOWSERVICE_TEST_POSTGRES_URL"
SANDBOX_API = "/data/foundation/sandbox-management"
TEST_TOKEN_SECRET = "test-signing-key-" + "0" * 32
SQLSERVER_SPEC_ID = "1f372ff9-38a4-4492-96f5-b9a4e4bd00ec"
DATA_LAKE_SPEC_ID = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
FLOW_SPEC_ID = "14518937-270c-4525-bdec-c2ba7cce3860"


@dataclass
class RunningServer:
    """A uvicorn server in a thread, serving one app on a free loopback port."""

    settings: Settings
    base_url: str
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def start_server(settings: Settings) -> RunningServer:
    app = create_app(settings)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return RunningServer(settings, f"http://127.0.0.1:{port}", server, thread)


def make_settings(home: Path, database_url: str | None = None, **extra: Any) -> Settings:
    return Settings(
        home=home,
        database_url=database_url,
        token_secret=TEST_TOKEN_SECRET,
        secret_keys=None,
        **extra,
    )


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    with fresh_postgres_database("flowservice_test") as url:
        yield url


@contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """Create a database named ``<prefix>_<random>`` on the test server; drop it after use."""
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    import psycopg

    url = make_url(admin_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'flowservice.db'}"
    url: str = request.getfixturevalue("postgres_database")
    return url


@pytest.fixture(scope="session")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(make_settings(tmp_path_factory.mktemp("home"), database_url))
    yield running
    running.stop()


class ApiClient:
    """An HTTP client acting as one API client of one org, in one sandbox."""

    def __init__(
        self,
        server: RunningServer,
        *,
        org_id: str,
        client_id: str = "test-client",
        subject: str = "tester@AdobeID",
        scope: Scope = "write",
        sandbox: str = "prod",
    ) -> None:
        self.server = server
        self.org_id = org_id
        self.client_id = client_id
        self.subject = subject
        self.sandbox = sandbox
        self.token = issue_token(
            server.settings, org_id=org_id, client_id=client_id, subject=subject, scope=scope
        ).access_token
        self.http = httpx.Client(base_url=server.base_url, timeout=30)

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "x-api-key": self.client_id,
            "x-gw-ims-org-id": self.org_id,
            "x-sandbox-name": self.sandbox,
            "Content-Type": "application/json",
        }

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str | None] | None = None,
        prefix: str = API_PREFIX,
        **kwargs: Any,
    ) -> httpx.Response:
        """``headers`` override the defaults; a value of None removes that header."""
        merged: dict[str, str] = dict(self.headers)
        for key, value in (headers or {}).items():
            merged = {k: v for k, v in merged.items() if k.lower() != key.lower()}
            if value is not None:
                merged[key] = value
        return self.http.request(method, prefix + path, headers=merged, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def as_other(self, **changes: Any) -> ApiClient:
        """Another client; same org, client and sandbox unless changed."""
        args: dict[str, Any] = {
            "org_id": self.org_id,
            "client_id": self.client_id,
            "subject": self.subject,
            "sandbox": self.sandbox,
        }
        args.update(changes)
        return ApiClient(self.server, **args)

    def close(self) -> None:
        self.http.close()


def new_org_id() -> str:
    return f"{uuid.uuid4().hex[:24].upper()}@AdobeOrg"


@pytest.fixture
def api(server: RunningServer) -> Iterator[ApiClient]:
    """A write client of a brand-new org, in its ``prod`` sandbox."""
    client = ApiClient(server, org_id=new_org_id(), client_id=f"client-{uuid.uuid4().hex[:8]}")
    yield client
    client.close()


def sql_server_connection_body(
    connection_string: str = (
        "Data Source=db.example.com;Initial Catalog=sales;Integrated Security=False;"
        "User ID=loader;Password=S3cret!pw;"
    ),
    name: str = "Base connection for sql-server",
) -> dict[str, Any]:
    """The tutorial's create-connection body."""
    return {
        "name": name,
        "description": "Base connection for sql-server",
        "auth": {
            "specName": "Connection String Based Authentication",
            "params": {"connectionString": connection_string},
        },
        "connectionSpec": {"id": SQLSERVER_SPEC_ID, "version": "1.0"},
    }


def problem_code(response: httpx.Response) -> str:
    """``FLOW-1101-404`` from a problem body."""
    return str(response.json()["type"]).rsplit("/", 1)[-1]


@pytest.fixture
def runtime(server: RunningServer) -> Iterator[Runtime]:
    """A second runtime on the server's DB and lake, as a flow runner would have."""
    started = Runtime.start(server.settings)
    yield started
    started.close()


def scope_of(runtime: Runtime, api: ApiClient) -> StoreScope:
    """The store scope of ``api``'s org and sandbox, for reading and writing rows directly."""
    with runtime.transaction() as session:
        sandbox = identity.get_sandbox(session, org_id=api.org_id, name=api.sandbox)
        return StoreScope(api.org_id, sandbox.id, sandbox.name, api.subject, api.client_id)


def created_id(response: httpx.Response) -> str:
    """The ``id`` of a 201 answer (and the body in the message when it is not a 201)."""
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def create_dataset(api: ApiClient, name: str) -> str:
    """The id of a new Catalog dataset without fields."""
    made = api.request("POST", "/dataSets", prefix=CATALOG_PREFIX, json={"name": name})
    assert made.status_code == 201, made.text
    return str(made.json()[0]).removeprefix("@/dataSets/")


def source_connection_body(*, name: str, base_id: str, table: str) -> dict[str, Any]:
    """A SQL Server source connection reading ``table`` through the base connection."""
    return {
        "name": name,
        "baseConnectionId": base_id,
        "data": {"format": "tabular"},
        "params": {"tableName": table},
        "connectionSpec": {"id": SQLSERVER_SPEC_ID, "version": "1.0"},
    }


def target_connection_body(*, name: str, dataset_id: str) -> dict[str, Any]:
    """A Data Lake target connection writing into the dataset."""
    return {
        "name": name,
        "data": {"format": "parquet_xdm"},
        "params": {"dataSetId": dataset_id},
        "connectionSpec": {"id": DATA_LAKE_SPEC_ID, "version": "1.0"},
    }


def add_dev_sandbox(api: ApiClient) -> None:
    """A development sandbox ``dev`` in ``api``'s org."""
    made = api.post(
        "/sandboxes",
        prefix=SANDBOX_API,
        json={"name": "dev", "title": "Dev", "type": "development"},
    )
    assert made.status_code == 202, made.text


def outsiders_of(api: ApiClient) -> dict[str, ApiClient]:
    """Callers who must see none of ``api``'s rows: another org, and its own ``dev`` sandbox."""
    other_org = api.as_other(org_id=new_org_id(), client_id=api.client_id + "-other")
    add_dev_sandbox(api)
    return {"other org": other_org, "other sandbox": api.as_other(sandbox="dev")}


def delete_row(runtime: Runtime, api: ApiClient, *, kind: str, resource_id: str) -> None:
    """Delete a row of ``api``'s scope straight from the store (e.g. a flow no route made)."""
    scope = scope_of(runtime, api)
    with runtime.transaction() as session:
        row = resources.get_resource(session, scope=scope, kind=kind, resource_id=resource_id)
        resources.delete_resource(session, row=row)


def assert_hidden_from_outsiders(api: ApiClient, collection: str, made: dict[str, Any]) -> None:
    """Another org and the ``dev`` sandbox get 404 from the item's get, patch and delete."""
    path = f"{collection}/{made['id']}"
    for label, outsider in outsiders_of(api).items():
        calls = {
            "get": outsider.get(path),
            "patch": outsider.patch(
                path,
                json=[{"op": "replace", "path": "/name", "value": "stolen"}],
                headers={"If-Match": made["etag"]},
            ),
            "delete": outsider.delete(path),
        }
        for route, response in calls.items():
            assert response.status_code == 404, (label, route, response.text)
        assert outsider.get(collection).json()["items"] == []
