"""INFORMATION_SCHEMA and sys.* views answered from the engine's catalog."""

from __future__ import annotations

import pytest
from engine_helpers import param, query, run, scalar

from mssql_emulator.contract import SqlError
from mssql_emulator.engine import DuckDBSession


@pytest.fixture
def shop(session: DuckDBSession) -> DuckDBSession:
    run(
        session,
        """
        CREATE SCHEMA sales
        CREATE TABLE sales.orders (
            order_id BIGINT IDENTITY(100, 5) NOT NULL,
            customer NVARCHAR(80) NOT NULL,
            total DECIMAL(19,4) NULL DEFAULT 0,
            placed DATETIME2(3) NOT NULL,
            note VARCHAR(MAX),
            flag BIT,
            CONSTRAINT PK_orders PRIMARY KEY CLUSTERED (order_id)
        )
        CREATE TABLE dbo.heap (a INT, b FLOAT, c TIME(4), d DATETIMEOFFSET(2), e CHAR(2))
        CREATE TABLE dbo.keyed (x INT NOT NULL, y INT NOT NULL, CONSTRAINT UQ_xy UNIQUE (y),
                                PRIMARY KEY NONCLUSTERED (x, y))
        CREATE VIEW dbo.order_names AS SELECT customer FROM sales.orders
        CREATE INDEX ix_customer ON sales.orders (customer DESC)
        INSERT INTO sales.orders (customer, placed)
            VALUES (N'a', '2024-01-01'), (N'b', '2024-01-02')
    """,
    )
    return session


def test_information_schema_tables_and_schemata(shop: DuckDBSession) -> None:
    _, rows = query(
        shop,
        "SELECT TABLE_CATALOG, TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE "
        "FROM INFORMATION_SCHEMA.TABLES ORDER BY TABLE_NAME",
    )
    assert rows == [
        ("testdb", "dbo", "heap", "BASE TABLE"),
        ("testdb", "dbo", "keyed", "BASE TABLE"),
        ("testdb", "dbo", "order_names", "VIEW"),
        ("testdb", "sales", "orders", "BASE TABLE"),
    ]
    _, rows = query(
        shop,
        "SELECT SCHEMA_NAME FROM INFORMATION_SCHEMA.SCHEMATA "
        "WHERE SCHEMA_NAME IN ('dbo', 'sales') ORDER BY 1",
    )
    assert rows == [("dbo",), ("sales",)]


def test_information_schema_columns(shop: DuckDBSession) -> None:
    _, rows = query(
        shop,
        """
        SELECT COLUMN_NAME, ORDINAL_POSITION, IS_NULLABLE, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH,
               NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, COLUMN_DEFAULT
        FROM INFORMATION_SCHEMA.COLUMNS
        WHERE TABLE_SCHEMA = 'sales' AND TABLE_NAME = 'orders' ORDER BY ORDINAL_POSITION""",
    )
    assert rows == [
        ("order_id", 1, "NO", "bigint", None, 19, 0, None, None),
        ("customer", 2, "NO", "nvarchar", 80, None, None, None, None),
        ("total", 3, "YES", "decimal", None, 19, 4, None, "(0)"),
        ("placed", 4, "NO", "datetime2", None, None, None, 3, None),
        ("note", 5, "YES", "varchar", -1, None, None, None, None),
        ("flag", 6, "YES", "bit", None, None, None, None, None),
    ]
    _, rows = query(
        shop,
        "SELECT COLUMN_NAME, NUMERIC_PRECISION, DATETIME_PRECISION "
        "FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_NAME = 'heap' "
        "ORDER BY ORDINAL_POSITION",
    )
    assert rows == [
        ("a", 10, None),
        ("b", 53, None),
        ("c", None, 4),
        ("d", None, 2),
        ("e", None, None),
    ]


def test_constraints_and_key_columns(shop: DuckDBSession) -> None:
    _, rows = query(
        shop,
        """
        SELECT tc.TABLE_NAME, tc.CONSTRAINT_TYPE, kcu.COLUMN_NAME, kcu.ORDINAL_POSITION
        FROM INFORMATION_SCHEMA.TABLE_CONSTRAINTS tc
        JOIN INFORMATION_SCHEMA.KEY_COLUMN_USAGE kcu
          ON kcu.CONSTRAINT_NAME = tc.CONSTRAINT_NAME AND kcu.TABLE_NAME = tc.TABLE_NAME
        ORDER BY tc.TABLE_NAME, tc.CONSTRAINT_TYPE, kcu.ORDINAL_POSITION""",
    )
    assert rows == [
        ("keyed", "PRIMARY KEY", "x", 1),
        ("keyed", "PRIMARY KEY", "y", 2),
        ("keyed", "UNIQUE", "y", 1),
        ("orders", "PRIMARY KEY", "order_id", 1),
    ]


