"""Decimals in preview answers: JSON numbers when a double holds them exactly, else strings.

A decimal is sent as a number when the double nearest to it prints back
(shortest form, as every JSON library does) as the same decimal value, so a
client that parses the number and applies the column's scale gets the value
exactly; every decimal of at most 15 significant digits qualifies. Longer
ones stay strings with their full scale. ``?decimalsAsStrings=true`` sends
every decimal as a string (docs/api.md).
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

DECIMALS_AS_STRINGS = "decimalsAsStrings"
DECIMALS_AS_STRINGS_HELP = "true: every decimal as a string with its full scale"


def decimal_json(value: Decimal, *, as_string: bool = False) -> float | str:
    """``value`` as a JSON number if a double holds it exactly, else its plain text."""
    text = format(value, "f")
    if as_string or not value.is_finite():
        return text
    number = float(value)
    if math.isfinite(number) and Decimal(repr(number)) == value:
        return number
    return text


def decimal_text_json(text: str, *, as_string: bool = False) -> float | str:
    """A decimal already rendered as text (a connector's preview), treated as ``decimal_json``."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    return text if as_string else decimal_json(value)
