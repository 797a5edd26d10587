"""Property: any settings, written as a connection string in any legal way, parse back unchanged."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from flowservice.connectors.sqlserver.connection_string import (
    MASK,
    ConnectionSettings,
    parse_connection_string,
)
from flowservice.connectors.sqlserver.connector import SqlServerConnector

SYNONYMS = {
    "server": ["Data Source", "Server", "Address", "Addr", "Network Address"],
    "database": ["Initial Catalog", "Database"],
    "user": ["User ID", "UID", "User", "UserID"],
    "password": ["Password", "PWD"],
    "encrypt": ["Encrypt"],
    "trust_server_certificate": ["TrustServerCertificate", "Trust Server Certificate"],
    "connect_timeout": ["Connect Timeout", "Connection Timeout", "Timeout"],
    "application_intent": ["ApplicationIntent", "Application Intent"],
    "application_name": ["Application Name", "App"],
    "multi_subnet_failover": ["MultiSubnetFailover", "Multi Subnet Failover"],
    "host_name_in_certificate": ["HostNameInCertificate", "Host Name In Certificate"],
    "packet_size": ["Packet Size"],
}
ENCRYPT_WORDS = {
    "mandatory": ["true", "yes", "mandatory", "True", "YES"],
    "optional": ["false", "no", "optional", "False", "NO"],
    "strict": ["strict", "Strict"],
}

text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)
non_blank = text.filter(lambda v: v.strip() != "")
host_names = st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9-]{0,10}){0,3}", fullmatch=True)
instances = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,15}", fullmatch=True)


@st.composite
def connection_settings(draw: st.DrawFn) -> ConnectionSettings:
    return ConnectionSettings(
        host=draw(host_names),
        port=draw(st.none() | st.integers(1, 65535)),
        instance=draw(st.none() | instances),
        database=draw(st.none() | text.filter(bool)),
        user=draw(non_blank),
        password=draw(text),
        encrypt=draw(st.sampled_from(["mandatory", "optional", "strict"])),
        trust_server_certificate=draw(st.booleans()),
        connect_timeout=draw(st.integers(1, 600)),
        application_intent=draw(st.sampled_from(["ReadWrite", "ReadOnly"])),
        application_name=draw(st.none() | text.filter(bool)),
        multi_subnet_failover=draw(st.booleans()),
        host_name_in_certificate=draw(st.none() | host_names),
        packet_size=draw(st.none() | st.integers(512, 32767)),
    )


def write_keyword(draw: st.DrawFn, setting: str) -> str:
    keyword = draw(st.sampled_from(SYNONYMS[setting]))
    keyword = "".join(ch.upper() if draw(st.booleans()) else ch.lower() for ch in keyword).replace(
        " ", draw(st.sampled_from([" ", "  ", " \t "]))
    )
    return draw(st.sampled_from(["", " ", "\t"])) + keyword + draw(st.sampled_from(["", " "]))


def write_value(draw: st.DrawFn, value: str) -> str:
    styles = ["single", "double", "brace"]
    if value == value.strip() and ";" not in value and value[:1] not in ("'", '"', "{"):
        styles.append("bare")
    style = draw(st.sampled_from(styles))
    if style == "single":
        return "'" + value.replace("'", "''") + "'"
    if style == "double":
        return '"' + value.replace('"', '""') + '"'
    if style == "brace":
        return "{" + value.replace("}", "}}") + "}"
    return draw(st.sampled_from(["", " "])) + value


@st.composite
def written(draw: st.DrawFn) -> tuple[ConnectionSettings, str]:
    s = draw(connection_settings())
    server = draw(st.sampled_from(["", "tcp:", "TCP:"])) + s.host
    if s.instance is not None:
        server += "\\" + s.instance
    if s.port is not None:
        server += draw(st.sampled_from([",", " , ", ","])) + str(s.port)
    values: dict[str, str] = {
        "server": server,
        "user": s.user,
        "password": s.password,
        "encrypt": draw(st.sampled_from(ENCRYPT_WORDS[s.encrypt])),
        "trust_server_certificate": draw(
            st.sampled_from(
                ["true", "yes", "True"] if s.trust_server_certificate else ["false", "no"]
            )
        ),
        "connect_timeout": str(s.connect_timeout),
        "application_intent": draw(
            st.sampled_from([s.application_intent, s.application_intent.lower()])
        ),
        "multi_subnet_failover": "true" if s.multi_subnet_failover else "false",
    }
    optional = {
        "database": s.database,
        "application_name": s.application_name,
        "host_name_in_certificate": s.host_name_in_certificate,
        "packet_size": None if s.packet_size is None else str(s.packet_size),
    }
    values.update({k: v for k, v in optional.items() if v is not None})
    pairs = [f"{write_keyword(draw, k)}={write_value(draw, v)}" for k, v in values.items()]
    if draw(st.booleans()):
        pairs.append("Integrated Security=False")
    if draw(st.booleans()):
        pairs.append("Persist Security Info=False")
    order = draw(st.permutations(pairs))
    separator = draw(st.sampled_from([";", "; ", " ;"]))
    tail = draw(st.sampled_from(["", ";", "; ", ";;"]))
    return s, separator.join(order) + tail


@settings(max_examples=400, deadline=None)
@given(written())
def test_written_settings_parse_back_unchanged(case: tuple[ConnectionSettings, str]) -> None:
    expected, connection_string = case
    assert parse_connection_string(connection_string) == expected


@settings(max_examples=200, deadline=None)
@given(written())
def test_masked_string_keeps_everything_but_the_password(
    case: tuple[ConnectionSettings, str],
) -> None:
    expected, connection_string = case
    masked = SqlServerConnector.mask_secret("connectionString", connection_string)
    assert parse_connection_string(masked) == dataclasses.replace(expected, password=MASK)
