"""In-memory "portal" data: CRM objects and associations, lists, timeline, form submissions, email.

Every CRM object type lives in one object store (``self.store``, :mod:`.objects`): types with property
schemas and unique-property indexes, records, and the association graph. Contacts are one type of it
(``self.store.contacts``, :mod:`.contacts`), so the v1 contact routes and the CRM object routes are
views of the same records. The methods here are the helpers tests use.

All public methods are thread-safe (they take ``self.lock``, a re-entrant lock the HTTP server
also holds while a route handler runs). Methods whose names start with ``_`` or that are marked
"handler API" assume the caller already holds the lock.

Data model (emulator choices):

* Records get integer ids counting up from a type-specific start (contacts: vids from 1001).
  Properties are strings; ``createdate``, ``lastmodifieddate`` (epoch ms) and ``hs_object_id`` are
  derived from the record. E-mails are unique, case-insensitive keys (stored lower-case).
* A merged-away id still resolves (``contact(vid)``, v1 GET, v3 GET) to the survivor.
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
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from ._util import PORTAL_ID
from .contacts import ContactsType
from .email_data import EmailData
from .objects import ObjectStore, ObjectType, Record, UniqueTaken
from .schema import DEFAULT_ALLOWED_TLDS, PropertyDef, is_valid_email, stringify

LEGACY_LIST_ID_START = 1
ILS_LIST_ID_START = 500001
EVENT_TYPE_ID_START = 1000001


class ListIds(NamedTuple):
    """Both ids of one list: the v1 ``legacy_id`` and the ILS ``list_id``."""

    legacy_id: int
    list_id: int


class Members(dict[int, int]):
    """A list's members: vid -> when it was added (ms), in the order added, and the vids in sorted
    order for the memberships pages (kept until the next change, so reading a 1,000,000-member list
    250 at a time does not sort it 4,000 times)."""

    _sorted: list[int] | None = None

    def __setitem__(self, vid: int, added_ms: int) -> None:
        if vid not in self:
            self._sorted = None
        super().__setitem__(vid, added_ms)

    def __delitem__(self, vid: int) -> None:
        super().__delitem__(vid)
        self._sorted = None

    def pop(self, vid: int, *default: Any) -> Any:  # type: ignore[override]
        self._sorted = None
        return super().pop(vid, *default)

    def clear(self) -> None:
        self._sorted = None
        super().clear()

    def sorted_vids(self) -> list[int]:
        if self._sorted is None:
            self._sorted = sorted(self)
        return self._sorted


class ContactList:
    """A list with its two ids; ``members`` maps vids to when they were added, in the order added."""

    __slots__ = ("created_ms", "deleted", "filters", "ils_id", "legacy_id", "members", "name", "object_type_id",
                 "processing_type", "updated_ms")

    def __init__(self, legacy_id: int, ils_id: int, name: str, processing_type: str, now: int) -> None:
        self.legacy_id = legacy_id
        self.ils_id = ils_id
        self.name = name
        self.processing_type = processing_type
        self.created_ms = now
        self.updated_ms = now
        self.members = Members()  # vid -> added-at ms, insertion ordered
        self.filters: Any = []
        self.deleted = False
        self.object_type_id = "0-1"

    @property
    def dynamic(self) -> bool:
        return self.processing_type == "DYNAMIC"

    def to_dict(self) -> dict[str, Any]:
        return {**{name: getattr(self, name) for name in self.__slots__},
                "members": [[vid, ts] for vid, ts in self.members.items()]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContactList:
        lst = cls(int(data["legacy_id"]), int(data["ils_id"]), str(data["name"]),
                  str(data.get("processing_type", "MANUAL")), int(data.get("created_ms", 0)))
        lst.updated_ms = int(data.get("updated_ms", lst.created_ms))
        lst.members = Members((int(vid), int(ts)) for vid, ts in data.get("members", []))
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
        #: Every CRM object type (contacts are ``store.contacts``) and the associations.
        self.store = ObjectStore(self)

    def clear(self) -> None:
        """Forget all data and custom properties."""
        with self.lock:
            self.allowed_tlds = set(DEFAULT_ALLOWED_TLDS)
            self._init_data()

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    @property
    def contact_type(self) -> ContactsType:
        """Handler API: the contacts object type."""
        return self.store.contacts

    # ------------------------------------------------------------------ schema
    @property
    def schema(self) -> dict[str, PropertyDef]:
        """The contact properties."""
        return self.store.contacts.schema

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
        with self.lock:
            target = self.object_type(object_type)
            target.define_property(PropertyDef(name=name, type=type, options=[str(o) for o in options or []],
                                               label=label or name, group_name=f"{target.singular}information",
                                               unique=unique, field_type=field_type))

    def validate(self, props: Mapping[str, Any]) -> tuple[dict[str, str], list[dict[str, Any]]]:
        """Contact properties ``{name: value}`` normalised, and the validation errors."""
        with self.lock:
            return self.store.contacts.validate(props)

    def is_valid_email(self, email: Any) -> bool:
        return is_valid_email(email, self.allowed_tlds)

    # ------------------------------------------------------------------ contacts (helpers for tests)
    def contact_view(self, c: Record) -> dict[str, Any]:
        return {
            "vid": c.id,
            "canonical_vid": c.id,
            "properties": self.store.contacts.all_props(c),
            "merged_vids": list(c.merged_ids),
            "secondary_emails": list(c.extra.secondary_emails),
            "created_at": c.created_ms,
            "updated_at": c.updated_ms,
            "utk": c.extra.utk,
            "form_submissions": [dict(s) for s in c.extra.form_submissions],
            "list_ids": [lst.legacy_id for lst in self._lists_ils.values() if c.id in lst.members],
        }

    def contacts(self) -> list[dict[str, Any]]:
        """Live contacts (not merged away, not deleted), in vid order."""
        with self.lock:
            return [self.contact_view(c) for c in self.store.contacts.iter_live()]

    def contact(self, vid: int | str) -> dict[str, Any] | None:
        """The live contact for ``vid`` (a merged-away vid gives the survivor), or ``None``."""
        with self.lock:
            c = self.store.contacts.live(vid)
            return self.contact_view(c) if c is not None else None

    def contact_by_email(self, email: str) -> dict[str, Any] | None:
        with self.lock:
            c = self.store.contacts.by_email(email)
            return self.contact_view(c) if c is not None else None

    def count_contacts(self) -> int:
        with self.lock:
            return self.store.contacts.count()

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
        return self.add_object("contacts", properties, created_at=created_at, validate=validate, utk=utk)

    def update_contact(self, vid_or_email: int | str, properties: Mapping[str, Any]) -> None:
        """Update a live contact's properties (validated)."""
        self.update_object("contacts", vid_or_email, properties)

    def delete_contact(self, vid_or_email: int | str) -> None:
        with self.lock:
            self.store.contacts.remove(self._contact(vid_or_email))

    def merge_contacts(self, primary: int, secondary: int) -> None:
        with self.lock:
            contacts = self.store.contacts
            p, s = contacts.live(primary), contacts.live(secondary)
            if p is None or s is None or p.id == s.id:
                raise ValueError(f"cannot merge {secondary} into {primary}")
            contacts.merge(p, s)

    def set_utk(self, vid: int, utk: str) -> None:
        with self.lock:
            self.store.contacts.set_utk(self._contact(vid), utk)

    def _contact(self, vid_or_email: int | str) -> Record:
        contacts = self.store.contacts
        is_email = isinstance(vid_or_email, str) and "@" in vid_or_email
        c = contacts.by_email(str(vid_or_email)) if is_email else contacts.live(vid_or_email)
        if c is None:
            raise KeyError(f"no live contact {vid_or_email!r}")
        return c  # type: ignore[no-any-return]

    def set_lifecycle_stage(self, email_or_vid: int | str, stage: str, timestamp_ms: int | None = None) -> int:
        """Set ``lifecyclestage`` and ``hs_lifecyclestage_<stage>_date`` (creates the contact when an
        unknown e-mail is given). Returns the vid."""
        with self.lock:
            contacts = self.store.contacts
            ts = self.now_ms() if timestamp_ms is None else int(timestamp_ms)
            options = self.schema["lifecyclestage"].options
            if stage not in options:
                raise ValueError(f"{stage!r} is not a lifecycle stage option ({options})")
            date_prop = f"hs_lifecyclestage_{stage}_date"
            self.schema.setdefault(date_prop, PropertyDef(name=date_prop, type="datetime"))
            if isinstance(email_or_vid, str) and "@" in email_or_vid and contacts.by_email(email_or_vid) is None:
                if not self.is_valid_email(email_or_vid):
                    raise ValueError(f"invalid e-mail {email_or_vid!r}")
                contacts.create({"email": email_or_vid.lower()})
            c = self._contact(email_or_vid)
            contacts.update(c, {"lifecyclestage": stage, date_prop: str(ts)})
            return c.id

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
                   created_at: int | None = None, validate: bool = True, utk: str | None = None) -> int:
        """Create a record of any object type directly; returns its id.

        :param created_at: creation time in epoch ms (also its last modification).
        :param validate: raise ``ValueError`` on invalid properties (else store them as given).
        :param utk: (contacts) the contact's utk cookie.
        """
        with self.lock:
            target = self.object_type(object_type)
            if validate:
                clean, errors = target.validate(dict(properties or {}))
                if errors:
                    raise ValueError(f"invalid {target.singular} properties: {errors}")
            else:
                clean = {k: stringify(v) for k, v in (properties or {}).items()}
                if clean.get("email"):
                    clean["email"] = clean["email"].lower()
            try:
                if isinstance(target, ContactsType):
                    return int(target.create(clean, created_ms=created_at, utk=utk).id)
                return int(target.create(clean, created_ms=created_at).id)
            except UniqueTaken as exc:
                raise ValueError(str(exc)) from None

    def update_object(self, object_type: str, record_id: int | str, properties: Mapping[str, Any]) -> None:
        """Update a live record's properties (validated); contacts may be named by e-mail."""
        with self.lock:
            target = self.object_type(object_type)
            record = self._contact(record_id) if isinstance(target, ContactsType) else target.live(record_id)
            if record is None:
                raise KeyError(f"no live {target.name} record {record_id!r}")
            clean, errors = target.validate(properties)
            if errors:
                raise ValueError(f"invalid {target.singular} properties: {errors}")
            try:
                target.update(record, clean)
            except UniqueTaken as exc:
                raise ValueError(str(exc)) from None

    def object_view(self, target: ObjectType, record: Any) -> dict[str, Any]:
        return {"id": str(record.id), "properties": target.all_props(record),
                "created_at": record.created_ms, "updated_at": record.updated_ms}

    def objects(self, object_type: str) -> list[dict[str, Any]]:
        """Live records of an object type, in id order: ``id``, ``properties``, ``created_at``, ``updated_at``."""
        with self.lock:
            target = self.object_type(object_type)
            return [self.object_view(target, r) for r in sorted(target.iter_live(), key=lambda r: r.id)]

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
            self.store.associate(source, a.id, target, b.id, type_id)

    def associations(self, from_type: str, to_type: str, from_id: int | str | None = None) -> list[dict[str, Any]]:
        """Associations between live records, as ``{"from": id, "to": id, "types": [type ids], "labels": [...]}``
        (``labels``: the non-null labels of those types), ordered by ids."""
        with self.lock:
            source, target = self.object_type(from_type), self.object_type(to_type)
            out: list[dict[str, Any]] = []
            ids = [source.canonical(int(from_id))] if from_id is not None else sorted(
                r.id for r in source.iter_live())
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
                c = self.store.contacts.live(vid)
                if c is None:
                    raise KeyError(f"no live contact {vid}")
                lst.members.setdefault(c.id, now)

    def memberships_of(self, vid: int) -> list[ContactList]:
        return [lst for lst in self.live_lists() if vid in lst.members]

    def move_memberships(self, vid: int, to: int | None) -> None:
        """Handler API: ``vid`` leaves every list; ``to`` (a merge's survivor) joins the ones it was not in."""
        for lst in self._lists_ils.values():
            added = lst.members.pop(vid, None)
            if to is not None and added is not None and to not in lst.members:
                lst.members[to] = added

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
            contacts = self.store.contacts
            ts = self.now_ms() if submitted_at is None else int(submitted_at)
            conv = conversion_id or str(uuid.uuid4())
            vals = {"email": email, **{str(k): stringify(v) for k, v in (values or {}).items()}}
            c = contacts.by_email(email)
            contact_props: dict[str, str] = {}
            for name, value in vals.items():
                if name != "email":
                    contacts.validate_one(name, value, contact_props)
            previous_update = c.updated_ms if c is not None else None
            if c is None:
                c = contacts.create({"email": email.strip().lower()}, created_ms=ts)
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
            subs = c.extra.form_submissions
            subs.append(submission_v1)
            subs.sort(key=lambda s: s["timestamp"])
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
            with contextlib.suppress(UniqueTaken):
                contacts.update(c, contact_props)
            # The submission, not the wall clock, is when the contact was created / last modified.
            c.updated_ms = ts if previous_update is None else max(previous_update, ts)
            contacts.version += 1
            self._sub_seq += 1
            record = {
                "conversionId": conv,
                "submittedAt": ts,
                "formId": form_id,
                "values": [{"name": k, "value": v, "objectTypeId": "0-1"} for k, v in vals.items()],
                "pageUrl": page_url,
                "vid": c.id,
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
            contacts = self.store.contacts.to_json()
            return {
                "format": 1,
                "next_vid": contacts["next_id"],
                "schema": contacts["schema"],
                "allowed_tlds": sorted(self.allowed_tlds),
                "contacts": contacts["records"],
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
            if "allowed_tlds" in snapshot:
                self.allowed_tlds = set(snapshot["allowed_tlds"])
            contacts = {"schema": snapshot.get("schema", []), "records": snapshot.get("contacts", [])}
            self.store.contacts.load_json({**contacts, "next_id": snapshot["next_vid"]} if "next_vid" in snapshot
                                          else contacts)
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

    # Defined last: a method named ``list`` would shadow the builtin in later annotations.
    def list(self, list_id: int | str) -> dict[str, Any] | None:
        """A list by legacy id or ILS id (the ranges do not overlap), or ``None``."""
        with self.lock:
            try:
                return self.list_view(self._list_any(list_id))
            except KeyError:
                return None

