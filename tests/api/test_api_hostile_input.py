"""Hostile input answers 400 with a problem body, never a 500 and never a held worker.

JSON nested thousands deep, integers of thousands of digits (in bodies, query
values and continuation tokens) and regular expressions that nest or backtrack
catastrophically: first a table of the cases a security probe found, then
generated deep and huge values sent to every route family that reads a body
or a list query.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from flow_fixtures import connections, create_flow
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from service_harness import ApiClient, RunningServer, new_org_id, sql_server_connection_body

from flowservice.api.input_limits import (
    MAX_ECHO,
    MAX_INT_DIGITS,
    MAX_JSON_DEPTH,
    MAX_REGEX_LENGTH,
)
from flowservice.settings import API_PREFIX, CATALOG_PREFIX, CONVERSION_PREFIX

HUGE = "9" * 5000
# what an echo of the offending value beyond MAX_ECHO characters would contain
ECHOES = (*(char * (MAX_ECHO + 1) for char in "9(["), '{"a":' * 10)


def nested(depth: int, kind: str = "list", leaf: str = "0") -> str:
    """JSON text nesting ``depth`` lists (or objects) around ``leaf``."""
    if kind == "list":
        return "[" * depth + leaf + "]" * depth
    return '{"a":' * depth + leaf + "}" * depth


def token_of(text: str) -> str:
    """A continuationToken carrying ``text`` where our own JSON would be."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def the_future() -> int:
    return int(time.time()) + 30 * 86_400


@dataclass
class World:
    """One org holding one resource of each kind the hostile requests point at."""

    api: ApiClient
    ids: dict[str, str] = field(default_factory=dict)

    def path(self, template: str) -> str:
        return template.format(**self.ids)

    def etag(self, template: str) -> str:
        """The current etag of the Flow Service resource at ``template``."""
        got = self.api.get(self.path(template))
        assert got.status_code == 200, got.text
        return str(got.json()["items"][0]["etag"])


@pytest.fixture(scope="module")
def world(server: RunningServer) -> Iterator[World]:
    api = ApiClient(server, org_id=new_org_id(), client_id="hostile-client")
    base, source, target, dataset = connections(api)
    flow = create_flow(api, source, target)
    mapping = api.post(
        "/mappingSets",
        prefix=CONVERSION_PREFIX,
        json={
            "dataSetId": dataset,
            "mappings": [{"sourceAttribute": "ID", "destinationXdmPath": "id"}],
        },
    )
    assert mapping.status_code in (200, 201), mapping.text
    ids = {
        "connection": base,
        "source": source,
        "target": target,
        "dataset": dataset,
        "flow": flow,
        "mapping": str(mapping.json()["id"]),
    }
    yield World(api, ids)
    api.close()


def send(
    world: World,
    method: str,
    prefix: str,
    path: str,
    *,
    content: str | None = None,
    params: dict[str, str] | None = None,
    etag_of: str | None = None,
) -> httpx.Response:
    headers = {"If-Match": world.etag(etag_of)} if etag_of else None
    return world.api.request(
        method, world.path(path), prefix=prefix, content=content, params=params, headers=headers
    )


def assert_refused(response: httpx.Response, needle: str | None) -> None:
    """400, the usual problem body, naming the rule, without the offending value."""
    assert response.status_code == 400, (response.status_code, response.text[:500])
    body = response.json()
    assert str(body["type"]).endswith("-400"), body
    assert "report" in body and "request-id" in body["report"], body
    assert "Traceback" not in response.text
    assert len(response.text) < 2000, response.text[:300]
    assert not any(echo in response.text for echo in ECHOES), response.text[:300]
    if needle is not None:
        message = str(body["report"]["detailed-message"]).lower()
        assert needle in message, message


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    content: str | None = None
    params: dict[str, str] | None = None
    prefix: str = API_PREFIX
    etag_of: str | None = None
    # a word the message must hold; None where the check lives in another module
    needle: str | None = None


