"""Contacts v1 routes (``/contacts/v1/contact...``, the three contact feeds, search, statistics).

Emulator choices where HubSpot's behaviour is UNCERTAIN:

* ``POST /contacts/v1/contact/batch/`` accepts at most :data:`V1_BATCH_MAX` (1,000) elements; more
  answers 400 (HubSpot's hard cap is 20,000, its recommendation 1,000). Validation is
  all-or-nothing; a valid batch is applied synchronously (HubSpot applies it minutes later) and
  answers 202 with an empty body. Elements are applied in order (later wins for the same e-mail).
  An element whose ``vid`` matches no live contact is a ``failureMessages`` entry
  (``"contact does not exist"``); unknown top-level keys are ignored like HubSpot does.
* Batch gets (``vids/batch``, ``emails/batch``, ``utks/batch``, ``byUtk/batch``) answer 400 for
  more than 100 ids. Unknown ids are dropped silently.
* The feeds (``lists/all/contacts/all``, ``recently_updated/contacts/recent``,
  ``all/contacts/recent``) return a reduced property set by default (``firstname``, ``lastname``,
  ``company``, ``lastmodifieddate``) unless ``property=`` is given; ``count`` is capped at 100.
  Only ``recently_updated`` has the 30-day window. With ``property=`` only the named properties
  (plus ``lastmodifieddate``) are returned, on every read route. When ``has-more`` is false the recent feeds
  answer ``vid-offset: 0`` and ``time-offset: 0`` (as recorded from HubSpot).
* Merge: self-merge, an unknown / deleted / merged-away secondary answer 400 ``"vid to merge is
  not a valid contact or is already in the process of being merged"``; an unknown / merged-away
  primary answers 400 ``"canonical vid is not a valid contact or is already in the process of
  being merged"``. Success is 200 with the literal body ``SUCCESS`` and a JSON content type.
* ``DELETE`` answers 200 ``{"vid", "deleted": true, "reason": "OK"}``; unknown vid → 404.
* ``list-memberships`` is ``[]`` once ``v1_lists_sunset`` is on (as HubSpot since 2026-04-30).
* ``GET /contacts/v1/contacts/statistics`` answers ``{"contacts": <live count>,
  "lastNewContactAt": <createdate of the live contact with the highest vid, or 0>}``.
"""

from __future__ import annotations

import bisect
from typing import Any

from ._util import PORTAL_ID, lead_guid
from .contacts import ContactsType
from .objects import Record, UniqueTaken
from .router import (
    CONTACTS_READ,
    CONTACTS_WRITE,
    ApiError,
    Request,
    Response,
    Router,
    empty,
    json_response,
    v1_error,
)

RECENTLY_UPDATED_WINDOW_MS = 30 * 24 * 3600 * 1000
V1_BATCH_MAX = 1000
V1_BATCH_GET_MAX = 100
FEED_DEFAULT_PROPERTIES = ("firstname", "lastname", "company", "lastmodifieddate")
BAD_SECONDARY = "vid to merge is not a valid contact or is already in the process of being merged"
BAD_PRIMARY = "canonical vid is not a valid contact or is already in the process of being merged"


# ---------------------------------------------------------------------- serialisation
class ReadOptions:
    """The common v1 read parameters."""

    __slots__ = ("form_mode", "history", "properties", "show_lists")

    def __init__(
        self,
        properties: list[str] | None,
        history: bool,
        form_mode: str,
        show_lists: bool,
    ) -> None:
        self.properties = properties
        self.history = history
        self.form_mode = form_mode
        self.show_lists = show_lists

    @classmethod
    def from_request(cls, req: Request, *, single: bool, feed: bool = False) -> ReadOptions:
        props = req.args("property") or None
        if props is None and feed:
            props = list(FEED_DEFAULT_PROPERTIES)
        mode = req.arg("propertyMode") or ("value_and_history" if single else "value_only")
        form_mode = (req.arg("formSubmissionMode") or ("all" if single else "newest")).lower()
        if form_mode not in {"all", "none", "newest", "oldest"}:
            form_mode = "newest"
        show = (req.arg("showListMemberships") or ("true" if single else "false")).lower() == "true"
        return cls(props, mode == "value_and_history", form_mode, show)


