"""The CLR types hierarchyid, geography and geometry, kept as their canonical text.

A hierarchyid is stored as its path (``/1/2.5/``); a spatial value as ``SRID=n;WKT`` with
the WKT in SQL Server's own spelling (``POINT (1 2)``). Bad text raises SQL Server's 6522,
the wrapper of a .NET exception raised inside the type's code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from mssql_emulator.contract import SqlError

HIERARCHYID = "hierarchyid"
GEOGRAPHY = "geography"
GEOMETRY = "geometry"
SPATIAL_TYPES = frozenset({GEOGRAPHY, GEOMETRY})
DEFAULT_SRID = {GEOGRAPHY: 4326, GEOMETRY: 0}
SRID_PREFIX = re.compile(r"^SRID=(-?\d+);")
T = TypeVar("T")

_CLR_CLASS = {
    HIERARCHYID: "Microsoft.SqlServer.Types.SqlHierarchyId",
    GEOGRAPHY: "Microsoft.SqlServer.Types.SqlGeography",
    GEOMETRY: "Microsoft.SqlServer.Types.SqlGeometry",
}
_LABELS = (
    "POINT",
    "LINESTRING",
    "POLYGON",
    "MULTIPOINT",
    "MULTILINESTRING",
    "MULTIPOLYGON",
    "GEOMETRYCOLLECTION",
)
_MULTI_PART = {"MULTIPOINT": "POINT", "MULTILINESTRING": "LINESTRING", "MULTIPOLYGON": "POLYGON"}
_NODE = re.compile(r"-?\d+(?:\.-?\d+)*")
_TOKEN = re.compile(r"\s*([A-Za-z]+|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[(),])")


def dotnet_error(type_name: str, exception: str, text: str) -> SqlError:
    """Msg 6522: how SQL Server reports an exception thrown by a CLR type's code."""
    return SqlError(
        6522,
        "A .NET Framework error occurred during execution of user-defined routine or "
        f'aggregate "{type_name}": \n{exception}: {text}',
        severity=16,
    )


def missing_method(type_name: str, method: str) -> SqlError:
    return SqlError(
        6506,
        f"Could not find method '{method}' for type '{_CLR_CLASS[type_name]}' in assembly "
        "'Microsoft.SqlServer.Types'",
        severity=16,
    )


def unsendable(column: str, type_name: str) -> SqlError:
    """A CLR value selected as such: clients would get UDT bytes, which are not written."""
    method = "ToString()" if type_name == HIERARCHYID else "STAsText()"
    return SqlError(
        257,
        f"Column '{column}' is of type {type_name}, which this server cannot send to clients "
        f"(a CLR UDT). Select [{column}].{method} instead.",
        severity=16,
    )


# --- hierarchyid --------------------------------------------------------------------------


def parse_hierarchyid(text: str) -> str:
    """The canonical path of ``text`` (``/1/02/`` reads as ``/1/2/``), or 6522."""
    stripped = text.strip()
    nodes = stripped[1:-1].split("/") if len(stripped) > 1 else []
    valid = stripped.startswith("/") and stripped.endswith("/")
    if not valid or not all(_NODE.fullmatch(node) for node in nodes):
        raise dotnet_error(
            HIERARCHYID,
            "Microsoft.SqlServer.Types.HierarchyIdException",
            f"24001: SqlHierarchyId.Parse failed because the input string '{text}' is not a "
            "valid string representation of a SqlHierarchyId node.",
        )
    canonical = ["/" + ".".join(str(int(part)) for part in node.split(".")) for node in nodes]
    return "".join(canonical) + "/"


# --- spatial ------------------------------------------------------------------------------


Coord = tuple[float, ...]
Line = tuple[Coord, ...]


@dataclass(frozen=True)
class Shape:
    """One parsed WKT shape; which field is filled depends on ``label``."""

    label: str
    coords: Line = ()  # POINT, LINESTRING
    rings: tuple[Line, ...] = ()  # POLYGON
    members: tuple[Shape, ...] = ()  # MULTI*, GEOMETRYCOLLECTION

    @property
    def empty(self) -> bool:
        return not (self.coords or self.rings or self.members)


@dataclass(frozen=True)
class Spatial:
    srid: int
    shape: Shape

    @property
    def wkt(self) -> str:
        return format_shape(self.shape)

    @property
    def stored(self) -> str:
        return f"SRID={self.srid};{self.wkt}"


def _format_number(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value).replace("e", "E")


def _format_line(points: Line) -> str:
    return "(" + ", ".join(" ".join(_format_number(c) for c in p) for p in points) + ")"


def _format_body(shape: Shape) -> str:
    if shape.label in ("POINT", "LINESTRING"):
        return _format_line(shape.coords)
    if shape.label == "POLYGON":
        return "(" + ", ".join(_format_line(ring) for ring in shape.rings) + ")"
    if shape.label == "GEOMETRYCOLLECTION":
        return "(" + ", ".join(format_shape(s) for s in shape.members) + ")"
    return "(" + ", ".join(_format_body(s) for s in shape.members) + ")"


def format_shape(shape: Shape) -> str:
    """WKT as SQL Server's STAsText writes it."""
    if shape.empty:
        return f"{shape.label} EMPTY"
    return f"{shape.label} {_format_body(shape)}"


