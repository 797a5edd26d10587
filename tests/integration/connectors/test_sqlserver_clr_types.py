"""The SQL Server connector reads hierarchyid, geography and geometry columns as their text."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pytest

from flowservice.connectors.sqlserver.connector import SqlServerConnector
from mssql_emulator.testing import RunningEmulator, running_emulator

SCHEMA_SQL = """
CREATE TABLE dbo.places (
    id int NOT NULL PRIMARY KEY,
    node hierarchyid,
    location geography,
    shape geometry
);
"""

DATA_SQL = """
INSERT INTO dbo.places VALUES
    (1, '/', 'POINT(-122.35 47.65)', 'POLYGON((0 0, 3 0, 3 3, 0 0))'),
    (2, hierarchyid::Parse('/1/2.5/'), geography::Point(51.5, -0.125, 4326),
        geometry::STGeomFromText('LINESTRING(0 0, 10 20)', 0));
INSERT INTO dbo.places (id) VALUES (3);
"""


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(init_sql=[SCHEMA_SQL, DATA_SQL], tls=True) as running:
        yield running


@pytest.fixture(scope="module")
def connector(emulator: RunningEmulator) -> SqlServerConnector:
    cs = (
        f"Data Source={emulator.host},{emulator.port};Initial Catalog={emulator.database};"
        f"User ID={emulator.user};Password={emulator.password};Encrypt=false"
    )
    return SqlServerConnector({"connectionString": cs})


def test_describe_reports_the_clr_types(connector: SqlServerConnector) -> None:
    columns = connector.describe("dbo.places").columns
    assert [(c.name, c.original_type, c.xdm_type) for c in columns] == [
        ("id", "int", "integer"),
        ("node", "hierarchyid", "string"),
        ("location", "geography", "string"),
        ("shape", "geometry", "string"),
    ]


def test_read_yields_the_text_forms(connector: SqlServerConnector) -> None:
    table = pa.Table.from_batches(list(connector.read("dbo.places")))
    assert sorted(table.to_pylist(), key=lambda row: row["id"]) == [
        {
            "id": 1,
            "node": "/",
            "location": "POINT (-122.35 47.65)",
            "shape": "POLYGON ((0 0, 3 0, 3 3, 0 0))",
        },
        {
            "id": 2,
            "node": "/1/2.5/",
            "location": "POINT (-0.125 51.5)",
            "shape": "LINESTRING (0 0, 10 20)",
        },
        {"id": 3, "node": None, "location": None, "shape": None},
    ]
