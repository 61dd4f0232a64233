"""In-memory "portal" data: CRM objects and associations, lists, timeline, form submissions, email.

Every CRM object type lives in one object store (``self.store``, :mod:`.objects`): types with property
schemas and unique-property indexes, records, and the association graph. Contacts are one type of it,
whose records are the :class:`Contact` records kept here (with what only contacts have: several
e-mails, merge aliases, utk, form submissions, list memberships), so the v1 contact routes and the
CRM object routes are views of the same records.

All public methods are thread-safe (they take ``self.lock``, a re-entrant lock the HTTP server
also holds while a route handler runs). Methods whose names start with ``_`` or that are marked
"handler API" assume the caller already holds the lock.

Data model (emulator choices):

* Contacts get integer vids from 1001 upward. Properties are strings; ``createdate``,
  ``lastmodifieddate`` (epoch ms) and ``hs_object_id`` are derived from the record.
* E-mails are unique, case-insensitive keys (stored lower-case). After a merge the secondary's
  e-mails become secondary identities of the survivor, and look-ups by them find the survivor.
* A merged-away vid still resolves (``contact(vid)``, v1 GET, v3 GET) to the survivor.
* Deleted contacts disappear from every look-up, feed and list.
* Setting ``lifecyclestage`` to a stage also sets ``hs_lifecyclestage_<stage>_date`` to "now"
  when that date is not already set and not written in the same request (as HubSpot does).
* Lists carry both a legacy (v1) id, from 1 upward, and an ILS id, from 500001 upward.
  Dynamic lists are never evaluated: their members are whatever ``add_list_members`` puts there.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from ._util import PORTAL_ID, parse_timestamp_ms
from .email_data import EmailData
from .objects import ObjectStore, ObjectType, UniqueTaken
from .schema import (
    DEFAULT_ALLOWED_TLDS,
    PROPERTY_TYPES,
    SERVER_MANAGED,
    PropertyDef,
    default_schema,
    is_valid_email,
    normalize_value,
    stringify,
)

LEGACY_LIST_ID_START = 1
ILS_LIST_ID_START = 500001
FIRST_VID = 1001
EVENT_TYPE_ID_START = 1000001
RECENTLY_UPDATED_WINDOW_MS = 30 * 24 * 3600 * 1000


class EmailTaken(Exception):
    """The e-mail already belongs to another live contact."""

    def __init__(self, email: str, vid: int) -> None:
        super().__init__(f"{email} already belongs to contact {vid}")
        self.email = email
        self.vid = vid


class ListIds(NamedTuple):
    """Both ids of one list: the v1 ``legacy_id`` and the ILS ``list_id``."""

    legacy_id: int
    list_id: int


class Contact:
    __slots__ = (
        "created_ms",
        "deleted",
        "form_submissions",
        "merge_audits",
        "merged_into",
        "merged_vids",
        "prop_ts",
        "properties",
        "secondary_emails",
        "updated_ms",
        "utk",
        "vid",
    )

    def __init__(self, vid: int, created_ms: int) -> None:
        self.vid = vid
        self.properties: dict[str, str] = {}
        self.prop_ts: dict[str, int] = {}
        self.created_ms = created_ms
        self.updated_ms = created_ms
        self.merged_into: int | None = None
        self.merged_vids: list[int] = []
        self.deleted = False
        self.form_submissions: list[dict[str, Any]] = []
        self.utk: str | None = None
        self.merge_audits: list[dict[str, Any]] = []
        self.secondary_emails: list[str] = []

    @property
    def live(self) -> bool:
        return not self.deleted and self.merged_into is None

    @property
    def email(self) -> str | None:
        return self.properties.get("email") or None

    def to_dict(self) -> dict[str, Any]:
        return {
            "vid": self.vid,
            "properties": dict(self.properties),
            "prop_ts": dict(self.prop_ts),
            "created_ms": self.created_ms,
            "updated_ms": self.updated_ms,
            "merged_into": self.merged_into,
            "merged_vids": list(self.merged_vids),
            "deleted": self.deleted,
            "form_submissions": [dict(s) for s in self.form_submissions],
            "utk": self.utk,
            "merge_audits": [dict(a) for a in self.merge_audits],
            "secondary_emails": list(self.secondary_emails),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Contact:
        c = cls(int(data["vid"]), int(data["created_ms"]))
        c.properties = {str(k): str(v) for k, v in data.get("properties", {}).items()}
        c.prop_ts = {str(k): int(v) for k, v in data.get("prop_ts", {}).items()}
        c.updated_ms = int(data.get("updated_ms", c.created_ms))
        c.merged_into = data.get("merged_into")
        c.merged_vids = [int(v) for v in data.get("merged_vids", [])]
        c.deleted = bool(data.get("deleted", False))
        c.form_submissions = [dict(s) for s in data.get("form_submissions", [])]
        c.utk = data.get("utk")
        c.merge_audits = [dict(a) for a in data.get("merge_audits", [])]
        c.secondary_emails = list(data.get("secondary_emails", []))
        return c


class ContactList:
    __slots__ = (
        "created_ms",
        "deleted",
        "filters",
        "ils_id",
        "legacy_id",
        "members",
        "name",
        "object_type_id",
        "processing_type",
        "updated_ms",
    )

    def __init__(self, legacy_id: int, ils_id: int, name: str, processing_type: str, now: int) -> None:
        self.legacy_id = legacy_id
        self.ils_id = ils_id
        self.name = name
        self.processing_type = processing_type
        self.created_ms = now
        self.updated_ms = now
        self.members: dict[int, int] = {}  # vid -> added-at ms, insertion ordered
        self.filters: Any = []
        self.deleted = False
        self.object_type_id = "0-1"

    @property
    def dynamic(self) -> bool:
        return self.processing_type == "DYNAMIC"

    def to_dict(self) -> dict[str, Any]:
        return {
            "legacy_id": self.legacy_id,
            "ils_id": self.ils_id,
            "name": self.name,
            "processing_type": self.processing_type,
            "created_ms": self.created_ms,
            "updated_ms": self.updated_ms,
            "members": [[vid, ts] for vid, ts in self.members.items()],
            "filters": self.filters,
            "deleted": self.deleted,
            "object_type_id": self.object_type_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContactList:
        lst = cls(
            int(data["legacy_id"]),
            int(data["ils_id"]),
            str(data["name"]),
            str(data.get("processing_type", "MANUAL")),
            int(data.get("created_ms", 0)),
        )
        lst.updated_ms = int(data.get("updated_ms", lst.created_ms))
        lst.members = {int(vid): int(ts) for vid, ts in data.get("members", [])}
        lst.filters = data.get("filters", [])
        lst.deleted = bool(data.get("deleted", False))
        lst.object_type_id = str(data.get("object_type_id", "0-1"))
        return lst


class EmulatorState:
    """The emulated portal's data, with helpers for tests.

    :param clock: wall-clock source in seconds (``time.time`` by default); tests may inject one.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.allowed_tlds: set[str] = set(DEFAULT_ALLOWED_TLDS)
        self._init_data()

    # ------------------------------------------------------------------ setup
    def _init_data(self) -> None:
        self.schema: dict[str, PropertyDef] = default_schema()
        self._contacts: dict[int, Contact] = {}
        self._vids: list[int] = []  # every vid ever issued, ascending
        self._alias: dict[int, int] = {}  # merged-away vid -> surviving vid
        self._by_email: dict[str, int] = {}
        self._by_utk: dict[str, int] = {}
        self._live_count = 0
        self._next_vid = FIRST_VID
        self._version = 0
        self._feed_cache: dict[str, tuple[int, list[tuple[int, int]]]] = {}
        self._lists_legacy: dict[int, ContactList] = {}
        self._lists_ils: dict[int, ContactList] = {}
        self._next_legacy_list = LEGACY_LIST_ID_START
        self._next_ils_list = ILS_LIST_ID_START
        self.event_types: dict[str, dict[str, Any]] = {}
        self._next_event_type = EVENT_TYPE_ID_START
        self._next_event_property = 1
        self.event_type_names: set[str] = set()
        self.events: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.forms: dict[str, dict[str, Any]] = {}
        self._form_subs: dict[str, list[tuple[int, int, str]]] = {}  # form -> sorted (ts, seq, conversion id)
        self._submissions: dict[str, dict[str, Any]] = {}  # conversion id -> submission
        self._sub_seq = 0
        self.email = EmailData()
        #: E-mail addresses a GDPR delete blocklisted (with or without a contact to delete).
        self.gdpr_blocklist: set[str] = set()
        #: Every CRM object type (contacts are one, over the contact records above) and the associations.
        self.store = ObjectStore(self)

    def clear(self) -> None:
        """Forget all data and custom properties."""
        with self.lock:
            self.allowed_tlds = set(DEFAULT_ALLOWED_TLDS)
            self._init_data()

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # ------------------------------------------------------------------ schema
    def define_property(
        self,
        name: str,
        type: str = "string",
        options: Iterable[str] | None = None,
        label: str | None = None,
        *,
        object_type: str = "contacts",
        unique: bool = False,
        field_type: str = "",
    ) -> None:
        """Add (or replace) a property definition of an object type (default: contacts).

        :param type: ``string``, ``number``, ``date``, ``datetime``, ``enumeration``, ``bool`` or ``phone_number``.
        :param options: allowed values of an enumeration.
        :param object_type: the object type (``contacts``, ``companies``, ``0-3``, a custom object's name...).
        :param unique: HubSpot keeps the values unique (``hasUniqueValue``), so the property can be an ``idProperty``.
        :param field_type: ``checkbox`` makes an enumeration multi-select (values joined with ``;``).
        """
        if type not in PROPERTY_TYPES:
            raise ValueError(f"unknown property type {type!r}; expected one of {PROPERTY_TYPES}")
        opts = [str(o) for o in (options or [])]
        if type == "enumeration" and not opts:
            raise ValueError("an enumeration property needs options")
        with self.lock:
            target = self.object_type(object_type)
            if target.type_id != "0-1":
                target.define_property(PropertyDef(name=name, type=type, options=opts, label=label or name,
                                                   group_name=f"{target.singular}information", unique=unique,
                                                   field_type=field_type))
                return
            self.schema[name] = PropertyDef(name=name, type=type, options=opts, label=label or name, unique=unique,
                                            field_type=field_type)
            if name == "lifecyclestage":
                for stage in opts:
                    self.schema.setdefault(
                        f"hs_lifecyclestage_{stage}_date",
                        PropertyDef(name=f"hs_lifecyclestage_{stage}_date", type="datetime"),
                    )

    def validate(self, props: Mapping[str, Any]) -> tuple[dict[str, str], list[dict[str, Any]]]:
        """Handler API: validate ``{name: value}``; return normalised values and validation errors."""
        clean: dict[str, str] = {}
        errors: list[dict[str, Any]] = []
        for name, raw in props.items():
            err = self.validate_one(name, raw, clean)
            if err is not None:
                errors.append(err)
        return clean, errors

    def validate_one(self, name: Any, raw: Any, into: dict[str, str]) -> dict[str, Any] | None:
        """Handler API: validate one property; on success store the normalised value in ``into``."""
        name = str(name)
        prop = self.schema.get(name)
        if prop is None:
            return {
                "isValid": False,
                "message": f'Property "{name}" does not exist',
                "error": "PROPERTY_DOESNT_EXIST",
                "name": name,
            }
        if name in SERVER_MANAGED:
            return None
        value, err = normalize_value(prop, raw, self.allowed_tlds)
        if err is None:
            into[name] = value
        return err

    def is_valid_email(self, email: Any) -> bool:
        return is_valid_email(email, self.allowed_tlds)

    # ------------------------------------------------------------------ contact look-ups (handler API)
    def canonical_vid(self, vid: int) -> int:
        return self._alias.get(vid, vid)

    def get_live(self, vid: int | str | None) -> Contact | None:
        """The live contact for ``vid`` (merged-away vids resolve to the survivor)."""
        if vid is None:
            return None
        try:
            key = int(vid)
        except (TypeError, ValueError):
            return None
        c = self._contacts.get(self._alias.get(key, key))
        return c if c is not None and c.live else None

    def live_by_email(self, email: str | None) -> Contact | None:
        if not email:
            return None
        vid = self._by_email.get(email.strip().lower())
        return self.get_live(vid) if vid is not None else None

    def live_by_utk(self, utk: str | None) -> Contact | None:
        if not utk:
            return None
        vid = self._by_utk.get(utk)
        return self.get_live(vid) if vid is not None else None

    def raw_contact(self, vid: int) -> Contact | None:
        """Any stored contact record, live or not (no alias resolution)."""
        return self._contacts.get(vid)

    def newest_live(self) -> Contact | None:
        """The live contact with the highest vid."""
        for vid in reversed(self._vids):
            c = self._contacts[vid]
            if c.live:
                return c
        return None

    def iter_live(self) -> Iterator[Contact]:
        for c in self._contacts.values():
            if c.live:
                yield c

    def prop(self, c: Contact, name: str) -> str | None:
        """Current value of a property, including the derived ones."""
        if name == "hs_object_id":
            return str(c.vid)
        if name == "lastmodifieddate":
            return str(c.updated_ms)
        if name == "createdate":
            return str(c.created_ms)
        value = c.properties.get(name)
        return value if value not in (None, "") else None

    def all_props(self, c: Contact) -> dict[str, str]:
        out = dict(c.properties)
        out["createdate"] = str(c.created_ms)
        out["lastmodifieddate"] = str(c.updated_ms)
        out["hs_object_id"] = str(c.vid)
        return out

    def prop_timestamp(self, c: Contact, name: str) -> int:
        if name == "lastmodifieddate":
            return c.updated_ms
        return c.prop_ts.get(name, c.created_ms)

    # ------------------------------------------------------------------ contact writes (handler API)
    def _touch(self) -> None:
        self._version += 1

    def create(
        self,
        props: Mapping[str, str],
        *,
        utk: str | None = None,
        created_ms: int | None = None,
    ) -> Contact:
        """Create a contact from validated properties. Raises :class:`EmailTaken`."""
        email = props.get("email")
        if email:
            existing = self.live_by_email(email)
            if existing is not None:
                raise EmailTaken(email, existing.vid)
        now = self.now_ms()
        vid = self._next_vid
        self._next_vid += 1
        created = created_ms if created_ms is not None else now
        if props.get("createdate"):
            created = int(props["createdate"])
        c = Contact(vid, created)
        c.updated_ms = max(now, created) if created_ms is None else created
        self._contacts[vid] = c
        self._vids.append(vid)
        self._live_count += 1
        self._apply(c, props, now, creating=True)
        if utk:
            c.utk = utk
            self._by_utk[utk] = vid
        self._touch()
        return c

    def update(self, c: Contact, props: Mapping[str, str]) -> None:
        """Apply validated properties to a live contact. Raises :class:`EmailTaken`."""
        email = props.get("email")
        if email:
            owner = self.live_by_email(email)
            if owner is not None and owner.vid != c.vid:
                raise EmailTaken(email, owner.vid)
        now = self.now_ms()
        self._apply(c, props, now, creating=False)
        c.updated_ms = max(now, c.updated_ms)
        self._touch()

    def _apply(self, c: Contact, props: Mapping[str, str], now: int, *, creating: bool) -> None:
        stage = props.get("lifecyclestage")
        if stage and stage != c.properties.get("lifecyclestage"):
            date_prop = f"hs_lifecyclestage_{stage}_date"
            if date_prop not in props and not c.properties.get(date_prop):
                if date_prop not in self.schema:
                    self.schema[date_prop] = PropertyDef(name=date_prop, type="datetime")
                c.properties[date_prop] = str(now)
                c.prop_ts[date_prop] = now
        for name, value in props.items():
            if name in SERVER_MANAGED:
                continue
            if name == "createdate":
                if value:
                    c.created_ms = int(value)
                continue
            if name == "email":
                old = c.properties.get("email")
                if old and old != value and self._by_email.get(old) == c.vid:
                    del self._by_email[old]
                if value:
                    self._by_email[value] = c.vid
            if value == "":
                c.properties.pop(name, None)
                c.prop_ts.pop(name, None)
            else:
                c.properties[name] = value
                c.prop_ts[name] = now

    def remove(self, c: Contact) -> None:
        """Delete a live contact (it disappears everywhere)."""
        if not c.live:
            return
        c.deleted = True
        self._live_count -= 1
        for email in [c.properties.get("email"), *c.secondary_emails]:
            if email and self._by_email.get(email) == c.vid:
                del self._by_email[email]
        if c.utk is not None or c.merged_vids:  # only then can utks point at this contact
            for utk, vid in list(self._by_utk.items()):
                if vid == c.vid:
                    del self._by_utk[utk]
        for lst in self._lists_ils.values():
            lst.members.pop(c.vid, None)
        self.store.associations.drop_record("0-1", c.vid)
        self._touch()

    def gdpr_delete(self, c: Contact | None, email: str | None = None) -> None:
        """Permanently delete ``c`` (if any) and blocklist its e-mail addresses (and ``email``)."""
        emails = {email.strip().lower()} if email else set()
        if c is not None:
            emails.update(e for e in [c.properties.get("email"), *c.secondary_emails] if e)
            self.remove(c)
            c.properties = {}
            c.secondary_emails = []
        self.gdpr_blocklist.update(emails)
        self._touch()

    def merge_into(self, primary: Contact, secondary: Contact) -> None:
        """Merge ``secondary`` into ``primary`` (both live, distinct)."""
        now = self.now_ms()
        sec_email = secondary.properties.get("email")
        for name, value in secondary.properties.items():
            if name == "email":
                continue
            if not primary.properties.get(name):
                primary.properties[name] = value
                primary.prop_ts[name] = secondary.prop_ts.get(name, now)
        for email in [sec_email, *secondary.secondary_emails]:
            if email:
                if email not in primary.secondary_emails and email != primary.properties.get("email"):
                    primary.secondary_emails.append(email)
                self._by_email[email] = primary.vid
        if not primary.properties.get("email") and sec_email:
            primary.properties["email"] = sec_email
            primary.secondary_emails.remove(sec_email)
        if secondary.utk and not primary.utk:
            primary.utk = secondary.utk
        if secondary.utk is not None or secondary.merged_vids:
            for utk, vid in list(self._by_utk.items()):
                if vid == secondary.vid:
                    self._by_utk[utk] = primary.vid
        primary.form_submissions.extend(secondary.form_submissions)
        primary.form_submissions.sort(key=lambda s: s["timestamp"])
        moved = [secondary.vid, *secondary.merged_vids]
        primary.merged_vids.extend(moved)
        for vid in moved:
            self._alias[vid] = primary.vid
        secondary.merged_into = primary.vid
        self._live_count -= 1
        self.store.associations.move_record("0-1", secondary.vid, primary.vid)
        for lst in self._lists_ils.values():
            added = lst.members.pop(secondary.vid, None)
            if added is not None and primary.vid not in lst.members:
                lst.members[primary.vid] = added
        primary.merge_audits.append(
            {
                "canonical-vid": primary.vid,
                "vid-to-merge": secondary.vid,
                "timestamp": now,
                "user-id": None,
                "num-properties-moved": len(secondary.properties),
                "merged_from_email": {"value": sec_email} if sec_email else None,
                "merged_to_email": {"value": primary.properties.get("email")},
                "first-name": secondary.properties.get("firstname"),
                "last-name": secondary.properties.get("lastname"),
            }
        )
        primary.properties["hs_merged_object_ids"] = ";".join(str(v) for v in primary.merged_vids)
        primary.properties["hs_calculated_merged_vids"] = ";".join(f"{v}:{now}" for v in primary.merged_vids)
        primary.updated_ms = max(now, primary.updated_ms)
        self._touch()

    # ------------------------------------------------------------------ feeds (handler API)
    def live_after_vid(self, vid_offset: int, count: int) -> tuple[list[Contact], bool]:
        """Live contacts with vid > ``vid_offset`` in vid order; also whether more exist."""
        out: list[Contact] = []
        idx = bisect.bisect_right(self._vids, vid_offset)
        vids = self._vids
        while idx < len(vids):
            c = self._contacts[vids[idx]]
            idx += 1
            if not c.live:
                continue
            if len(out) == count:
                return out, True
            out.append(c)
        return out, False

    def sorted_by_time(self, kind: str) -> list[tuple[int, int]]:
        """Live contacts as ascending ``(-ts, -vid)`` keys (i.e. newest first); ``kind`` is
        ``"updated"`` or ``"created"``. Cached until the next write."""
        cached = self._feed_cache.get(kind)
        if cached is not None and cached[0] == self._version:
            return cached[1]
        if kind == "updated":
            keys = [(-c.updated_ms, -c.vid) for c in self.iter_live()]
        else:
            keys = [(-c.created_ms, -c.vid) for c in self.iter_live()]
        keys.sort()
        self._feed_cache[kind] = (self._version, keys)
        return keys

    # ------------------------------------------------------------------ contact helpers for tests
    def contact_view(self, c: Contact) -> dict[str, Any]:
        return {
            "vid": c.vid,
            "canonical_vid": c.vid,
            "properties": self.all_props(c),
            "merged_vids": list(c.merged_vids),
            "secondary_emails": list(c.secondary_emails),
            "created_at": c.created_ms,
            "updated_at": c.updated_ms,
            "utk": c.utk,
            "form_submissions": [dict(s) for s in c.form_submissions],
            "list_ids": [lst.legacy_id for lst in self._lists_ils.values() if c.vid in lst.members],
        }

    def contacts(self) -> list[dict[str, Any]]:
        """Live contacts (not merged away, not deleted), in vid order."""
        with self.lock:
            return [self.contact_view(c) for c in self.iter_live()]

    def contact(self, vid: int | str) -> dict[str, Any] | None:
        """The live contact for ``vid`` (a merged-away vid gives the survivor), or ``None``."""
        with self.lock:
            c = self.get_live(vid)
            return self.contact_view(c) if c is not None else None

    def contact_by_email(self, email: str) -> dict[str, Any] | None:
        with self.lock:
            c = self.live_by_email(email)
            return self.contact_view(c) if c is not None else None

    def count_contacts(self) -> int:
        with self.lock:
            return self._live_count

    def add_contact(
        self,
        properties: Mapping[str, Any] | None = None,
        *,
        utk: str | None = None,
        created_at: int | None = None,
        validate: bool = True,
    ) -> int:
        """Create a contact directly; returns its vid.

        :param created_at: creation time in epoch ms (also its ``lastmodifieddate``).
        :param validate: raise ``ValueError`` on invalid properties (else store them as given).
        """
        with self.lock:
            props = dict(properties or {})
            if validate:
                clean, errors = self.validate(props)
                if errors:
                    raise ValueError(f"invalid contact properties: {errors}")
            else:
                clean = {k: stringify(v) for k, v in props.items()}
                if clean.get("email"):
                    clean["email"] = clean["email"].lower()
            try:
                c = self.create(clean, utk=utk, created_ms=created_at)
            except EmailTaken as exc:
                raise ValueError(str(exc)) from None
            return c.vid

    def update_contact(self, vid_or_email: int | str, properties: Mapping[str, Any]) -> None:
        """Update a live contact's properties (validated)."""
        with self.lock:
            c = self._resolve_helper(vid_or_email)
            clean, errors = self.validate(properties)
            if errors:
                raise ValueError(f"invalid contact properties: {errors}")
            try:
                self.update(c, clean)
            except EmailTaken as exc:
                raise ValueError(str(exc)) from None

    def delete_contact(self, vid_or_email: int | str) -> None:
        with self.lock:
            self.remove(self._resolve_helper(vid_or_email))

    def merge_contacts(self, primary: int, secondary: int) -> None:
        with self.lock:
            p, s = self.get_live(primary), self.get_live(secondary)
            if p is None or s is None or p.vid == s.vid:
                raise ValueError(f"cannot merge {secondary} into {primary}")
            self.merge_into(p, s)

    def set_utk(self, vid: int, utk: str) -> None:
        with self.lock:
            c = self._resolve_helper(vid)
            c.utk = utk
            self._by_utk[utk] = c.vid

    def _resolve_helper(self, vid_or_email: int | str) -> Contact:
        if isinstance(vid_or_email, str) and "@" in vid_or_email:
            c = self.live_by_email(vid_or_email)
        else:
            c = self.get_live(vid_or_email)
        if c is None:
            raise KeyError(f"no live contact {vid_or_email!r}")
        return c

    def set_lifecycle_stage(self, email_or_vid: int | str, stage: str, timestamp_ms: int | None = None) -> int:
        """Set ``lifecyclestage`` and ``hs_lifecyclestage_<stage>_date`` (creates the contact when an
        unknown e-mail is given). Returns the vid."""
        with self.lock:
            ts = self.now_ms() if timestamp_ms is None else int(timestamp_ms)
            options = self.schema["lifecyclestage"].options
            if stage not in options:
                raise ValueError(f"{stage!r} is not a lifecycle stage option ({options})")
            date_prop = f"hs_lifecyclestage_{stage}_date"
            if date_prop not in self.schema:
                self.schema[date_prop] = PropertyDef(name=date_prop, type="datetime")
            props = {"lifecyclestage": stage, date_prop: str(ts)}
            c: Contact | None
            if isinstance(email_or_vid, str) and "@" in email_or_vid:
                c = self.live_by_email(email_or_vid)
                if c is None:
                    if not self.is_valid_email(email_or_vid):
                        raise ValueError(f"invalid e-mail {email_or_vid!r}")
                    c = self.create({"email": email_or_vid.lower()})
            else:
                c = self._resolve_helper(email_or_vid)
            self.update(c, props)
            return c.vid

    # ------------------------------------------------------------------ every object type (helpers for tests)
    def object_type(self, name: str) -> ObjectType:
        """The object type ``name`` names (``companies``, ``0-2``, a custom object's name or id); ``KeyError``."""
        found = self.store.get(name)
        if found is None:
            raise KeyError(f"no object type {name!r}")
        return found

    def define_custom_object(self, name: str, properties: Iterable[Mapping[str, Any]] = (), *,
                             plural: str | None = None, label: str | None = None,
                             primary_display_property: str | None = None) -> str:
        """Define a custom object type; returns its object type id (``2-...``).

        :param properties: ``{"name", "type", "options", "hasUniqueValue"}`` definitions.
        """
        with self.lock:
            return self.store.define_custom(name, properties=properties, plural=plural, label=label,
                                              primary_display_property=primary_display_property).type_id

    def add_object(self, object_type: str, properties: Mapping[str, Any] | None = None, *,
                   created_at: int | None = None, validate: bool = True) -> int:
        """Create a record of any object type directly; returns its id (contacts: :meth:`add_contact`).

        :param validate: raise ``ValueError`` on invalid properties (else store them as given).
        """
        with self.lock:
            target = self.object_type(object_type)
            if target.type_id == "0-1":
                return self.add_contact(properties, created_at=created_at, validate=validate)
            if validate:
                clean, errors = target.validate(dict(properties or {}))
                if errors:
                    raise ValueError(f"invalid {target.name} properties: {errors}")
            else:
                clean = {k: stringify(v) for k, v in (properties or {}).items()}
            try:
                return int(target.create(clean, created_ms=created_at).id)
            except UniqueTaken as exc:
                raise ValueError(str(exc)) from None

    def update_object(self, object_type: str, record_id: int | str, properties: Mapping[str, Any]) -> None:
        """Update a live record's properties (validated)."""
        with self.lock:
            target = self.object_type(object_type)
            record = target.live(record_id)
            if record is None:
                raise KeyError(f"no live {target.name} record {record_id!r}")
            clean, errors = target.validate(properties)
            if errors:
                raise ValueError(f"invalid {target.name} properties: {errors}")
            try:
                target.update(record, clean)
            except UniqueTaken as exc:
                raise ValueError(str(exc)) from None

    def object_view(self, target: ObjectType, record: Any) -> dict[str, Any]:
        return {"id": str(target.record_id(record)), "properties": target.all_props(record),
                "created_at": record.created_ms, "updated_at": record.updated_ms}

    def objects(self, object_type: str) -> list[dict[str, Any]]:
        """Live records of an object type, in id order: ``id``, ``properties``, ``created_at``, ``updated_at``."""
        with self.lock:
            target = self.object_type(object_type)
            records = sorted(target.iter_live(), key=target.record_id)
            return [self.object_view(target, r) for r in records]

    def get_object(self, object_type: str, record_id: int | str) -> dict[str, Any] | None:
        """One live record (a merged-away id gives the survivor), or ``None``."""
        with self.lock:
            target = self.object_type(object_type)
            record = target.live(record_id)
            return self.object_view(target, record) if record is not None else None

    def associate(self, from_type: str, from_id: int | str, to_type: str, to_id: int | str,
                  type_id: int | None = None) -> None:
        """Associate two live records (default: the pair's unlabelled type; ``type_id`` e.g. ``1``, primary)."""
        with self.lock:
            source, target = self.object_type(from_type), self.object_type(to_type)
            a, b = source.live(from_id), target.live(to_id)
            if a is None or b is None:
                raise KeyError(f"no live records {from_type} {from_id} and {to_type} {to_id}")
            self.store.associate(source, source.record_id(a), target, target.record_id(b), type_id)

    def associations(self, from_type: str, to_type: str, from_id: int | str | None = None) -> list[dict[str, Any]]:
        """Associations between live records, as ``{"from": id, "to": id, "types": [type ids], "labels": [...]}``
        (``labels``: the non-null labels of those types), ordered by ids."""
        with self.lock:
            source, target = self.object_type(from_type), self.object_type(to_type)
            out: list[dict[str, Any]] = []
            ids = [source.canonical(int(from_id))] if from_id is not None else sorted(
                source.record_id(r) for r in source.iter_live())
            for fid in ids:
                for to_id, types in self.store.associated(source, fid, target).items():
                    specs = [self.store.associations.spec(source.type_id, target.type_id, t) for t in types]
                    out.append({"from": str(fid), "to": str(to_id), "types": sorted(types),
                                "labels": sorted(s["label"] for s in specs if s and s.get("label"))})
            return out

    # ------------------------------------------------------------------ lists
    def new_list(self, name: str, processing_type: str) -> ContactList:
        """Handler API: create a list with both ids."""
        lst = ContactList(self._next_legacy_list, self._next_ils_list, name, processing_type, self.now_ms())
        self._next_legacy_list += 1
        self._next_ils_list += 1
        self._lists_legacy[lst.legacy_id] = lst
        self._lists_ils[lst.ils_id] = lst
        return lst

    def list_by_legacy(self, legacy_id: int | str) -> ContactList | None:
        try:
            lst = self._lists_legacy.get(int(legacy_id))
        except (TypeError, ValueError):
            return None
        return lst if lst is not None and not lst.deleted else None

    def list_by_ils(self, ils_id: int | str) -> ContactList | None:
        try:
            lst = self._lists_ils.get(int(ils_id))
        except (TypeError, ValueError):
            return None
        return lst if lst is not None and not lst.deleted else None

    def live_lists(self) -> list[ContactList]:
        return [lst for lst in self._lists_legacy.values() if not lst.deleted]

    def list_by_name(self, name: str) -> ContactList | None:
        for lst in self.live_lists():
            if lst.name == name:
                return lst
        return None

    def _list_any(self, list_id: int | str) -> ContactList:
        lst = self.list_by_legacy(list_id)
        if lst is None:
            lst = self.list_by_ils(list_id)
        if lst is None:
            raise KeyError(f"no list {list_id!r}")
        return lst

    @staticmethod
    def list_view(lst: ContactList) -> dict[str, Any]:
        return {
            "legacy_id": lst.legacy_id,
            "list_id": lst.ils_id,
            "name": lst.name,
            "dynamic": lst.dynamic,
            "processing_type": lst.processing_type,
            "size": len(lst.members),
        }

    def create_list(self, name: str, dynamic: bool = False, *, processing_type: str | None = None) -> ListIds:
        """Create a list; returns ``ListIds(legacy_id, list_id)`` (v1 id and ILS id)."""
        ptype = processing_type or ("DYNAMIC" if dynamic else "MANUAL")
        if ptype not in {"MANUAL", "SNAPSHOT", "DYNAMIC"}:
            raise ValueError(f"unknown processing type {ptype!r}")
        with self.lock:
            lst = self.new_list(name, ptype)
            return ListIds(lst.legacy_id, lst.ils_id)

    def lists(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self.list_view(lst) for lst in self.live_lists()]

    def list_members(self, list_id: int | str) -> list[int]:
        """Member vids in the order they were added."""
        with self.lock:
            return list(self._list_any(list_id).members)

    def add_list_members(self, list_id: int | str, vids: Iterable[int]) -> None:
        """Add members to any list, dynamic ones included (bypasses the API's checks)."""
        with self.lock:
            lst = self._list_any(list_id)
            now = self.now_ms()
            for vid in vids:
                c = self.get_live(vid)
                if c is None:
                    raise KeyError(f"no live contact {vid}")
                lst.members.setdefault(c.vid, now)

    def memberships_of(self, vid: int) -> list[ContactList]:
        return [lst for lst in self.live_lists() if vid in lst.members]

    # ------------------------------------------------------------------ timeline
    def new_event_type(
        self,
        app_id: int | str,
        name: str,
        *,
        edition: str,
        header_template: str = "",
        detail_template: str = "",
        object_type: str = "CONTACT",
    ) -> dict[str, Any]:
        """Handler API: register a v1 event type or a v3 event template."""
        type_id = str(self._next_event_type)
        self._next_event_type += 1
        record: dict[str, Any] = {
            "id": type_id,
            "app_id": str(app_id),
            "name": name,
            "edition": edition,
            "headerTemplate": header_template,
            "detailTemplate": detail_template,
            "objectType": object_type,
            "properties": {},  # v1: property id -> definition; v3: token name -> definition
            "createdAt": self.now_ms(),
        }
        self.event_types[type_id] = record
        return record

    def new_event_property(self, record: dict[str, Any], definition: Mapping[str, Any]) -> dict[str, Any]:
        """Handler API: add a property (v1) / token (v3) to an event type."""
        prop = dict(definition)
        if record["edition"] == "v1":
            prop["id"] = self._next_event_property
            self._next_event_property += 1
            prop.setdefault("propertyType", "String")
            prop["eventTypeId"] = int(record["id"])
            record["properties"][str(prop["id"])] = prop
        else:
            prop.setdefault("type", "string")
            record["properties"][str(prop["name"])] = prop
        return prop

    def create_event_type(
        self,
        app_id: int | str,
        name: str,
        properties: Iterable[str | Mapping[str, Any]] | None = None,
        edition: str = "v1",
    ) -> str:
        """Create a v1 event type (``edition="v1"``) or v3 event template (``"v3"``); returns its id.

        :param properties: property / token names, or full definitions
            (``{"name", "label", "propertyType"|"type", "options"}``).
        """
        if edition not in {"v1", "v3"}:
            raise ValueError("edition must be 'v1' or 'v3'")
        with self.lock:
            record = self.new_event_type(
                app_id, name, edition=edition, object_type="CONTACT" if edition == "v1" else "contacts"
            )
            for item in properties or []:
                definition: dict[str, Any] = {"name": item, "label": item} if isinstance(item, str) else dict(item)
                self.new_event_property(record, definition)
            return str(record["id"])

    def register_event_type_name(self, name: str) -> None:
        """Make ``name`` a valid ``eventTypeName`` for the date-based timeline API."""
        with self.lock:
            self.event_type_names.add(name)

    def add_event(self, edition: str, type_key: str, event: dict[str, Any]) -> None:
        """Handler API: store an event (caller checked for duplicates)."""
        self.events[(edition, str(type_key), str(event["id"]))] = event

    def timeline_events(self) -> list[dict[str, Any]]:
        """Stored events: ``edition`` (v1 / v3 / YYYY-MM), ``type`` (event type id, template id or
        event type name), ``id``, ``vid``, ``email``, ``timestamp``, ``properties`` (custom values /
        tokens / properties), ``extra_data``, ``app_id``."""
        with self.lock:
            return [dict(e) for e in self.events.values()]

    # ------------------------------------------------------------------ forms
    def create_form(self, form_id: str, name: str | None = None) -> None:
        with self.lock:
            self.forms.setdefault(form_id, {"id": form_id, "name": name or f"Form {form_id}"})

    def add_form_submission(
        self,
        form_id: str,
        email: str,
        values: Mapping[str, Any] | None = None,
        submitted_at: int | None = None,
        *,
        page_url: str = "https://example.com/form",
        conversion_id: str | None = None,
    ) -> str:
        """Record a form submission (creating the form and the contact if needed); returns the
        conversion id. Values that name known contact properties are copied onto the contact.
        The contact's ``createdate`` (if created here) and ``lastmodifieddate`` follow ``submitted_at``."""
        with self.lock:
            if not self.is_valid_email(email):
                raise ValueError(f"invalid e-mail {email!r}")
            self.create_form(form_id)
            ts = self.now_ms() if submitted_at is None else int(submitted_at)
            conv = conversion_id or str(uuid.uuid4())
            vals = {"email": email, **{str(k): stringify(v) for k, v in (values or {}).items()}}
            c = self.live_by_email(email)
            contact_props: dict[str, str] = {}
            for name, value in vals.items():
                if name == "email":
                    continue
                scratch: dict[str, str] = {}
                if self.validate_one(name, value, scratch) is None:
                    contact_props.update(scratch)
            previous_update = c.updated_ms if c is not None else None
            if c is None:
                c = self.create({"email": email.strip().lower()}, created_ms=ts)
            form_name = self.forms[form_id]["name"]
            submission_v1 = {
                "conversion-id": conv,
                "timestamp": ts,
                "form-id": form_id,
                "portal-id": PORTAL_ID,
                "page-url": page_url,
                "page-title": form_name,
                "title": form_name,
                "form-type": "HUBSPOT",
                "contact-associated-by": ["EMAIL"],
                "meta-data": [],
            }
            c.form_submissions.append(submission_v1)
            c.form_submissions.sort(key=lambda s: s["timestamp"])
            subs = c.form_submissions
            contact_props.update(
                {
                    "recent_conversion_date": str(subs[-1]["timestamp"]),
                    "recent_conversion_event_name": subs[-1]["title"],
                    "first_conversion_date": str(subs[0]["timestamp"]),
                    "first_conversion_event_name": subs[0]["title"],
                    "num_conversion_events": str(len(subs)),
                    "num_unique_conversion_events": str(len({s["form-id"] for s in subs})),
                    "hs_calculated_form_submissions": ";".join(f"{s['form-id']}::{s['timestamp']}" for s in subs),
                }
            )
            with contextlib.suppress(EmailTaken):  # email is not in contact_props
                self.update(c, contact_props)
            # The submission, not the wall clock, is when the contact was created / last modified.
            c.updated_ms = ts if previous_update is None else max(previous_update, ts)
            self._touch()
            self._sub_seq += 1
            record = {
                "conversionId": conv,
                "submittedAt": ts,
                "formId": form_id,
                "values": [{"name": k, "value": v, "objectTypeId": "0-1"} for k, v in vals.items()],
                "pageUrl": page_url,
                "vid": c.vid,
                "seq": self._sub_seq,
            }
            self._submissions[conv] = record
            bisect.insort(self._form_subs.setdefault(form_id, []), (ts, self._sub_seq, conv))
            return conv

    def form_submission_keys(self, form_id: str) -> list[tuple[int, int, str]] | None:
        """Handler API: ``(submittedAt, seq, conversionId)`` ascending, or ``None`` for an unknown form."""
        if form_id not in self.forms:
            return None
        return self._form_subs.get(form_id, [])

    def submission(self, conversion_id: str) -> dict[str, Any]:
        return self._submissions[conversion_id]

    def form_submissions(self, form_id: str) -> list[dict[str, Any]]:
        """Submissions of a form, newest first."""
        with self.lock:
            keys = self._form_subs.get(form_id, [])
            return [dict(self._submissions[conv]) for _, _, conv in reversed(keys)]


    # ------------------------------------------------------------------ email (subscriptions, events, SMTP)
    def add_subscription_type(self, name: str, description: str = "") -> str:
        """Add an email subscription type; returns its id (a fresh portal has ``1`` and ``2``)."""
        with self.lock:
            return self.email.add_subscription_type(name, description, self.now_ms())

    def email_subscription(self, email: str) -> dict[str, Any]:
        """The v1 subscription status of an address (as ``GET /email/public/v1/subscriptions/{email}``)."""
        with self.lock:
            return self.email.v1_status_json(email)

    def add_email_campaign(self, name: str, *, subject: str | None = None, app_id: int = 113,
                           app_name: str = "Batch") -> int:
        """Add a marketing email campaign; returns its id."""
        with self.lock:
            return int(self.email.add_campaign(name, self.now_ms(), subject=subject, app_id=app_id,
                                               app_name=app_name))

    def add_email_event(self, recipient: str, event_type: str = "SENT", *, campaign_id: int | None = None,
                        created_ms: int | None = None, filtered: bool = False, **extra: Any) -> dict[str, Any]:
        """Log an email event (``SENT``, ``DELIVERED``, ``OPEN``, ``CLICK``, ``BOUNCE``, ``SPAMREPORT``...);
        returns it (``id`` and ``created`` form its EventId)."""
        with self.lock:
            return dict(self.email.add_event(recipient, event_type, self.now_ms(), campaign_id=campaign_id,
                                             created=created_ms, filtered=filtered, extra=extra))

    def email_events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(e) for e in self.email.events]

    def add_marketing_email(self, name: str, *, subject: str | None = None) -> int:
        """Add an email of the marketing email tool that single send can send; returns its ``emailId``."""
        with self.lock:
            return int(self.email.add_marketing_email(name, self.now_ms(), subject=subject))

    def smtp_tokens(self) -> list[dict[str, Any]]:
        """Stored SMTP API tokens (a SHA-256 of the password, never the password)."""
        with self.lock:
            return [dict(t) for t in self.email.smtp_tokens.values()]

    # ------------------------------------------------------------------ persistence
    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot of everything (see :meth:`load_json`)."""
        with self.lock:
            return {
                "format": 1,
                "next_vid": self._next_vid,
                "schema": [p.to_json() for p in self.schema.values()],
                "allowed_tlds": sorted(self.allowed_tlds),
                "contacts": [c.to_dict() for c in self._contacts.values()],
                "lists": [lst.to_dict() for lst in self._lists_legacy.values()],
                "next_legacy_list": self._next_legacy_list,
                "next_ils_list": self._next_ils_list,
                "event_types": list(self.event_types.values()),
                "next_event_type": self._next_event_type,
                "next_event_property": self._next_event_property,
                "event_type_names": sorted(self.event_type_names),
                "events": [{"key": list(k), "event": v} for k, v in self.events.items()],
                "forms": list(self.forms.values()),
                "submissions": list(self._submissions.values()),
                "sub_seq": self._sub_seq,
                "email": self.email.to_json(),
                "gdpr_blocklist": sorted(self.gdpr_blocklist),
                "objects": self.store.to_json(),
            }

    def load_json(self, data: Mapping[str, Any] | str) -> None:
        """Replace all data with a snapshot from :meth:`to_json` (a dict or a JSON string)."""
        snapshot: Mapping[str, Any] = json.loads(data) if isinstance(data, str) else data
        with self.lock:
            self._init_data()
            for p in snapshot.get("schema", []):
                self.schema[p["name"]] = PropertyDef.from_json(p)
            if "allowed_tlds" in snapshot:
                self.allowed_tlds = set(snapshot["allowed_tlds"])
            for cd in snapshot.get("contacts", []):
                c = Contact.from_dict(cd)
                self._contacts[c.vid] = c
            self._vids = sorted(self._contacts)
            for c in self._contacts.values():
                if c.merged_into is not None:
                    survivor = c.merged_into
                    while self._contacts.get(survivor) is not None and self._contacts[survivor].merged_into:
                        survivor = self._contacts[survivor].merged_into  # type: ignore[assignment]
                    self._alias[c.vid] = survivor
            for c in self._contacts.values():
                if not c.live:
                    continue
                self._live_count += 1
                for email in [c.properties.get("email"), *c.secondary_emails]:
                    if email:
                        self._by_email[email] = c.vid
                if c.utk:
                    self._by_utk[c.utk] = c.vid
            for c in self._contacts.values():
                if c.merged_into is not None and c.utk and c.utk not in self._by_utk:
                    self._by_utk[c.utk] = self._alias.get(c.vid, c.vid)
            self._next_vid = int(snapshot.get("next_vid", max(self._contacts, default=FIRST_VID - 1) + 1))
            for ld in snapshot.get("lists", []):
                lst = ContactList.from_dict(ld)
                self._lists_legacy[lst.legacy_id] = lst
                self._lists_ils[lst.ils_id] = lst
            self._next_legacy_list = int(snapshot.get("next_legacy_list", LEGACY_LIST_ID_START))
            self._next_ils_list = int(snapshot.get("next_ils_list", ILS_LIST_ID_START))
            for et in snapshot.get("event_types", []):
                self.event_types[str(et["id"])] = dict(et)
            self._next_event_type = int(snapshot.get("next_event_type", EVENT_TYPE_ID_START))
            self._next_event_property = int(snapshot.get("next_event_property", 1))
            self.event_type_names = set(snapshot.get("event_type_names", []))
            for item in snapshot.get("events", []):
                edition, type_key, event_id = item["key"]
                self.events[(edition, type_key, event_id)] = dict(item["event"])
            for form in snapshot.get("forms", []):
                self.forms[form["id"]] = dict(form)
            for sub in snapshot.get("submissions", []):
                record = dict(sub)
                self._submissions[record["conversionId"]] = record
                bisect.insort(
                    self._form_subs.setdefault(record["formId"], []),
                    (int(record["submittedAt"]), int(record["seq"]), record["conversionId"]),
                )
            self._sub_seq = int(snapshot.get("sub_seq", len(self._submissions)))
            self.email = EmailData.from_json(snapshot.get("email"))
            self.gdpr_blocklist = set(snapshot.get("gdpr_blocklist", []))
            self.store.load_json(snapshot.get("objects", {}))
            self._touch()

    # Defined last: a method named ``list`` would shadow the builtin in later annotations.
    def list(self, list_id: int | str) -> dict[str, Any] | None:
        """A list by legacy id or ILS id (the ranges do not overlap), or ``None``."""
        with self.lock:
            try:
                return self.list_view(self._list_any(list_id))
            except KeyError:
                return None


def parse_ms(value: Any) -> int | None:
    """Re-export for handler modules."""
    return parse_timestamp_ms(value)
