"""Limits on hostile input: how deep JSON nests, how long integers and regexes get.

The standard library meets extreme input with ``RecursionError`` (JSON nested
thousands deep), ``ValueError`` (an integer of thousands of digits) or a
regex search that never ends; each would surface as a 500 or hold a worker.
Every place that parses request text (bodies, query values, continuation
tokens, filters) goes through the functions here, which refuse such input
with ``InvalidRequest`` (400), naming the limit and never echoing the value
at length. ``docs/api.md`` ("Input limits") lists the limits for users.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

from flowservice.errors import InvalidRequest

MAX_JSON_DEPTH = 64
"""Arrays and objects nested in one JSON text; real bodies nest fewer than 10."""

MAX_INT_DIGITS = 40
"""Digits of one integer in a body, a query value or a filter (epoch µs need 16)."""

MAX_REGEX_LENGTH = 128
"""Characters of the regular expression of a ``property=path~regex`` filter."""

MAX_REGEX_REPEAT = 1000
"""Largest count in a ``{m,n}`` repetition of such a regular expression."""

REGEX_PLANNED_TEXT = 4096
"""Length of the longest text a regex filter is planned for (a dataset's description)."""

MAX_REGEX_STEPS = REGEX_PLANNED_TEXT**2
"""Estimated backtracking paths of such a regex over one planned text: one unbounded
repetition searched from every position, or two anchored by a leading ``^``."""

REGEX_TIME_BUDGET_S = 1.0
"""Time one request's regex filters may spend over the stored items before it is refused."""

MAX_ECHO = 40
"""Characters of user input quoted back in an error message."""

# A JSON string: anything but quotes and backslashes, or escapes, up to its closing quote.
# Possessive, and a string left open runs to the end of the text (as far as a parser would
# read it), so a match never fails once started: one linear pass, never a retry per quote.
_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_AS_PARENTHESES = str.maketrans("[{]}", "(())")
_INTEGER = re.compile(r"[+-]?[0-9]+")


def shown(text: str) -> str:
    """``text`` quoted for an error message, cut to ``MAX_ECHO`` characters."""
    if len(text) <= MAX_ECHO:
        return repr(text)
    return repr(text[:MAX_ECHO]) + f"... ({len(text)} characters)"


def json_nests_deeper(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether parsing ``text`` could nest deeper than ``limit``, found without recursion.

    Strings are dropped (they may hold brackets) and so is everything else but
    the brackets; each pass then deletes the innermost pairs, so ``limit``
    passes empty any text nested at most ``limit`` deep. Unmatched openers
    left over add to the depth a parser would reach before failing.
    """
    shape = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text)).translate(_AS_PARENTHESES)
    passes = 0
    while "()" in shape:
        if passes == limit:
            return True
        shape = shape.replace("()", "")
        passes += 1
    return passes + shape.count("(") > limit


class _NumberRefused(Exception):
    """Raised from inside ``json.loads`` to stop at the first oversized number."""

    def __init__(self, rule: str) -> None:
        super().__init__(rule)
        self.rule = rule


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise _NumberRefused(f"an integer of more than {MAX_INT_DIGITS} digits")
    return int(digits)


def _real(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NumberRefused("a number out of range (beyond ±1.8e308)")
    return value


def _not_json(name: str) -> NoReturn:
    # NaN and Infinity are not JSON; PostgreSQL's JSON type would refuse them later
    raise json.JSONDecodeError(f"{name} is not a JSON value", name, 0)


def load_json(text: str, *, what: str) -> Any:
    """``json.loads`` within the limits; ``what`` ("The request body") names the text.

    Too deep, too long an integer or a non-finite number → ``InvalidRequest``;
    malformed JSON (including ``NaN``, ``Infinity``) → ``json.JSONDecodeError``.
    """
    if json_nests_deeper(text):
        raise InvalidRequest(
            f"{what} nests arrays and objects deeper than {MAX_JSON_DEPTH} levels."
        )
    try:
        return json.loads(text, parse_int=_integer, parse_float=_real, parse_constant=_not_json)
    except _NumberRefused as exc:
        raise InvalidRequest(f"{what} holds {exc.rule}.") from None


def parse_int(text: str, *, name: str, low: int = 0, high: int | None = None) -> int:
    """A query value of ASCII digits from ``low`` to ``high``, else 400 naming ``name``."""
    digits = text.strip()
    if digits.isascii() and digits.isdigit() and len(digits) <= MAX_INT_DIGITS:
        value = int(digits)
        if value >= low and (high is None or value <= high):
            return value
    if high is not None:
        raise InvalidRequest(f"{name} must be an integer from {low} to {high}")
    raise InvalidRequest(
        f"{name} must be an integer of at least {low}, at most {MAX_INT_DIGITS} digits long"
    )


def check_integer_size(text: str, *, what: str) -> None:
    """Refuse a literal such as a filter value that is an integer of too many digits."""
    literal = text.strip()
    if _INTEGER.fullmatch(literal) and len(literal.lstrip("+-")) > MAX_INT_DIGITS:
        raise InvalidRequest(f"{what} holds an integer of more than {MAX_INT_DIGITS} digits.")