def test_information_schema_views(shop: DuckDBSession) -> None:
    _, rows = query(shop, "SELECT TABLE_NAME, VIEW_DEFINITION FROM INFORMATION_SCHEMA.VIEWS")
    assert rows == [
        ("order_names", "CREATE VIEW dbo.order_names AS SELECT customer FROM sales.orders")
    ]


def test_sys_tables_schemas_objects(shop: DuckDBSession) -> None:
    _, rows = query(
        shop,
        """
        SELECT s.name, t.name, t.type, t.is_ms_shipped FROM sys.tables t
        JOIN sys.schemas s ON s.schema_id = t.schema_id ORDER BY t.name""",
    )
    assert rows == [
        ("dbo", "heap", "U", False),
        ("dbo", "keyed", "U", False),
        ("sales", "orders", "U", False),
    ]
    oid = scalar(shop, "SELECT OBJECT_ID('sales.orders')")
    assert scalar(shop, f"SELECT name FROM sys.objects WHERE object_id = {oid}") == "orders"
    _, rows = query(shop, f"SELECT type FROM sys.objects WHERE parent_object_id = {oid}")
    assert rows == [("PK",)]
    assert scalar(shop, "SELECT name FROM sys.views") == "order_names"


def test_sys_columns_and_types(shop: DuckDBSession) -> None:
    _, rows = query(
        shop,
        """
        SELECT c.name, ty.name, c.max_length, c.precision, c.scale, c.is_nullable, c.is_identity
        FROM sys.columns c JOIN sys.types ty ON ty.user_type_id = c.user_type_id
        WHERE c.object_id = OBJECT_ID('sales.orders') ORDER BY c.column_id""",
    )
    assert rows == [
        ("order_id", "bigint", 8, 19, 0, False, True),
        ("customer", "nvarchar", 160, 0, 0, False, False),
        ("total", "decimal", 9, 19, 4, True, False),
        ("placed", "datetime2", 7, 23, 3, False, False),
        ("note", "varchar", -1, 0, 0, True, False),
        ("flag", "bit", 1, 1, 0, True, False),
    ]


def test_sys_indexes_and_index_columns(shop: DuckDBSession) -> None:
    _, rows = query(
        shop,
        """
        SELECT i.name, i.index_id, i.type_desc, i.is_primary_key, i.is_unique, c.name,
               ic.key_ordinal, ic.is_descending_key
        FROM sys.indexes i
        JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
        JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
        WHERE i.object_id = OBJECT_ID('sales.orders') ORDER BY i.index_id""",
    )
    assert rows == [
        ("PK_orders", 1, "CLUSTERED", True, True, "order_id", 1, False),
        ("ix_customer", 2, "NONCLUSTERED", False, False, "customer", 1, True),
    ]
    _, rows = query(
        shop,
        "SELECT index_id, type_desc FROM sys.indexes "
        "WHERE object_id = OBJECT_ID('dbo.keyed') ORDER BY index_id",
    )
    assert rows == [(0, "HEAP"), (2, "NONCLUSTERED"), (3, "NONCLUSTERED")]


def test_identity_columns_and_row_counts(shop: DuckDBSession) -> None:
    _, rows = query(shop, "SELECT name, seed_value, increment_value FROM sys.identity_columns")
    assert rows == [("order_id", 100, 5)]
    assert scalar(shop, "SELECT MAX(order_id) FROM sales.orders") == 105
    total = scalar(
        shop,
        """
        SELECT SUM(p.rows) FROM sys.partitions p
        WHERE p.object_id = OBJECT_ID('sales.orders') AND p.index_id IN (0, 1)""",
    )
    assert total == 2
    assert (
        scalar(
            shop,
            "SELECT SUM(row_count) FROM sys.dm_db_partition_stats "
            "WHERE object_id = OBJECT_ID('sales.orders') AND index_id < 2",
        )
        == 2
    )


