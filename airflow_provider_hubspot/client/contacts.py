"""Contacts: v1 (``/contacts/v1/...``) and modern (``/crm/v3`` or ``/crm/objects/<YYYY-MM>``) calls.

The centre piece is :meth:`ContactsAPI.upsert`, the batch create-or-update used by the sync operator:
it chunks a record stream to the edition's batch limit, overlaps batches under the client's pacing
and turns every answer into per-record outcomes. A batch HubSpot rejects whole is narrowed down to
the offending records (v1: by ``failureMessages`` index; modern: by the value HubSpot names, else by
splitting in halves) and the rest is resubmitted, so good records land and bad ones come back with
HubSpot's reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from typing import Any
from urllib.parse import quote

from airflow_provider_hubspot.client.batching import (
    BatchOutcome,
    BatchRunner,
    Record,
    chunked,
    split_halves,
)
from airflow_provider_hubspot.client.errors import (
    HubSpotConfigError,
    HubSpotConflictError,
    HubSpotError,
    HubSpotNotFoundError,
    HubSpotValidationError,
)
from airflow_provider_hubspot.client.family import ApiFamily, already_gone, settled
from airflow_provider_hubspot.client.paging import CURSOR, OFFSET, TIME_OFFSET, VID_OFFSET, has_list, paginate
from airflow_provider_hubspot.client.transport import Response

V1_BATCH_LIMIT = 1000
MODERN_BATCH_LIMIT = 100
BATCH_GET_LIMIT = 100
DUPLICATE = "DUPLICATE_KEY"
#: Count of extra batch requests made because HubSpot refused a whole batch over some of its records
#: (the rest is sent again without them): why a sync can take more requests than it has batches.
RESENT = "batches_resent"
#: HubSpot stores at most 65,536 characters in a property value.
MAX_VALUE_LENGTH = 65_536
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_FEEDS = {
    "all": "/contacts/v1/lists/all/contacts/all",
    "recently_updated": "/contacts/v1/lists/recently_updated/contacts/recent",
    "recently_created": "/contacts/v1/lists/all/contacts/recent",
}


def looks_like_email(value: str) -> bool:
    """A syntax check only: HubSpot's own validation is stricter (it rejects e.g. ``x@y.comv``)."""
    return bool(_EMAIL_RE.match(value))


def as_strings(properties: dict[str, Any]) -> dict[str, str]:
    """Property values as the strings HubSpot's modern schemas declare (``None`` clears: ``""``)."""
    return {name: value if isinstance(value, str) else _string(value) for name, value in properties.items()}


def _string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def v1_properties(properties: dict[str, Any]) -> list[dict[str, Any]]:
    """``{"name": "v"}`` -> v1's ``[{"property": "name", "value": "v"}]``."""
    return [{"property": name, "value": value} for name, value in properties.items()]


def _path_id(value: Any) -> str:
    return quote(str(value), safe="@")


