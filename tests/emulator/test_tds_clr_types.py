"""hierarchyid, geography and geometry through real drivers: storage, methods, catalogs, errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytds
import pytest
from drivers import DRIVERS, Driver
from hypothesis import given, settings
from hypothesis import strategies as st

from mssql_emulator.testing import RunningEmulator

PYTDS = DRIVERS[0]


@pytest.fixture(params=DRIVERS, ids=lambda d: d.name)
def driver(request: pytest.FixtureRequest) -> Driver:
    result: Driver = request.param
    return result


@pytest.fixture
def table(emulator: RunningEmulator) -> Iterator[str]:
    name = f"clr_{uuid.uuid4().hex[:8]}"
    conn = PYTDS.connect(emulator)
    try:
        _run(
            conn,
            f"CREATE TABLE {name} (id int PRIMARY KEY, h hierarchyid, g geography, m geometry)",
        )
        yield name
        _run(conn, f"DROP TABLE {name}")
    finally:
        conn.close()


def _run(conn: Any, sql: str, params: Any = None) -> None:
    cur = conn.cursor()
    cur.execute(sql, params) if params is not None else cur.execute(sql)
    conn.commit()


def _rows(conn: Any, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    cur = conn.cursor()
    cur.execute(sql, params) if params is not None else cur.execute(sql)
    return [tuple(row) for row in cur.fetchall()]


def _read_back(conn: Any, table: str) -> list[tuple[Any, ...]]:
    return _rows(
        conn,
        f"SELECT id, h.ToString(), h.GetLevel(), g.STAsText(), g.STSrid, g.Lat, g.Long, "
        f"m.ToString(), m.STSrid, m.STX, m.STY FROM {table} ORDER BY id",
    )


def test_literals_constructors_and_parameters_read_back(
    emulator: RunningEmulator, driver: Driver, table: str
) -> None:
    conn = driver.connect(emulator)
    try:
        _run(conn, f"INSERT INTO {table} VALUES (1, '/1/2/', 'POINT(1 2)', 'POINT(3 4)')")
        _run(
            conn,
            f"INSERT INTO {table} VALUES (2, hierarchyid::Parse('/1/'), "
            "geography::Point(47.5, -122.25, 4326), geometry::STGeomFromText('POINT (5 6)', 0))",
        )
        _run(
            conn,
            driver.sql(f"INSERT INTO {table} VALUES (?, ?, ?, ?)"),
            (3, "/3/1.5/", "POINT (-1.5 -2.5)", "POINT (7 8)"),
        )
        _run(
            conn,
            driver.sql(
                f"INSERT INTO {table} VALUES (?, hierarchyid::Parse(?), "
                "geography::Point(?, ?, 4326), geometry::Point(?, ?, 0))"
            ),
            (4, "/", 10.25, 20.5, 9, 10),
        )
        _run(conn, f"INSERT INTO {table} (id) VALUES (5)")
        assert _read_back(conn, table) == [
            (1, "/1/2/", 2, "POINT (1 2)", 4326, 2.0, 1.0, "POINT (3 4)", 0, 3.0, 4.0),
            (2, "/1/", 1, "POINT (-122.25 47.5)", 4326, 47.5, -122.25, "POINT (5 6)", 0, 5.0, 6.0),
            (3, "/3/1.5/", 2, "POINT (-1.5 -2.5)", 4326, -2.5, -1.5, "POINT (7 8)", 0, 7.0, 8.0),
            (4, "/", 0, "POINT (20.5 10.25)", 4326, 10.25, 20.5, "POINT (9 10)", 0, 9.0, 10.0),
            (5, None, None, None, None, None, None, None, None, None, None),
        ]
    finally:
        conn.close()


def test_shapes_update_and_filters(emulator: RunningEmulator, table: str) -> None:
    conn = PYTDS.connect(emulator)
    try:
        _run(
            conn,
            f"INSERT INTO {table} (id, h, g, m) VALUES "
            "(1, '/1/', 'LINESTRING(0 0, 1 1)', 'POLYGON((0 0, 2 0, 2 2, 0 0))'), "
            "(2, '/1/4/', 'MULTIPOINT((1 2), (3 4))', "
            "'GEOMETRYCOLLECTION(POINT(1 2), LINESTRING(0 0, 3 4))')",
        )
        _run(
            conn,
            f"UPDATE {table} SET m = geometry::STGeomFromText('POINT(1 1)', 32633) WHERE id = 1",
        )
        assert _rows(
            conn,
            f"SELECT id, g.STAsText(), m.STAsText(), m.STSrid, m.STGeometryType(), "
            f"h.GetAncestor(1).ToString() FROM {table} ORDER BY id",
        ) == [
            (1, "LINESTRING (0 0, 1 1)", "POINT (1 1)", 32633, "Point", "/"),
            (
                2,
                "MULTIPOINT ((1 2), (3 4))",
                "GEOMETRYCOLLECTION (POINT (1 2), LINESTRING (0 0, 3 4))",
                0,
                "GeometryCollection",
                "/1/",
            ),
        ]
        assert _rows(
            conn,
            f"SELECT x.id FROM {table} AS x "
            "WHERE x.h.IsDescendantOf(hierarchyid::Parse('/1/')) = 1 "
            "AND x.h <> hierarchyid::GetRoot() ORDER BY x.id",
        ) == [(1,), (2,)]
        assert _rows(conn, f"SELECT id FROM {table} WHERE h = '/1/4/'") == [(2,)]
    finally:
        conn.close()


def test_constructors_over_columns_casts_and_variables(
    emulator: RunningEmulator, table: str
) -> None:
    conn = PYTDS.connect(emulator)
    try:
        _run(
            conn,
            f"INSERT INTO {table} (id, h, g, m) SELECT v.id, hierarchyid::Parse(v.p), "
            "geography::Point(v.lat, v.lon, 4326), geometry::STGeomFromText(v.w, 0) "
            "FROM (VALUES (1, '/2/', 1.5, -3.0, 'point(1 2)')) AS v(id, p, lat, lon, w)",
        )
        assert _rows(
            conn,
            f"SELECT h.ToString(), g.STAsText(), m.STAsText(), CAST(g AS nvarchar(max)), "
            f"CONVERT(varchar(20), h), CAST('/1/02/' AS hierarchyid).ToString() FROM {table}",
        ) == [("/2/", "POINT (-3 1.5)", "POINT (1 2)", "POINT (-3 1.5)", "/2/", "/1/2/")]
        assert _rows(
            conn,
            "DECLARE @g geography = 'POINT(4 5)'; DECLARE @h hierarchyid = '/9/'; "
            "SELECT @g.Lat, @g.Long, @g.STSrid, @h.GetLevel()",
        ) == [(5.0, 4.0, 4326, 1)]
    finally:
        conn.close()


def test_hierarchyid_orders_depth_first(emulator: RunningEmulator, table: str) -> None:
    conn = PYTDS.connect(emulator)
    try:
        paths = ["/10/", "/2/", "/", "/1/1/", "/1.5/", "/1/", "/-1/"]
        for i, path in enumerate(paths):
            _run(conn, f"INSERT INTO {table} (id, h) VALUES (%s, %s)", (i, path))
        ordered = _rows(conn, f"SELECT h.ToString() FROM {table} ORDER BY h")
        assert [row[0] for row in ordered] == ["/", "/-1/", "/1/", "/1/1/", "/1.5/", "/2/", "/10/"]
    finally:
        conn.close()


def test_catalogs_report_the_types(emulator: RunningEmulator, table: str) -> None:
    conn = PYTDS.connect(emulator)
    try:
        assert _rows(
            conn,
            "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH "
            f"FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = '{table}' AND COLUMN_NAME <> 'id' "
            "ORDER BY ORDINAL_POSITION",
        ) == [("h", "hierarchyid", 892), ("g", "geography", -1), ("m", "geometry", -1)]
        assert _rows(
            conn,
            "SELECT name, system_type_id, user_type_id, max_length, is_assembly_type "
            "FROM sys.types WHERE system_type_id = 240 ORDER BY user_type_id",
        ) == [
            ("hierarchyid", 240, 128, 892, True),
            ("geometry", 240, 129, -1, True),
            ("geography", 240, 130, -1, True),
        ]
        assert _rows(
            conn,
            "SELECT c.name, c.system_type_id, c.user_type_id, TYPE_NAME(c.user_type_id), "
            "c.max_length FROM sys.columns AS c "
            f"WHERE c.object_id = OBJECT_ID('{table}') AND c.name <> 'id' ORDER BY c.column_id",
        ) == [
            ("h", 240, 128, "hierarchyid", 892),
            ("g", 240, 130, "geography", -1),
            ("m", 240, 129, "geometry", -1),
        ]
        assert _rows(conn, "SELECT TYPE_ID('geography'), TYPE_ID('sys.hierarchyid')") == [
            (130, 128)
        ]
    finally:
        conn.close()


BAD_INPUT = [
    ("INSERT INTO {t} (id, h) VALUES (1, '1/2')", 6522, "24001"),
    ("SELECT hierarchyid::Parse('/a/')", 6522, "24001"),
    ("INSERT INTO {t} (id, g) VALUES (1, 'POINT(1 95)')", 6522, "24201"),
    ("INSERT INTO {t} (id, g) VALUES (1, 'POINTX(1 2)')", 6522, "24114"),
    ("SELECT geography::STGeomFromText('POINT(1 2', 4326)", 6522, "24142"),
    ("SELECT geography::Point(1, 2, 12)", 6522, "24204"),
    ("SELECT geometry::STGeomFromText('POLYGON((0 0, 1 0, 1 1, 0 1))', 0)", 6522, "24119"),
    # constructors over values known only when the query runs: DuckDB raises the same errors
    (
        "SELECT hierarchyid::Parse(v).ToString() FROM (VALUES ('1/2')) AS s(v)",
        6522,
        '"hierarchyid": Microsoft.SqlServer.Types.HierarchyIdException: 24001',
    ),
    (
        "SELECT geography::Point(v, 0, 4326).STAsText() FROM (VALUES (95)) AS s(v)",
        6522,
        '"geography": System.FormatException: 24201',
    ),
    (
        "SELECT geometry::STGeomFromText(v, 0).STAsText() FROM (VALUES ('CIRCLE(1 2)')) AS s(v)",
        6522,
        '"geometry": System.FormatException: 24114',
    ),
    ("SELECT m.Lat FROM {t}", 6506, "Could not find method 'Lat'"),
    ("SELECT h FROM {t}", 257, "h].ToString()"),
    ("SELECT * FROM {t}", 257, "ToString()"),
]


@pytest.mark.parametrize("case", BAD_INPUT, ids=lambda c: c[0][:40])
def test_bad_input_errors_and_the_connection_stays(
    emulator: RunningEmulator, table: str, case: tuple[str, int, str]
) -> None:
    sql, number, text = case
    conn = PYTDS.connect(emulator)
    try:
        with pytest.raises(pytds.DatabaseError) as info:
            _rows(conn, sql.format(t=table))
        assert info.value.msg_no == number
        assert text in str(info.value)
        assert _rows(conn, "SELECT 1") == [(1,)]
    finally:
        conn.close()


def test_every_driver_survives_a_bad_value(emulator: RunningEmulator, driver: Driver) -> None:
    conn = driver.connect(emulator)
    try:
        with pytest.raises(Exception, match="24001"):
            _rows(conn, "SELECT hierarchyid::Parse('nope').ToString()")
        assert _rows(conn, "SELECT hierarchyid::Parse('/7/').ToString()") == [("/7/",)]
    finally:
        conn.close()


_NODE = st.lists(st.integers(min_value=-(2**31), max_value=2**31), min_size=1, max_size=3)
_PATHS = st.lists(_NODE, max_size=6).map(
    lambda nodes: "/" + "".join(".".join(map(str, n)) + "/" for n in nodes)
)
_FLOATS = {"allow_nan": False, "allow_infinity": False}


@settings(max_examples=60, deadline=None)
@given(
    path=_PATHS,
    lat=st.floats(min_value=-90, max_value=90, **_FLOATS),
    long=st.floats(min_value=-180, max_value=180, **_FLOATS),
)
def test_paths_and_points_round_trip(
    emulator: RunningEmulator, path: str, lat: float, long: float
) -> None:
    conn = PYTDS.connect(emulator)
    try:
        rows = _rows(
            conn,
            "SELECT hierarchyid::Parse(%s).ToString(), geography::Point(%s, %s, 4326).Lat, "
            "geography::Point(%s, %s, 4326).Long",
            (path, lat, long, lat, long),
        )
        assert rows == [(path, lat, long)]
    finally:
        conn.close()


def test_hierarchyid_text_is_nvarchar_4000(emulator: RunningEmulator, table: str) -> None:
    """ToString() of a hierarchyid is nvarchar(4000); the spatial texts are nvarchar(max)."""
    conn = PYTDS.connect(emulator)
    try:
        _run(conn, f"INSERT INTO {table} (id, h, g) VALUES (1, '/1/', 'POINT(1 2)')")
        cur = conn.cursor()
        cur.execute(f"SELECT h.ToString(), {table}.h.ToString(), g.STAsText() FROM {table}")
        assert cur.fetchall() == [("/1/", "/1/", "POINT (1 2)")]
        assert [(d[1], d[3]) for d in cur.description] == [(231, 4000), (231, 4000), (99, -1)]
    finally:
        conn.close()
