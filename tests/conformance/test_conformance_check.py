"""``check`` and the classified failures of wrong settings; no secret ever escapes them."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest
from cases.base import INT, SourceCase
from secret_leaks import exception_texts, leaked, result_texts

from flowservice.connectors.base import Connector, KeyRange, ReadWindow
from flowservice.errors import (
    ConnectorError,
    NotFound,
    SourceConfigError,
    TransientSourceError,
)

TABLE = "ck_items"

# The failing settings and the error class the contract gives each of them.
FAILURES: dict[str, tuple[Callable[[SourceCase], dict[str, Any]], Any]] = {
    "wrong_password": (lambda c: c.wrong_password_auth(), SourceConfigError),
    "unknown_database": (lambda c: c.unknown_database_auth(), SourceConfigError),
    "unreachable": (lambda c: c.unreachable_auth(), TransientSourceError),
    # the user may have mistyped it, or DNS may be down: either, but never "unexpected"
    "unknown_host": (lambda c: c.unknown_host_auth(), (SourceConfigError, TransientSourceError)),
}

CALLS: dict[str, Callable[[Connector, str], Any]] = {
    "list_objects": lambda c, t: c.list_objects(),
    "describe": lambda c, t: c.describe(t),
    "preview": lambda c, t: c.preview(t, count=5),
    "read": lambda c, t: list(c.read(t)),
    "read_window": lambda c, t: list(c.read(t, window=ReadWindow("id"))),
    "split": lambda c, t: c.split(t, parts=3),
    "primary_key": lambda c, t: c.primary_key(t),
}


@pytest.fixture(scope="module")
def table(case: SourceCase) -> str:
    return case.create_table(
        TABLE, f"id {case.ddl(INT)} NOT NULL PRIMARY KEY", [{"id": i} for i in range(3)]
    )


def test_check_succeeds_on_the_live_database(connector: Connector) -> None:
    result = connector.check()
    assert result.ok, result.message


@pytest.mark.parametrize("failure", FAILURES)
def test_check_reports_failures_without_secrets(
    case: SourceCase, failure: str, caplog: pytest.LogCaptureFixture
) -> None:
    make_params, _ = FAILURES[failure]
    caplog.set_level(logging.DEBUG)
    result = case.connector(make_params(case)).check()
    assert result.ok is False
    assert result.message
    assert not leaked(case.secrets(), [*result_texts(result), caplog.text])


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("failure", FAILURES)
def test_failing_calls_raise_their_class_without_secrets(
    case: SourceCase, table: str, failure: str, call: str, caplog: pytest.LogCaptureFixture
) -> None:
    make_params, expected = FAILURES[failure]
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConnectorError) as caught:
        CALLS[call](case.connector(make_params(case)), table)
    assert isinstance(caught.value, expected), repr(caught.value)
    assert caught.value.message
    assert not leaked(case.secrets(), [*exception_texts(caught.value), caplog.text])
    # a read in a child process sends its error back pickled
    back = pickle.loads(pickle.dumps(caught.value))
    assert (type(back), back.message) == (type(caught.value), caught.value.message)


def test_the_same_calls_work_with_the_live_params(connector: Connector, table: str) -> None:
    assert table in [o.name for o in connector.list_objects()]
    assert connector.primary_key(table) == ["id"]
    assert pa.Table.from_batches(list(connector.read(table))).num_rows == 3


MISUSES: dict[str, Callable[[Connector, str], Any]] = {
    "describe_unknown": lambda c, t: c.describe(t + "_missing"),
    "preview_unknown": lambda c, t: c.preview(t + "_missing"),
    "read_unknown": lambda c, t: list(c.read(t + "_missing")),
    "read_unknown_column": lambda c, t: list(c.read(t, columns=["id", "no_such_column"])),
    "window_unknown_column": lambda c, t: list(c.read(t, window=ReadWindow("no_such_column"))),
    "key_range_unknown_column": lambda c, t: list(c.read(t, key_range=KeyRange("nope", 0, 1))),
}


@pytest.mark.parametrize("misuse", MISUSES)
def test_misuse_with_good_settings_is_refused_without_secrets(
    case: SourceCase,
    connector: Connector,
    table: str,
    misuse: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises((NotFound, SourceConfigError)) as caught:
        MISUSES[misuse](connector, table)
    assert caught.value.message
    assert not leaked(case.secrets(), [*exception_texts(caught.value), caplog.text])