class ContactsAPI(ApiFamily):
    """Contact calls in the client's edition.

    """

    @property
    def _crm(self) -> str:
        return self.edition.crm_objects("contacts")

    # -- single records ------------------------------------------------------------------------

    def create(self, properties: dict[str, Any]) -> dict[str, Any]:
        """Create one contact (409 :class:`HubSpotConflictError` if the email exists).

        Retry: safe with an ``email`` — HubSpot refuses a second contact with the same e-mail, so when an
        attempt may have been applied before its answer was lost (connection dropped after sending, 5xx)
        the retry's 409 names the contact that attempt created, and that contact is returned as created.
        A 409 to the first attempt is raised as before. Without an ``email`` nothing makes the create
        unique: it is retried only after failures that prove HubSpot did not apply it (429, 503,
        connection refused); otherwise the error is raised and a contact may have been created.
        """
        has_email = bool(str(properties.get("email") or "").strip())

        def created_earlier(exc: HubSpotError) -> Response | None:
            if not (isinstance(exc, HubSpotConflictError) and exc.existing_id):
                return None
            return settled(self.get(exc.existing_id, properties=list(properties)))

        reconcile = created_earlier if has_email else None
        if self.edition.is_v1:
            body = {"properties": v1_properties(properties)}
            return self.transport.request("POST", "/contacts/v1/contact", json_body=body, idempotent=has_email,
                                          reconcile=reconcile).body
        payload = {"properties": as_strings(properties), "associations": []}  # date versions require associations
        return self.transport.request("POST", self._crm, json_body=payload, idempotent=has_email,
                                      reconcile=reconcile).body

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
        self, contact_id: str | int, *, by: str = "vid", properties: Sequence[str] | None = None
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
        params = [("properties", ",".join(properties))] if properties else []
        if by not in ("vid", "id", "hs_object_id"):
            params.append(("idProperty", by))
        return self.transport.request("GET", f"{self._crm}/{_path_id(contact_id)}", params=params).body

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
        params = {} if by in ("vid", "id") else {"idProperty": by}
        path = f"{self._crm}/{_path_id(contact_id)}"
        payload = {"properties": as_strings(properties)}
        return self.transport.request("PATCH", path, params=params, json_body=payload).body

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
        return self.transport.request("DELETE", f"{self._crm}/{_path_id(contact_id)}", reconcile=already_gone).body

    def archive(self, contact_ids: Iterable[str | int]) -> int:
        """Archive contacts by record id (modern: ``batch/archive``, 100 per request; v1: one delete each).

        Returns the number of ids sent. HubSpot answers 204 whether or not an id existed, so archiving
        is idempotent. Retry: safe — archiving twice archives once.
        """
        sent = 0
        for chunk in chunked((str(i) for i in contact_ids), MODERN_BATCH_LIMIT):
            if self.edition.is_v1:
                for contact_id in chunk:
                    with suppress(HubSpotNotFoundError):  # already gone
                        self.delete(contact_id)
            else:
                self.transport.request("POST", f"{self._crm}/batch/archive",
                                       json_body={"inputs": [{"id": i} for i in chunk]})
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
        """Merge ``secondary_id`` into ``primary_id`` (irreversible).

        Retry: safe — a merged contact cannot be merged again; when the retry of an attempt that may
        have been applied is refused (400) and ``secondary_id`` now resolves to ``primary_id``, that
        attempt's success is returned (v1 ``"SUCCESS"``, modern: the surviving contact).
        """

        def merged_earlier(exc: HubSpotError) -> Response | None:
            if not isinstance(exc, HubSpotValidationError):
                return None
            try:
                survivor = self.get(secondary_id)
            except HubSpotNotFoundError:
                return None
            if self.edition.is_v1:
                survivor_id = survivor.get("canonical-vid", survivor.get("vid"))
            else:
                survivor_id = survivor.get("id")
            if str(survivor_id) != str(primary_id):
                return None
            return settled("SUCCESS" if self.edition.is_v1 else survivor)

        if self.edition.is_v1:
            path = f"/contacts/v1/contact/merge-vids/{_path_id(primary_id)}/"
            return self.transport.request("POST", path, json_body={"vidToMerge": int(secondary_id)},
                                          reconcile=merged_earlier).body
        body = {"primaryObjectId": str(primary_id), "objectIdToMerge": str(secondary_id)}
        return self.transport.request("POST", f"{self._crm}/merge", json_body=body, reconcile=merged_earlier).body

    def count(self) -> int:
        """How many contacts the portal holds (modern: a one-result search's ``total``; v1: statistics).

        Retry: safe — a read.
        """
        if self.edition.is_v1:
            return int((self.statistics() or {}).get("contacts", 0))
        query = {"limit": 1, "after": "0", "filterGroups": [], "sorts": [], "properties": ["hs_object_id"]}
        body = self.transport.request("POST", f"{self._crm}/search", json_body=query, search=True,
                                      expect=lambda b: isinstance(b, dict)).body
        return int(body.get("total") or 0)

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
        for chunk in chunked(ids, BATCH_GET_LIMIT):
            if self.edition.is_v1:
                if by not in ("vid", "email", "utk"):
                    raise HubSpotConfigError(f"v1 batch reads are by vid, email or utk, not {by!r}.")
                params = [(by, value) for value in chunk] + [("property", p) for p in properties or ()]
                body = self.transport.request("GET", f"/contacts/v1/contact/{by}s/batch/", params=params,
                                              expect=lambda b: isinstance(b, dict)).body
                yield from (body or {}).values()
            else:
                payload: dict[str, Any] = {"inputs": [{"id": str(value)} for value in chunk],
                                           "properties": list(properties or ()), "propertiesWithHistory": []}
                if by not in ("vid", "id", "hs_object_id"):
                    payload["idProperty"] = by
                body = self.transport.request("POST", f"{self._crm}/batch/read", json_body=payload,
                                              expect=has_list("results")).body
                yield from (body or {}).get("results", [])

    def iter_all(self, *, properties: Sequence[str] | None = None, page_size: int = 100) -> Iterator[Any]:
        """Yield every contact, one page at a time. Retry: safe — reads."""
        if self.edition.is_v1:
            return self._feed("all", properties=properties, page_size=page_size)
        base: list[tuple[str, Any]] = [("limit", min(page_size, 100))]
        if properties:
            base.append(("properties", ",".join(properties)))

        def fetch(cursor: dict[str, Any]) -> Any:
            return self.transport.request("GET", self._crm, params=base + list(cursor.items())).body

        return paginate(fetch, CURSOR, "results")

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
        ``filter_groups`` and ``sorts`` and stop at HubSpot's 10,000-result depth. Retry: safe — reads.
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
        # The date versions require every field but query (empty lists mean none; properties [] the defaults).
        payload: dict[str, Any] = {"limit": min(page_size, 200), "after": "0", "filterGroups": filter_groups or [],
                                   "sorts": sorts or [], "properties": list(properties or ())}
        if query:
            payload["query"] = query

        def fetch(cursor: dict[str, Any]) -> Any:
            if cursor.get("after") is not None and int(cursor["after"]) >= 10_000:
                return {"results": []}  # HubSpot answers 400 past 10,000 results
            return self.transport.request("POST", f"{self._crm}/search", json_body={**payload, **cursor},
                                          search=True, expect=has_list("results")).body

        return paginate(fetch, CURSOR, "results")

    # -- batch create-or-update -------------------------------------------------------------------

    def upsert(
        self,
        records: Iterable[Record],
        *,
        id_property: str = "email",
        batch_size: int | None = None,
        max_concurrency: int = 1,
        on_batch: Callable[[list[Record], BatchOutcome], None] | None = None,
        runner_hook: Callable[[BatchRunner[list[Record]]], None] | None = None,
        dry_run: bool = False,
        keep_rejections: bool = True,
    ) -> BatchOutcome:
        """Create or update contacts in batches; return per-record outcomes.

        Each record's ``data`` is a dict of HubSpot property names to string values that includes
        the id property. Outcome counts: ``created``, ``updated``, ``upserted`` (v1 accepts a batch
        without saying which), ``duplicates``; rejections carry HubSpot's reason.

        :param id_property: ``email`` (default), ``vid`` (record id) or a unique property (modern only).
        :param batch_size: records per request (default: 1,000 for v1, 100 for modern editions).
        :param max_concurrency: batches in flight at once, all under the client's pacing.
        :param on_batch: called after each batch with its records and outcome (progress reporting).
        :param runner_hook: receives the :class:`BatchRunner` before it starts (to read ``unsent`` on
            failure).
        :param dry_run: validate and count (``would_write``) without sending anything.
        :param keep_rejections: keep rejected records in the returned outcome; ``False`` keeps only
            their count (pass ``on_batch`` to receive them as they happen), for flat memory.

        Retry: safe — every batch is an upsert keyed by ``id_property`` (v1 batch, modern
        ``batch/upsert``) or an update by record id (``batch/update``), so a batch resent after its
        answer was lost writes the same values again and never creates a second contact. HubSpot no
        longer reports the contacts the lost attempt created as ``new``; they are counted ``created``
        all the same when their ``createdAt`` is not older than that attempt (HubSpot's clock, from
        the answer's ``Date`` header, less one second for its resolution).
        """
        id_property = "vid" if id_property in ("vid", "id", "hs_object_id", "record_id") else id_property
        if self.edition.is_v1 and id_property not in ("email", "vid"):
            raise HubSpotConfigError(
                f"The v1 batch endpoint identifies contacts by email or vid only, not {id_property!r}; "
                "use a modern api_version (e.g. '2026-09') to upsert by a unique property."
            )
        limit = V1_BATCH_LIMIT if self.edition.is_v1 else MODERN_BATCH_LIMIT
        if batch_size is not None and batch_size < 1:
            raise HubSpotConfigError(f"batch_size must be at least 1, got {batch_size!r}")
        size = min(batch_size or limit, limit)
        send = self._send_v1 if self.edition.is_v1 else self._send_modern
        checked = BatchOutcome(keep_rejections=keep_rejections)  # what pre-send validation settled

        def prepared() -> Iterator[list[Record]]:
            for chunk in chunked(records, size):
                outcome = BatchOutcome()
                batch = _prepare(chunk, id_property, outcome)
                checked.merge(outcome)
                if on_batch and (outcome.rejections or outcome.counts):
                    on_batch([], outcome)
                if batch:
                    yield batch

        def run_one(batch: list[Record]) -> BatchOutcome:
            outcome = BatchOutcome()
            if dry_run:
                outcome.count("would_write", len(batch))
            else:
                send(batch, id_property, outcome)
            return outcome

        runner: BatchRunner[list[Record]] = BatchRunner(
            run_one,
            max_concurrency=max_concurrency,
            keys=lambda batch: (_key(r, id_property) for r in batch),
            keep_rejections=keep_rejections,
        )
        if runner_hook:
            runner_hook(runner)
        total = runner.run(prepared(), on_done=on_batch)
        total.merge(checked)
        return total

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
                _raise_if_unknown_property_everywhere(exc, bad, pending)
                for position, reason, code in bad:
                    outcome.reject(pending[position], reason, code)
                rejected = {position for position, _, _ in bad}
                pending = [r for i, r in enumerate(pending) if i not in rejected]
                if pending:
                    outcome.count(RESENT)
                continue
            outcome.count("upserted", len(pending))
            return

    def _send_modern(self, batch: Sequence[Record], id_property: str, outcome: BatchOutcome) -> None:
        pending = list(batch)
        while pending:
            by_email = id_property == "email"
            if id_property == "vid":
                inputs = [{"id": str(r.data["vid"]), "properties": as_strings(_without(r.data, "vid")),
                           "objectWriteTraceId": _trace(r)} for r in pending]
                path = f"{self._crm}/batch/update"
            else:
                inputs = [{"id": str(r.data[id_property]), "idProperty": id_property,
                           "properties": as_strings(r.data if by_email else _without(r.data, id_property)),
                           "objectWriteTraceId": _trace(r)}
                          for r in pending]
                path = f"{self._crm}/batch/upsert"
            try:
                response = self.transport.request("POST", path, json_body={"inputs": inputs},
                                                  expect=has_list("results"))
            except HubSpotValidationError as exc:
                _raise_if_unknown_property_everywhere(exc, [], pending)
                culprit = _named_culprit(exc, pending, id_property)
                if culprit is None:
                    self._isolate(pending, id_property, outcome, exc, self._send_modern)
                    return
                outcome.reject(pending[culprit], exc.message, _error_code(exc))
                del pending[culprit]
                if pending:
                    outcome.count(RESENT)
                continue
            _count_modern_results(response.body, pending, id_property, outcome,
                                  created_since_ms=response.server_ms_before_lost_attempt())
            return

    def _isolate(
        self,
        pending: list[Record],
        id_property: str,
        outcome: BatchOutcome,
        exc: HubSpotError,
        send: Callable[[Sequence[Record], str, BatchOutcome], None],
    ) -> None:
        """A batch was rejected whole without saying which record: split until each bad one is alone."""
        if len(pending) == 1:
            outcome.reject(pending[0], exc.message, _error_code(exc))
            return
        for half in split_halves(pending):
            outcome.count(RESENT)
            send(half, id_property, outcome)


