"""Paging helpers: every HubSpot paging style as a generator that never holds more than one page.

Styles:

* ``VID_OFFSET`` — v1 all contacts / list members: ``vidOffset`` -> ``vid-offset`` + ``has-more``.
* ``TIME_OFFSET`` — v1 recent feeds: ``vidOffset`` + ``timeOffset`` -> ``vid-offset``/``time-offset``.
* ``OFFSET`` — v1 lists and v1 search: ``offset`` -> ``offset`` + ``has-more``.
* ``HAS_MORE`` — v1 email events/campaigns/timeline: ``offset`` -> ``offset`` + ``hasMore``.
* ``CURSOR`` — v3/date-based and form-integrations: ``after`` -> ``paging.next.after``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PagingStyle:
    """How one family pages: request parameter names and response key names."""

    request_params: tuple[str, ...]
    response_keys: tuple[str, ...]
    has_more_key: str | None


VID_OFFSET = PagingStyle(("vidOffset",), ("vid-offset",), "has-more")
TIME_OFFSET = PagingStyle(("vidOffset", "timeOffset"), ("vid-offset", "time-offset"), "has-more")
OFFSET = PagingStyle(("offset",), ("offset",), "has-more")
HAS_MORE = PagingStyle(("offset",), ("offset",), "hasMore")
CURSOR = PagingStyle(("after",), ("paging.next.after",), None)


def has_list(key: str) -> Callable[[Any], bool]:
    """A response-shape check: the body is an object whose ``key`` (dotted) is a list."""

    def check(body: Any) -> bool:
        return isinstance(_dig(body, key) if key else body, list)

    return check


def _dig(body: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(body, dict):
            return None
        body = body.get(part)
    return body


def paginate(
    fetch_page: Callable[[dict[str, Any]], Any],
    style: PagingStyle,
    items_key: str,
    *,
    stop: Callable[[Any], bool] | None = None,
    max_pages: int | None = None,
) -> Iterator[Any]:
    """Yield items page after page.

    :param fetch_page: called with the cursor parameters of the next page (empty for the first);
        returns the parsed page body.
    :param style: the family's paging style.
    :param items_key: key of the item list in a page (``contacts``, ``results``, ...; ``""`` when the
        page body is the list itself).
    :param stop: called with each item; when it returns True the item is not yielded and paging ends
        (e.g. an item older than a watermark in a newest-first feed).
    :param max_pages: stop after this many pages.
    """
    cursor: dict[str, Any] = {}
    pages = 0
    while True:
        body = fetch_page(cursor)
        pages += 1
        items = body if items_key == "" else (_dig(body, items_key) if body is not None else None)
        for item in items or []:
            if stop is not None and stop(item):
                return
            yield item
        next_values = [_dig(body, key) for key in style.response_keys]
        if style.has_more_key is not None:
            more = bool(_dig(body, style.has_more_key))
        else:
            more = next_values[0] not in (None, "")
        if not more or not items or (max_pages is not None and pages >= max_pages):
            return
        new_cursor = dict(zip(style.request_params, next_values, strict=False))
        if new_cursor == cursor:  # a server that repeats its cursor would loop forever
            return
        cursor = new_cursor
