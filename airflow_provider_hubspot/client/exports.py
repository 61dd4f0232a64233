"""Reading CRM objects out of HubSpot in bulk: the read side of the export operator.

Two ways to read every record of a type, both a page at a time (memory stays flat):

* **modified in a window** (:func:`read_modified`): the search endpoint with the window
  ``since <= <last-modified> < until``, sorted by ``hs_object_id`` ascending and *keyset-paged*: each
  page is a new query ``hs_object_id > <last id seen>`` read from offset 0. Search's 10,000-result cap
  (HubSpot answers 400 to ``after >= 10,000``) therefore never applies, however large the window, and a
  record that leaves the window while the export runs (modified again: its last-modified time moves
  past ``until``) cannot shift the pages under the reader — with ``after`` offsets, every such record
  makes the next page skip an unrelated record that is still in the window, which is then in no
  export at all. Optional *lanes* read disjoint ``hs_object_id`` ranges concurrently (search answers
  take longer than HubSpot's 4 searches per second allow, so one sequence of requests cannot use the
  whole budget).
* **everything** (:func:`read_all`): the object list endpoint's cursor (no cap; 100 per page, paced
  by the ten-secondly limit), or the same keyset search without a window (200 per page, search's own
  budget, lanes).

:class:`ObjectReader` holds the few requests these need for one object type (``contacts``,
``companies``, ``2-1234567``...), on the type's objects family (``client.objects(type)``: name, path,
property definitions) and all through the client's one transport: search is paced by the search limiter,
the rest by the ten-secondly one. Association ids come from the associations family's batch read
(1,000 records per request, each record's further pages followed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow_provider_hubspot.client.associations import ASSOCIATION_BATCH_LIMIT, AssociationsAPI
from airflow_provider_hubspot.client.batching import chunked
from airflow_provider_hubspot.client.errors import HubSpotConfigError, HubSpotPagingError
from airflow_provider_hubspot.client.objects import ObjectsAPI
from airflow_provider_hubspot.client.paging import CURSOR, has_list, paginate

if TYPE_CHECKING:
    from airflow_provider_hubspot.client.client import HubSpotClient

log = logging.getLogger(__name__)

#: Records per search page (HubSpot's maximum).
SEARCH_PAGE_SIZE = 200
#: Records per list page (HubSpot's maximum).
LIST_PAGE_SIZE = 100
#: Longest comma-joined ``properties`` the list endpoint gets in its URL. HubSpot answers 414 (URI too
#: long) somewhere between 8 and 16 KB of URL (its limit is not published); above this, a page's
#: records are listed by id and their properties read with the batch read, whose POST body has no such
#: limit (one more request per page).
MAX_URL_PROPERTIES_CHARS = 6000
#: Records per associations batch read (HubSpot's maximum since 2025-02-10).
ASSOCIATIONS_BATCH_SIZE = ASSOCIATION_BATCH_LIMIT
#: Id ranges per lane when lanes read a window concurrently (several per lane, so a lane whose ranges
#: are sparse takes over the ranges of one whose are dense).
RANGES_PER_LANE = 3
#: The last-modified property of the object types whose name differs from ``hs_lastmodifieddate``.
MODIFIED_PROPERTIES = {"contacts": "lastmodifieddate", "0-1": "lastmodifieddate"}
ID_PROPERTY = "hs_object_id"


def modified_property(object_type: str) -> str:
    """The property holding a record's last modification time: ``lastmodifieddate`` for contacts,
    ``hs_lastmodifieddate`` for the other types (companies, deals, tickets, custom objects...)."""
    return MODIFIED_PROPERTIES.get(object_type.strip().lower(), "hs_lastmodifieddate")


class ObjectReader:
    """The read requests of one object type, in the client's edition (all safe to retry: reads).

    :param objects: the type's objects family (``client.objects("companies")``): its name, path and
        property definitions.
    :param associations: the client's associations family (``client.associations``), for association ids.
    """

    def __init__(self, objects: ObjectsAPI, associations: AssociationsAPI | None = None) -> None:
        self.objects = objects
        self.associations = associations
        self.transport = objects.transport
        self.object_type = objects.object_type
        # a v1 edition reads through the v3 endpoints: these calls have no v1 form
        self._path = objects.edition.crm_objects(quote(objects.object_type, safe=""))

    @classmethod
    def of(cls, client: HubSpotClient, object_type: str) -> ObjectReader:
        """The reader of ``object_type`` (a name, ``0-2``, ``2-1234567``...) on ``client``."""
        if not str(object_type or "").strip():
            raise HubSpotConfigError("object_type is empty: name the CRM object type to read (e.g. 'contacts').")
        return cls(client.objects(object_type), client.associations)

    def search(self, body: dict[str, Any]) -> dict[str, Any]:
        """One search request (paced by the search limiter)."""
        response = self.transport.request("POST", f"{self._path}/search", json_body=body, search=True,
                                          expect=has_list("results"))
        return dict(response.body)

    def list_page(self, properties: Sequence[str], cursor: dict[str, Any], limit: int = LIST_PAGE_SIZE) -> Any:
        """One page of the object list endpoint (``cursor``: ``{}`` or ``{"after": ...}``).

        With more properties than fit a URL (:data:`MAX_URL_PROPERTIES_CHARS`), the page lists ids and
        the records come from a batch read of those ids (a record archived in between is left out).
        """
        joined = ",".join(properties)
        by_batch_read = len(joined) > MAX_URL_PROPERTIES_CHARS
        params: list[tuple[str, Any]] = [("limit", limit)]
        if joined:
            params.append(("properties", ID_PROPERTY if by_batch_read else joined))
        params += list(cursor.items())
        body = self.transport.request("GET", self._path, params=params, expect=has_list("results")).body
        if by_batch_read and body.get("results"):
            ids = [str(record["id"]) for record in body["results"]]
            found = {str(record["id"]): record for record in self.objects.batch_get(ids, properties=properties)}
            body = {**body, "results": [found[i] for i in ids if i in found]}
        return body

    def property_names(self) -> list[str]:
        """The names of every property the object type has (its property definitions)."""
        names = [str(p["name"]) for p in self.objects.property_definitions() if isinstance(p, dict) and p.get("name")]
        return list(dict.fromkeys(names))

    def associated_ids(self, to_type: str, ids: Iterable[str]) -> dict[str, list[str]]:
        """``{record id: [ids of its associated <to_type> records]}`` for ``ids`` (every id present; a record
        without associations maps to ``[]``): the associations family's batch read, 1,000 records per request,
        each record's further pages followed."""
        if self.associations is None:
            raise HubSpotConfigError("This reader has no associations family to read association ids with.")
        found: dict[str, dict[str, None]] = {str(i): {} for i in ids}
        for from_id, to_id, _types in self.associations.read(self.object_type, to_type, list(found)):
            if from_id in found and to_id not in (None, "", "None"):
                found[from_id][to_id] = None
        return {record_id: list(targets) for record_id, targets in found.items()}


