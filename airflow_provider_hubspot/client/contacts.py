"""Contacts: the CRM objects family (:mod:`~airflow_provider_hubspot.client.objects`) plus what only contacts
have — HubSpot's v1 contact APIs (``/contacts/v1/...``, for ``api_version="v1"``), e-mail rules, the
recently-updated / recently-created feeds, utk look-ups, statistics and GDPR delete.

The batch create-or-update is :meth:`ObjectsAPI.upsert` (one engine for every object type); contacts
add the v1 batch endpoint (``/contacts/v1/contact/batch/``, 1,000 per request, keyed by e-mail or vid),
whose whole-batch 400 is narrowed down by ``failureMessages`` index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from typing import Any

from airflow_provider_hubspot.client.batching import BatchOutcome, Record, chunked
from airflow_provider_hubspot.client.errors import (
    HubSpotConfigError,
    HubSpotConflictError,
    HubSpotError,
    HubSpotNotFoundError,
    HubSpotValidationError,
)
from airflow_provider_hubspot.client.family import already_gone, settled
from airflow_provider_hubspot.client.objects import (
    BATCH_GET_LIMIT,
    DUPLICATE,
    MAX_VALUE_LENGTH,
    MODERN_BATCH_LIMIT,
    RESENT,
    ObjectsAPI,
    _record_id,
    _without_ids,
    as_strings,
    looks_like_email,
    lower_keys,
    raise_if_unknown_property_everywhere,
)
from airflow_provider_hubspot.client.objects import path_id as _path_id
from airflow_provider_hubspot.client.paging import OFFSET, TIME_OFFSET, VID_OFFSET, has_list, paginate
from airflow_provider_hubspot.client.transport import Response

__all__ = ["BATCH_GET_LIMIT", "DUPLICATE", "MAX_VALUE_LENGTH", "MODERN_BATCH_LIMIT", "RESENT", "V1_BATCH_LIMIT",
           "ContactsAPI", "as_strings", "looks_like_email", "v1_properties"]

V1_BATCH_LIMIT = 1000
_FEEDS = {
    "all": "/contacts/v1/lists/all/contacts/all",
    "recently_updated": "/contacts/v1/lists/recently_updated/contacts/recent",
    "recently_created": "/contacts/v1/lists/all/contacts/recent",
}


def v1_properties(properties: dict[str, Any]) -> list[dict[str, Any]]:
    """``{"name": "v"}`` -> v1's ``[{"property": "name", "value": "v"}]``."""
    return [{"property": name, "value": value} for name, value in properties.items()]


