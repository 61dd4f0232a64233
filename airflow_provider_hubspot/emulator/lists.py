"""Contact lists: v1 (``/contacts/v1/lists...``) and ILS lists (``/crm/v3/lists``, ``/crm/lists/{YYYY-MM}``).

Every list has a legacy (v1) id (from 1) and an ILS id (from 500001). With the emulator's
``v1_lists_sunset`` knob on, every v1 list route answers 404 (routes tagged ``v1_lists``); the
three contact feeds live in :mod:`contacts_v1` and keep working.

Emulator choices where HubSpot's behaviour is UNCERTAIN:

* v1 create answers 200 with the list; a missing name → 400 ``"Every list must have a name."``,
  a duplicate name → 400. Update (``POST /contacts/v1/lists/{id}``) answers 200, delete 204.
* v1 ``/add`` and ``/remove`` take at most 500 vids + e-mails (more → 400). Already-members (add)
  and non-members (remove) land in ``discarded``; unknown vids / e-mails in ``invalidVids`` /
  ``invalidEmails``. Dynamic list → 400 ``"Can not operate manually on a dynamic list"``.
* v1 ``GET /contacts/v1/lists`` caps ``count`` at 250. Dynamic lists are never evaluated.
* ILS create answers 200 ``{"list": {...}}``; ``processingType`` must be MANUAL, SNAPSHOT or
  DYNAMIC; a duplicate name → 400 ``VALIDATION_ERROR``.
* ILS membership add/remove take a bare JSON array of record ids (at most 100,000); already-members
  are ignored, unknown records land in ``recordIdsMissing``; a DYNAMIC list → 400
  ``VALIDATION_ERROR``. The response uses HubSpot's spelling ``recordsIdsAdded``.
* ``GET .../idmapping?legacyListId=N`` answers one mapping ``{"legacyListId", "listId"}`` (404
  when unknown), as the spec's ``PublicMigrationMapping``; ``POST .../idmapping`` (array of legacy
  ids, at most 10,000) answers ``{"legacyListIdsToIdsMapping": [...], "missingLegacyListIds": [...]}``.
* ``PUT .../{listId}/update-list-name?listName=`` answers 200 ``{"updatedList": {...}}``; a blank or
  taken name → 400 ``VALIDATION_ERROR``.
* ``POST .../search`` takes ``query`` (name substring, case-insensitive), ``processingTypes``,
  ``offset`` and ``count`` (default 20, capped at 500) and answers ``{"lists", "offset", "hasMore",
  "total"}``.
* Memberships are paged by record id (``after`` = last record id returned), ``limit`` default 100,
  max 250 (more → 400).
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import islice
from typing import Any

from . import bodies
from ._util import PORTAL_ID, iso_from_ms
from .contacts_v1 import ReadOptions, recent_feed, v1_contact_json
from .objects import Record
from .router import (
    CONTACTS_READ,
    LISTS_READ,
    LISTS_WRITE,
    VERSION,
    ApiError,
    Request,
    Response,
    Router,
    empty,
    json_response,
    v1_error,
    v3_error,
)
from .state import ContactList, EmulatorState
from .versions import versioned

V1_MEMBERSHIP_MAX = 500
ILS_MEMBERSHIP_MAX = 100_000
IDMAPPING_MAX = 10_000
PROCESSING_TYPES = ("MANUAL", "SNAPSHOT", "DYNAMIC")


# ---------------------------------------------------------------------- v1
def v1_list_json(lst: ContactList) -> dict[str, Any]:
    return {
        "listId": lst.legacy_id,
        "internalListId": lst.ils_id,
        "name": lst.name,
        "dynamic": lst.dynamic,
        "listType": "DYNAMIC" if lst.dynamic else "STATIC",
        "portalId": PORTAL_ID,
        "createdAt": lst.created_ms,
        "updatedAt": lst.updated_ms,
        "archived": False,
        "deleteable": True,
        "readOnly": False,
        "filters": lst.filters,
        "metaData": {
            "size": len(lst.members),
            "processing": "DONE",
            "error": "",
            "lastProcessingStateChangeAt": lst.updated_ms,
            "lastSizeChangeAt": lst.updated_ms,
            "listReferencesCount": None,
        },
    }


def _v1_list(req: Request) -> ContactList:
    raw = req.params["listId"]
    lst = req.state.list_by_legacy(raw)
    if lst is None:
        raise v1_error(404, f"Couldn't find a List with the given id '{raw}'.")
    return lst


def v1_create(req: Request) -> Response:
    state = req.state
    body = req.json_object()
    name = str(body.get("name") or "").strip()
    if not name:
        raise v1_error(400, "Every list must have a name.")
    if state.list_by_name(name) is not None:
        raise v1_error(400, f"A list with the name '{name}' already exists.")
    lst = state.new_list(name, "DYNAMIC" if body.get("dynamic") else "MANUAL")
    lst.filters = body.get("filters") or []
    return json_response(v1_list_json(lst))


def v1_get(req: Request) -> Response:
    return json_response(v1_list_json(_v1_list(req)))


def v1_update(req: Request) -> Response:
    state = req.state
    lst = _v1_list(req)
    body = req.json_object()
    if "name" in body:
        name = str(body.get("name") or "").strip()
        if not name:
            raise v1_error(400, "Every list must have a name.")
        other = state.list_by_name(name)
        if other is not None and other is not lst:
            raise v1_error(400, f"A list with the name '{name}' already exists.")
        lst.name = name
    if "filters" in body:
        lst.filters = body.get("filters") or []
    lst.updated_ms = state.now_ms()
    return json_response(v1_list_json(lst))


def v1_delete(req: Request) -> Response:
    lst = _v1_list(req)
    lst.deleted = True
    return empty(204)


def _v1_paged_lists(req: Request, predicate: Any) -> Response:
    count = req.int_arg("count", 20, minimum=1, maximum=250)
    offset = req.int_arg("offset", 0, minimum=0)
    lists = [lst for lst in req.state.live_lists() if predicate(lst)]
    page = lists[offset : offset + count]
    return json_response(
        {
            "lists": [v1_list_json(lst) for lst in page],
            "offset": offset + len(page),
            "has-more": offset + len(page) < len(lists),
        }
    )


def v1_all(req: Request) -> Response:
    return _v1_paged_lists(req, lambda lst: True)


def v1_static(req: Request) -> Response:
    return _v1_paged_lists(req, lambda lst: not lst.dynamic)


def v1_dynamic(req: Request) -> Response:
    return _v1_paged_lists(req, lambda lst: lst.dynamic)


def v1_batch(req: Request) -> Response:
    out = []
    for raw in req.query.get("listId", []):
        lst = req.state.list_by_legacy(raw)
        if lst is not None:
            out.append(v1_list_json(lst))
    return json_response({"lists": out})


def v1_contacts_all(req: Request) -> Response:
    state = req.state
    lst = _v1_list(req)
    count = req.int_arg("count", 20, minimum=1, maximum=100)
    vid_offset = req.int_arg("vidOffset", 0)
    opts = ReadOptions.from_request(req, single=False, feed=True)
    vids = sorted(vid for vid in lst.members if vid > vid_offset)
    page: list[Record] = []
    has_more = False
    for vid in vids:
        c = state.contact_type.live(vid)
        if c is None:
            continue
        if len(page) == count:
            has_more = True
            break
        page.append(c)
    return json_response(
        {
            "contacts": [v1_contact_json(req, c, opts, added_at=lst.members[c.id]) for c in page],
            "has-more": has_more,
            "vid-offset": page[-1].id if page else vid_offset,
        }
    )


def v1_contacts_recent(req: Request) -> Response:
    lst = _v1_list(req)
    return recent_feed(req, sorted((-ts, -vid) for vid, ts in lst.members.items()))


def _v1_membership(req: Request, *, add: bool) -> Response:
    state = req.state
    lst = _v1_list(req)
    body = req.json(required=False) or {}
    if not isinstance(body, dict):
        raise v1_error(400, "Invalid input JSON: expected an object with vids and/or emails")
    vids = body.get("vids") or []
    emails = body.get("emails") or []
    if not isinstance(vids, list) or not isinstance(emails, list):
        raise v1_error(400, "vids and emails must be arrays")
    if len(vids) + len(emails) > V1_MEMBERSHIP_MAX:
        raise v1_error(
            400,
            f"You can only {'add' if add else 'remove'} up to {V1_MEMBERSHIP_MAX} contacts "
            f"(vids plus emails) per request; got {len(vids) + len(emails)}",
        )
    if lst.dynamic:
        raise v1_error(400, "Can not operate manually on a dynamic list")
    updated: list[int] = []
    discarded: list[int] = []
    invalid_vids: list[Any] = []
    invalid_emails: list[Any] = []
    targets: list[Record] = []
    for raw in vids:
        c = state.contact_type.live(raw)
        if c is None:
            invalid_vids.append(raw)
        else:
            targets.append(c)
    for email in emails:
        c = state.contact_type.by_email(str(email))
        if c is None:
            invalid_emails.append(email)
        else:
            targets.append(c)
    now = state.now_ms()
    for vid in dict.fromkeys(c.id for c in targets):
        if (vid in lst.members) != add:
            if add:
                lst.members[vid] = now
            else:
                del lst.members[vid]
            updated.append(vid)
        else:
            discarded.append(vid)
    if updated:
        lst.updated_ms = now
    return json_response(
        {"updated": updated, "discarded": discarded, "invalidVids": invalid_vids, "invalidEmails": invalid_emails}
    )


def v1_add(req: Request) -> Response:
    return _v1_membership(req, add=True)


def v1_remove(req: Request) -> Response:
    return _v1_membership(req, add=False)


# ---------------------------------------------------------------------- ILS
def ils_list_json(lst: ContactList) -> dict[str, Any]:
    return {
        "listId": str(lst.ils_id),
        "listVersion": 1,
        "name": lst.name,
        "objectTypeId": lst.object_type_id,
        "processingType": lst.processing_type,
        "processingStatus": "COMPLETE",
        "createdAt": iso_from_ms(lst.created_ms),
        "updatedAt": iso_from_ms(lst.updated_ms),
        "filtersUpdatedAt": iso_from_ms(lst.created_ms),
        "createdById": "1",
        "updatedById": "1",
        "size": len(lst.members),
        "additionalProperties": {"hs_list_size": str(len(lst.members))},
    }


def _ils_not_found(raw: str) -> ApiError:
    return v3_error(404, f"List does not exist with ID {raw}.", "OBJECT_NOT_FOUND", context={"listId": [raw]})


def _ils_list(req: Request) -> ContactList:
    raw = req.params["listId"]
    lst = req.state.list_by_ils(raw)
    if lst is None:
        raise _ils_not_found(raw)
    return lst


def ils_create(req: Request) -> Response:
    state = req.state
    body = req.json_object()
    name = str(body.get("name") or "").strip()
    if not name:
        raise v3_error(400, "name is required", "VALIDATION_ERROR", context={"name": ["must not be blank"]})
    ptype = str(body.get("processingType") or "").upper()
    if ptype not in PROCESSING_TYPES:
        raise v3_error(
            400,
            f"processingType must be one of {', '.join(PROCESSING_TYPES)}",
            "VALIDATION_ERROR",
            context={"processingType": [str(body.get("processingType"))]},
        )
    object_type = str(body.get("objectTypeId") or "0-1")
    if state.list_by_name(name) is not None:
        raise v3_error(400, f"A list named '{name}' already exists.", "VALIDATION_ERROR")
    lst = state.new_list(name, ptype)
    lst.object_type_id = object_type
    lst.filters = body.get("filterBranch") or []
    return json_response({"list": ils_list_json(lst)})


def ils_get(req: Request) -> Response:
    return json_response({"list": ils_list_json(_ils_list(req))})


def ils_get_many(req: Request) -> Response:
    out = []
    for raw in req.args("listIds"):
        lst = req.state.list_by_ils(raw)
        if lst is not None:
            out.append(ils_list_json(lst))
    return json_response({"lists": out})


def ils_by_name(req: Request) -> Response:
    lst = req.state.list_by_name(req.params["name"])
    if lst is None or lst.object_type_id != req.params["objectTypeId"]:
        raise v3_error(404, f"List does not exist with name {req.params['name']}.", "OBJECT_NOT_FOUND")
    return json_response({"list": ils_list_json(lst)})


def ils_search(req: Request) -> Response:
    body = req.json(required=False) or {}
    if not isinstance(body, dict):
        raise v3_error(400, "Invalid input JSON: expected an object", "VALIDATION_ERROR")
    query = str(body.get("query") or "").lower()
    offset = int(body.get("offset") or 0)
    count = min(int(body.get("count") or 20), 500)
    ptypes = body.get("processingTypes") or []
    lists = [
        lst
        for lst in req.state.live_lists()
        if query in lst.name.lower() and (not ptypes or lst.processing_type in ptypes)
    ]
    page = lists[offset : offset + count]
    return json_response(
        {
            "lists": [ils_list_json(lst) for lst in page],
            "offset": offset + len(page),
            "hasMore": offset + len(page) < len(lists),
            "total": len(lists),
        }
    )


def ils_update_name(req: Request) -> Response:
    state = req.state
    lst = _ils_list(req)
    name = str(req.arg("listName") or "").strip()
    if not name:
        raise v3_error(400, "listName is required", "VALIDATION_ERROR", context={"listName": ["must not be blank"]})
    other = state.list_by_name(name)
    if other is not None and other is not lst:
        raise v3_error(400, f"A list named '{name}' already exists.", "VALIDATION_ERROR")
    lst.name = name
    lst.updated_ms = state.now_ms()
    return json_response({"updatedList": ils_list_json(lst)})


def ils_delete(req: Request) -> Response:
    lst = _ils_list(req)
    lst.deleted = True
    return empty(204)


def ils_memberships(req: Request) -> Response:
    state = req.state
    lst = _ils_list(req)
    limit = req.int_arg("limit", 100, minimum=1, maximum=250, clamp=False, v1=False)
    after_raw = req.arg("after")
    try:
        after = int(after_raw) if after_raw else 0
    except ValueError:
        raise v3_error(400, f"Invalid value for after: {after_raw!r}", "VALIDATION_ERROR") from None
    vids = lst.members.sorted_vids()
    live = (vid for vid in islice(vids, bisect_right(vids, after), None) if state.contact_type.live(vid) is not None)
    page = list(islice(live, limit + 1))  # one more tells whether another page follows
    more, page = len(page) > limit, page[:limit]
    body: dict[str, Any] = {
        "results": [{"recordId": str(vid), "membershipTimestamp": iso_from_ms(lst.members[vid])} for vid in page],
        "total": len(lst.members),
    }
    if more:
        body["paging"] = {
            "next": {"after": str(page[-1]), "link": f"{req.emulator.url}{req.path}?after={page[-1]}&limit={limit}"}
        }
    return json_response(body)


def ils_memberships_join_order(req: Request) -> Response:
    state = req.state
    lst = _ils_list(req)
    limit = req.int_arg("limit", 100, minimum=1, maximum=250, clamp=False, v1=False)
    offset = int(req.arg("after") or 0)
    records = [vid for vid in lst.members if state.contact_type.live(vid) is not None]
    page = records[offset : offset + limit]
    body: dict[str, Any] = {
        "results": [{"recordId": str(vid), "membershipTimestamp": iso_from_ms(lst.members[vid])} for vid in page],
        "total": len(records),
    }
    if offset + limit < len(records):
        body["paging"] = {"next": {"after": str(offset + limit)}}
    return json_response(body)


def _record_ids(req: Request, data: Any) -> list[str]:
    if not isinstance(data, list):
        raise v3_error(400, "Invalid input JSON: expected an array of record ids", "VALIDATION_ERROR")
    if len(data) > ILS_MEMBERSHIP_MAX:
        raise v3_error(400, f"At most {ILS_MEMBERSHIP_MAX} record ids per request", "VALIDATION_ERROR")
    return [str(x) for x in data]


def _check_manual(lst: ContactList) -> None:
    if lst.processing_type == "DYNAMIC":
        raise v3_error(
            400,
            f"List {lst.ils_id} has processingType DYNAMIC; memberships of DYNAMIC lists cannot be "
            "changed manually. Only MANUAL and SNAPSHOT lists accept membership changes.",
            "VALIDATION_ERROR",
            context={"listId": [str(lst.ils_id)], "processingType": ["DYNAMIC"]},
        )


def _apply_memberships(
    state: EmulatorState, lst: ContactList, to_add: list[str], to_remove: list[str]
) -> dict[str, list[str]]:
    added: list[str] = []
    removed: list[str] = []
    missing: list[str] = []
    now = state.now_ms()
    for raw in to_add:
        c = state.contact_type.live(raw)
        if c is None:
            missing.append(raw)
        elif c.id not in lst.members:
            lst.members[c.id] = now
            added.append(str(c.id))
    for raw in to_remove:
        c = state.contact_type.live(raw)
        if c is None:
            missing.append(raw)
        elif c.id in lst.members:
            del lst.members[c.id]
            removed.append(str(c.id))
    if added or removed:
        lst.updated_ms = now
    return {"recordsIdsAdded": added, "recordIdsRemoved": removed, "recordIdsMissing": missing}


def ils_add(req: Request) -> Response:
    lst = _ils_list(req)
    ids = _record_ids(req, req.json())
    _check_manual(lst)
    return json_response(_apply_memberships(req.state, lst, ids, []))


def ils_remove(req: Request) -> Response:
    lst = _ils_list(req)
    ids = _record_ids(req, req.json())
    _check_manual(lst)
    return json_response(_apply_memberships(req.state, lst, [], ids))


def ils_add_and_remove(req: Request) -> Response:
    lst = _ils_list(req)
    body = req.json_object()
    to_add = _record_ids(req, body.get("recordIdsToAdd") or [])
    to_remove = _record_ids(req, body.get("recordIdsToRemove") or [])
    _check_manual(lst)
    return json_response(_apply_memberships(req.state, lst, to_add, to_remove))


def ils_clear(req: Request) -> Response:
    lst = _ils_list(req)
    _check_manual(lst)
    lst.members.clear()
    lst.updated_ms = req.state.now_ms()
    return empty(204)


def ils_record_memberships(req: Request) -> Response:
    state = req.state
    c = state.contact_type.live(req.params["recordId"])
    results = []
    if c is not None:
        for lst in state.memberships_of(c.id):
            ts = iso_from_ms(lst.members[c.id])
            results.append(
                {"listId": str(lst.ils_id), "listVersion": 1, "firstAddedTimestamp": ts, "lastAddedTimestamp": ts}
            )
    return json_response({"results": results, "total": len(results)})


def idmapping_get(req: Request) -> Response:
    raw = req.arg("legacyListId")
    if not raw:
        raise v3_error(400, "legacyListId is required", "VALIDATION_ERROR")
    lst = req.state.list_by_legacy(raw)
    if lst is None:
        raise v3_error(404, f"No list found for legacy list id {raw}.", "OBJECT_NOT_FOUND")
    return json_response({"legacyListId": str(lst.legacy_id), "listId": str(lst.ils_id)})


def idmapping_post(req: Request) -> Response:
    data = req.json()
    if not isinstance(data, list):
        raise v3_error(400, "Invalid input JSON: expected an array of legacy list ids", "VALIDATION_ERROR")
    if len(data) > IDMAPPING_MAX:
        raise v3_error(400, f"At most {IDMAPPING_MAX} legacy list ids per request", "VALIDATION_ERROR")
    mapping = []
    missing = []
    for raw in data:
        lst = req.state.list_by_legacy(raw)
        if lst is None:
            missing.append(str(raw))
        else:
            mapping.append({"legacyListId": str(lst.legacy_id), "listId": str(lst.ils_id)})
    return json_response({"legacyListIdsToIdsMapping": mapping, "missingLegacyListIds": missing})


def register(router: Router) -> None:
    read_v1 = (LISTS_READ, CONTACTS_READ)
    write = (LISTS_WRITE,)
    read = (LISTS_READ,)
    v1 = "/contacts/v1/lists"
    tag = ("v1_lists",)
    lid = "{listId:\\d+}"
    router.add("POST", v1, v1_create, scopes=write, tags=tag)
    router.add("GET", v1, v1_all, scopes=read_v1, tags=tag)
    router.add("GET", f"{v1}/static", v1_static, scopes=read_v1, tags=tag)
    router.add("GET", f"{v1}/dynamic", v1_dynamic, scopes=read_v1, tags=tag)
    router.add("GET", f"{v1}/batch", v1_batch, scopes=read_v1, tags=tag)
    router.add("GET", f"{v1}/{lid}", v1_get, scopes=read_v1, tags=tag)
    router.add("POST", f"{v1}/{lid}", v1_update, scopes=write, tags=tag)
    router.add("DELETE", f"{v1}/{lid}", v1_delete, scopes=write, tags=tag)
    router.add("GET", f"{v1}/{lid}/contacts/all", v1_contacts_all, scopes=read_v1, tags=tag)
    router.add("GET", f"{v1}/{lid}/contacts/recent", v1_contacts_recent, scopes=read_v1, tags=tag)
    router.add("POST", f"{v1}/{lid}/add", v1_add, scopes=write, tags=tag)
    router.add("POST", f"{v1}/{lid}/remove", v1_remove, scopes=write, tags=tag)
    for base in ("/crm/v3/lists", f"/crm/lists/{VERSION}"):
        add = versioned(router, base, "lists")
        add("GET", f"{base}/idmapping", idmapping_get, scopes=read)
        add("POST", f"{base}/idmapping", idmapping_post, scopes=read, write=False, body=bodies.LEGACY_LIST_IDS)
        add("POST", f"{base}/search", ils_search, scopes=read, write=False, body=bodies.LIST_SEARCH)
        add("GET", f"{base}/object-type-id/{{objectTypeId}}/name/{{name}}", ils_by_name, scopes=read)
        add(
            "GET", f"{base}/records/{{objectTypeId}}/{{recordId}}/memberships", ils_record_memberships, scopes=read
        )
        add("POST", base, ils_create, scopes=write, body=bodies.LIST_CREATE)
        add("GET", base, ils_get_many, scopes=read)
        add("GET", f"{base}/{{listId}}", ils_get, scopes=read)
        add("DELETE", f"{base}/{{listId}}", ils_delete, scopes=write)
        add("PUT", f"{base}/{{listId}}/update-list-name", ils_update_name, scopes=write)
        add("GET", f"{base}/{{listId}}/memberships", ils_memberships, scopes=read)
        add("DELETE", f"{base}/{{listId}}/memberships", ils_clear, scopes=write)
        add("GET", f"{base}/{{listId}}/memberships/join-order", ils_memberships_join_order, scopes=read)
        add("PUT", f"{base}/{{listId}}/memberships/add", ils_add, scopes=write, body=bodies.RECORD_IDS)
        add("PUT", f"{base}/{{listId}}/memberships/remove", ils_remove, scopes=write, body=bodies.RECORD_IDS)
        add("PUT", f"{base}/{{listId}}/memberships/add-and-remove", ils_add_and_remove, scopes=write,
            body=bodies.LIST_ADD_AND_REMOVE)