def test_catalog_in_other_database_by_three_part_name(shop: DuckDBSession) -> None:
    run(shop, "CREATE TABLE otherdb.dbo.elsewhere (id INT)")
    assert scalar(shop, "SELECT COUNT(*) FROM otherdb.INFORMATION_SCHEMA.TABLES") == 1
    assert scalar(shop, "SELECT COUNT(*) FROM otherdb.sys.tables") == 1


def test_drop_table_removes_catalog_rows(shop: DuckDBSession) -> None:
    run(shop, "DROP TABLE dbo.heap")
    assert (
        scalar(
            shop,
            "SELECT COUNT(*) FROM sys.columns WHERE object_id NOT IN "
            "(SELECT object_id FROM sys.objects)",
        )
        == 0
    )
    assert (
        scalar(shop, "SELECT COUNT(*) FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_NAME = 'heap'")
        == 0
    )


def test_many_tables_listed_by_one_query(session: DuckDBSession) -> None:
    run(
        session,
        "\n".join(
            f"CREATE TABLE dbo.many_{i} (id INT PRIMARY KEY, v NVARCHAR(10))" for i in range(500)
        ),
    )
    _, rows = query(
        session,
        "SELECT t.name FROM sys.tables t JOIN sys.schemas s "
        "ON s.schema_id = t.schema_id WHERE s.name = 'dbo'",
    )
    assert len(rows) == 500
    assert scalar(session, "SELECT COUNT(*) FROM INFORMATION_SCHEMA.COLUMNS") == 1000


def test_catalog_survives_reopening_a_file_database(tmp_path: object) -> None:
    from mssql_emulator.engine import DuckDBEngine

    path = str(tmp_path)
    engine = DuckDBEngine(["filedb"], path=path)
    s = engine.open_session("filedb", "sa")
    run(s, "CREATE TABLE kept (id INT IDENTITY PRIMARY KEY, name NVARCHAR(12) NOT NULL)")
    run(s, "INSERT INTO kept (name) VALUES (N'one')")
    s.close()
    engine.close()
    engine = DuckDBEngine(["filedb"], path=path)
    s = engine.open_session("filedb", "sa")
    columns, rows = query(s, "SELECT * FROM kept")
    assert [str(c.type) for c in columns] == ["int", "nvarchar(12)"]
    assert rows == [(1, "one")]
    s.close()
    engine.close()


def test_default_and_key_constraint_views(shop: DuckDBSession) -> None:
    _, rows = query(
        shop,
        """
        SELECT c.name, d.definition FROM sys.default_constraints d
        JOIN sys.columns c ON c.object_id = d.parent_object_id AND c.column_id = d.parent_column_id
        """,
    )
    assert rows == [("total", "(0)")]
    _, rows = query(shop, "SELECT name, type FROM sys.key_constraints ORDER BY name")
    assert [r[1] for r in rows] == ["PK", "PK", "UQ"]
    assert rows[0][0].startswith("PK__keyed__") and rows[1:] == [
        ("PK_orders", "PK"),
        ("UQ_xy", "UQ"),
    ]
    assert scalar(shop, "SELECT COUNT(*) FROM sys.computed_columns") == 0
    assert scalar(shop, "SELECT COUNT(*) FROM sys.foreign_keys") == 0


def test_schema_qualified_column_references(shop: DuckDBSession) -> None:
    # SQLAlchemy's inspector writes [INFORMATION_SCHEMA].[TABLES].[TABLE_NAME].
    _, rows = query(
        shop,
        """
        SELECT [INFORMATION_SCHEMA].[TABLES].[TABLE_NAME] FROM [INFORMATION_SCHEMA].[TABLES]
        WHERE [INFORMATION_SCHEMA].[TABLES].[TABLE_SCHEMA] = CAST(@P1 AS NVARCHAR(max))
        ORDER BY [INFORMATION_SCHEMA].[TABLES].[TABLE_NAME]""",
        [param("@P1", "nvarchar(max)", "sales")],
    )
    assert rows == [("orders",)]
    assert scalar(shop, "SELECT COUNT(sales.orders.customer) FROM sales.orders") == 2


