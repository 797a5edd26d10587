"""Reading a user's ``schema.table`` as the catalog's two names, for every connector.

A name is either quoted in the source's own way (``[a].[b]``, ``"a"."b"``, ```a`.`b```,
a doubled closing character standing for one) and taken literally, or plain, where
each dot may be the separator (``a.b.c`` is ``a`` + ``b.c`` or ``a.b`` + ``c``).
"""

from __future__ import annotations


def quoted_parts(text: str, opening: str, closing: str) -> list[str] | None:
    """The one or two quoted parts of ``text``; None when it is not written that way."""
    parts: list[str] = []
    pos = 0
    while pos < len(text) and text[pos] == opening:
        chars: list[str] = []
        pos += 1
        while pos < len(text):
            if text[pos] == closing:
                if text[pos + 1 : pos + 2] == closing:
                    chars.append(closing)
                    pos += 2
                    continue
                break
            chars.append(text[pos])
            pos += 1
        else:
            return None
        parts.append("".join(chars))
        pos += 1
        if pos == len(text):
            break
        if text[pos] != ".":
            return None
        pos += 1
    if pos != len(text) or len(parts) not in (1, 2):
        return None
    return parts


def dotted_splits(text: str) -> list[tuple[str, str]]:
    """Every (schema, table) a plain name can mean: one pair per dot in it."""
    return [(text[:i], text[i + 1 :]) for i, ch in enumerate(text) if ch == "."]
