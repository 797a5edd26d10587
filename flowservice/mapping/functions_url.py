"""URL functions: get_url_protocol, get_url_host, get_url_port, get_url_path, get_url_query_str.

Each part is a vectorised RE2 ``extract_regex`` (after RFC 3986, appendix B);
text that is not an absolute ``scheme://`` URL gives null, as in Data Prep. The
query becomes a ``map<string, string>``: split on ``&`` and ``=`` with Arrow
kernels, repeated names resolved by one group-by over the batch.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowservice.mapping.expressions import (
    CompiledExpression,
    ExpressionTypeError,
    call_args,
    literal_text,
)
from flowservice.mapping.function_kit import as_text, elementwise, need_text
from flowservice.mapping.function_registry import function
from flowservice.mapping.syntax import Call, Literal

# Each part reads only as far into the URL as it needs: the regular expressions are the cost.
# The fast forms leave out user info ("user@host") and IPv6 hosts ("[::1]"), whose optional
# groups make RE2 several times slower on every row; rows they miss are read again in full.
_SCHEME = r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://"
_FULL_HOST = _SCHEME + r"(?:[^@/?#]*@)?(?P<host>\[[^\]]*\]|[^:/?#]*)"
_FAST_HOST = _SCHEME + r"(?P<host>[^:/?#@\[]*)"
_PORT = r"(?::(?P<port>[0-9]*))?"
_PATH = r"(?P<path>[^?#]*)"
# a fast match must reach past the authority, so "user:pw@host" cannot pass for host "user"
_FAST_END = r"(?:[/?#]|$)"
# what each part reads: (fast, full)
_PATTERNS = {
    "host": (_FAST_HOST + r"(?::[0-9]*)?" + _FAST_END, _FULL_HOST),
    "port": (_FAST_HOST + _PORT + _FAST_END, _FULL_HOST + _PORT),
    "path": (_FAST_HOST + _PORT + r"(?P<path>(?:/[^?#]*)?)(?:[?#]|$)", _FULL_HOST + _PORT + _PATH),
}
# java.net.URI reports no port when none is written; Data Prep fills in the scheme's own
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "sftp": 22, "ssh": 22, "ws": 80, "wss": 443}
_CATEGORY = "URL"
_NULL_TEXT = pa.scalar(None, pa.string())


def _parts(values: pa.Array, part: str) -> dict[str, pa.Array]:
    """The named groups of the URL parts up to ``part``; null where the text is no URL."""
    text = as_text(values)
    fast, full = _PATTERNS[part]
    found = pc.extract_regex(text, fast)
    names = [found.type.field(i).name for i in range(found.type.num_fields)]
    fields = {name: pc.struct_field(found, name) for name in names}
    retry = pc.and_(pc.is_null(found), pc.is_valid(text))
    if pc.any(retry).as_py():
        again = pc.extract_regex(pc.filter(text, retry), full)
        for name in names:
            fields[name] = pc.replace_with_mask(fields[name], retry, pc.struct_field(again, name))
    return fields


def _protocol(values: pa.Array) -> pa.Array:
    return pc.struct_field(pc.extract_regex(as_text(values), _SCHEME), "scheme")


def _host(values: pa.Array) -> pa.Array:
    host = _parts(values, "host")["host"]
    return pc.if_else(pc.equal(host, ""), _NULL_TEXT, host)


def _port(values: pa.Array) -> pa.Array:
    parts = _parts(values, "port")
    written = pc.if_else(pc.equal(parts["port"], ""), _NULL_TEXT, parts["port"])
    scheme = pc.utf8_lower(parts["scheme"])
    keys = pa.array(list(_DEFAULT_PORTS))
    ports = pa.array(list(_DEFAULT_PORTS.values()), pa.int32())
    defaults = pc.take(ports, pc.index_in(scheme, keys))
    # at most 5 digits: longer text is no port (null) rather than an overflow
    fits = pc.fill_null(pc.less_equal(pc.utf8_length(written), 5), False)
    numeric = pc.if_else(fits, written, _NULL_TEXT).cast(pa.int32())
    return pc.coalesce(numeric, defaults)


@function(
    "get_url_protocol",
    category=_CATEGORY,
    syntax="get_url_protocol(URL)",
    description="The URL's scheme; null when the text is not a URL.",
    returns="string",
    example='get_url_protocol("https://platform.adobe.com/home")',
    result='"https"',
)
def _get_protocol(node: Call, schema: pa.Schema) -> CompiledExpression:
    (value,) = call_args(node, schema, 1, 1)
    need_text(node, 0, value)
    return elementwise([value], pa.string(), lambda v: _protocol(v[0]))


@function(
    "get_url_host",
    category=_CATEGORY,
    syntax="get_url_host(URL)",
    description="The URL's host; null when the text is not a URL.",
    returns="string",
    example='get_url_host("https://platform.adobe.com/home")',
    result='"platform.adobe.com"',
)
def _get_host(node: Call, schema: pa.Schema) -> CompiledExpression:
    (value,) = call_args(node, schema, 1, 1)
    need_text(node, 0, value)
    return elementwise([value], pa.string(), lambda v: _host(v[0]))


@function(
    "get_url_port",
    category=_CATEGORY,
    syntax="get_url_port(URL)",
    description="The URL's port, else the scheme's default port; null when unknown.",
    returns="int",
    example='get_url_port("sftp://example.com//home/joe/employee.csv")',
    result="22",
)
def _get_port(node: Call, schema: pa.Schema) -> CompiledExpression:
    (value,) = call_args(node, schema, 1, 1)
    need_text(node, 0, value)
    return elementwise([value], pa.int32(), lambda v: _port(v[0]))


@function(
    "get_url_path",
    category=_CATEGORY,
    syntax="get_url_path(URL, FULL_PATH)",
    description="The URL's path; with FULL_PATH false, only its last segment.",
    returns="string",
    example='get_url_path("sftp://example.com//home/joe/employee.csv")',
    result='"//home/joe/employee.csv"',
)
def _get_path(node: Call, schema: pa.Schema) -> CompiledExpression:
    parts = call_args(node, schema, 1, 2)
    need_text(node, 0, parts[0])
    full = True
    if len(parts) == 2:
        arg = node.args[1]
        if not isinstance(arg, Literal) or not isinstance(arg.value, bool):
            raise ExpressionTypeError(
                "get_url_path() needs FULL_PATH as true or false", arg.position
            )
        full = arg.value

    def kernel(v: list[pa.Array]) -> pa.Array:
        path = _parts(v[0], "path")["path"]
        if full:
            return path
        return pc.struct_field(pc.extract_regex(path, r"(?P<last>[^/]*)$"), "last")

    return elementwise(parts[:1], pa.string(), kernel)


# the query ("?…") and the anchor ("#…") of an absolute URL, each with its leading mark, so an
# empty query ("…?#x") differs from none
_QUERY = r"(?s)^[A-Za-z][A-Za-z0-9+.-]*://[^?#]*(?P<query>\?[^#]*)?(?P<anchor>#.*)?$"
# one "name=value" of a query; the value keeps its "=", so "flag" (no value) differs from "flag="
_ENTRY = r"(?s)^(?P<key>[^=]*)(?P<value>=.*)?$"
_ANCHOR_KEY = "_anchor_"
QUERY_MAP = pa.map_(pa.string(), pa.string())


def _after_mark(marked: pa.Array) -> pa.Array:
    """``"?a=1"`` → ``"a=1"``; an empty group (the mark absent) → null."""
    return pc.if_else(pc.equal(marked, ""), _NULL_TEXT, pc.utf8_slice_codeunits(marked, start=1))


def query_map(values: pa.Array, anchor: str) -> pa.Array:
    """Each URL's query as a map of name to value; null when the text has no query (or no URL)."""
    found = pc.extract_regex(as_text(values), _QUERY)
    query = _after_mark(pc.struct_field(found, "query"))
    fragment = _after_mark(pc.struct_field(found, "anchor"))
    if anchor == "retain":  # the query runs on to the end, so the anchor joins the last value
        hashed = pc.binary_join_element_wise(query, "#", fragment, "")
        query = pc.if_else(pc.is_null(fragment), query, hashed)
    lists = pc.split_pattern(query, pattern="&")
    parts = pc.list_flatten(lists)
    keep = pc.not_equal(parts, "").to_numpy(zero_copy_only=False)
    entry = pc.extract_regex(parts.filter(pa.array(keep)), _ENTRY)
    rows = pc.list_parent_indices(lists).filter(pa.array(keep)).cast(pa.int64())
    keys = pc.struct_field(entry, "key")
    items = _after_mark(pc.struct_field(entry, "value"))
    has_map = pc.is_valid(query)
    if anchor == "append":
        appended = pc.is_valid(fragment)
        anchors = pc.filter(fragment, appended)
        rows = pa.concat_arrays([rows, pc.indices_nonzero(appended).cast(pa.int64())])
        keys = pa.concat_arrays([keys, pa.repeat(pa.scalar(_ANCHOR_KEY), len(anchors))])
        items = pa.concat_arrays([items, anchors])
        has_map = pc.or_(has_map, appended)
    return _as_map(rows, keys, items, pc.invert(has_map), len(values))