def test_foreign_keys_are_reflected(session: DuckDBSession) -> None:
    run(
        session,
        """
        CREATE TABLE dbo.owners (id INT PRIMARY KEY, code CHAR(3) NOT NULL,
                                 CONSTRAINT uq_owner_code UNIQUE (code))
        CREATE TABLE dbo.pets (
            id INT PRIMARY KEY,
            owner_id INT NOT NULL,
            owner_code CHAR(3) CONSTRAINT fk_pet_code REFERENCES dbo.owners (code),
            parent_id INT NULL REFERENCES pets (id),
            CONSTRAINT fk_pet_owner FOREIGN KEY (owner_id) REFERENCES owners (id)
                ON DELETE CASCADE ON UPDATE NO ACTION
        )
    """,
    )
    _, rows = query(
        session,
        "SELECT f.name, OBJECT_NAME(f.parent_object_id), OBJECT_NAME(f.referenced_object_id), "
        "f.delete_referential_action_desc, f.update_referential_action_desc "
        "FROM sys.foreign_keys f ORDER BY f.name",
    )
    by_name = {r[0]: r[1:] for r in rows}
    assert by_name["fk_pet_owner"] == ("pets", "owners", "CASCADE", "NO_ACTION")
    assert by_name["fk_pet_code"] == ("pets", "owners", "NO_ACTION", "NO_ACTION")
    (generated,) = set(by_name) - {"fk_pet_owner", "fk_pet_code"}
    assert generated.startswith("FK__pets__parent_i__")
    assert by_name[generated][:2] == ("pets", "pets")
    _, rows = query(
        session,
        "SELECT COL_NAME_P.name, COL_NAME_R.name FROM sys.foreign_key_columns fc "
        "JOIN sys.columns COL_NAME_P ON COL_NAME_P.object_id = fc.parent_object_id "
        "AND COL_NAME_P.column_id = fc.parent_column_id "
        "JOIN sys.columns COL_NAME_R ON COL_NAME_R.object_id = fc.referenced_object_id "
        "AND COL_NAME_R.column_id = fc.referenced_column_id "
        "WHERE fc.constraint_object_id = OBJECT_ID('fk_pet_owner')",
    )
    assert rows == [("owner_id", "id")]
    _, rows = query(
        session,
        "SELECT r.CONSTRAINT_NAME, r.UNIQUE_CONSTRAINT_NAME, r.DELETE_RULE, k.COLUMN_NAME "
        "FROM INFORMATION_SCHEMA.REFERENTIAL_CONSTRAINTS r "
        "JOIN INFORMATION_SCHEMA.KEY_COLUMN_USAGE k ON k.CONSTRAINT_NAME = r.CONSTRAINT_NAME "
        "WHERE r.CONSTRAINT_NAME LIKE 'fk_pet%' ORDER BY 1",
    )
    assert rows == [
        ("fk_pet_code", "uq_owner_code", "NO ACTION", "owner_code"),
        ("fk_pet_owner", rows[1][1], "CASCADE", "owner_id"),
    ]
    assert rows[1][1].startswith("PK__owners")
    assert (
        scalar(
            session,
            "SELECT COUNT(*) FROM INFORMATION_SCHEMA.TABLE_CONSTRAINTS "
            "WHERE TABLE_NAME = 'pets' AND CONSTRAINT_TYPE = 'FOREIGN KEY'",
        )
        == 3
    )
    run(session, "DROP TABLE pets")
    assert scalar(session, "SELECT COUNT(*) FROM sys.foreign_keys") == 0
    assert scalar(session, "SELECT COUNT(*) FROM sys.foreign_key_columns") == 0


@pytest.mark.parametrize(
    ("ddl", "number"),
    [
        ("CREATE TABLE c (x INT REFERENCES nowhere (id))", 1767),
        ("CREATE TABLE c (x INT REFERENCES p (nope))", 1770),
        ("CREATE TABLE c (x INT REFERENCES p (v))", 1776),
    ],
)
def test_foreign_key_errors(session: DuckDBSession, ddl: str, number: int) -> None:
    run(session, "CREATE TABLE p (id INT PRIMARY KEY, v INT)")
    with pytest.raises(SqlError) as info:
        run(session, ddl)
    assert info.value.number == number


def test_view_definition_in_sql_modules(shop: DuckDBSession) -> None:
    definition = scalar(
        shop,
        "SELECT m.definition FROM sys.sql_modules m JOIN sys.views v "
        "ON v.object_id = m.object_id WHERE v.name = 'order_names'",
    )
    assert definition.startswith("CREATE VIEW dbo.order_names AS SELECT customer")