class _WktReader:
    """A recursive-descent reader of WKT text for one spatial type."""

    def __init__(self, text: str, type_name: str) -> None:
        self.text = text
        self.type_name = type_name
        self.tokens = self._tokenize(text)
        self.pos = 0

    def _tokenize(self, text: str) -> list[str]:
        tokens: list[str] = []
        at = 0
        while at < len(text):
            if text[at:].strip() == "":
                break
            match = _TOKEN.match(text, at)
            if match is None:
                raise self.error(f"24141: A number is expected at position {at + 1} of the input.")
            tokens.append(match.group(1))
            at = match.end()
        return tokens

    def error(self, text: str) -> SqlError:
        return dotnet_error(self.type_name, "System.FormatException", text)

    def _unexpected(self) -> SqlError:
        got = self.tokens[self.pos] if self.pos < len(self.tokens) else "end of input"
        return self.error(
            f"24142: Expected a valid well-known text (WKT) value but found '{got}' in the "
            f"input '{self.text}'."
        )

    def _peek(self) -> str:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ""

    def _take(self, expected: str | None = None) -> str:
        token = self._peek()
        if token == "" or (expected is not None and token.upper() != expected):
            raise self._unexpected()
        self.pos += 1
        return token

    def read(self) -> Shape:
        shape = self._shape()
        if self.pos != len(self.tokens):
            raise self._unexpected()
        return shape

    def _shape(self) -> Shape:
        label = self._take().upper()
        if label not in _LABELS:
            raise self.error(
                f"24114: The label {label} in the input well-known text (WKT) is not valid. "
                "Valid labels are POINT, LINESTRING, POLYGON, MULTIPOINT, MULTILINESTRING, "
                "MULTIPOLYGON and GEOMETRYCOLLECTION."
            )
        if self._peek().upper() == "EMPTY":
            self.pos += 1
            return Shape(label)
        return self._body(label)

    def _body(self, label: str) -> Shape:
        if label == "POINT":
            self._take("(")
            point = self._point()
            self._take(")")
            return Shape(label, coords=(point,))
        if label == "LINESTRING":
            return Shape(label, coords=self._line())
        if label == "POLYGON":
            return Shape(label, rings=self._list(self._ring))
        if label == "GEOMETRYCOLLECTION":
            return Shape(label, members=self._list(self._shape))
        inner = _MULTI_PART[label]
        if inner == "POINT" and self.tokens[self.pos + 1 : self.pos + 2] != ["("]:
            return Shape(label, members=self._list(lambda: Shape("POINT", coords=(self._point(),))))
        return Shape(label, members=self._list(lambda: self._body(inner)))

    def _list(self, read: Callable[[], T]) -> tuple[T, ...]:
        self._take("(")
        items = [read()]
        while self._peek() == ",":
            self.pos += 1
            items.append(read())
        self._take(")")
        return tuple(items)

    def _point(self) -> Coord:
        coords: list[float] = []
        while self._peek() not in (",", ")", ""):
            try:
                coords.append(float(self._peek()))
            except ValueError:
                raise self._unexpected() from None
            self.pos += 1
        if not 2 <= len(coords) <= 4 or not all(math.isfinite(c) for c in coords):
            raise self._unexpected()
        return tuple(coords)

    def _line(self) -> Line:
        points = self._list(self._point)
        if len(points) < 2:
            raise self.error(
                "24117: The LineString input is not valid because it does not have enough "
                "distinct points. A LineString must have at least two distinct points."
            )
        return points

    def _ring(self) -> Line:
        points = self._line()
        if len(points) < 4:
            raise self.error(
                "24305: The Polygon input is not valid because the ring does not have enough "
                "distinct points. Each ring of a polygon must contain at least three distinct "
                "points."
            )
        if points[0][:2] != points[-1][:2]:
            raise self.error(
                "24119: The Polygon input is not valid because the start and end points of the "
                "ring are not the same. Each ring of a polygon must have the same start and end "
                "points."
            )
        return points


def points_of(shape: Shape) -> list[Coord]:
    """Every coordinate of ``shape``, in order."""
    nested = [p for ring in shape.rings for p in ring]
    return list(shape.coords) + nested + [p for m in shape.members for p in points_of(m)]


def check_srid(type_name: str, srid: int) -> None:
    """geography knows the geodetic systems (SRIDs 4120-4999); geometry takes any SRID."""
    ok = 4120 <= srid <= 4999 or srid == 104001 if type_name == GEOGRAPHY else srid >= 0
    if not ok:
        raise dotnet_error(
            type_name,
            "System.ArgumentException",
            "24204: The spatial reference identifier (SRID) is not valid. The specified SRID "
            "must match one of the supported SRIDs displayed in the "
            "sys.spatial_reference_systems catalog view.",
        )


def _check_latitudes(shape: Shape) -> None:
    for point in points_of(shape):
        if not -90 <= point[1] <= 90:
            raise dotnet_error(
                GEOGRAPHY,
                "System.FormatException",
                "24201: Latitude values must be between -90 and 90 degrees.",
            )


def parse_spatial(type_name: str, wkt: str, srid: int | None = None) -> Spatial:
    """``wkt`` read as ``type_name`` with ``srid`` (the type's default if None), or 6522."""
    chosen = DEFAULT_SRID[type_name] if srid is None else srid
    check_srid(type_name, chosen)
    shape = _WktReader(wkt, type_name).read()
    if type_name == GEOGRAPHY:
        _check_latitudes(shape)
    return Spatial(chosen, shape)


def geography_point(lat: float, long: float, srid: int) -> Spatial:
    """geography::Point(lat, long, srid): WKT puts longitude first."""
    check_srid(GEOGRAPHY, srid)
    shape = Shape("POINT", coords=((float(long), float(lat)),))
    _check_latitudes(shape)
    return Spatial(srid, shape)


def canonical(type_name: str, text: str) -> str:
    """The stored form of ``text`` converted implicitly to ``type_name`` (INSERT, UPDATE)."""
    if type_name == HIERARCHYID:
        return parse_hierarchyid(text)
    match = SRID_PREFIX.match(text)
    if match:
        return parse_spatial(type_name, text[match.end() :], int(match.group(1))).stored
    return parse_spatial(type_name, text).stored