def flow_with(**schedule: str) -> str:
    """A create-flow body whose scheduleParams hold raw JSON texts."""
    fields = {"startTime": str(the_future()), "frequency": '"minute"', "interval": "15"}
    fields.update(schedule)
    text = ", ".join(f'"{name}": {value}' for name, value in fields.items())
    return (
        '{"name": "hostile", "flowSpec": {"id": "14518937-270c-4525-bdec-c2ba7cce3860",'
        ' "version": "1.0"}, "sourceConnectionIds": ["{source}"], "targetConnectionIds":'
        ' ["{target}"], "scheduleParams": {' + text + "}}"
    )


CASES: dict[str, Case] = {
    "dataSets body nested 10,000 deep": Case(
        "POST",
        "/dataSets",
        '{"name": "x", "tags": ' + nested(10_000) + "}",
        prefix=CATALOG_PREFIX,
        needle="deep",
    ),
    "dataSets body nested 900 deep (parses, then recursion)": Case(
        "POST",
        "/dataSets",
        '{"name": "x", "tags": ' + nested(900, "dict") + "}",
        prefix=CATALOG_PREFIX,
        needle="deep",
    ),
    "dataSets body opening 10,000 lists": Case(
        "POST", "/dataSets", "[" * 10_000, prefix=CATALOG_PREFIX, needle="deep"
    ),
    "connections create nested 10,000 deep": Case(
        "POST",
        "/connections",
        '{"name": "x", "auth": ' + nested(10_000, "dict") + "}",
        needle="deep",
    ),
    "connections patch nested 10,000 deep": Case(
        "PATCH",
        "/connections/{connection}",
        '[{"op": "replace", "path": "/description", "value": ' + nested(10_000) + "}]",
        etag_of="/connections/{connection}",
        needle="deep",
    ),
    "connections create 5,000-digit integer": Case(
        "POST", "/connections", '{"name": ' + HUGE + "}", needle="digits"
    ),
    "connections create negative 5,000-digit integer": Case(
        "POST", "/connections", '{"name": "x", "description": [-' + HUGE + "]}", needle="digits"
    ),
    "connections create number beyond float range": Case(
        "POST", "/connections", '{"name": "x", "description": 1e999}', needle="range"
    ),
    "flows startTime 5,000-digit number": Case(
        "POST", "/flows", flow_with(startTime=HUGE), needle="digits"
    ),
    "flows interval 5,000-digit number": Case(
        "POST", "/flows", flow_with(interval=HUGE), needle="digits"
    ),
    "flows startTime 5,000-digit string": Case("POST", "/flows", flow_with(startTime=f'"{HUGE}"')),
    "flows interval 5,000-digit string": Case("POST", "/flows", flow_with(interval=f'"{HUGE}"')),
    "flows patch interval 5,000-digit string": Case(
        "PATCH",
        "/flows/{flow}",
        f'[{{"op": "replace", "path": "/scheduleParams/interval", "value": "{HUGE}"}}]',
        etag_of="/flows/{flow}",
    ),
    "runs startTime 5,000-digit string": Case(
        "POST", "/runs", f'{{"flowId": "{{flow}}", "params": {{"startTime": "{HUGE}"}}}}'
    ),
    "runs window 5,000-digit strings": Case(
        "POST",
        "/runs",
        f'{{"flowId": "{{flow}}", "params": {{"windowStartTime": "{HUGE}",'
        f' "windowEndTime": "{HUGE}", "deltaColumn": {{"name": "UpdatedAt"}}}}}}',
    ),
    "connections list limit of 5,000 digits": Case(
        "GET", "/connections", params={"limit": HUGE}, needle="limit"
    ),
    "connections list limit of superscript digits": Case(
        "GET", "/connections", params={"limit": "²"}, needle="limit"
    ),
    "flows list filter with a 5,000-digit number": Case(
        "GET", "/flows", params={"property": "createdAt>" + HUGE}, needle="digits"
    ),
    "connections continuationToken nested 2,000 deep": Case(
        "GET",
        "/connections",
        params={"continuationToken": token_of('{"f": "x", "a": ' + nested(2_000) + "}")},
        needle="continuationtoken",
    ),
    "runs continuationToken holding a 5,000-digit integer": Case(
        "GET",
        "/runs",
        params={"continuationToken": token_of('{"f": "x", "a": [[1, ' + HUGE + "]]}")},
        needle="continuationtoken",
    ),
    "dataSets list limit of 5,000 digits": Case(
        "GET", "/dataSets", params={"limit": HUGE}, prefix=CATALOG_PREFIX, needle="limit"
    ),
    "dataSets list start of 5,000 digits": Case(
        "GET", "/dataSets", params={"start": HUGE}, prefix=CATALOG_PREFIX, needle="start"
    ),
    "batches list start of 5,000 digits": Case(
        "GET", "/batches", params={"start": HUGE}, prefix=CATALOG_PREFIX, needle="start"
    ),
    "mappingSets list limit of 5,000 digits": Case(
        "GET", "/mappingSets", params={"limit": HUGE}, prefix=CONVERSION_PREFIX, needle="limit"
    ),
    "dataSets regex of 500 nested parentheses": Case(
        "GET",
        "/dataSets",
        params={"property": "name~" + "(" * 500 + "a" + ")" * 500},
        prefix=CATALOG_PREFIX,
        needle="regular expression",
    ),
    "dataSets regex longer than the cap": Case(
        "GET",
        "/dataSets",
        params={"property": "name~" + "x" * (MAX_REGEX_LENGTH + 1)},
        prefix=CATALOG_PREFIX,
        needle="regular expression",
    ),
    "dataSets regex with a repeated repetition": Case(
        "GET",
        "/dataSets",
        params={"property": "name~^(a+)+$"},
        prefix=CATALOG_PREFIX,
        needle="regular expression",
    ),
    "dataSets regex with a repeated alternation": Case(
        "GET",
        "/dataSets",
        params={"property": "name~(a|aa)*b"},
        prefix=CATALOG_PREFIX,
        needle="regular expression",
    ),
    "dataSets regex with two unbounded repetitions": Case(
        "GET",
        "/dataSets",
        params={"property": "name~a*a*b"},
        prefix=CATALOG_PREFIX,
        needle="regular expression",
    ),
    "dataSets regex with a back-reference": Case(
        "GET",
        "/dataSets",
        params={"property": "name~(a)\\1"},
        prefix=CATALOG_PREFIX,
        needle="regular expression",
    ),
    "dataSets regex with a huge repeat count": Case(
        "GET",
        "/dataSets",
        params={"property": "name~a{" + HUGE + "}"},
        prefix=CATALOG_PREFIX,
        needle="regular expression",
    ),
    "batches regex with a repeated repetition": Case(
        "GET",
        "/batches",
        params={"property": "status~(\\w*)*x"},
        prefix=CATALOG_PREFIX,
        needle="regular expression",
    ),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_probe_cases_answer_400(world: World, case: Case) -> None:
    content = _fill(case.content, world) if case.content is not None else None
    response = send(
        world,
        case.method,
        case.prefix,
        case.path,
        content=content,
        params=case.params,
        etag_of=case.etag_of,
    )
    assert_refused(response, case.needle)


def _fill(text: str, world: World) -> str:
    """Put the world's ids into a raw JSON text (its own braces left alone)."""
    for name, value in world.ids.items():
        text = text.replace("{" + name + "}", value)
    return text


def test_a_backtracking_regex_never_reaches_the_stored_values(world: World) -> None:
    """Against a name of 40 a's, ``^(a+)+$`` would backtrack 2**40 times; it is refused first."""
    made = world.api.post("/dataSets", prefix=CATALOG_PREFIX, json={"name": "a" * 40 + "!"})
    assert made.status_code == 201, made.text
    started = time.monotonic()
    for regex in ("^(a+)+$", "(a|a)*$", "a*a*a*$"):
        response = world.api.get(
            "/dataSets", prefix=CATALOG_PREFIX, params={"property": f"name~{regex}"}
        )
        assert_refused(response, "regular expression")
    assert time.monotonic() - started < 10
    kept = world.api.get("/dataSets", prefix=CATALOG_PREFIX, params={"property": "name~^a+!$"})
    assert kept.status_code == 200 and len(kept.json()) == 1, kept.text


def test_the_limits_refuse_only_what_exceeds_them(world: World) -> None:
    """At MAX_JSON_DEPTH levels and MAX_INT_DIGITS digits a body reaches validation."""

    def message(tags: str) -> str:
        response = world.api.post(
            "/dataSets", prefix=CATALOG_PREFIX, content='{"name": "x", "tags": ' + tags + "}"
        )
        assert response.status_code == 400, response.text  # tags must map names to lists
        return str(response.json()["report"]["detailed-message"])

    at_limit = message(nested(MAX_JSON_DEPTH - 1, "list", "9" * MAX_INT_DIGITS))
    assert "deeper" not in at_limit and "digits" not in at_limit and "tags" in at_limit
    assert "deeper than" in message(nested(MAX_JSON_DEPTH, "list"))
    assert "digits" in message("9" * (MAX_INT_DIGITS + 1))


def test_empty_list_parameters_mean_absent(world: World) -> None:
    """``?count=&limit=&orderby=&property=&continuationToken=`` is the plain first page."""
    for path in ("/connections", "/flows", "/runs"):
        plain = world.api.get(path)
        empty = world.api.get(
            path,
            params={
                "count": "",
                "limit": "",
                "orderby": "",
                "property": "",
                "continuationToken": "",
            },
        )
        assert empty.status_code == 200, empty.text
        assert empty.json() == plain.json()
    for prefix, path in ((CATALOG_PREFIX, "/dataSets"), (CONVERSION_PREFIX, "/mappingSets")):
        plain = world.api.get(path, prefix=prefix)
        empty = world.api.get(path, prefix=prefix, params={"limit": "", "start": "", "orderBy": ""})
        assert empty.status_code == 200, empty.text
        assert empty.json() == plain.json()


# ---- generated deep and huge values, sent to every route family that reads them ----

HOSTILE = "__HOSTILE__"


def _run_of(count: int, seed: str) -> str:
    return (seed * (count // len(seed) + 1))[:count]


DEPTHS = st.sampled_from([MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 900]) | (
    st.integers(1, 3_000)
)
DIGITS = st.builds(
    _run_of,
    st.sampled_from([MAX_INT_DIGITS, MAX_INT_DIGITS + 1, 4_300, 4_301]) | st.integers(1, 5_000),
    st.sampled_from(["9", "1234567890", "1"]),
)
LEAVES = st.sampled_from(["0", '"x"', "[]", "{}", "null"]) | DIGITS
HOSTILE_JSON = st.one_of(
    st.builds(nested, DEPTHS, st.sampled_from(["list", "dict"]), LEAVES),
    st.builds(str.__add__, st.sampled_from(["", "-"]), DIGITS),
    DIGITS.map(lambda digits: f'"{digits}"'),
    DIGITS.map(lambda digits: f"1e{digits[:7]}"),
    DIGITS.map(lambda digits: f"{digits}.5"),
)
HOSTILE_TEXT = st.one_of(
    DIGITS,
    DIGITS.map(lambda digits: "-" + digits),
    st.integers(1, 600).map(lambda n: "(" * n + "a" + ")" * n),
    st.integers(1, 60).map(lambda n: "(a+)" * n + "+$"),
    st.builds(
        lambda depth, kind: token_of('{"f": "x", "a": ' + nested(depth, kind) + "}"),
        st.integers(1, 2_000),
        st.sampled_from(["list", "dict"]),
    ),
    DIGITS.map(lambda digits: token_of('{"f": "x", "a": [[1, ' + digits + "]]}")),
    st.sampled_from(["", " ", "²", "٣", "1e999", "-0", "+1"]),
)


@dataclass(frozen=True)
class BodyTarget:
    """A route that reads a body, and a valid-looking body with HOSTILE where values go."""

    method: str
    path: str
    body: object
    prefix: str = API_PREFIX
    etag_of: str | None = None


def _ops(path: str, op: str = "replace") -> list[dict[str, object]]:
    return [{"op": op, "path": path, "value": HOSTILE}]


_CONNECTION = sql_server_connection_body()
_SOURCE = {
    "name": "s",
    "baseConnectionId": "{connection}",
    "data": {"format": "tabular"},
    "params": {"tableName": HOSTILE},
    "connectionSpec": _CONNECTION["connectionSpec"],
}
_TARGET = {
    "name": "t",
    "data": {"format": "parquet_xdm"},
    "params": {"dataSetId": HOSTILE},
    "connectionSpec": {"id": "c604ff05-7f1a-43c0-8e18-33bf874cb11c", "version": "1.0"},
}
_SCHEDULE = {"startTime": HOSTILE, "frequency": "minute", "interval": HOSTILE}
_FLOW = {
    "name": "hostile",
    "flowSpec": {"id": "14518937-270c-4525-bdec-c2ba7cce3860", "version": "1.0"},
    "sourceConnectionIds": ["{source}"],
    "targetConnectionIds": ["{target}"],
    "scheduleParams": _SCHEDULE,
}
BODY_TARGETS = [
    BodyTarget("POST", "/connections", HOSTILE),
    BodyTarget("POST", "/connections", {**_CONNECTION, "name": HOSTILE}),
    BodyTarget(
        "POST", "/connections", {**_CONNECTION, "auth": {"specName": "x", "params": HOSTILE}}
    ),
    BodyTarget(
        "PATCH",
        "/connections/{connection}",
        _ops("/description", "add"),
        etag_of="/connections/{connection}",
    ),
    BodyTarget("POST", "/sourceConnections", _SOURCE),
    BodyTarget(
        "PATCH",
        "/sourceConnections/{source}",
        _ops("/params/tableName"),
        etag_of="/sourceConnections/{source}",
    ),
    BodyTarget("POST", "/targetConnections", _TARGET),
    BodyTarget(
        "PATCH", "/targetConnections/{target}", _ops("/name"), etag_of="/targetConnections/{target}"
    ),
    BodyTarget("POST", "/flows", _FLOW),
    BodyTarget("POST", "/flows", {**_FLOW, "transformations": HOSTILE}),
    BodyTarget("PATCH", "/flows/{flow}", _ops("/scheduleParams/interval"), etag_of="/flows/{flow}"),
    BodyTarget(
        "PATCH", "/flows/{flow}", _ops("/scheduleParams/startTime"), etag_of="/flows/{flow}"
    ),
    BodyTarget("POST", "/runs", {"flowId": "{flow}", "params": {"startTime": HOSTILE}}),
    BodyTarget(
        "POST",
        "/runs",
        {
            "flowId": "{flow}",
            "params": {
                "windowStartTime": HOSTILE,
                "windowEndTime": HOSTILE,
                "deltaColumn": {"name": "UpdatedAt"},
            },
        },
    ),
    BodyTarget("POST", "/dataSets", {"name": "d", "tags": HOSTILE}, prefix=CATALOG_PREFIX),
    BodyTarget(
        "POST",
        "/dataSets",
        {"name": "d", "fields": [{"name": "a", "type": HOSTILE}]},
        prefix=CATALOG_PREFIX,
    ),
    BodyTarget("PATCH", "/dataSets/{dataset}", _ops("/tags", "add"), prefix=CATALOG_PREFIX),
    BodyTarget(
        "POST",
        "/mappingSets",
        {"dataSetId": "{dataset}", "mappings": HOSTILE},
        prefix=CONVERSION_PREFIX,
    ),
    BodyTarget(
        "PUT",
        "/mappingSets/{mapping}",
        {
            "dataSetId": "{dataset}",
            "mappings": [{"sourceAttribute": HOSTILE, "destinationXdmPath": "id"}],
        },
        prefix=CONVERSION_PREFIX,
    ),
]


@dataclass(frozen=True)
class QueryTarget:
    """A route that reads query values, and the names it reads with a form for each."""

    path: str
    params: dict[str, str]  # name -> form, HOSTILE standing for the generated text
    prefix: str = API_PREFIX


_FLOW_SERVICE_LIST = {
    "limit": HOSTILE,
    "continuationToken": HOSTILE,
    "count": HOSTILE,
    "orderby": HOSTILE,
    "property": "name==" + HOSTILE,
    "property ": "createdAt>" + HOSTILE,
    "property  ": HOSTILE,
}
_CATALOG_LIST = {
    "limit": HOSTILE,
    "start": HOSTILE,
    "orderBy": HOSTILE,
    "property": "name~" + HOSTILE,
    "property ": "created>" + HOSTILE,
    "name": HOSTILE,
}
QUERY_TARGETS = [
    *(
        QueryTarget(path, _FLOW_SERVICE_LIST)
        for path in ("/connections", "/sourceConnections", "/targetConnections", "/flows", "/runs")
    ),
    QueryTarget("/connectionSpecs", _FLOW_SERVICE_LIST),
    QueryTarget("/dataSets", _CATALOG_LIST, CATALOG_PREFIX),
    QueryTarget(
        "/batches",
        {
            **_CATALOG_LIST,
            "property": "status~" + HOSTILE,
            "createdAfter": HOSTILE,
            "createdBefore": HOSTILE,
            "dataSet": HOSTILE,
        },
        CATALOG_PREFIX,
    ),
    QueryTarget(
        "/mappingSets",
        {"limit": HOSTILE, "start": HOSTILE, "orderBy": HOSTILE, "name": HOSTILE},
        CONVERSION_PREFIX,
    ),
    QueryTarget("/mappingSets/{mapping}", {"version": HOSTILE}, CONVERSION_PREFIX),
]

GENERATED = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def assert_no_crash(response: httpx.Response) -> None:
    """Anything below 500; a 400 is the usual problem body without a traceback."""
    assert response.status_code < 500, (response.status_code, response.text[:500])
    if response.status_code == 400:
        body = response.json()
        assert "report" in body and str(body["type"]).endswith("-400"), body
        assert "Traceback" not in response.text


@GENERATED
@given(target=st.sampled_from(BODY_TARGETS), value=HOSTILE_JSON)
def test_generated_hostile_bodies_never_crash(world: World, target: BodyTarget, value: str) -> None:
    text = _fill(json.dumps(target.body), world).replace(json.dumps(HOSTILE), value)
    response = send(
        world, target.method, target.prefix, target.path, content=text, etag_of=target.etag_of
    )
    assert_no_crash(response)


@GENERATED
@given(target=st.sampled_from(QUERY_TARGETS), data=st.data(), value=HOSTILE_TEXT)
def test_generated_hostile_queries_never_crash(
    world: World, target: QueryTarget, data: st.DataObject, value: str
) -> None:
    names = data.draw(
        st.lists(st.sampled_from(sorted(target.params)), min_size=1, max_size=3, unique=True)
    )
    params = [(name.strip(), target.params[name].replace(HOSTILE, value)) for name in names]
    response = world.api.request(
        "GET", world.path(target.path), prefix=target.prefix, params=params
    )
    assert_no_crash(response)