def v1_contact_json(
    req: Request, c: Record, opts: ReadOptions, requested_vid: int | None = None, added_at: int | None = None
) -> dict[str, Any]:
    contacts = req.state.contact_type
    values = contacts.all_props(c)
    if opts.properties is not None:
        wanted = {*opts.properties, "lastmodifieddate"}  # HubSpot always adds lastmodifieddate
        values = {k: v for k, v in values.items() if k in wanted}
    props: dict[str, Any] = {}
    for name, value in values.items():
        if value == "":
            continue
        entry: dict[str, Any] = {"value": value}
        if opts.history:
            entry["versions"] = [
                {
                    "value": value,
                    "source-type": "API",
                    "source-id": None,
                    "source-label": None,
                    "timestamp": contacts.prop_timestamp(c, name),
                    "selected": False,
                }
            ]
        props[name] = entry
    subs = c.extra.form_submissions  # oldest first
    if opts.form_mode == "all":
        forms = [dict(s) for s in reversed(subs)]
    elif opts.form_mode == "newest":
        forms = [dict(subs[-1])] if subs else []
    elif opts.form_mode == "oldest":
        forms = [dict(subs[0])] if subs else []
    else:
        forms = []
    identities: list[dict[str, Any]] = []
    email = c.properties.get("email")
    if email:
        identities.append({"type": "EMAIL", "value": email, "timestamp": c.created_ms, "is-primary": True})
    for sec in c.extra.secondary_emails:
        identities.append({"type": "EMAIL", "value": sec, "timestamp": c.created_ms, "is-secondary": True})
    identities.append({"type": "LEAD_GUID", "value": lead_guid(c.id), "timestamp": c.created_ms})
    profiles = [
        {
            "vid": c.id,
            "saved-at-timestamp": c.updated_ms,
            "deleted-changed-timestamp": 0,
            "identities": identities,
        }
    ]
    for merged in c.merged_ids:
        profiles.append(
            {
                "vid": merged,
                "saved-at-timestamp": c.updated_ms,
                "deleted-changed-timestamp": 0,
                "identities": [{"type": "LEAD_GUID", "value": lead_guid(merged), "timestamp": c.created_ms}],
            }
        )
    out: dict[str, Any] = {}
    if added_at is not None:
        out["addedAt"] = added_at
    out.update(
        {
            "vid": requested_vid if requested_vid is not None else c.id,
            "canonical-vid": c.id,
            "merged-vids": [*c.merged_ids, c.id] if c.merged_ids else [],
            "portal-id": PORTAL_ID,
            "is-contact": True,
            "profile-token": c.extra.utk or lead_guid(c.id).replace("-", ""),
            "profile-url": f"https://app.hubspot.com/contacts/{PORTAL_ID}/contact/{c.id}",
            "properties": props,
            "form-submissions": forms,
            "identity-profiles": profiles,
            "merge-audits": [dict(a) for a in c.extra.merge_audits],
        }
    )
    if opts.show_lists:
        if req.emulator.v1_lists_sunset:
            out["list-memberships"] = []
        else:
            out["list-memberships"] = [
                {
                    "static-list-id": lst.legacy_id,
                    "internal-list-id": lst.ils_id,
                    "timestamp": lst.members[c.id],
                    "vid": c.id,
                    "is-member": True,
                }
                for lst in req.state.memberships_of(c.id)
            ]
    return out


def identity_profile(c: Record) -> dict[str, Any]:
    identity: list[dict[str, Any]] = []
    email = c.properties.get("email")
    if email:
        identity.append({"type": "EMAIL", "value": email, "timestamp": c.created_ms, "isPrimary": True})
    identity.append({"type": "LEAD_GUID", "value": lead_guid(c.id), "timestamp": c.created_ms})
    return {
        "vid": c.id,
        "isContact": True,
        "savedAtTimestamp": c.updated_ms,
        "linkedVid": [],
        "identity": identity,
    }


def conflict_409(contacts: ContactsType, vid: int) -> ApiError:
    """The answer to a write whose e-mail (or other unique value) belongs to contact ``vid``."""
    c = contacts.live(vid)
    extra: dict[str, Any] = {"error": "CONTACT_EXISTS"}
    if c is not None:
        extra["identityProfile"] = identity_profile(c)
    return v1_error(409, f"Contact already exists. Existing ID: {vid}", **extra)


# ---------------------------------------------------------------------- request parsing
def property_pairs(item: Any) -> list[tuple[str, Any]]:
    """``{"properties": [{"property": n, "value": v}, ...]}`` → ``[(n, v), ...]``."""
    if not isinstance(item, dict):
        return []
    raw = item.get("properties", [])
    pairs: list[tuple[str, Any]] = []
    if isinstance(raw, dict):  # tolerate the v3 shape
        return [(str(k), v) for k, v in raw.items()]
    if not isinstance(raw, list):
        return []
    for entry in raw:
        if isinstance(entry, dict):
            name = entry.get("property", entry.get("name"))
            if name is not None:
                pairs.append((str(name), entry.get("value")))
    return pairs


