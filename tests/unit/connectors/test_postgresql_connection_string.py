"""Adobe's PostgreSQL connection string: parsing, TLS settings, masking, and secrecy of errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowservice.connectors.postgresql.connection_string import (
    MASK,
    mask_password,
    parse_connection_string,
    parse_server,
)
from flowservice.connectors.postgresql.connector import PostgresConnector
from flowservice.connectors.postgresql.session import libpq_keywords
from flowservice.errors import InvalidRequest

ADOBE = "Server=db.example.com;Database=sales;Port=5433;UID=reader;Password=s3cret"


def test_adobes_documented_form() -> None:
    s = parse_connection_string(ADOBE)
    assert (s.host, s.database, s.port, s.user, s.password) == (
        "db.example.com",
        "sales",
        5433,
        "reader",
        "s3cret",
    )
    assert s.sslmode == "disable"
    assert s.where == "db.example.com:5433"


@pytest.mark.parametrize(
    ("tail", "mode"),
    [
        ("", "disable"),
        (";EncryptionMethod=0", "disable"),
        (";EncryptionMethod=1", "verify-full"),
        (";EncryptionMethod=1;ValidateServerCertificate=1", "verify-full"),
        (";EncryptionMethod=1;ValidateServerCertificate=0", "require"),
        (";ValidateServerCertificate=0;EncryptionMethod=1", "require"),
        (";EncryptionMethod=6", "prefer"),
        (";encryptionmethod=1;VALIDATESERVERCERTIFICATE=false", "require"),
    ],
)
def test_encryption_method_and_certificate_validation(tail: str, mode: str) -> None:
    assert parse_connection_string(ADOBE + tail).sslmode == mode


def test_tls_keywords_reach_libpq() -> None:
    verify = libpq_keywords(parse_connection_string(ADOBE + ";EncryptionMethod=1"))
    assert verify["sslmode"] == "verify-full" and verify["sslrootcert"] == "system"
    own_ca = parse_connection_string(ADOBE + ";EncryptionMethod=1;TrustStore=/etc/ca.pem")
    assert libpq_keywords(own_ca)["sslrootcert"] == "/etc/ca.pem"
    plain = libpq_keywords(parse_connection_string(ADOBE))
    assert plain["sslmode"] == "disable" and "sslrootcert" not in plain


def test_any_order_case_spacing_and_aliases() -> None:
    text = "  password = s3cret ; uid=reader;PORT= 5433 ;database=sales;  SERVER=db.example.com ;"
    assert parse_connection_string(text) == parse_connection_string(ADOBE)
    aliases = "Host=db.example.com;Initial Catalog=sales;Port=5433;User ID=reader;PWD=s3cret"
    assert parse_connection_string(aliases) == parse_connection_string(ADOBE)


def test_quoted_and_braced_values() -> None:
    s = parse_connection_string(
        'Server=h;Database=\'my;db\';UID="u""q";Password={p;w}}d};Port=5432'
    )
    assert (s.database, s.user, s.password) == ("my;db", 'u"q', "p;w}d")


@pytest.mark.parametrize(
    ("server", "host", "port"),
    [
        ("h", "h", None),
        ("h:6000", "h", 6000),
        ("h,6000", "h", 6000),
        ("[::1]:6000", "::1", 6000),
        ("[::1]", "::1", None),
        ("10.0.0.1", "10.0.0.1", None),
    ],
)
def test_server_forms(server: str, host: str, port: int | None) -> None:
    assert parse_server(server) == (host, port)


def test_explicit_port_wins_and_default_port() -> None:
    assert parse_connection_string("Server=h:6000;Database=d;UID=u;Port=7000").port == 7000
    assert parse_connection_string("Server=h;Database=d;UID=u").port == 5432


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("Database=d;UID=u", "Server"),
        ("Server=h;UID=u", "Database"),
        ("Server=h;Database=d", "UID"),
        ("Server=h;Database=d;UID=u;Port=x", "Port"),
        ("Server=h;Database=d;UID=u;Port=70000", "Port"),
        ("Server=h;Database=d;UID=u;EncryptionMethod=2", "EncryptionMethod"),
        ("Server=h;Database=d;UID=u;ValidateServerCertificate=maybe", "ValidateServerCertificate"),
        ("Server=h;Database=d;UID=u;Colour=blue", "Colour"),
        ("Server=h;Database=d;UID=u;Connect Timeout=0", "Connect Timeout"),
        ("Server=h;Database='d;UID=u", "never closed"),
    ],
)
def test_invalid_strings_say_what_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_connection_string(text)
    assert fragment in info.value.message


def test_unquoted_password_with_semicolon_is_never_echoed() -> None:
    text = "Server=h;Database=d;UID=u;Password=abc;tail=xyz123"
    with pytest.raises(InvalidRequest) as info:
        parse_connection_string(text)
    assert "xyz123" not in info.value.message and "abc" not in info.value.message
    assert "quote" in info.value.message
    assert mask_password(text) == MASK


def test_mask_keeps_everything_but_the_password() -> None:
    text = "Server=h;Database=d;UID=u;Password='p;w';EncryptionMethod=1"
    assert mask_password(text) == f"Server=h;Database=d;UID=u;Password={MASK};EncryptionMethod=1"
    assert PostgresConnector.mask_secret("connectionString", text).count("p;w") == 0
    assert mask_password("Server=h;Pwd=a;Password=b") == f"Server=h;Pwd={MASK};Password={MASK}"
    assert mask_password("no equals sign") == MASK


def test_validate_auth_needs_a_string() -> None:
    with pytest.raises(InvalidRequest):
        PostgresConnector.validate_auth("Connection String Based Authentication", {})
    PostgresConnector.validate_auth("x", {"connectionString": ADOBE})


def test_settings_repr_hides_the_password() -> None:
    assert "s3cret" not in repr(parse_connection_string(ADOBE))


# --- properties --------------------------------------------------------------------------

_names = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=";='\"{}"),
    min_size=1,
    max_size=12,
)
_secrets = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FF, exclude_characters="\x00"),
    min_size=1,
    max_size=24,
)


def _quote(value: str, style: str) -> str:
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style == '"':
        return '"' + value.replace('"', '""') + '"'
    return "{" + value.replace("}", "}}") + "}"


def _casing(keyword: str, flips: list[bool]) -> str:
    return "".join(
        ch.upper() if flips[i % len(flips)] else ch.lower() for i, ch in enumerate(keyword)
    )


@settings(max_examples=200, deadline=None)
@given(
    host=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,15}", fullmatch=True),
    database=_names,
    user=_names,
    password=_secrets,
    port=st.integers(1, 65535),
    style=st.sampled_from(["'", '"', "{"]),
    order=st.permutations(range(5)),
    flips=st.lists(st.booleans(), min_size=1, max_size=5),
)
def test_any_order_casing_and_quoting_parse_the_same(
    host: str,
    database: str,
    user: str,
    password: str,
    port: int,
    style: str,
    order: list[int],
    flips: list[bool],
) -> None:
    pairs = [
        ("Server", host),
        ("Database", database),
        ("Port", str(port)),
        ("UID", user),
        ("Password", _quote(password, style)),
    ]
    text = ";".join(f"{_casing(k, flips)}={v}" for k, v in (pairs[i] for i in order))
    parsed = parse_connection_string(text)
    assert (parsed.host, parsed.database, parsed.port, parsed.user, parsed.password) == (
        host,
        database.strip(),
        port,
        user,
        password,
    )
    masked = mask_password(text)
    assert password not in masked or password in text.replace(_quote(password, style), "")
    assert parse_connection_string(masked).password == MASK


@settings(max_examples=200, deadline=None)
@given(
    password=_secrets.filter(lambda p: len(p.strip()) >= 4), junk=st.sampled_from(["x", "=", ";"])
)
def test_errors_never_contain_the_password(password: str, junk: str) -> None:
    broken = [
        f"Server=h;Database=d;UID=u;Password={password};Port=notaport{junk}",
        f"Server=h;Database=d;UID=u;Password={password}{junk};Bogus=1",
        f"Server=h;Database=d;Password={password}",
        f"Server=h;Database=d;UID=u;Password='{password}",
    ]
    for text in broken:
        try:
            parse_connection_string(text)
        except InvalidRequest as exc:
            assert password.strip() not in exc.message