# -- reading a window -----------------------------------------------------------------------------------


def window_filters(modified: str, since_ms: int | None, until_ms: int | None) -> list[dict[str, Any]]:
    """Search filters selecting ``since_ms <= <modified> < until_ms`` (either end open when ``None``)."""
    filters: list[dict[str, Any]] = []
    if since_ms is not None:
        filters.append({"propertyName": modified, "operator": "GTE", "value": str(int(since_ms))})
    if until_ms is not None:
        filters.append({"propertyName": modified, "operator": "LT", "value": str(int(until_ms))})
    return filters


@dataclass
class ReadStats:
    """What a read did: search/list pages, and the size HubSpot announced for the window."""

    pages: int = 0
    records: int = 0
    announced: int | None = None
    lanes_used: int = 1
    id_ranges: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class _Range:
    """One ``hs_object_id`` range ``(after, upto]`` read by keyset pages (``upto`` ``None``: open)."""

    def __init__(self, after: int | None, upto: int | None) -> None:
        self.after = after
        self.upto = upto
        self.done = False


def _keyset_body(filters: list[dict[str, Any]], properties: Sequence[str], span: _Range, page_size: int,
                 descending: bool = False) -> dict[str, Any]:
    own: list[dict[str, Any]] = []  # the id bounds first: they rule out most records of a later page
    if span.after is not None:
        own.append({"propertyName": ID_PROPERTY, "operator": "GT", "value": str(span.after)})
    if span.upto is not None:
        own.append({"propertyName": ID_PROPERTY, "operator": "LTE", "value": str(span.upto)})
    own += filters
    return {"filterGroups": [{"filters": own}] if own else [],
            "sorts": [{"propertyName": ID_PROPERTY, "direction": "DESCENDING" if descending else "ASCENDING"}],
            "properties": list(properties), "limit": page_size, "after": "0"}


def _record_id(item: Any) -> int:
    try:
        return int(str(item.get("id")))
    except (AttributeError, TypeError, ValueError):
        raise HubSpotPagingError(f"HubSpot's search returned a record without a numeric id: {str(item)[:200]!r}") \
            from None


def _next_page(search: Callable[[dict[str, Any]], dict[str, Any]], filters: list[dict[str, Any]],
               properties: Sequence[str], span: _Range, page_size: int) -> tuple[list[Any], int | None]:
    """Read the next keyset page of ``span`` and move it on; returns the page and HubSpot's ``total``."""
    body = search(_keyset_body(filters, properties, span, page_size))
    results = list(body.get("results") or [])
    total = body.get("total")
    last = span.after
    for item in results:
        record_id = _record_id(item)
        if (last is not None and record_id <= last) or (span.upto is not None and record_id > span.upto):
            raise HubSpotPagingError(
                f"HubSpot's search returned record {record_id} after {last} although it was asked for records "
                f"with hs_object_id > {span.after} in ascending order: it did not honour the sort or the filter, "
                "so the export stops rather than miss or repeat records.")
        last = record_id
    span.after = last
    announced = int(total) if isinstance(total, int) or (isinstance(total, str) and total.isdigit()) else None
    # HubSpot's total counts this query's matches (the ids above the last one seen): when it is no more than
    # the page, the span is read; without a total, a short page ends it.
    span.done = not results or (len(results) < page_size if announced is None else announced <= len(results))
    return results, announced