def validation_400(errors: list[dict[str, Any]]) -> ApiError:
    return v1_error(400, "Property values were not valid", validationResults=errors)


def _vid_param(req: Request, name: str = "vid") -> int:
    try:
        return int(req.params[name])
    except ValueError:
        raise v1_error(404, "resource not found") from None


# ---------------------------------------------------------------------- writes
def create_contact(req: Request) -> Response:
    body = req.json_object()
    pairs = property_pairs(body)
    if not pairs:
        raise v1_error(400, "You must include at least one property when creating a contact")
    contacts = req.state.contact_type
    clean, errors = contacts.validate(pairs)
    if errors:
        raise validation_400(errors)
    try:
        c = contacts.create(clean)
    except UniqueTaken as exc:
        raise conflict_409(contacts, exc.existing_id) from None
    return json_response(v1_contact_json(req, c, ReadOptions(None, True, "all", False)))


def create_or_update(req: Request) -> Response:
    state = req.state
    contacts = state.contact_type
    email = req.params["email"].strip()
    if not state.is_valid_email(email):
        raise validation_400(
            [
                {
                    "isValid": False,
                    "message": f"Email address {email} is invalid",
                    "error": "INVALID_EMAIL",
                    "name": "email",
                }
            ]
        )
    body = req.json(required=False) or {}
    clean, errors = contacts.validate(property_pairs(body))
    if errors:
        raise validation_400(errors)
    try:
        c, is_new = contacts.upsert("email", email.lower(), clean)
    except UniqueTaken as exc:
        raise conflict_409(contacts, exc.existing_id) from None
    return json_response({"vid": c.id, "isNew": is_new})


def batch_create_or_update(req: Request) -> Response:
    state = req.state
    contacts = state.contact_type
    body = req.json()
    if not isinstance(body, list):
        raise v1_error(400, "Invalid input JSON: the batch endpoint expects a JSON array of contacts")
    if len(body) > V1_BATCH_MAX:
        raise v1_error(
            400,
            f"Batch of {len(body)} contacts exceeds the maximum of {V1_BATCH_MAX} contacts per request",
        )
    failures: list[dict[str, Any]] = []
    invalid_emails: list[str] = []
    plan: list[tuple[Record | None, str | None, dict[str, str]]] = []
    for index, item in enumerate(body):
        if not isinstance(item, dict):
            failures.append({"index": index, "error": {"status": "error", "message": "Invalid contact in batch"}})
            continue
        vid = item.get("vid")
        email = item.get("email")
        target: Record | None = None
        target_email: str | None = None
        if vid not in (None, ""):
            target = contacts.live(vid)
            if target is None:
                failures.append({"index": index, "error": {"status": "error", "message": "contact does not exist"}})
        elif email not in (None, ""):
            text = str(email).strip()
            if not state.is_valid_email(text):
                invalid_emails.append(str(email))
                failures.append(
                    {"index": index, "error": {"status": "error", "message": f"Email address {email} is invalid"}}
                )
            else:
                target_email = text.lower()
        else:
            failures.append(
                {
                    "index": index,
                    "error": {"status": "error", "message": "You need to supply a vid or email for the contact."},
                }
            )
        clean: dict[str, str] = {}
        for name, value in property_pairs(item):
            err = contacts.validate_one(name, value, clean)
            if err is None:
                continue
            if err["error"] == "INVALID_EMAIL":
                invalid_emails.append(str(value))
                failures.append({"index": index, "error": {"status": "error", "message": err["message"]}})
            else:
                failures.append({"index": index, "propertyValidationResult": err})
        plan.append((target, target_email, clean))
    if failures:
        raise v1_error(
            400,
            "Errors found processing batch update",
            invalidEmails=invalid_emails,
            failureMessages=failures,
        )
    for target, target_email, clean in plan:
        try:
            if target is not None:
                contacts.update(target, clean)
            else:
                contacts.upsert("email", str(target_email), clean)
        except UniqueTaken:
            # An e-mail change colliding with another contact: HubSpot drops such a row
            # asynchronously; the emulator skips it (UNCERTAIN).
            continue
    return Response(status=202)


def _update_profile(req: Request, c: Record | None) -> Response:
    if c is None:
        raise v1_error(404, "resource not found")
    contacts = req.state.contact_type
    body = req.json_object()
    clean, errors = contacts.validate(property_pairs(body))
    if errors:
        raise validation_400(errors)
    try:
        contacts.update(c, clean)
    except UniqueTaken as exc:
        raise conflict_409(contacts, exc.existing_id) from None
    return empty(204)


