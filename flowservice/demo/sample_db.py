"""The demo's sample sales database as one T-SQL script (bulk rows from GENERATE_SERIES)."""

from __future__ import annotations

from dataclasses import dataclass

DATABASE = "sales"
FLOW_TABLE = "sales.orders"
DELTA_COLUMN = "modified_at"


@dataclass(frozen=True)
class TableSizes:
    """How the requested total splits over the four tables."""

    customers: int
    products: int
    orders: int
    order_lines: int

    @property
    def total(self) -> int:
        return self.customers + self.products + self.orders + self.order_lines


def table_sizes(total_rows: int) -> TableSizes:
    """Split ``total_rows`` as a shop would: few products, many order lines."""
    products = max(10, total_rows // 100)
    customers = max(10, total_rows // 10)
    orders = max(10, total_rows * 4 // 10)
    order_lines = max(10, total_rows - products - customers - orders)
    return TableSizes(customers, products, orders, order_lines)


# Names chosen to exercise UTF-16 beyond Latin-1 (accents, CJK, Cyrillic, an emoji outside the BMP).
_FIRST_NAMES = ("Zoë", "José", "Łukasz", "Søren", "Ōtani", "Анна", "李娜", "Chloé", "Ngọc", "Émile")
_CITIES = ("München", "São Paulo", "Kraków", "Reykjavík", "東京", "Zürich", "Québec", "Malmö")
_PRODUCTS = ("Café crème", "Brezel", "Smørrebrød", "Crêpe", "Pão de queijo", "抹茶", "Tee 🍵")


def _pick(values: tuple[str, ...], index_sql: str) -> str:
    """A CASE expression choosing one of ``values`` by ``index_sql`` modulo their count."""
    whens = " ".join(
        f"WHEN {i} THEN N'{v.replace(chr(39), chr(39) * 2)}'" for i, v in enumerate(values)
    )
    return f"CASE ({index_sql}) % {len(values)} {whens} END"


def init_script(total_rows: int) -> str:
    """Tables of the sample database and their rows; ``modified_at`` lies in the past."""
    sizes = table_sizes(total_rows)
    return f"""
CREATE SCHEMA sales;
GO
CREATE TABLE sales.customers (
  customer_id int NOT NULL PRIMARY KEY,
  customer_key uniqueidentifier NOT NULL,
  first_name nvarchar(50) NOT NULL,
  city nvarchar(60) NULL,
  credit_limit money NULL,
  is_active bit NOT NULL,
  signed_up date NOT NULL,
  modified_at datetime2(3) NOT NULL
);
CREATE TABLE sales.products (
  product_id int NOT NULL PRIMARY KEY,
  name nvarchar(100) NOT NULL,
  list_price decimal(10,2) NOT NULL,
  weight_kg float NULL,
  thumbnail varbinary(64) NULL,
  discontinued bit NOT NULL,
  modified_at datetime2(3) NOT NULL
);
CREATE TABLE sales.orders (
  order_id bigint NOT NULL PRIMARY KEY,
  order_key uniqueidentifier NOT NULL,
  customer_id int NOT NULL,
  ship_city nvarchar(60) NULL,
  order_date date NOT NULL,
  placed_at datetimeoffset(3) NOT NULL,
  total money NOT NULL,
  discount decimal(5,4) NULL,
  is_gift bit NOT NULL,
  gift_note nvarchar(max) NULL,
  signature varbinary(32) NULL,
  modified_at datetime2(3) NOT NULL
);
CREATE TABLE sales.order_lines (
  order_id bigint NOT NULL,
  line_no int NOT NULL,
  product_id int NOT NULL,
  quantity smallint NOT NULL,
  unit_price decimal(10,2) NOT NULL,
  modified_at datetime2(3) NOT NULL,
  PRIMARY KEY (order_id, line_no)
);
GO
INSERT INTO sales.customers
SELECT value, NEWID(), {_pick(_FIRST_NAMES, "value")},
       IIF(value % 13 = 0, NULL, {_pick(_CITIES, "value / 7")}),
       IIF(value % 11 = 0, NULL, CAST(value % 500 AS money) * 100),
       IIF(value % 9 = 0, 0, 1),
       DATEADD(day, value % 2000, CAST('2019-01-01' AS date)),
       DATEADD(second, value * 37, CAST('2024-01-01' AS datetime2(3)))
FROM GENERATE_SERIES(1, {sizes.customers});
GO
INSERT INTO sales.products
SELECT value, CONCAT({_pick(_PRODUCTS, "value")}, N' #', value),
       CAST(value % 9000 AS decimal(10,2)) / 100 + 0.99,
       IIF(value % 5 = 0, NULL, (value % 300) * 0.125),
       IIF(value % 4 = 0, NULL, CAST(CONCAT('img-', value) AS varbinary(max))),
       IIF(value % 17 = 0, 1, 0),
       DATEADD(minute, value, CAST('2024-01-01' AS datetime2(3)))
FROM GENERATE_SERIES(1, {sizes.products});
GO
INSERT INTO sales.orders
SELECT value, NEWID(), 1 + value % {sizes.customers},
       IIF(value % 10 = 0, NULL, {_pick(_CITIES, "value")}),
       DATEADD(day, value % 700, CAST('2023-01-01' AS date)),
       CAST(CONCAT(CONVERT(nvarchar(19), DATEADD(second, value * 61,
            CAST('2023-01-01' AS datetime2(0))), 120), N' +02:00') AS datetimeoffset(3)),
       CAST(value % 100000 AS money) / 100 + 5,
       IIF(value % 3 = 0, NULL, CAST((value % 30) / 100.0 AS decimal(5,4))),
       IIF(value % 8 = 0, 1, 0),
       IIF(value % 8 = 0, CONCAT(N'Alles Gute, ', {_pick(_FIRST_NAMES, "value / 3")}, N'! 🎁'),
           NULL),
       IIF(value % 6 = 0, NULL, CAST(CONCAT('sig:', value) AS varbinary(max))),
       DATEADD(second, value * 11, CAST('2024-02-01' AS datetime2(3)))
FROM GENERATE_SERIES(1, {sizes.orders});
GO
INSERT INTO sales.order_lines
SELECT 1 + (value - 1) / 3, 1 + (value - 1) % 3, 1 + value % {sizes.products},
       1 + value % 12, CAST(value % 5000 AS decimal(10,2)) / 100 + 0.5,
       DATEADD(second, value * 5, CAST('2024-02-01' AS datetime2(3)))
FROM GENERATE_SERIES(1, {sizes.order_lines});
GO
"""
