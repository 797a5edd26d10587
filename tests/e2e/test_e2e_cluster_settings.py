"""What the Celery executor refuses at start-up, with a clear message and no secret in it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowservice.errors import InvalidRequest
from flowservice.settings import load_settings

BROKER = "redis://:broker-secret-1@127.0.0.1:6379/0"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({}, "needs broker_url"),
        ({"broker_url": "amqp://:broker-secret-1@h//"}, "redis://"),
        ({"broker_url": BROKER, "database_url": "sqlite://"}, "in-memory SQLite"),
        ({"broker_url": BROKER, "database_url": "sqlite:///:memory:"}, "in-memory SQLite"),
        ({"broker_url": BROKER, "database_url": "sqlite:///rel.db"}, "absolute SQLite path"),
    ],
)
def test_celery_settings_that_cannot_work_are_refused(
    tmp_path: Path, overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        load_settings(home=tmp_path, executor="celery", **overrides)
    assert message in caught.value.message
    assert "broker-secret-1" not in caught.value.message


def test_celery_with_postgres_or_an_absolute_sqlite_file_is_accepted(tmp_path: Path) -> None:
    assert load_settings(home=tmp_path, executor="celery", broker_url=BROKER).sqlite_path == (
        tmp_path.resolve() / "flowservice.db"
    )
    pg = "postgresql+psycopg://u:p@127.0.0.1:5432/db"
    settings = load_settings(home=tmp_path, executor="celery", broker_url=BROKER, database_url=pg)
    assert settings.sqlite_path is None
    assert "broker-secret-1" not in repr(settings)


def test_a_worker_refuses_a_sqlite_database_that_does_not_exist(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWSERVICE_")}
    env.update(FLOWSERVICE_EXECUTOR="celery", FLOWSERVICE_BROKER_URL=BROKER)
    done = subprocess.run(
        [sys.executable, "-m", "flowservice", "worker", "--home", str(tmp_path / "nowhere")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "no metadata database" in done.stderr
    assert "broker-secret-1" not in done.stderr + done.stdout
    assert not (tmp_path / "nowhere" / "flowservice.db").exists()
