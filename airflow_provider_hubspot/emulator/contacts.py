"""Contacts: the object type ``0-1`` of the object store, with what only contacts have.

A contact is a :class:`~.objects.Record` of the store like any other (its id is the vid, from 1001;
``email`` is a unique, case-insensitive property), with a :class:`ContactData` attached: the e-mails
it took over in merges, its utk, its form submissions and its merge audits. List memberships are
kept by the lists, keyed by vid. The v1 contact routes, lists, lifecycle stages, forms and the
timeline use this type, as the CRM object routes do.

Emulator choices:

* After a merge the secondary's e-mails become secondary identities of the survivor, and look-ups
  by them find the survivor; its utk, form submissions and list memberships move to the survivor.
* Deleted contacts disappear from every look-up, feed and list.
* Setting ``lifecyclestage`` to a stage also sets ``hs_lifecyclestage_<stage>_date`` to "now"
  when that date is not already set and not written in the same request (as HubSpot does).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .objects import ObjectType, Record
from .schema import PropertyDef, default_schema

if TYPE_CHECKING:
    from .objects import ObjectStore

FIRST_VID = 1001


class ContactData:
    """What only a contact record has."""

    __slots__ = ("form_submissions", "merge_audits", "secondary_emails", "utk")

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        data = data or {}
        #: v1 form submissions, oldest first.
        self.form_submissions: list[dict[str, Any]] = [dict(s) for s in data.get("form_submissions", [])]
        self.utk: str | None = data.get("utk")
        self.merge_audits: list[dict[str, Any]] = [dict(a) for a in data.get("merge_audits", [])]
        #: E-mails taken over in merges (look-ups by them find this contact).
        self.secondary_emails: list[str] = list(data.get("secondary_emails", []))

    def to_json(self) -> dict[str, Any]:
        return {"form_submissions": [dict(s) for s in self.form_submissions], "utk": self.utk,
                "merge_audits": [dict(a) for a in self.merge_audits],
                "secondary_emails": list(self.secondary_emails)}


class ContactsType(ObjectType):
    """The contacts: records of the store, plus utk look-ups, merged e-mails, lifecycle dates and feeds."""

    modified_property = "lastmodifieddate"
    merge_skips = frozenset({"email"})

    def __init__(self, store: ObjectStore) -> None:
        super().__init__(store, "0-1", "contacts", "contact", "Contact", schema=default_schema(), first_id=FIRST_VID,
                         scope="contacts", search_text=("email", "firstname", "lastname", "phone", "company"),
                         default_properties=("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate",
                                             "lastname"),
                         mergeable=True)
        self._by_utk: dict[str, int] = {}
        self._feeds: dict[str, tuple[int, list[tuple[int, int]]]] = {}

    def define_property(self, prop: PropertyDef) -> None:
        super().define_property(prop)
        if prop.name == "lifecyclestage":
            for stage in prop.options:
                date_prop = f"hs_lifecyclestage_{stage}_date"
                self.schema.setdefault(date_prop, PropertyDef(name=date_prop, type="datetime"))

    # -- look-ups ----------------------------------------------------------------------------------
    def by_email(self, email: str | None) -> Any:
        """The live contact with this e-mail (a merged-away contact's e-mail finds the survivor)."""
        return self.by_unique("email", email)

    def by_utk(self, utk: str | None) -> Any:
        vid = self._by_utk.get(utk) if utk else None
        return self.live(vid) if vid is not None else None

    def newest(self) -> Any:
        """The live contact with the highest vid."""
        return next((r for vid in reversed(self._ids) if (r := self._records[vid]).live), None)

    def sorted_by_time(self, kind: str) -> list[tuple[int, int]]:
        """Live contacts as ascending ``(-ts, -vid)`` keys (newest first); ``kind`` is ``"updated"`` or
        ``"created"``. Cached until the next write."""
        cached = self._feeds.get(kind)
        if cached is None or cached[0] != self.version:
            keys = sorted((-(r.updated_ms if kind == "updated" else r.created_ms), -r.id) for r in self.iter_live())
            cached = self._feeds[kind] = (self.version, keys)
        return cached[1]

    # -- writes --------------------------------------------------------------------------------------
    def create(self, clean: Mapping[str, str], *, created_ms: int | None = None, utk: str | None = None) -> Any:
        record = super().create(clean, created_ms=created_ms)
        record.extra = ContactData()
        if utk:
            self.set_utk(record, utk)
        return record

    def set_utk(self, record: Record, utk: str) -> None:
        record.extra.utk = utk
        self._by_utk[utk] = record.id

    def _apply(self, record: Record, clean: Mapping[str, str], now: int) -> None:
        stage = clean.get("lifecyclestage")
        if stage and stage != record.properties.get("lifecyclestage"):
            date_prop = f"hs_lifecyclestage_{stage}_date"
            if date_prop not in clean and not record.properties.get(date_prop):
                self.schema.setdefault(date_prop, PropertyDef(name=date_prop, type="datetime"))
                record.properties[date_prop] = str(now)
                record.prop_ts[date_prop] = now
        super()._apply(record, clean, now)

    def _indexed_values(self, record: Record, name: str) -> list[str]:
        values = super()._indexed_values(record, name)
        return [*values, *record.extra.secondary_emails] if name == "email" else values

    def _move_utks(self, record: Record, to: int | None) -> None:
        if record.extra.utk is not None or record.merged_ids:  # only then can utks point at this contact
            for utk, vid in list(self._by_utk.items()):
                if vid == record.id:
                    if to is None:
                        del self._by_utk[utk]
                    else:
                        self._by_utk[utk] = to

    def remove(self, record: Any) -> None:
        if record.live:
            self._move_utks(record, None)
            self.store.state.move_memberships(record.id, None)
        super().remove(record)

    def _merged(self, primary: Any, secondary: Any, now: int) -> None:
        mine, theirs = primary.extra, secondary.extra
        sec_email = secondary.properties.get("email")
        for email in [sec_email, *theirs.secondary_emails]:
            if email:
                if email not in mine.secondary_emails and email != primary.properties.get("email"):
                    mine.secondary_emails.append(email)
                self._unique["email"][self.key("email", email)] = primary.id
        if not primary.properties.get("email") and sec_email:
            primary.properties["email"] = sec_email
            mine.secondary_emails.remove(sec_email)
        if theirs.utk and not mine.utk:
            mine.utk = theirs.utk
        self._move_utks(secondary, primary.id)
        mine.form_submissions.extend(theirs.form_submissions)
        mine.form_submissions.sort(key=lambda s: s["timestamp"])
        self.store.state.move_memberships(secondary.id, primary.id)
        mine.merge_audits.append({
            "canonical-vid": primary.id,
            "vid-to-merge": secondary.id,
            "timestamp": now,
            "user-id": None,
            "num-properties-moved": len(secondary.properties),
            "merged_from_email": {"value": sec_email} if sec_email else None,
            "merged_to_email": {"value": primary.properties.get("email")},
            "first-name": secondary.properties.get("firstname"),
            "last-name": secondary.properties.get("lastname"),
        })
        primary.properties["hs_calculated_merged_vids"] = ";".join(f"{v}:{now}" for v in primary.merged_ids)

    def gdpr_delete(self, record: Any, email: str | None = None) -> None:
        """Permanently delete ``record`` (if any) and blocklist its e-mail addresses (and ``email``)."""
        emails = {email.strip().lower()} if email else set()
        if record is not None:
            emails.update(e for e in [record.properties.get("email"), *record.extra.secondary_emails] if e)
            self.remove(record)
            record.properties = {}
            record.extra.secondary_emails = []
        self.store.state.gdpr_blocklist.update(emails)

    # -- persistence (the snapshot's ``contacts`` keep their ``vid`` / ``merged_vids`` keys) -------------
    def record_json(self, record: Record) -> dict[str, Any]:
        out = record.to_json()
        out["vid"], out["merged_vids"] = out.pop("id"), out.pop("merged_ids")
        return {**out, **record.extra.to_json()}

    def record_from_json(self, data: Mapping[str, Any]) -> Record:
        record = Record.from_json({**data, "id": data["vid"], "merged_ids": data.get("merged_vids", [])})
        record.extra = ContactData(data)
        return record

    def load_json(self, data: Mapping[str, Any]) -> None:
        super().load_json(data)
        self._by_utk = {}
        for record in self.iter_live():
            if record.extra.utk:
                self._by_utk[record.extra.utk] = record.id
        for record in self._records.values():
            if record.merged_into is not None and record.extra.utk and record.extra.utk not in self._by_utk:
                self._by_utk[record.extra.utk] = self.canonical(record.id)