def _as_map(
    rows: pa.Array, keys: pa.Array, items: pa.Array, null: pa.Array, count: int
) -> pa.Array:
    """One map per row from (row, key, value) entries, vectorised with a group-by.

    A key given twice in a row keeps its first place and its last value, as a Java map does.
    """
    at = np.arange(len(rows), dtype=np.int64)
    entries = pa.table({"row": rows, "key": keys, "at": at})
    grouped = entries.group_by(["row", "key"], use_threads=False).aggregate(
        [("at", "min"), ("at", "max")]
    )
    grouped = grouped.sort_by([("row", "ascending"), ("at_min", "ascending")])
    counts = np.bincount(grouped["row"].to_numpy(), minlength=count)
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]), pa.int32())
    return pa.MapArray.from_arrays(
        offsets,
        grouped["key"].combine_chunks(),
        pc.take(items, grouped["at_max"]).combine_chunks(),
        type=QUERY_MAP,
        mask=null,
    )


@function(
    "get_url_query_str",
    category=_CATEGORY,
    syntax="get_url_query_str(URL, ANCHOR)",
    description='The URL\'s query as a map of name to value. ANCHOR: "retain" leaves the anchor '
    'on the last value, "remove" drops it, "append" adds it as "_anchor_".',
    returns="map",
    example='get_url_query_str("foo://example.com:8042/over/there?name=ferret#nose", "append")',
    result='{"name": "ferret", "_anchor_": "nose"}',
)
def _get_query(node: Call, schema: pa.Schema) -> CompiledExpression:
    value, _ = call_args(node, schema, 2, 2)
    need_text(node, 0, value)
    anchor = literal_text(node, 1, "ANCHOR")
    if anchor not in ("retain", "remove", "append"):
        raise ExpressionTypeError(
            'get_url_query_str() needs ANCHOR "retain", "remove" or "append"',
            node.args[1].position,
        )
    return elementwise([value], QUERY_MAP, lambda v: query_map(v[0], anchor))