# -- helpers ---------------------------------------------------------------------------------------


def _key(record: Record, id_property: str) -> str:
    value = str(record.data.get(id_property, ""))
    return value.lower() if id_property == "email" else value


def _without(data: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != name}


def _prepare(chunk: Sequence[Record], id_property: str, outcome: BatchOutcome) -> list[Record]:
    """Validate a chunk before sending: ids present, emails well-formed, repeated keys last-wins."""
    latest: dict[str, Record] = {}
    for record in chunk:
        if record.invalid is not None:
            outcome.reject(record, *record.invalid)
            continue
        if not isinstance(record.data, dict):
            raise HubSpotConfigError(
                f"Input record {record.index} is a {type(record.data).__name__}, expected a dict of "
                "HubSpot property names to values."
            )
        value = record.data.get(id_property)
        if value in (None, ""):
            outcome.reject(record, f"missing {id_property!r}: every record needs its id property",
                           "MISSING_ID")
            continue
        if id_property == "email" and not looks_like_email(str(value)):
            outcome.reject(record, f"Email address {value} is invalid", "INVALID_EMAIL")
            continue
        if id_property == "vid" and not str(value).isdigit():
            outcome.reject(record, f"vid {value!r} is not a numeric record id", "INVALID_ID")
            continue
        too_long = next((n for n, v in record.data.items() if isinstance(v, str) and len(v) > MAX_VALUE_LENGTH), None)
        if too_long is not None:
            outcome.reject(record, f"value of {too_long!r} is {len(record.data[too_long]):,} characters; HubSpot "
                                   f"stores at most {MAX_VALUE_LENGTH:,}", "VALUE_TOO_LONG")
            continue
        key = _key(record, id_property)
        previous = latest.pop(key, None)
        if previous is not None:
            outcome.reject(previous, f"superseded by input record {record.index} with the same "
                                     f"{id_property} (last one wins)", DUPLICATE)
            outcome.count("duplicates")
        latest[key] = record
    return sorted(latest.values(), key=lambda r: r.index)


