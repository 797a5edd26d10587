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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.engine import make_url

from flowservice.api.app import create_app
from flowservice.auth.tokens import Scope, issue_token
from flowservice.settings import API_PREFIX, Settings

POSTGRES_ENV = "FLOWSERVICE_TEST_POSTGRES_URL"
TEST_TOKEN_SECRET = "test-signing-key-" + "0" * 32
SQLSERVER_SPEC_ID = "1f372ff9-38a4-4492-96f5-b9a4e4bd00ec"


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
    admin_url = os.environ.get(POSTGRES_ENV)
    if not admin_url:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    import psycopg

    url = make_url(admin_url)
    name = f"flowservice_test_{uuid.uuid4().hex[:12]}"
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