def update_by_vid(req: Request) -> Response:
    return _update_profile(req, req.state.contact_type.live(_vid_param(req)))


def update_by_email(req: Request) -> Response:
    return _update_profile(req, req.state.contact_type.by_email(req.params["email"]))


def delete_contact(req: Request) -> Response:
    vid = _vid_param(req)
    c = req.state.contact_type.live(vid)
    if c is None:
        raise v1_error(404, "contact does not exist")
    req.state.contact_type.remove(c)
    return json_response({"vid": vid, "deleted": True, "reason": "OK"})


def merge_vids(req: Request) -> Response:
    contacts = req.state.contact_type
    body = req.json_object()
    try:
        primary_vid = int(req.params["vid"])
        secondary_vid = int(body.get("vidToMerge"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise v1_error(400, BAD_SECONDARY) from None
    primary_raw = contacts.raw(primary_vid)
    secondary_raw = contacts.raw(secondary_vid)
    if primary_raw is None or not primary_raw.live:
        raise v1_error(400, BAD_PRIMARY)
    if secondary_raw is None or not secondary_raw.live or secondary_vid == primary_vid:
        raise v1_error(400, BAD_SECONDARY)
    contacts.merge(primary_raw, secondary_raw)
    return Response(status=200, raw=b"SUCCESS")


# ---------------------------------------------------------------------- reads
def _profile(req: Request, c: Record | None, requested: int | None, message: str) -> Response:
    if c is None:
        raise v1_error(404, message)
    opts = ReadOptions.from_request(req, single=True)
    return json_response(v1_contact_json(req, c, opts, requested_vid=requested))


def get_by_vid(req: Request) -> Response:
    vid = _vid_param(req)
    return _profile(req, req.state.contact_type.live(vid), vid, "contact does not exist")


def get_by_email(req: Request) -> Response:
    return _profile(req, req.state.contact_type.by_email(req.params["email"]), None, "contact does not exist")


def get_by_utk(req: Request) -> Response:
    return _profile(req, req.state.contact_type.by_utk(req.params["utk"]), None, "resource not found")


def _batch_ids(req: Request, name: str) -> list[str]:
    ids = req.query.get(name, [])
    if len(ids) > V1_BATCH_GET_MAX:
        raise v1_error(400, f"Too many {name} values: at most {V1_BATCH_GET_MAX} per request")
    return ids


def batch_by_vid(req: Request) -> Response:
    opts = ReadOptions.from_request(req, single=False)
    out: dict[str, Any] = {}
    for raw in _batch_ids(req, "vid"):
        try:
            vid = int(raw)
        except ValueError:
            continue
        c = req.state.contact_type.live(vid)
        if c is not None:
            out[str(vid)] = v1_contact_json(req, c, opts, requested_vid=vid)
    return json_response(out)


def batch_by_email(req: Request) -> Response:
    opts = ReadOptions.from_request(req, single=False)
    out: dict[str, Any] = {}
    for email in _batch_ids(req, "email"):
        c = req.state.contact_type.by_email(email)
        if c is not None:
            out[str(c.id)] = v1_contact_json(req, c, opts)
    return json_response(out)


def batch_by_utk(req: Request) -> Response:
    opts = ReadOptions.from_request(req, single=False)
    out: dict[str, Any] = {}
    for utk in _batch_ids(req, "utk"):
        c = req.state.contact_type.by_utk(utk)
        if c is not None:
            out[utk] = v1_contact_json(req, c, opts)
    return json_response(out)


def all_contacts(req: Request) -> Response:
    count = req.int_arg("count", 20, minimum=1, maximum=100)
    vid_offset = req.int_arg("vidOffset", 0)
    opts = ReadOptions.from_request(req, single=False, feed=True)
    page, has_more = req.state.contact_type.live_after(vid_offset, count)
    return json_response(
        {
            "contacts": [v1_contact_json(req, c, opts, added_at=c.created_ms) for c in page],
            "has-more": has_more,
            "vid-offset": page[-1].id if page else vid_offset,
        }
    )


def recent_feed(req: Request, keys: list[tuple[int, int]], *, floor: int | None = None) -> Response:
    """A newest-first feed over ``(-timestamp, -vid)`` keys (ascending), after the request's ``timeOffset`` /
    ``vidOffset``; ``addedAt`` is the key's timestamp, and a key older than ``floor`` ends the feed."""
    contacts = req.state.contact_type
    count = req.int_arg("count", 20, minimum=1, maximum=100)
    opts = ReadOptions.from_request(req, single=False, feed=True)
    time_offset, vid_offset = req.arg("timeOffset"), req.arg("vidOffset")
    start = 0
    if time_offset not in (None, ""):
        try:
            start_key = (-int(time_offset), -int(vid_offset) if vid_offset not in (None, "") else 0)
        except ValueError:
            raise v1_error(400, "Invalid timeOffset / vidOffset") from None
        start = bisect.bisect_right(keys, start_key)  # past the offset record
    page: list[tuple[int, Record]] = []
    has_more = False
    for index in range(start, len(keys)):
        ts, vid = -keys[index][0], -keys[index][1]
        if floor is not None and ts < floor:
            break
        c = contacts.raw(vid)
        if c is None or not c.live:
            continue
        if len(page) == count:
            has_more = True
            break
        page.append((ts, c))
    vid_off, time_off = (page[-1][1].id, page[-1][0]) if has_more and page else (0, 0)
    return json_response({"contacts": [v1_contact_json(req, c, opts, added_at=ts) for ts, c in page],
                          "has-more": has_more, "vid-offset": vid_off, "time-offset": time_off})


def _recent(req: Request, kind: str) -> Response:
    floor = req.state.now_ms() - RECENTLY_UPDATED_WINDOW_MS if kind == "updated" else None
    return recent_feed(req, req.state.contact_type.sorted_by_time(kind), floor=floor)


def recently_updated(req: Request) -> Response:
    return _recent(req, "updated")


def recently_created(req: Request) -> Response:
    return _recent(req, "created")


def search_query(req: Request) -> Response:
    contacts = req.state.contact_type
    query = (req.arg("q") or "").strip().lower()
    count = req.int_arg("count", 20, minimum=1, maximum=100)
    offset = req.int_arg("offset", 0, minimum=0)
    opts = ReadOptions.from_request(req, single=False)
    matches = [
        c
        for c in contacts.iter_live()
        if not query
        or any(query in (c.properties.get(name) or "").lower() for name in contacts.search_text)
        or any(query in email for email in c.extra.secondary_emails)
    ]
    page = matches[offset : offset + count]
    return json_response(
        {
            "query": req.arg("q") or "",
            "offset": offset + len(page),
            "has-more": offset + len(page) < len(matches),
            "total": len(matches),
            "contacts": [v1_contact_json(req, c, opts) for c in page],
        }
    )


def statistics(req: Request) -> Response:
    contacts = req.state.contact_type
    newest = contacts.newest()
    return json_response({"contacts": contacts.count(),
                          "lastNewContactAt": newest.created_ms if newest is not None else 0})


def register(router: Router) -> None:
    r, w = (CONTACTS_READ,), (CONTACTS_WRITE,)
    base = "/contacts/v1"
    router.add("POST", f"{base}/contact", create_contact, scopes=w)
    router.add("POST", f"{base}/contact/createOrUpdate/email/{{email}}", create_or_update, scopes=w)
    router.add("POST", f"{base}/contact/batch", batch_create_or_update, scopes=w)
    router.add("POST", f"{base}/contact/vid/{{vid}}/profile", update_by_vid, scopes=w)
    router.add("GET", f"{base}/contact/vid/{{vid}}/profile", get_by_vid, scopes=r)
    router.add("DELETE", f"{base}/contact/vid/{{vid}}", delete_contact, scopes=w)
    router.add("POST", f"{base}/contact/email/{{email}}/profile", update_by_email, scopes=w)
    router.add("GET", f"{base}/contact/email/{{email}}/profile", get_by_email, scopes=r)
    router.add("GET", f"{base}/contact/utk/{{utk}}/profile", get_by_utk, scopes=r)
    router.add("GET", f"{base}/contact/vids/batch", batch_by_vid, scopes=r)
    router.add("GET", f"{base}/contact/emails/batch", batch_by_email, scopes=r)
    router.add("GET", f"{base}/contact/utks/batch", batch_by_utk, scopes=r)
    router.add("GET", f"{base}/contact/byUtk/batch", batch_by_utk, scopes=r)
    router.add("POST", f"{base}/contact/merge-vids/{{vid}}", merge_vids, scopes=w)
    router.add("GET", f"{base}/lists/all/contacts/all", all_contacts, scopes=r)
    router.add("GET", f"{base}/lists/recently_updated/contacts/recent", recently_updated, scopes=r)
    router.add("GET", f"{base}/lists/all/contacts/recent", recently_created, scopes=r)
    router.add("GET", f"{base}/search/query", search_query, scopes=r)
    router.add("GET", f"{base}/contacts/statistics", statistics, scopes=r)