def _v1_batch_item(record: Record, id_property: str) -> dict[str, Any]:
    if id_property == "vid":
        return {"vid": int(record.data["vid"]), "properties": v1_properties(_without(record.data, "vid"))}
    return {"email": record.data["email"], "properties": v1_properties(record.data)}


def _lower_keys(body: Any) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in body.items()} if isinstance(body, dict) else {}


def _v1_failures(exc: HubSpotError, pending: Sequence[Record]) -> list[tuple[int, str, str | None]]:
    """Map a v1 batch 400 (``failureMessages`` by 0-based index, ``invalidEmails``) to records."""
    body = _lower_keys(exc.body)
    found: dict[int, tuple[str, str | None]] = {}
    for failure in body.get("failuremessages") or []:
        failure = _lower_keys(failure)
        index = failure.get("index")
        if not isinstance(index, int) or not 0 <= index < len(pending):
            continue
        detail = _lower_keys(failure.get("propertyvalidationresult") or failure.get("error"))
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


def _error_code(exc: HubSpotError) -> str | None:
    for detail in _embedded_results(exc):
        if detail.get("error"):
            return str(detail["error"])
    return exc.category


def _embedded_results(exc: HubSpotError) -> list[dict[str, Any]]:
    """v3 validation errors embed a JSON array in the message: ``Property values were not valid: [...]``."""
    start = exc.message.find("[")
    if start < 0:
        return []
    try:
        parsed = json.loads(exc.message[start:])
    except ValueError:
        return []
    return [item for item in parsed if isinstance(item, dict)] if isinstance(parsed, list) else []