class ContactsAPI(ObjectsAPI):
    """Contacts in the client's edition: the CRM objects family for ``contacts`` plus v1 and contact-only calls."""

    record_id_name = "vid"

    def __init__(self, transport: Any, edition: Any) -> None:
        super().__init__(transport, edition, "contacts")

    # -- single records ------------------------------------------------------------------------

    def create(self, properties: dict[str, Any], *, associations: Sequence[dict[str, Any]] = (),
               unique_property: str | None = "email") -> dict[str, Any]:
        """Create one contact (409 :class:`HubSpotConflictError` if the email exists).

        Retry: safe with an ``email`` — HubSpot refuses a second contact with the same e-mail, so when an
        attempt may have been applied before its answer was lost (connection dropped after sending, 5xx)
        the retry's 409 names the contact that attempt created, and that contact is returned as created.
        A 409 to the first attempt is raised as before. Without an ``email`` nothing makes the create
        unique: it is retried only after failures that prove HubSpot did not apply it (429, 503,
        connection refused); otherwise the error is raised and a contact may have been created.
        """
        if not self.edition.is_v1:
            return super().create(properties, associations=associations, unique_property=unique_property)
        has_email = bool(str(properties.get("email") or "").strip())

        def created_earlier(exc: HubSpotError) -> Response | None:
            if not (isinstance(exc, HubSpotConflictError) and exc.existing_id):
                return None
            return settled(self.get(exc.existing_id, properties=list(properties)))

        body = {"properties": v1_properties(properties)}
        return self.transport.request("POST", "/contacts/v1/contact", json_body=body, idempotent=has_email,
                                      reconcile=created_earlier if has_email else None).body

    def create_or_update_by_email(self, email: str, properties: dict[str, Any]) -> dict[str, Any]:
        """v1 createOrUpdate: returns ``{"vid": ..., "isNew": bool}`` (modern editions: one upsert).

        Retry: safe — an upsert keyed by e-mail (a retry after a lost answer says ``isNew: false``).
        """
        if self.edition.is_v1:
            path = f"/contacts/v1/contact/createOrUpdate/email/{_path_id(email)}/"
            body = {"properties": v1_properties(properties)}
            return self.transport.request("POST", path, json_body=body).body
        inputs = [{"id": email, "idProperty": "email", "properties": as_strings(properties)}]
        result = self.transport.request("POST", f"{self._crm}/batch/upsert", json_body={"inputs": inputs})
        item = (result.body.get("results") or [{}])[0]
        return {"vid": item.get("id"), "isNew": bool(item.get("new"))}

    def get(
        self, contact_id: str | int, *, by: str = "vid", properties: Sequence[str] | None = None,
        associations: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Get one contact by ``vid`` (record id), ``email``, ``utk`` (v1) or a unique property.

        Retry: safe — a read.
        """
        if self.edition.is_v1:
            if by not in ("vid", "email", "utk"):
                raise HubSpotConfigError(f"v1 contacts are read by vid, email or utk, not {by!r}.")
            params = [("property", p) for p in properties or ()]
            path = f"/contacts/v1/contact/{by}/{_path_id(contact_id)}/profile"
            return self.transport.request("GET", path, params=params).body
        return super().get(contact_id, by=by, properties=properties, associations=associations)

    def update(self, contact_id: str | int, properties: dict[str, Any], *, by: str = "vid") -> Any:
        """Update one contact by ``vid`` (record id) or ``email``.

        Retry: safe — setting the same values again changes nothing.
        """
        if self.edition.is_v1:
            if by not in ("vid", "email"):
                raise HubSpotConfigError(f"v1 contacts are updated by vid or email, not {by!r}.")
            path = f"/contacts/v1/contact/{by}/{_path_id(contact_id)}/profile"
            body = {"properties": v1_properties(properties)}
            return self.transport.request("POST", path, json_body=body).body
        return super().update(contact_id, properties, by=by)

    def delete(self, contact_id: str | int) -> Any:
        """Delete (v1) or archive (modern; restorable for 90 days) one contact by vid / record id.

        Retry: safe — deleting twice deletes once; v1's 404 to a retry whose earlier attempt may have
        been applied is answered as that attempt's ``{"vid", "deleted": true, "reason": "OK"}``
        (modern archive answers 204 either way).
        """
        if self.edition.is_v1:
            def deleted_earlier(exc: HubSpotError) -> Response | None:
                if not isinstance(exc, HubSpotNotFoundError):
                    return None
                return settled({"vid": int(contact_id), "deleted": True, "reason": "OK"})

            return self.transport.request("DELETE", f"/contacts/v1/contact/vid/{_path_id(contact_id)}",
                                          reconcile=deleted_earlier).body
        return super().delete(contact_id)

    def archive(self, contact_ids: Iterable[str | int]) -> int:
        """Archive contacts by record id (modern: ``batch/archive``, 100 per request; v1: one delete each).

        Returns the number of ids sent. HubSpot answers 204 whether or not an id existed, so archiving
        is idempotent. Retry: safe — archiving twice archives once.
        """
        if not self.edition.is_v1:
            return super().archive(contact_ids)
        sent = 0
        for chunk in chunked((str(i) for i in contact_ids), MODERN_BATCH_LIMIT):
            for contact_id in chunk:
                with suppress(HubSpotNotFoundError):  # already gone
                    self.delete(contact_id)
            sent += len(chunk)
        return sent

    def gdpr_delete(self, contact_id: str | int, *, by: str = "vid") -> None:
        """Permanently delete one contact and its associated content (HubSpot's GDPR delete), by record id
        (``vid``) or ``email``. By e-mail, HubSpot blocklists the address even when no contact has it.

        HubSpot publishes GDPR delete for contacts only, and only in its modern APIs: a ``v1`` edition
        calls the v3 endpoint. Retry: safe — by e-mail HubSpot answers 204 again; by record id the 404
        to a retry whose earlier attempt may have been applied is that attempt's deletion.
        """
        if by not in ("vid", "id", "hs_object_id", "email"):
            raise HubSpotConfigError(f"GDPR delete identifies a contact by record id (vid) or email, not {by!r}.")
        body: dict[str, Any] = {"objectId": str(contact_id)}
        if by == "email":
            body["idProperty"] = "email"
        path = f"{self.edition.crm_objects('contacts')}/gdpr-delete"
        self.transport.request("POST", path, json_body=body, reconcile=already_gone)

    def merge(self, primary_id: str | int, secondary_id: str | int) -> Any:
        """Merge ``secondary_id`` into ``primary_id`` (irreversible); modern editions: :meth:`ObjectsAPI.merge`.

        Retry: safe — a merged contact cannot be merged again; when the retry of an attempt that may
        have been applied is refused (400) and ``secondary_id`` now resolves to ``primary_id``, that
        attempt's success is returned (v1 ``"SUCCESS"``, modern: the surviving contact).
        """
        if not self.edition.is_v1:
            return super().merge(primary_id, secondary_id)

        def merged_earlier(exc: HubSpotError) -> Response | None:
            if not isinstance(exc, HubSpotValidationError):
                return None
            try:
                survivor = self.get(secondary_id)
            except HubSpotNotFoundError:
                return None
            survivor_id = survivor.get("canonical-vid", survivor.get("vid"))
            return settled("SUCCESS") if str(survivor_id) == str(primary_id) else None

        path = f"/contacts/v1/contact/merge-vids/{_path_id(primary_id)}/"
        return self.transport.request("POST", path, json_body={"vidToMerge": int(secondary_id)},
                                      reconcile=merged_earlier).body

    def count(self) -> int:
        """How many contacts the portal holds (modern: a one-result search's ``total``; v1: statistics).

        Retry: safe — a read.
        """
        if self.edition.is_v1:
            return int((self.statistics() or {}).get("contacts", 0))
        return super().count()

    def statistics(self) -> Any:
        """v1 contact statistics (``/contacts/v1/contacts/statistics``). Retry: safe — a read."""
        return self.transport.request("GET", "/contacts/v1/contacts/statistics").body

    # -- reads that return many records ----------------------------------------------------------

    def batch_get(
        self, ids: Iterable[str | int], *, by: str = "vid", properties: Sequence[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yield the contacts for ``ids`` (unknown ids are skipped), 100 per request.

        v1 reads by ``vid``, ``email`` or ``utk``; modern editions by record id or any unique
        property (``email``...). Retry: safe — reads (the modern batch read is a POST that changes nothing).
        """
        if not self.edition.is_v1:
            yield from super().batch_get(ids, by=by, properties=properties)
            return
        if by not in ("vid", "email", "utk"):
            raise HubSpotConfigError(f"v1 batch reads are by vid, email or utk, not {by!r}.")
        for chunk in chunked(ids, BATCH_GET_LIMIT):
            params = [(by, value) for value in chunk] + [("property", p) for p in properties or ()]
            body = self.transport.request("GET", f"/contacts/v1/contact/{by}s/batch/", params=params,
                                          expect=lambda b: isinstance(b, dict)).body
            yield from (body or {}).values()

    def iter_all(self, *, properties: Sequence[str] | None = None, associations: Sequence[str] | None = None,
                 page_size: int = 100) -> Iterator[Any]:
        """Yield every contact, one page at a time. Retry: safe — reads."""
        if self.edition.is_v1:
            return self._feed("all", properties=properties, page_size=page_size)
        return super().iter_all(properties=properties, associations=associations, page_size=page_size)

    def iter_recent(
        self,
        kind: str = "recently_updated",
        *,
        since_ms: int | None = None,
        properties: Sequence[str] | None = None,
        form_submission_mode: str | None = None,
        page_size: int = 100,
    ) -> Iterator[Any]:
        """Yield recently updated (or ``recently_created``) contacts, newest first.

        :param since_ms: stop at the first contact older than this epoch-ms watermark.
        :param form_submission_mode: v1 ``formSubmissionMode`` (``all`` to see every submission).
        """
        if kind not in ("recently_updated", "recently_created"):
            raise HubSpotConfigError(f"kind must be 'recently_updated' or 'recently_created', not {kind!r}")
        if self.edition.is_v1:
            stamp = "lastmodifieddate" if kind == "recently_updated" else "createdate"

            def older(contact: Any) -> bool:
                if since_ms is None:
                    return False
                value = (contact.get("properties", {}).get(stamp) or {}).get("value")
                when = int(value) if value not in (None, "") else contact.get("addedAt", 0)
                return int(when) < since_ms

            return self._feed(kind, properties=properties, page_size=page_size, stop=older,
                              form_submission_mode=form_submission_mode)
        stamp = "lastmodifieddate" if kind == "recently_updated" else "createdate"
        filters = [{"propertyName": stamp, "operator": "GTE", "value": str(since_ms)}] if since_ms else []
        return self.search(
            filter_groups=[{"filters": filters}] if filters else None,
            sorts=[{"propertyName": stamp, "direction": "DESCENDING"}],
            properties=properties,
        )

    def _feed(
        self,
        feed: str,
        *,
        properties: Sequence[str] | None,
        page_size: int,
        stop: Callable[[Any], bool] | None = None,
        form_submission_mode: str | None = None,
    ) -> Iterator[Any]:
        base: list[tuple[str, Any]] = [("count", min(page_size, 100))]
        base += [("property", p) for p in properties or ()]
        if form_submission_mode:
            base.append(("formSubmissionMode", form_submission_mode))
        style = VID_OFFSET if feed == "all" else TIME_OFFSET

        def fetch(cursor: dict[str, Any]) -> Any:
            return self.transport.request("GET", _FEEDS[feed], params=base + list(cursor.items()),
                                          expect=has_list("contacts")).body

        return paginate(fetch, style, "contacts", stop=stop)

    def search(
        self,
        query: str | None = None,
        *,
        filter_groups: list[dict[str, Any]] | None = None,
        sorts: list[Any] | None = None,
        properties: Sequence[str] | None = None,
        page_size: int = 100,
    ) -> Iterator[Any]:
        """Search contacts; yields results page by page.

        v1 supports only ``query`` (``/contacts/v1/search/query``); modern editions also take
        ``filter_groups`` and ``sorts`` (see :meth:`ObjectsAPI.search`: without sorts, past HubSpot's
        10,000-result cap). Retry: safe — reads.
        """
        if self.edition.is_v1:
            if filter_groups or sorts:
                raise HubSpotConfigError("v1 contact search supports only a text query; use a modern "
                                         "api_version for filter groups and sorts.")
            params: list[tuple[str, Any]] = [("q", query or ""), ("count", min(page_size, 100))]
            params += [("property", p) for p in properties or ()]

            def fetch_v1(cursor: dict[str, Any]) -> Any:
                return self.transport.request("GET", "/contacts/v1/search/query",
                                              params=params + list(cursor.items())).body

            return paginate(fetch_v1, OFFSET, "contacts")
        return super().search(query, filter_groups=filter_groups, sorts=sorts, properties=properties,
                              page_size=page_size)

    # -- batch create-or-update (v1) -------------------------------------------------------------------

    def upsert(self, records: Iterable[Record], *, id_property: str = "email", **options: Any) -> BatchOutcome:
        """Create or update contacts in batches (see :meth:`ObjectsAPI.upsert`), by ``email`` (default),
        ``vid`` (record id) or a unique property (modern editions). v1 editions send 1,000 per request to
        ``/contacts/v1/contact/batch/`` and count them ``upserted`` (v1 does not say which were new).

        Retry: safe — every batch is keyed by ``id_property`` (v1 batch, modern ``batch/upsert``) or an update
        by record id (``batch/update``), so a batch resent after its answer was lost never creates a second
        contact.
        """
        return super().upsert(records, id_property=id_property, **options)

    @property
    def batch_limit(self) -> int:
        return V1_BATCH_LIMIT if self.edition.is_v1 else MODERN_BATCH_LIMIT

    def _check_edition(self, id_property: str) -> None:
        if self.edition.is_v1 and id_property not in ("email", "vid"):
            raise HubSpotConfigError(
                f"The v1 batch endpoint identifies contacts by email or vid only, not {id_property!r}; "
                "use a modern api_version (e.g. '2026-09') to upsert by a unique property."
            )

    def _sender(self) -> Callable[[Sequence[Record], str, BatchOutcome], None]:
        return self._send_v1 if self.edition.is_v1 else self._send_modern

    def _send_v1(self, batch: Sequence[Record], id_property: str, outcome: BatchOutcome) -> None:
        pending = list(batch)
        while pending:
            payload = [_v1_batch_item(r, id_property) for r in pending]
            try:
                self.transport.request("POST", "/contacts/v1/contact/batch/", json_body=payload)
            except HubSpotValidationError as exc:
                bad = _v1_failures(exc, pending)
                if not bad:
                    self._isolate(pending, id_property, outcome, exc, self._send_v1)
                    return
                raise_if_unknown_property_everywhere(exc, bad, pending)
                for position, reason, code in bad:
                    outcome.reject(pending[position], reason, code)
                rejected = {position for position, _, _ in bad}
                pending = [r for i, r in enumerate(pending) if i not in rejected]
                if pending:
                    outcome.count(RESENT)
                continue
            outcome.count("upserted", len(pending))
            return


def _v1_batch_item(record: Record, id_property: str) -> dict[str, Any]:
    if id_property == "vid":
        return {"vid": int(_record_id(record.data)), "properties": v1_properties(_without_ids(record.data))}
    return {"email": record.data["email"], "properties": v1_properties(record.data)}


def _v1_failures(exc: HubSpotError, pending: Sequence[Record]) -> list[tuple[int, str, str | None]]:
    """Map a v1 batch 400 (``failureMessages`` by 0-based index, ``invalidEmails``) to records."""
    body = lower_keys(exc.body)
    found: dict[int, tuple[str, str | None]] = {}
    for failure in body.get("failuremessages") or []:
        failure = lower_keys(failure)
        index = failure.get("index")
        if not isinstance(index, int) or not 0 <= index < len(pending):
            continue
        detail = lower_keys(failure.get("propertyvalidationresult") or failure.get("error"))
        reason = str(detail.get("message") or exc.message)
        code = detail.get("error") if isinstance(detail.get("error"), str) else None
        if code is None and "email" in reason.lower():
            code = "INVALID_EMAIL"
        if index in found:
            reason = f"{found[index][0]}; {reason}"
        found[index] = (reason, code or found.get(index, (None, None))[1])
    invalid = {str(e).lower() for e in body.get("invalidemails") or []}
    for position, record in enumerate(pending):
        email = str(record.data.get("email", "")).lower()
        if email and email in invalid and position not in found:
            found[position] = (f"Email address {record.data['email']} is invalid", "INVALID_EMAIL")
    return [(position, reason, code) for position, (reason, code) in sorted(found.items())]
