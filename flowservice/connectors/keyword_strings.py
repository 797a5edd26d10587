"""Connection strings of ``keyword=value`` pairs, the form ADO.NET, ODBC and DataDirect use.

Pairs are separated by ``;``; keywords match in any case with inner spaces collapsed;
a value is bare (up to the next ``;``, trailing spaces dropped) or quoted with ``'``,
``"`` or ``{...}``, a doubled closing character standing for one, so a quoted value
may hold ``;`` and ``=``. Each connector names its keywords in a :class:`Grammar`.

Messages never quote a value, and quote a keyword only in a short excerpt: an
unquoted password holding ``;`` splits into pairs, and its tail would otherwise
show up as an unknown keyword.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from flowservice.errors import InvalidRequest

MASK = "****"
PASSWORD = "password"  # the setting every grammar maps its password keywords to
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Pair:
    """One ``keyword=value`` pair and where its value sits in the original string."""

    keyword: str  # normalised: lower case, single spaces
    written: str  # the keyword as the user wrote it, for messages
    value: str
    value_start: int
    value_end: int


def split_pairs(text: str) -> list[Pair]:
    """Tokenise a connection string; ``InvalidRequest`` on a syntax error (never quoting it)."""
    pairs: list[Pair] = []
    pos, end = 0, len(text)
    while pos < end:
        if text[pos] in "; \t\r\n":
            pos += 1
            continue
        eq = text.find("=", pos)
        semi = text.find(";", pos)
        if eq < 0 or 0 <= semi < eq:
            # not shown: the stray text may be the tail of a password cut at a ';'
            raise InvalidRequest(
                f"Connection string: part {len(pairs) + 1} has no '=' (expected "
                "'keyword=value'); quote values that contain ';'."
            )
        written = text[pos:eq].strip()
        keyword = _SPACES.sub(" ", written).lower()
        if not keyword:
            raise InvalidRequest("Connection string: a value is missing its keyword before '='.")
        value, start, stop, pos = _read_value(text, eq + 1, written)
        pairs.append(Pair(keyword, written, value, start, stop))
    return pairs


def _read_value(text: str, pos: int, keyword: str) -> tuple[str, int, int, int]:
    """(value, start, end, position after its ``;``) of the value starting at ``pos``."""
    end = len(text)
    while pos < end and text[pos] in " \t":
        pos += 1
    if pos < end and text[pos] in "'\"{":
        opening = text[pos]
        closing = "}" if opening == "{" else opening
        start = pos
        pos += 1
        chars: list[str] = []
        while True:
            if pos >= end:
                raise InvalidRequest(
                    f"Connection string: the value of '{excerpt(keyword)}' opens with "
                    f"{opening} but is never closed."
                )
            if text[pos] == closing:
                if text[pos + 1 : pos + 2] == closing:
                    chars.append(closing)
                    pos += 2
                    continue
                pos += 1
                break
            chars.append(text[pos])
            pos += 1
        stop = pos
        while pos < end and text[pos] in " \t\r\n":
            pos += 1
        if pos < end and text[pos] != ";":
            raise InvalidRequest(
                "Connection string: unexpected characters after the quoted value of "
                f"'{excerpt(keyword)}'."
            )
        return "".join(chars), start, stop, pos + 1
    semi = text.find(";", pos)
    stop = end if semi < 0 else semi
    value = text[pos:stop].rstrip()
    return value, pos, pos + len(value), stop + 1


def excerpt(fragment: str) -> str:
    """A short excerpt for a message; anything long may be part of a secret."""
    fragment = fragment.strip()
    return fragment if len(fragment) <= 30 else fragment[:27] + "..."


@dataclass(frozen=True)
class Grammar:
    """The keywords of one connector's connection strings."""

    keywords: Mapping[str, str]  # normalised keyword -> setting name
    ignored: frozenset[str]  # accepted and dropped (other drivers' client-side settings)
    password_keyword: str  # as the hint writes it: "Password", "PWD"
    docs: str  # where the keywords are listed
    # keywords refused with their own message after parsing, so never a password's tail
    refused_later: frozenset[str] = frozenset()

    def values(self, text: object) -> dict[str, str]:
        """Each setting's value (the last one written wins); unknown keywords refused."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidRequest("Connection string is empty.")
        if "\x00" in text:
            raise InvalidRequest("Connection string must not contain a NUL character.")
        values: dict[str, str] = {}
        previous: str | None = None
        for pair in split_pairs(text):
            if pair.keyword in self.ignored:
                previous = None
                continue
            setting = self.keywords.get(pair.keyword)
            if setting is None and previous == PASSWORD and pair.keyword not in self.refused_later:
                # most likely the rest of a password that contains ';': never echo it
                raise InvalidRequest(
                    f"Connection string: unknown keyword right after the {self.password_keyword}"
                    f" value; if the password contains ';', quote it: "
                    f"{self.password_keyword}='...'."
                )
            if setting is None:
                raise InvalidRequest(
                    f"Connection string: unknown keyword '{excerpt(pair.written)}'. "
                    f"See {self.docs} for the keywords supported."
                )
            values[setting] = pair.value
            previous = setting
        return values

    def mask(self, text: str) -> str:
        """The string as written, with every password value replaced by ``****``; all of it
        when it cannot be split, or when an unknown keyword follows the password (the rest of
        an unquoted password holding ``;``)."""
        try:
            pairs = split_pairs(text)
        except InvalidRequest:
            return MASK
        pieces: list[str] = []
        last = 0
        previous: str | None = None
        for pair in pairs:
            setting = self.keywords.get(pair.keyword)
            quiet = self.ignored | self.refused_later
            if setting is None and previous == PASSWORD and pair.keyword not in quiet:
                return MASK
            previous = setting
            if setting == PASSWORD:
                pieces.append(text[last : pair.value_start])
                pieces.append(MASK)
                last = pair.value_end
        pieces.append(text[last:])
        return "".join(pieces)
