"""Paging helpers: every HubSpot paging style as a generator that never holds more than one page.

Styles:

* ``VID_OFFSET`` — v1 all contacts / list members: ``vidOffset`` -> ``vid-offset`` + ``has-more``.
* ``TIME_OFFSET`` — v1 recent feeds: ``vidOffset`` + ``timeOffset`` -> ``vid-offset``/``time-offset``.
* ``OFFSET`` — v1 lists and v1 search: ``offset`` -> ``offset`` + ``has-more``.
* ``HAS_MORE`` — v1 email events/campaigns/timeline: ``offset`` -> ``offset`` + ``hasMore``.
* ``CURSOR`` — v3/date-based and form-integrations: ``after`` -> ``paging.next.after``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from airflow_provider_hubspot.client.errors import HubSpotPagingError


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

    Paging ends when the page says there is no more (``has-more``/``hasMore`` false, or no
    ``paging.next.after``), at ``stop`` or at ``max_pages``. A page that says there is more must
    carry a cursor not seen before: ``has-more`` without a new cursor (the same page would come again)
    or a cursor that was already followed (a loop such as A -> B -> A) raises
    :class:`HubSpotPagingError` naming the page and the cursor, rather than repeating pages forever or
    ending silently with data missing. An empty page that says there is more and carries a new
    cursor is followed (some feeds skip ahead through empty pages).

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
    seen = _SeenCursors()
    seen.add(_cursor_key(cursor))
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
        if not more or (max_pages is not None and pages >= max_pages):
            return
        what = f"page {pages} ({len(items or [])} items)"
        if all(value in (None, "") for value in next_values):
            raise HubSpotPagingError(
                f"HubSpot's {what} says there is more ({style.has_more_key} true) but gives no "
                f"{'/'.join(style.response_keys)} to continue from (after cursor {_show(cursor)}): paging "
                "cannot continue without repeating a page, so it stops here instead of returning partial data."
            )
        new_cursor = dict(zip(style.request_params, next_values, strict=False))
        key = _cursor_key(new_cursor)
        if key in seen:
            raise HubSpotPagingError(
                f"HubSpot's {what} points to cursor {_show(new_cursor)}, which was already followed "
                f"(the page before was requested with {_show(cursor)}): the pages loop, so paging stops "
                "here instead of repeating pages forever."
            )
        seen.add(key)
        cursor = new_cursor


#: Cursors remembered for loop detection (a cursor is a few short values; loops longer than this
#: are not detected, which keeps memory flat on very long listings).
MAX_REMEMBERED_CURSORS = 10_000


class _SeenCursors:
    """The last :data:`MAX_REMEMBERED_CURSORS` cursors, for constant-time membership tests."""

    def __init__(self) -> None:
        self._order: deque[tuple[Any, ...]] = deque()
        self._set: set[tuple[Any, ...]] = set()

    def __contains__(self, key: tuple[Any, ...]) -> bool:
        return key in self._set

    def add(self, key: tuple[Any, ...]) -> None:
        self._order.append(key)
        self._set.add(key)
        if len(self._order) > MAX_REMEMBERED_CURSORS:
            self._set.discard(self._order.popleft())


def _cursor_key(cursor: dict[str, Any]) -> tuple[Any, ...]:
    return tuple((name, str(value)) for name, value in sorted(cursor.items()))


def _show(cursor: dict[str, Any]) -> str:
    if not cursor:
        return "(first page)"
    text = ", ".join(f"{name}={value}" for name, value in cursor.items())
    return text if len(text) <= 120 else text[:120] + "..."
