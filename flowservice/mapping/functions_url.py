"""URL functions: get_url_protocol, get_url_host, get_url_port, get_url_path.

Each part is a vectorised RE2 ``extract_regex`` (after RFC 3986, appendix B);
text that is not an absolute ``scheme://`` URL gives null, as in Data Prep.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from flowservice.mapping.expressions import CompiledExpression, ExpressionTypeError, call_args
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
