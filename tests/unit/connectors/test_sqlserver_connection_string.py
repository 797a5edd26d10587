"""The ADO.NET connection-string parser: a table of real-world strings, errors, masking."""

from __future__ import annotations

from typing import Any

import pytest

from flowservice.connectors.sqlserver.connection_string import (
    ConnectionSettings,
    parse_connection_string,
)
from flowservice.connectors.sqlserver.connector import SqlServerConnector
from flowservice.errors import InvalidRequest

S = ConnectionSettings

# (connection string, expected settings): strings as users paste them from
# SSMS, Azure, docs, app configs and ODBC DSNs.
VALID: list[tuple[str, ConnectionSettings]] = [
    (
        "Data Source=sql01;Initial Catalog=sales;Integrated Security=False;"
        "User ID=etl;Password=s3cret;",
        S(host="sql01", database="sales", user="etl", password="s3cret"),
    ),
    (
        "Data Source=sql01\\PROD;Initial Catalog=sales;Integrated Security=False;"
        "User ID=etl;Password=s3cret;",
        S(host="sql01", instance="PROD", database="sales", user="etl", password="s3cret"),
    ),
    (
        "Server=tcp:myserver.database.windows.net,1433;Initial Catalog=mydb;"
        "Persist Security Info=False;User ID=admin1;Password=P@ssw0rd!;"
        "MultipleActiveResultSets=False;Encrypt=True;TrustServerCertificate=False;"
        "Connection Timeout=30;",
        S(
            host="myserver.database.windows.net",
            port=1433,
            database="mydb",
            user="admin1",
            password="P@ssw0rd!",
            connect_timeout=30,
        ),
    ),
    (
        "Server=myServerAddress;Database=myDataBase;User Id=myUsername;Password=myPassword;",
        S(host="myServerAddress", database="myDataBase", user="myUsername", password="myPassword"),
    ),
    (
        "server=localhost,1433;database=master;uid=sa;pwd=Str0ng!Pass",
        S(host="localhost", port=1433, database="master", user="sa", password="Str0ng!Pass"),
    ),
    (
        "SERVER=LOCALHOST;DATABASE=MASTER;UID=SA;PWD=X",
        S(host="LOCALHOST", database="MASTER", user="SA", password="X"),
    ),
    ("Server=(local);User ID=sa;Password=x", S(host="localhost", user="sa", password="x")),
    ("Server=.;User ID=sa;Password=x", S(host="localhost", user="sa", password="x")),
    (
        "Server=.\\SQLEXPRESS;Database=app;User ID=sa;Password=x",
        S(host="localhost", instance="SQLEXPRESS", database="app", user="sa", password="x"),
    ),
    (
        "Server=(local)\\SQL2019,14330;User ID=sa;Password=x",
        S(host="localhost", instance="SQL2019", port=14330, user="sa", password="x"),
    ),
    ("Address=10.0.0.5,1500;UID=u;PWD=p", S(host="10.0.0.5", port=1500, user="u", password="p")),
    ("Addr=db;UID=u;PWD=p", S(host="db", user="u", password="p")),
    ("Network Address=db;UID=u;PWD=p", S(host="db", user="u", password="p")),
    ("Server=[::1],1433;UID=u;PWD=p", S(host="::1", port=1433, user="u", password="p")),
    ("Data Source=tcp:db , 1444 ;UID=u;PWD=p", S(host="db", port=1444, user="u", password="p")),
    ("User=u;Password=p;Server=db", S(host="db", user="u", password="p")),
    (
        "Password='a;b';Server=db;User ID=u",
        S(host="db", user="u", password="a;b"),
    ),
    ('Server=db;User ID=u;Password="it\'s"', S(host="db", user="u", password="it's")),
    ("Server=db;User ID=u;Password='it''s'", S(host="db", user="u", password="it's")),
    ('Server=db;User ID=u;Password="say ""hi"""', S(host="db", user="u", password='say "hi"')),
    ("Server=db;User ID=u;Password={p;w}}d}", S(host="db", user="u", password="p;w}d")),
    ("Server=db;User ID=u;Password=", S(host="db", user="u", password="")),
    ("Server=db;User ID=u;Password=a=b=c", S(host="db", user="u", password="a=b=c")),
    ("  Server = db ;  User ID = u  ; Password = p q ;;", S(host="db", user="u", password="p q")),
    ("Server=db;\r\nUser ID=u;\r\nPassword=p;\r\n", S(host="db", user="u", password="p")),
    (
        "Server=db;UserID=u;PWD=p;Database='My DB'",
        S(host="db", user="u", password="p", database="My DB"),
    ),
    (
        "Server=db;User   ID=u;PWD=p;Initial   Catalog=x",
        S(host="db", user="u", password="p", database="x"),
    ),
    ("Server=db;UID=u;PWD=p;Encrypt=yes", S(host="db", user="u", password="p")),
    (
        "Server=db;UID=u;PWD=p;Encrypt=no",
        S(host="db", user="u", password="p", encrypt="optional"),
    ),
    (
        "Server=db;UID=u;PWD=p;Encrypt=false;TrustServerCertificate=true",
        S(host="db", user="u", password="p", encrypt="optional", trust_server_certificate=True),
    ),
    (
        "Server=db;UID=u;PWD=p;Encrypt=Optional",
        S(host="db", user="u", password="p", encrypt="optional"),
    ),
    (
        "Server=db;UID=u;PWD=p;Encrypt=Mandatory;Trust Server Certificate=yes",
        S(host="db", user="u", password="p", trust_server_certificate=True),
    ),
    (
        "Server=db;UID=u;PWD=p;Encrypt=Strict;HostNameInCertificate=db.corp",
        S(host="db", user="u", password="p", encrypt="strict", host_name_in_certificate="db.corp"),
    ),
    ("Server=db;UID=u;PWD=p;Timeout=5", S(host="db", user="u", password="p", connect_timeout=5)),
    (
        "Server=db;UID=u;PWD=p;Connect Timeout=60",
        S(host="db", user="u", password="p", connect_timeout=60),
    ),
    (
        "Server=db;UID=u;PWD=p;ApplicationIntent=ReadOnly",
        S(host="db", user="u", password="p", application_intent="ReadOnly"),
    ),
    (
        "Server=db;UID=u;PWD=p;Application Intent=readwrite",
        S(host="db", user="u", password="p"),
    ),
    (
        "Server=db;UID=u;PWD=p;Application Name=Flow Service",
        S(host="db", user="u", password="p", application_name="Flow Service"),
    ),
    (
        "Server=ag-listener;UID=u;PWD=p;MultiSubnetFailover=True",
        S(host="ag-listener", user="u", password="p", multi_subnet_failover=True),
    ),
    (
        "Server=db;UID=u;PWD=p;Integrated Security=false;Trusted_Connection=no",
        S(host="db", user="u", password="p"),
    ),
    (
        "Driver={ODBC Driver 18 for SQL Server};Server=db;UID=u;PWD=p;Pooling=false;"
        "Max Pool Size=50;Min Pool Size=1",
        S(host="db", user="u", password="p"),
    ),
    (
        "Server=db;UID=u;PWD=p;Packet Size=8192;Authentication=SqlPassword",
        S(host="db", user="u", password="p", packet_size=8192),
    ),
    ("Server=first;Server=second;UID=u;PWD=p", S(host="second", user="u", password="p")),
    (
        "Data Source=db;Server=other;UID=u;PWD=p",
        S(host="other", user="u", password="p"),
    ),
    (
        "Server=db;UID=dom\\user;PWD=ünïcødé-密码",
        S(host="db", user="dom\\user", password="ünïcødé-密码"),
    ),
    (
        "Server=db-01.corp.example.com,50123;Initial Catalog=Warehouse_2024;"
        'User ID=svc.flow@corp;Password="  spaces kept  ";Workstation ID=APP01',
        S(
            host="db-01.corp.example.com",
            port=50123,
            database="Warehouse_2024",
            user="svc.flow@corp",
            password="  spaces kept  ",
        ),
    ),
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_real_world_strings_parse(text: str, expected: ConnectionSettings) -> None:
    assert parse_connection_string(text) == expected


def test_the_table_is_large_enough() -> None:
    assert len(VALID) >= 40


# (connection string, text the 400 message must contain)
INVALID: list[tuple[str, str]] = [
    ("Server=db;Fruit=apple;UID=u;PWD=p", "unknown keyword 'Fruit'"),
    ("Server=db;UID=u;PWD=p;Fruit=apple", "right after the Password value"),
    ("Server=db;UID=u;PWD=p;Provider=SQLOLEDB", "unknown keyword 'Provider'"),
    ("Server=db;Integrated Security=True", "Windows authentication"),
    ("Server=db;Integrated Security=SSPI;", "Windows authentication"),
    ("Server=db;Trusted_Connection=yes", "Windows authentication"),
    ("Server=db;UID=u;PWD=p;Authentication=ActiveDirectoryPassword", "Authentication="),
    ("UID=u;PWD=p", "Data Source (or Server) is required"),
    ("Server=db;PWD=p", "User ID is required"),
    ("Server=db,99999;UID=u;PWD=p", "port '99999'"),
    ("Server=db,abc;UID=u;PWD=p", "port 'abc'"),
    ("Server=np:\\\\db\\pipe\\sql\\query;UID=u;PWD=p", "'np:' protocol"),
    ("Server=(localdb)\\MSSQLLocalDB;UID=u;PWD=p", "LocalDB"),
    ("Server=db;UID=u;PWD=p;Encrypt=maybe", "Encrypt must be"),
    ("Server=db;UID=u;PWD=p;TrustServerCertificate=sure", "TrustServerCertificate must be"),
    ("Server=db;UID=u;PWD=p;Connect Timeout=0", "Connect Timeout"),
    ("Server=db;UID=u;PWD=p;Connect Timeout=soon", "Connect Timeout"),
    ("Server=db;UID=u;PWD=p;ApplicationIntent=ReadMostly", "ApplicationIntent"),
    ("Server=db;UID=u;PWD='unterminated", "never closed"),
    ("Server=db;UID=u;PWD='x' trailing", "after the quoted value"),
    ("Server=db;UID=u;JustAWord", "part 3 has no '='"),
    ("Server=db;UID=u;=value", "missing its keyword"),
    ("", "empty"),
    ("   ", "empty"),
    ("Server=db\\;UID=u", "instance name"),
]


@pytest.mark.parametrize(("text", "fragment"), INVALID)
def test_invalid_strings_get_a_400_naming_the_problem(text: str, fragment: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_connection_string(text)
    assert caught.value.status == 400
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    "text",
    [
        "Server=db;UID=u;PWD=Hunter2Secret;Bogus=1",
        "Server=db;UID=u;PWD='Hunter2Secret",
        "Server=db;UID=u;PWD=Hunter2Secret;Integrated Security=true",
        "Server=db;PWD=Hunter2Secret",
        "Server=db;UID=u;PWD=Hunter2Secret;Port=1",
    ],
)
def test_messages_never_contain_the_password(text: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_connection_string(text)
    assert "Hunter2Secret" not in caught.value.message


def test_validate_auth_uses_the_parser() -> None:
    SqlServerConnector.validate_auth(
        "Connection String Based Authentication",
        {"connectionString": "Server=db;UID=u;PWD=p"},
    )
    with pytest.raises(InvalidRequest, match="Windows authentication"):
        SqlServerConnector.validate_auth(
            "Connection String Based Authentication",
            {"connectionString": "Server=db;Integrated Security=True"},
        )
    bad: list[dict[str, Any]] = [{}, {"connectionString": 42}]
    for params in bad:
        with pytest.raises(InvalidRequest, match="connectionString"):
            SqlServerConnector.validate_auth("Connection String Based Authentication", params)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            "Data Source=db\\PROD;Initial Catalog=sales;Integrated Security=False;"
            "User ID=etl;Password=s3cret;",
            "Data Source=db\\PROD;Initial Catalog=sales;Integrated Security=False;"
            "User ID=etl;Password=****;",
        ),
        ("Server=db;PWD='a;b';UID=u", "Server=db;PWD=****;UID=u"),
        ('Server=db;pwd = "x""y" ;UID=u', "Server=db;pwd = **** ;UID=u"),
        ("Server=db;Password={p;w}}d}", "Server=db;Password=****"),
        ("Server=db;PWD=one;Password=two", "Server=db;PWD=****;Password=****"),
        ("Server=db;UID=u", "Server=db;UID=u"),
        ("Server=db;UID=u;PWD='never closed", "****"),
    ],
)
def test_mask_secret_hides_only_the_password(text: str, masked: str) -> None:
    assert SqlServerConnector.mask_secret("connectionString", text) == masked


def test_mask_secret_of_other_keys_hides_everything() -> None:
    assert SqlServerConnector.mask_secret("apiKey", "abc") == "****"
