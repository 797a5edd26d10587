"""Every conformance test runs once per source case (``cases/__init__.py``).

A case runs when its connector is installed and its server can be had; a
case whose server variable is set must reach that server, or its tests fail.
Each case gets one fresh database for the session.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from cases import CASES
from cases.base import SourceCase

from flowservice.connectors.base import Connector
from flowservice.connectors.registry import connectors


def case_params() -> list[Any]:
    """One ``pytest.param`` per listed case, skipped with the reason it cannot run."""
    installed = connectors()
    params: list[Any] = []
    for entry in CASES:
        module_name, class_name = entry.split(":")
        try:
            cls: type[SourceCase] = getattr(
                importlib.import_module(f"cases.{module_name}"), class_name
            )
        except ImportError as exc:
            skip = pytest.mark.skip(reason=f"case {module_name} cannot be imported: {exc}")
            params.append(pytest.param(None, id=module_name, marks=skip))
            continue
        reason = None
        if cls.spec_id not in installed:
            reason = f"no connector is installed for spec {cls.spec_id}"
        elif not cls.configured():
            reason = f"{cls.env_var} is not set"
        marks = [pytest.mark.skip(reason=f"{cls.name}: {reason}")] if reason else []
        params.append(pytest.param(cls, id=cls.name, marks=marks))
    return params


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", case_params(), indirect=True, scope="session")


@pytest.fixture(scope="session")
def case(request: pytest.FixtureRequest) -> Iterator[SourceCase]:
    """The case with its fresh database open."""
    cls: type[SourceCase] = request.param
    instance = cls()
    with ExitStack() as stack:
        try:
            stack.enter_context(instance.fresh_database())
        except Exception as exc:
            # a configured server that is not there is a failure, never a skip
            pytest.fail(
                f"{cls.name}: no fresh database on the server ({cls.env_var}): "
                f"{type(exc).__name__}",
                pytrace=False,
            )
        yield instance


@pytest.fixture(scope="session")
def connector(case: SourceCase) -> Connector:
    """The connector under test, on the case's fresh database."""
    return case.connector()