def read_modified(
    search: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    filters: list[dict[str, Any]],
    properties: Sequence[str],
    lanes: int = 1,
    page_size: int = SEARCH_PAGE_SIZE,
    stats: ReadStats | None = None,
) -> Iterator[list[Any]]:
    """Yield every record matching ``filters`` (e.g. :func:`window_filters`), page by page, each exactly once.

    Pages are keyset queries on ``hs_object_id`` (see the module docstring): no result cap, no drift when
    records leave the window meanwhile. With ``lanes`` > 1, once the first page shows there is more, the
    rest of the id span (up to the largest id in the window, one more query) is cut into
    ``lanes`` x :data:`RANGES_PER_LANE` ranges read concurrently, at most ``lanes`` requests in flight;
    pages then arrive in no particular order.

    :param search: sends one search body and returns HubSpot's answer (:meth:`ObjectReader.search`).
    :param filters: filters every query carries (AND-ed).
    :param properties: properties to read.
    :param lanes: concurrent requests.
    :param page_size: records per page (at most 200).
    :param stats: filled in with pages, records and the window size HubSpot announced.
    """
    stats = stats if stats is not None else ReadStats()
    first = _Range(None, None)
    page, announced = _next_page(search, filters, properties, first, page_size)
    stats.pages, stats.announced = 1, announced
    stats.records += len(page)
    if page:
        yield page
    if first.done:
        return
    remaining_pages = -(-(announced - len(page)) // page_size) if announced is not None else None
    if lanes <= 1 or (remaining_pages is not None and remaining_pages <= 1):
        while not first.done:
            page, _ = _next_page(search, filters, properties, first, page_size)
            stats.pages += 1
            stats.records += len(page)
            if page:
                yield page
        return
    top_body = search(_keyset_body(filters, [ID_PROPERTY], _Range(first.after, None), 1, descending=True))
    stats.pages += 1
    top_results = top_body.get("results") or []
    if not top_results:
        return
    top = _record_id(top_results[0])
    low = int(first.after or 0)
    count = max(1, lanes * RANGES_PER_LANE)
    if remaining_pages is not None:  # no more ranges than pages: each range costs a short last page
        count = min(count, remaining_pages)
    step = max(1, -(-(top - low) // count))  # ceiling division
    ranges = [_Range(start, min(start + step, top)) for start in range(low, top, step)]
    ranges[-1].upto = None  # the last range stays open: nothing created since is lost for a full read
    stats.lanes_used, stats.id_ranges = lanes, len(ranges)
    yield from _concurrent(search, filters, properties, ranges, lanes, page_size, stats)


def _concurrent(search: Callable[[dict[str, Any]], dict[str, Any]], filters: list[dict[str, Any]],
                properties: Sequence[str], ranges: list[_Range], lanes: int, page_size: int,
                stats: ReadStats) -> Iterator[list[Any]]:
    """Read ``ranges`` with at most ``lanes`` requests in flight, driven by the consumer: a range's next
    page is asked for only after its previous one arrived, and nothing runs ahead of the consumer by more
    than ``lanes`` pages (when the consumer stops, those few requests finish and are dropped)."""
    waiting = list(reversed(ranges))
    with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="hubspot-export") as pool:
        pending: dict[Future[tuple[list[Any], int | None]], _Range] = {}

        def start(span: _Range) -> None:
            pending[pool.submit(_next_page, search, filters, properties, span, page_size)] = span

        try:
            while waiting and len(pending) < lanes:
                start(waiting.pop())
            while pending:
                done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for future in done:
                    span = pending.pop(future)
                    page, _total = future.result()
                    stats.pages += 1
                    stats.records += len(page)
                    if not span.done:
                        start(span)
                    elif waiting:
                        start(waiting.pop())
                    if page:
                        yield page
        finally:
            for future in pending:
                future.cancel()


def read_all(reader: ObjectReader, properties: Sequence[str], *, page_size: int = LIST_PAGE_SIZE,
             stats: ReadStats | None = None) -> Iterator[list[Any]]:
    """Yield every (unarchived) record of the type from the list endpoint, page by page (cursor paging
    with loop detection; no result cap)."""
    stats = stats if stats is not None else ReadStats()
    size = min(max(int(page_size), 1), LIST_PAGE_SIZE)

    def fetch(cursor: dict[str, Any]) -> Any:
        stats.pages += 1
        return reader.list_page(properties, cursor, size)

    for page in chunked(paginate(fetch, CURSOR, "results"), size):
        stats.records += len(page)
        yield page
