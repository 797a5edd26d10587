"""List parameters for the API's list functions, and the next page's token from their answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flowservice.api.listing import ListParams

PAGE_SIZE = 50


def list_params(
    *,
    continuation: str | None = None,
    properties: Sequence[str] = (),
    orderby: str | None = None,
    count: bool = False,
    limit: int = PAGE_SIZE,
) -> ListParams:
    """What ``?property=..&orderby=..&limit=..&continuationToken=..`` would give the API."""
    return ListParams(
        properties=tuple(properties),
        orderby=orderby,
        limit=None if count else str(limit),
        continuation_token=continuation or None,
        count="true" if count else None,
    )


def next_token(page: dict[str, Any]) -> str | None:
    """The continuation token of ``_links.next``, or None on the last page."""
    href = page.get("_links", {}).get("next", {}).get("href")
    if not isinstance(href, str):
        return None
    tokens = parse_qs(urlsplit(href).query).get("continuationToken")
    return tokens[0] if tokens else None