def _named_culprit(exc: HubSpotError, pending: Sequence[Record], id_property: str) -> int | None:
    """The position of the one record a whole-batch rejection names (by its id value), if any."""
    if len(pending) == 1:
        return 0
    text = exc.message.lower()
    hits = [i for i, r in enumerate(pending) if _key(r, id_property) and _key(r, id_property).lower() in text]
    if len(hits) == 1:
        return hits[0]
    return None


def _raise_if_unknown_property_everywhere(
    exc: HubSpotError, bad: Sequence[tuple[int, str, str | None]], pending: Sequence[Record]
) -> None:
    """An unknown property in every record is a configuration error, not bad data: fail at once."""
    names: set[str] = set()
    for detail in _embedded_results(exc):
        if detail.get("error") == "PROPERTY_DOESNT_EXIST" and detail.get("name"):
            names.add(str(detail["name"]))
    for failure in _lower_keys(exc.body).get("failuremessages") or []:
        detail = _lower_keys(_lower_keys(failure).get("propertyvalidationresult"))
        if detail.get("error") == "PROPERTY_DOESNT_EXIST" and detail.get("name"):
            names.add(str(detail["name"]))
    if not names:
        match = re.search(r'Property \\?"([^"\\]+)\\?" does not exist', exc.message)
        if match:
            names.add(match.group(1))
    for name in sorted(names):
        if all(name in r.data for r in pending) and (not bad or len(bad) >= len(pending)):
            raise HubSpotValidationError(
                f"Property {name!r} does not exist in HubSpot. Create it in HubSpot (Settings > "
                "Properties), or rename the column with properties_map to an existing property.",
                status=exc.status,
                category="PROPERTY_DOESNT_EXIST",
                correlation_id=exc.correlation_id,
                request=exc.request,
            )


