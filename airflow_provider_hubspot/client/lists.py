"""Contact lists: v1 (``/contacts/v1/lists``, answering 404 since 2026-04-30) and ILS lists
(``/crm/v3/lists`` or ``/crm/lists/<YYYY-MM>``), with legacy-id mapping between the two.

Retries: reads, membership changes (adding a member twice adds it once), renames and deletes are
safe to resend; a create is made safe by HubSpot refusing a second list with the same name. Every
write says why in its docstring.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any
from urllib.parse import quote

from airflow_provider_hubspot.client.batching import chunked
from airflow_provider_hubspot.client.errors import (
    HubSpotConfigError,
    HubSpotError,
    HubSpotNotFoundError,
    HubSpotValidationError,
)
from airflow_provider_hubspot.client.family import ApiFamily, already_gone, settled
from airflow_provider_hubspot.client.paging import (
    CURSOR,
    HAS_MORE,
    OFFSET,
    TIME_OFFSET,
    VID_OFFSET,
    has_list,
    paginate,
)
from airflow_provider_hubspot.client.transport import Response

V1_ADD_LIMIT = 500
#: Per-request membership limit of the ILS API is not documented; 250 matches its page size.
MODERN_ADD_LIMIT = 250
#: Ids per batch read of lists (HubSpot documents no limit; 100 keeps the URL short).
BATCH_GET_LIMIT = 100


class ListIdError(HubSpotConfigError):
    """A list id from the other generation (v1 legacy id vs ILS id), or a dynamic list."""


class ListsAPI(ApiFamily):
    """List calls in the client's edition."""

    # -- one list ------------------------------------------------------------------------------

    def get(self, list_id: str | int) -> dict[str, Any]:
        """Return the list object (v1 shape, or the ILS ``list`` object)."""
        if self.edition.is_v1:
            return self.transport.request("GET", f"/contacts/v1/lists/{list_id}").body
        body = self.transport.request("GET", f"{self.edition.crm_lists}/{list_id}").body or {}
        return body.get("list", body)

    def create(self, name: str, *, dynamic: bool = False, filters: Any = None,
               processing_type: str | None = None) -> dict[str, Any]:
        """Create a list (v1 static/dynamic, or ILS ``MANUAL``/``SNAPSHOT``/``DYNAMIC``).

        Retry: safe — HubSpot refuses a second list with the same name (400 "already exists"), so when an
        attempt may have been applied before its answer was lost, the retry's refusal is answered with
        the list of that name (the one the earlier attempt created). The refusal of a first attempt (the
        name was taken before this call) is raised as before.
        """

        def created_earlier(exc: HubSpotError) -> Response | None:
            if not (isinstance(exc, HubSpotValidationError) and "already exist" in exc.message.lower()):
                return None
            existing = self._by_name(name)
            return None if existing is None else settled(existing)

        if self.edition.is_v1:
            body = {"name": name, "dynamic": dynamic, "filters": filters or []}
            return self.transport.request("POST", "/contacts/v1/lists", json_body=body,
                                          reconcile=created_earlier).body
        payload: dict[str, Any] = {"name": name, "objectTypeId": "0-1",
                                   "processingType": processing_type or ("DYNAMIC" if dynamic else "MANUAL")}
        if filters:
            payload["filterBranch"] = filters
        body = self.transport.request("POST", self.edition.crm_lists, json_body=payload,
                                      reconcile=lambda exc: _wrapped(created_earlier(exc))).body or {}
        return body.get("list", body)

    def _by_name(self, name: str) -> dict[str, Any] | None:
        """The contact list named exactly ``name`` (v1 shape or the ILS ``list`` object), or ``None``."""
        if self.edition.is_v1:
            return next((lst for lst in self.iter_lists() if lst.get("name") == name), None)
        path = f"{self.edition.crm_lists}/object-type-id/0-1/name/{quote(name, safe='')}"
        try:
            body = self.transport.request("GET", path, expect=lambda b: isinstance(b, dict)).body
        except HubSpotNotFoundError:
            return None
        return body.get("list", body)

    def update(self, list_id: str | int, changes: dict[str, Any]) -> Any:
        """v1: partial update (``name``, ``filters``...); modern: rename with ``{"name": ...}``. Returns the list.

        Retry: safe — setting the same name / filters again changes nothing.
        """
        if self.edition.is_v1:
            return self.transport.request("POST", f"/contacts/v1/lists/{list_id}", json_body=changes).body
        if set(changes) != {"name"}:
            raise HubSpotConfigError("ILS lists are renamed with {'name': ...}; filters change through "
                                     "update-list-filters, which this client does not wrap.")
        body = self.transport.request("PUT", f"{self.edition.crm_lists}/{list_id}/update-list-name",
                                      params={"listName": changes["name"]}).body or {}
        return body.get("updatedList", body.get("list", body))

    def delete(self, list_id: str | int) -> None:
        """Delete a list. Retry: safe — a 404 to a retry whose earlier attempt may have been applied is that
        attempt's deletion, not an error."""
        path = f"/contacts/v1/lists/{list_id}" if self.edition.is_v1 else f"{self.edition.crm_lists}/{list_id}"
        self.transport.request("DELETE", path, reconcile=already_gone)

    def is_dynamic(self, list_obj: dict[str, Any]) -> bool:
        return bool(list_obj.get("dynamic")) or "DYNAMIC" in (
            str(list_obj.get("listType", "")).upper(), str(list_obj.get("processingType", "")).upper())

    def get_for_membership(self, list_id: str | int) -> dict[str, Any]:
        """Get a list that members will be added to: refuse dynamic lists, explain id mix-ups."""
        try:
            list_obj = self.get(list_id)
        except HubSpotNotFoundError as exc:
            raise self._explain_missing(list_id, exc) from None
        if self.is_dynamic(list_obj):
            raise ListIdError(
                f"List {list_id} ({list_obj.get('name')!r}) is dynamic: HubSpot fills it from its filters and "
                "refuses manual members. Use a static (v1) / MANUAL or SNAPSHOT (ILS) list."
            )
        return list_obj

    def _explain_missing(self, list_id: str | int, exc: HubSpotError) -> HubSpotError:
        if self.edition.is_v1:
            return ListIdError(
                f"List {list_id} was not found by the v1 lists API ({exc.message}). HubSpot switched the v1 "
                "lists API off on 2026-04-30 (every call answers 404): use a modern api_version (e.g. "
                "'2026-09') with the list's ILS id; map legacy ids with ListsAPI.legacy_id_mapping().",
                status=exc.status, correlation_id=exc.correlation_id, request=exc.request)
        mapped = self.legacy_id_mapping([list_id]).get(str(list_id))
        if mapped:
            return ListIdError(
                f"List id {list_id} is a legacy (v1) list id; the ILS lists API knows this list as {mapped}. "
                f"Use list_id={mapped}.", status=exc.status, correlation_id=exc.correlation_id,
                request=exc.request)
        return HubSpotNotFoundError(f"List {list_id} does not exist (neither as an ILS id nor as a legacy v1 id).",
                                    status=exc.status, correlation_id=exc.correlation_id, request=exc.request)

    def legacy_id_mapping(self, legacy_ids: Iterable[str | int]) -> dict[str, str]:
        """Map v1 legacy list ids to ILS list ids (``{legacy: ils}``; unknown ids are absent).

        Retry: safe — a read (a POST that changes nothing).
        """
        ids = [str(i) for i in legacy_ids]
        path = self.edition.crm_lists  # v1 has no mapping endpoint: v1 editions use /crm/v3/lists
        try:
            body = self.transport.request("POST", f"{path}/idmapping", json_body=ids).body or {}
        except HubSpotNotFoundError:
            return {}
        return {str(m["legacyListId"]): str(m["listId"]) for m in body.get("legacyListIdsToIdsMapping", [])}

    # -- members ---------------------------------------------------------------------------------

    def add_members(
        self, list_id: str | int, *, vids: Iterable[Any] = (), emails: Iterable[str] = ()
    ) -> dict[str, Any]:
        """v1: add contacts by vid and/or email (500 per request). Returns the merged v1 answer
        (``updated``, ``discarded``, ``invalidVids``, ``invalidEmails``).

        Retry: safe — adding a member twice adds it once. A chunk resent after its answer was lost
        counts the contacts HubSpot then calls already members as ``updated`` (added): the lost attempt
        added them (a contact that was a member before that attempt is counted added too — HubSpot's
        answer cannot tell the two apart).
        """
        merged: dict[str, list[Any]] = {"updated": [], "discarded": [], "invalidVids": [], "invalidEmails": []}
        items = [("vids", int(v)) for v in vids] + [("emails", str(e)) for e in emails]
        for chunk in chunked(items, V1_ADD_LIMIT):
            payload = {"vids": [v for k, v in chunk if k == "vids"], "emails": [v for k, v in chunk if k == "emails"]}
            response = self.transport.request("POST", f"/contacts/v1/lists/{list_id}/add", json_body=payload,
                                              expect=lambda b: isinstance(b, dict))
            body = response.body
            if response.lost_attempt_age is not None:  # the lost attempt added what is now "discarded"
                body = {**body, "updated": [*(body.get("updated") or []), *(body.get("discarded") or [])],
                        "discarded": []}
            for key in merged:
                merged[key].extend(body.get(key) or [])
        return merged

    def remove_members(self, list_id: str | int, record_ids: Iterable[Any]) -> dict[str, Any]:
        """Remove members by vid (v1) or record id (modern).

        Retry: safe — removing a non-member changes nothing (a resent chunk reports them ``discarded`` /
        ``unchanged``).
        """
        if self.edition.is_v1:
            merged: dict[str, list[Any]] = {"updated": [], "discarded": []}
            for chunk in chunked(record_ids, V1_ADD_LIMIT):
                body = self.transport.request("POST", f"/contacts/v1/lists/{list_id}/remove",
                                              json_body={"vids": [int(v) for v in chunk]}).body or {}
                for key in merged:
                    merged[key].extend(body.get(key) or [])
            return merged
        return self._modern_membership(list_id, record_ids, "remove")

    def add_records(self, list_id: str | int, record_ids: Iterable[Any]) -> dict[str, Any]:
        """Modern: add records by id. Returns ``added``, ``missing`` and ``unchanged`` (already members) lists.

        Retry: safe — adding a member twice adds it once (a resent chunk reports them ``unchanged``).
        """
        return self._modern_membership(list_id, record_ids, "add")

    def _modern_membership(self, list_id: str | int, record_ids: Iterable[Any], action: str) -> dict[str, Any]:
        result: dict[str, list[str]] = {"added": [], "removed": [], "missing": [], "unchanged": []}
        for chunk in chunked((str(r) for r in record_ids), MODERN_ADD_LIMIT):
            response = self.transport.request("PUT", f"{self.edition.crm_lists}/{list_id}/memberships/{action}",
                                              json_body=chunk, expect=lambda b: isinstance(b, dict))
            body = response.body
            added = [str(i) for i in body.get("recordsIdsAdded") or body.get("recordIdsAdded") or []]
            removed = [str(i) for i in body.get("recordIdsRemoved") or []]
            missing = [str(i) for i in body.get("recordIdsMissing") or []]
            seen = set(added) | set(removed) | set(missing)
            unchanged = [i for i in chunk if i not in seen]
            if response.lost_attempt_age is not None:  # the lost attempt did what the retry finds done
                (added if action == "add" else removed).extend(unchanged)
                unchanged = []
            result["added"] += added
            result["removed"] += removed
            result["missing"] += missing
            result["unchanged"] += unchanged
        return result

    def add_and_remove(self, list_id: str | int, add: Iterable[Any], remove: Iterable[Any]) -> dict[str, Any]:
        """Modern: add some records and remove others, ``MODERN_ADD_LIMIT`` of each per request
        (``PUT .../memberships/add-and-remove``). Returns the ``added`` and ``removed`` counts HubSpot
        reported and the ids it did not find (``missing``; only those are kept, so memory stays flat
        for millions of changes).

        Retry: safe — adding a member or removing a non-member twice changes nothing more.
        """
        if self.edition.is_v1:
            raise HubSpotConfigError("Adding and removing list members in one call needs a modern api_version "
                                     "(HubSpot switched the v1 lists API off on 2026-04-30).")
        result: dict[str, Any] = {"added": 0, "removed": 0, "missing": []}
        adds, removes = iter(str(i) for i in add), iter(str(i) for i in remove)
        while True:
            to_add, to_remove = list(islice(adds, MODERN_ADD_LIMIT)), list(islice(removes, MODERN_ADD_LIMIT))
            if not to_add and not to_remove:
                return result
            body = self.transport.request(
                "PUT", f"{self.edition.crm_lists}/{list_id}/memberships/add-and-remove",
                json_body={"recordIdsToAdd": to_add, "recordIdsToRemove": to_remove},
                expect=lambda b: isinstance(b, dict)).body
            result["added"] += len(body.get("recordsIdsAdded") or body.get("recordIdsAdded") or [])
            result["removed"] += len(body.get("recordIdsRemoved") or [])
            result["missing"] += [str(i) for i in body.get("recordIdsMissing") or []]

    def iter_members(self, list_id: str | int, *, recent: bool = False, page_size: int = 100) -> Iterator[Any]:
        """Yield the list's contacts (v1) or memberships ``{recordId, membershipTimestamp}`` (modern)."""
        if self.edition.is_v1:
            kind = "recent" if recent else "all"
            params = [("count", min(page_size, 100))]

            def fetch_v1(cursor: dict[str, Any]) -> Any:
                return self.transport.request("GET", f"/contacts/v1/lists/{list_id}/contacts/{kind}",
                                              params=params + list(cursor.items())).body

            return paginate(fetch_v1, TIME_OFFSET if recent else VID_OFFSET, "contacts")
        suffix = "/memberships/join-order" if recent else "/memberships"
        limit = [("limit", min(page_size, 250))]

        def fetch(cursor: dict[str, Any]) -> Any:
            return self.transport.request("GET", f"{self.edition.crm_lists}/{list_id}{suffix}",
                                          params=limit + list(cursor.items())).body

        return paginate(fetch, CURSOR, "results")

    def iter_lists(self, kind: str = "all", *, page_size: int = 250) -> Iterator[Any]:
        """Yield lists: v1 ``all`` / ``static`` / ``dynamic``; modern: every list (search)."""
        if self.edition.is_v1:
            path = "/contacts/v1/lists" + ("" if kind == "all" else f"/{kind}")
            params = [("count", min(page_size, 250))]

            def fetch_v1(cursor: dict[str, Any]) -> Any:
                return self.transport.request("GET", path, params=params + list(cursor.items())).body

            return paginate(fetch_v1, OFFSET, "lists")
        if kind == "static":
            return self.iter_static_lists(page_size=page_size)
        if kind == "dynamic":
            return self.iter_dynamic_lists(page_size=page_size)

        def fetch(cursor: dict[str, Any]) -> Any:
            payload = {"count": min(page_size, 500), "offset": int(cursor.get("offset") or 0)}
            return self.transport.request("POST", f"{self.edition.crm_lists}/search", json_body=payload).body

        return paginate(fetch, HAS_MORE, "lists")

    # -- more reads (seed operations) ------------------------------------------------------------

    def get_many(self, list_ids: Iterable[str | int], *, chunk_size: int = BATCH_GET_LIMIT) -> Iterator[Any]:
        """Yield the lists with these ids (metadata only; unknown ids are skipped), ``chunk_size`` per request.

        v1: ``GET /contacts/v1/lists/batch?listId=..`` (legacy ids); modern: ``GET {lists}?listIds=..`` (ILS ids).
        """
        for chunk in chunked((str(i) for i in list_ids), max(1, chunk_size)):
            if self.edition.is_v1:
                path, params = "/contacts/v1/lists/batch", [("listId", i) for i in chunk]
            else:
                path, params = self.edition.crm_lists, [("listIds", i) for i in chunk]
            body = self.transport.request("GET", path, params=params, expect=has_list("lists")).body
            yield from body["lists"]

    def iter_static_lists(self, *, page_size: int = 250) -> Iterator[Any]:
        """Yield static lists: v1 ``/contacts/v1/lists/static``; modern: ``MANUAL`` and ``SNAPSHOT`` lists."""
        if self.edition.is_v1:
            return self.iter_lists("static", page_size=page_size)
        return self.search_lists(processing_types=("MANUAL", "SNAPSHOT"), page_size=page_size)

    def iter_dynamic_lists(self, *, page_size: int = 250) -> Iterator[Any]:
        """Yield dynamic lists: v1 ``/contacts/v1/lists/dynamic``; modern: ``DYNAMIC`` lists."""
        if self.edition.is_v1:
            return self.iter_lists("dynamic", page_size=page_size)
        return self.search_lists(processing_types=("DYNAMIC",), page_size=page_size)

    def search_lists(self, query: str = "", *, processing_types: Iterable[str] = (),
                     page_size: int = 250) -> Iterator[Any]:
        """Modern editions: yield lists whose name contains ``query`` (``POST {lists}/search``), optionally
        only of the given processing types (``MANUAL``, ``SNAPSHOT``, ``DYNAMIC``)."""
        if self.edition.is_v1:
            raise HubSpotConfigError("The v1 lists API has no search; use iter_lists() (or a modern api_version).")
        base: dict[str, Any] = {"query": query, "count": max(1, min(page_size, 500))}
        types = [str(t).upper() for t in processing_types]
        if types:
            base["processingTypes"] = types

        def fetch(cursor: dict[str, Any]) -> Any:
            payload = {**base, "offset": int(cursor.get("offset") or 0)}
            return self.transport.request("POST", f"{self.edition.crm_lists}/search", json_body=payload,
                                          expect=has_list("lists")).body

        return paginate(fetch, HAS_MORE, "lists")

    def iter_member_contacts(self, list_id: str | int, *, recent: bool = False,
                             properties: Iterable[str] | None = None, page_size: int = 100) -> Iterator[Any]:
        """Yield the contacts in a list as contact records.

        ``recent=True`` follows the order of addition: v1's "recently added" feed (newest first), the modern
        ``join-order`` memberships (oldest first).

        v1 pages ``/contacts/v1/lists/{id}/contacts/all|recent`` (contacts with ``addedAt``); modern editions page
        the memberships and read each page's contacts with one batch read (at most ``page_size`` held at once).
        """
        props = list(properties or ())
        if self.edition.is_v1:
            kind = "recent" if recent else "all"
            params = [("count", max(1, min(page_size, 100)))] + [("property", p) for p in props]

            def fetch_v1(cursor: dict[str, Any]) -> Any:
                return self.transport.request("GET", f"/contacts/v1/lists/{list_id}/contacts/{kind}",
                                              params=params + list(cursor.items()), expect=has_list("contacts")).body

            return paginate(fetch_v1, TIME_OFFSET if recent else VID_OFFSET, "contacts")
        return self._modern_member_contacts(list_id, recent, props, max(1, min(page_size, 100)))

    def _modern_member_contacts(self, list_id: str | int, recent: bool, props: list[str], size: int) -> Iterator[Any]:
        crm = self.edition.crm_objects("contacts")
        for chunk in chunked(self.iter_members(list_id, recent=recent, page_size=size), size):
            payload: dict[str, Any] = {"inputs": [{"id": str(m["recordId"])} for m in chunk],
                                       "properties": list(props), "propertiesWithHistory": []}
            body = self.transport.request("POST", f"{crm}/batch/read", json_body=payload,
                                          expect=has_list("results")).body
            by_id = {str(r.get("id")): r for r in body["results"]}
            for member in chunk:
                record = by_id.get(str(member["recordId"]))
                if record is not None:
                    yield {**record, "membershipTimestamp": member.get("membershipTimestamp")}

    def get_legacy_id_mapping(self, legacy_id: str | int) -> dict[str, Any]:
        """Map one v1 legacy list id: ``{"legacyListId", "listId"}`` (``GET {lists}/idmapping?legacyListId=``);
        unknown ids raise :class:`HubSpotNotFoundError`."""
        return self.transport.request("GET", f"{self.edition.crm_lists}/idmapping",
                                      params={"legacyListId": str(legacy_id)},
                                      expect=lambda b: isinstance(b, dict)).body


def _wrapped(found: Response | None) -> Response | None:
    """An ILS list found by name, in the ``{"list": ...}`` envelope of the create answer."""
    return None if found is None else settled({"list": found.body})
