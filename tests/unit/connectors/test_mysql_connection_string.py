"""MySQL / MariaDB connection strings: Adobe's form, aliases, quoting, errors and masking."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowservice.connectors.mysql.connection_string import (
    MASK,
    ConnectionSettings,
    mask_password,
    parse_connection_string,
)
from flowservice.connectors.mysql.connector import MariaDbConnector, MySqlConnector
from flowservice.errors import InvalidRequest

ADOBE = "Server=db.example.com;Port=3307;Database=shop;UID=loader;PWD=S3cret!pw"


def test_adobes_documented_form() -> None:
    parsed = parse_connection_string(ADOBE)
    assert parsed == ConnectionSettings(
        host="db.example.com", port=3307, database="shop", user="loader", password="S3cret!pw"
    )
    assert parsed.ssl_mode == "preferred"
    assert "S3cret" not in repr(parsed)


def test_keywords_in_any_order_and_case_with_aliases() -> None:
    text = " pwd = S3cret!pw ; user id=loader;INITIAL CATALOG=shop; host=db.example.com;PORT=3307;"
    assert parse_connection_string(text) == parse_connection_string(ADOBE)


def test_quoted_values_may_hold_separators_and_quotes() -> None:
    parsed = parse_connection_string("Server=h;UID=u;PWD='a;b''c';Database={x}}y}")
    assert parsed.password == "a;b'c"
    assert parsed.database == "x}y"


@pytest.mark.parametrize(
    ("written", "mode"),
    [
        ("Disabled", "disabled"),
        ("none", "disabled"),
        ("0", "disabled"),
        ("Preferred", "preferred"),
        ("REQUIRED", "required"),
        ("VerifyCA", "verify_ca"),
        ("VERIFY_CA", "verify_ca"),
        ("verify-identity", "verify_identity"),
        ("VerifyFull", "verify_identity"),
        ("4", "verify_identity"),
    ],
)
def test_ssl_modes(written: str, mode: str) -> None:
    assert parse_connection_string(f"{ADOBE};SslMode={written}").ssl_mode == mode


def test_port_in_the_server_value_and_ipv6() -> None:
    assert parse_connection_string("Server=h:3310;UID=u").port == 3310
    parsed = parse_connection_string("Server=[::1]:3311;UID=u")
    assert (parsed.host, parsed.port, parsed.where) == ("::1", 3311, "[::1]:3311")


def test_ignored_client_settings_are_accepted() -> None:
    text = f"{ADOBE};Driver={{MySQL ODBC 8.0}};Charset=utf8mb4;Pooling=false;Option=3"
    assert parse_connection_string(text) == parse_connection_string(ADOBE)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "empty"),
        ("Port=1;UID=u", "Server"),
        ("Server=h", "UID"),
        ("Server=h;UID=u;Port=x", "Port"),
        ("Server=h;UID=u;Port=70000", "Port"),
        ("Server=h;UID=u;SslMode=sometimes", "SslMode"),
        ("Server=h;UID=u;Connect Timeout=0", "Connect Timeout"),
        ("Server=h;UID=u;Flavour=x", "unknown keyword 'Flavour'"),
        ("Server=h;UID=u;PWD='open", "never closed"),
    ],
)
def test_errors_say_what_is_wrong(text: str, needle: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_connection_string(text)
    assert needle in caught.value.message


@pytest.mark.parametrize(
    "text",
    [
        "Server=h;UID=u;PWD=top;secret=x",  # a ';' inside an unquoted password
        "Server=h;UID=u;PWD=top;secret",
        "Server=h;UID=u;PWD='top secret",
        "Server=h;UID=u;PWD='top secret'x",
    ],
)
def test_errors_never_show_the_password(text: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_connection_string(text)
    assert "secret" not in caught.value.message
    assert "top" not in caught.value.message


def test_mask_keeps_everything_but_the_password() -> None:
    assert MySqlConnector.mask_secret("connectionString", ADOBE) == ADOBE.replace("S3cret!pw", MASK)
    quoted = "Server=h;Password='a;b';UID=u"
    assert (
        MariaDbConnector.mask_secret("connectionString", quoted) == "Server=h;Password=****;UID=u"
    )
    assert mask_password("PWD=x;garbage") == MASK
    assert MySqlConnector.mask_secret("other", "v") == MASK


def test_validate_auth_uses_the_parser() -> None:
    MySqlConnector.validate_auth(
        "Connection String Based Authentication", {"connectionString": ADOBE}
    )
    with pytest.raises(InvalidRequest):
        MariaDbConnector.validate_auth("x", {"connectionString": 5})


SYNONYMS = {
    "host": ["Server", "Host", "Data Source", "Address"],
    "port": ["Port"],
    "database": ["Database", "Initial Catalog", "DB"],
    "user": ["UID", "User Id", "User", "Username"],
    "password": ["PWD", "Password"],
    "ssl_mode": ["SslMode", "SSL Mode", "ssl-mode"],
    "ssl_ca": ["SslCA", "SSL CA"],
    "connect_timeout": ["Connect Timeout", "ConnectionTimeout"],
}
SSL_WORDS = {
    "disabled": "Disabled",
    "preferred": "PREFERRED",
    "required": "required",
    "verify_ca": "VerifyCA",
    "verify_identity": "VERIFY_IDENTITY",
}
text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)
host_names = st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){0,3}", fullmatch=True)


@st.composite
def connection_settings(draw: st.DrawFn) -> ConnectionSettings:
    return ConnectionSettings(
        host=draw(host_names),
        port=draw(st.integers(1, 65535)),
        database=draw(st.none() | text.filter(lambda v: v.strip() == v and v != "")),
        user=draw(text.filter(lambda v: v.strip() != "")),
        password=draw(text),
        ssl_mode=draw(st.sampled_from(sorted(SSL_WORDS))),
        ssl_ca=draw(st.none() | st.from_regex(r"/[a-z]{1,8}/[a-z]{1,8}\.pem", fullmatch=True)),
        connect_timeout=draw(st.integers(1, 600)),
    )


def quote_value(value: str, style: str) -> str:
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == '"':
        return '"' + value.replace('"', '""') + '"'
    return "{" + value.replace("}", "}}") + "}"


@st.composite
def written(draw: st.DrawFn, parsed: ConnectionSettings) -> str:
    values = {
        "host": parsed.host,
        "port": str(parsed.port),
        "database": parsed.database,
        "user": parsed.user,
        "password": parsed.password,
        "ssl_mode": SSL_WORDS[parsed.ssl_mode],
        "ssl_ca": parsed.ssl_ca,
        "connect_timeout": str(parsed.connect_timeout),
    }
    pairs: list[str] = []
    for setting, value in values.items():
        if value is None:
            continue
        keyword = draw(st.sampled_from(SYNONYMS[setting]))
        keyword = draw(st.sampled_from([keyword, keyword.upper(), keyword.lower()]))
        plain_ok = value == value.strip() and not any(c in value for c in ";'\"{") and value
        style = draw(st.sampled_from(["plain", "'", '"', "{"] if plain_ok else ["'", '"', "{"]))
        shown = value if style == "plain" else quote_value(value, style)
        pairs.append(f"{keyword}{draw(st.sampled_from(['=', ' = ']))}{shown}")
    order = draw(st.permutations(pairs))
    return ";".join(order) + draw(st.sampled_from(["", ";", " ; "]))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_legal_spelling_parses_back(data: st.DataObject) -> None:
    parsed = data.draw(connection_settings())
    assert parse_connection_string(data.draw(written(parsed))) == parsed


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mask_hides_exactly_the_password(data: st.DataObject) -> None:
    parsed = data.draw(connection_settings())
    masked = mask_password(data.draw(written(parsed)))
    reparsed = parse_connection_string(masked)
    assert reparsed == dataclasses.replace(parsed, password=MASK)


@settings(max_examples=300, deadline=None)
@given(text.filter(lambda v: len(v) >= 4), st.text(max_size=60))
def test_no_error_echoes_the_password(password: str, tail: str) -> None:
    candidate = f"Server=h;UID=u;PWD={password}{tail}"
    try:
        parse_connection_string(candidate)
    except InvalidRequest as exc:
        assert password not in exc.message