def _count_modern_results(
    body: dict[str, Any], pending: Sequence[Record], id_property: str, outcome: BatchOutcome,
    *, created_since_ms: int | None = None,
) -> None:
    """Count created/updated from ``results`` and reject the inputs named in ``errors``.

    The same for every version: a 207 Multi-Status (v3, 2026-03) and a 200 with ``errors`` /
    ``numErrors`` (2026-09) are read alike. An error names its input by the ``objectWriteTraceId`` each
    input carries (the record's index), else by the id value in its ``context``.

    :param created_since_ms: set when the batch was resent after an attempt whose answer was lost:
        a result HubSpot calls not new but created at or after this moment (HubSpot's clock) was
        created by that attempt, and counts as ``created``.
    """
    failed: set[int] = set()
    keys = {_key(r, id_property): i for i, r in enumerate(pending)}
    traces = {_trace(r): i for i, r in enumerate(pending)}
    for error in body.get("errors") or []:
        context = error.get("context") or {}
        traced = [str(v) for v in context.get("objectWriteTraceId") or [] if str(v) in traces]
        if traced:
            positions = [traces[v] for v in traced]
        else:
            ids = [str(v) for values in context.values() if isinstance(values, list) for v in values]
            positions = [keys[k] for k in (v.lower() if id_property == "email" else v for v in ids) if k in keys]
        for position in positions:
            if position not in failed:
                failed.add(position)
                outcome.reject(pending[position], str(error.get("message") or "rejected by HubSpot"),
                               error.get("category"))
    if body.get("errors") and not failed:
        raise HubSpotValidationError(
            f"HubSpot reported {len(body['errors'])} batch error(s) that name no input: "
            f"{body['errors'][0].get('message')}"
        )
    results = body.get("results") or []
    for item in results:
        found = traces.get(str(item.get("objectWriteTraceId")), keys.get(_result_key(item, id_property)))
        if found is not None and item.get("id") is not None:
            outcome.ids[pending[found].index] = str(item["id"])
        if id_property == "vid":
            outcome.count("updated")
        elif item.get("new") or _created_since(item, created_since_ms):
            outcome.count("created")
        else:
            outcome.count("updated")
    missing = len(pending) - len(failed) - len(results)
    if missing > 0:  # never let a record vanish: name the ones HubSpot did not answer for
        answered = {_result_key(item, id_property) for item in results}
        answered_traces = {str(item["objectWriteTraceId"]) for item in results if item.get("objectWriteTraceId")}
        unanswered = [r for i, r in enumerate(pending) if i not in failed and _key(r, id_property) not in answered
                      and _trace(r) not in answered_traces]
        for record in unanswered[:missing] if len(unanswered) >= missing else unanswered:
            outcome.reject(record, "HubSpot accepted the batch but returned no result for this record",
                           "NO_RESULT")


def _trace(record: Record) -> str:
    """The ``objectWriteTraceId`` of a record's batch input: its input index, unique within the run."""
    return str(record.index)


def _created_since(item: dict[str, Any], since_ms: int | None) -> bool:
    if since_ms is None or not item.get("createdAt"):
        return False
    from datetime import datetime

    try:
        created = datetime.fromisoformat(str(item["createdAt"]).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return False
    return created * 1000 >= since_ms


def _result_key(item: dict[str, Any], id_property: str) -> str:
    if id_property == "vid":
        return str(item.get("id", ""))
    value = str((item.get("properties") or {}).get(id_property, item.get("id", "")))
    return value.lower() if id_property == "email" else value
