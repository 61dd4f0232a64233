"""CRM objects of every type (``/crm/v3/objects/{type}``, ``/crm/objects/<YYYY-MM>/{type}``): contacts,
companies, deals, tickets, products, line items and custom objects, in one family.

``client.objects("companies")`` (or ``"0-2"``, ``"deals"``, a custom object's ``"2-1234567"``) returns an
:class:`ObjectsAPI`; ``client.contacts`` is its contacts subclass, which adds what only contacts have
(the v1 editions, e-mail rules, lifecycle feeds, utk, GDPR delete).

The centre piece is :meth:`ObjectsAPI.upsert`, the batch create-or-update the write operators use: it
chunks a record stream to the edition's batch limit, checks and converts values against the object's
property definitions when given a :class:`~airflow_provider_hubspot.client.property_types.PropertySchema`,
overlaps batches under the client's pacing and turns every answer into per-record outcomes. A batch
HubSpot rejects whole is narrowed down to the offending records (by the value HubSpot names, else by
splitting in halves) and the rest is resubmitted, so good records land and bad ones come back with
HubSpot's reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import quote

from airflow_provider_hubspot.client.batching import BatchOutcome, BatchRunner, Record, chunked, split_halves
from airflow_provider_hubspot.client.errors import (
    HubSpotConfigError,
    HubSpotConflictError,
    HubSpotError,
    HubSpotNotFoundError,
    HubSpotValidationError,
)
from airflow_provider_hubspot.client.family import ApiFamily, already_gone, settled
from airflow_provider_hubspot.client.paging import CURSOR, has_list, paginate
from airflow_provider_hubspot.client.property_types import PropertySchema, PropertyValueError
from airflow_provider_hubspot.client.transport import Response

MODERN_BATCH_LIMIT = 100
BATCH_GET_LIMIT = 100
DUPLICATE = "DUPLICATE_KEY"
#: Code of a record whose value its property cannot take (checked against the property definitions).
INVALID_VALUE = "INVALID_VALUE"
#: Code of a record naming a property the object type does not have (when other records do not).
UNKNOWN_PROPERTY = "PROPERTY_DOESNT_EXIST"
#: Count of extra batch requests made because HubSpot refused a whole batch over some of its records
#: (the rest is sent again without them): why a sync can take more requests than it has batches.
RESENT = "batches_resent"
#: HubSpot stores at most 65,536 characters in a property value.
MAX_VALUE_LENGTH = 65_536
#: HubSpot answers 400 to a search paged past this many results.
SEARCH_RESULT_CAP = 10_000
#: Names of the record id (``id_property=`` accepts each): ``hs_object_id``, ``id``, ``vid``, ``record_id``.
ID_ALIASES = frozenset({"hs_object_id", "id", "vid", "record_id"})
#: The standard object types by name, with their object type ids.
STANDARD_TYPES = {"contacts": "0-1", "companies": "0-2", "deals": "0-3", "tickets": "0-5", "products": "0-7",
                  "line_items": "0-8"}
_ALIASES = {**{v: k for k, v in STANDARD_TYPES.items()}, "contact": "contacts", "company": "companies",
            "deal": "deals", "ticket": "tickets", "product": "products", "line_item": "line_items",
            "lineitems": "line_items", "line-items": "line_items"}
_TYPE_RE = re.compile(r"^(?:[a-z][a-z0-9_]*|\d+-\d+|p\d+_[a-z0-9_]+)$", re.IGNORECASE)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


def object_type_name(object_type: str) -> str:
    """The name used in paths: standard objects by plural name (``0-2`` -> ``companies``), custom objects as
    given (their ``2-...`` object type id, or fully qualified name)."""
    text = str(object_type or "").strip()
    if not _TYPE_RE.match(text):
        raise HubSpotConfigError(
            f"object_type {object_type!r} is not an object type: use a name (contacts, companies, deals, tickets, "
            "products, line_items), an object type id (0-2) or a custom object's id (2-1234567).")
    lowered = text.lower()
    return _ALIASES.get(lowered, lowered if lowered in STANDARD_TYPES else text)


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


def path_id(value: Any) -> str:
    return quote(str(value), safe="@")


def is_record_id(id_property: str) -> bool:
    return id_property in ID_ALIASES


class ObjectsAPI(ApiFamily):
    """Calls on one CRM object type in the client's edition (``client.objects("companies")``).

    :param object_type: a name (``companies``), an object type id (``0-2``) or a custom object's id.
    """

    #: The internal name of "by record id" in :meth:`upsert` (contacts: ``vid``, as their v1 APIs say).
    record_id_name = "hs_object_id"

    def __init__(self, transport: Any, edition: Any, object_type: str = "contacts") -> None:
        super().__init__(transport, edition)
        self.object_type = object_type_name(object_type)
        self._schema: PropertySchema | None = None

    @property
    def _crm(self) -> str:
        return self.edition.crm_objects(self.object_type)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.object_type!r}, api_version={str(self.edition)!r})"

    # -- property definitions ----------------------------------------------------------------------

    def property_definitions(self) -> list[dict[str, Any]]:
        """Every property definition of the object type (``GET /crm/properties/{v}/{type}``). Retry: safe — a read."""
        path = self.edition.crm_properties(self.object_type)

        def fetch(cursor: dict[str, Any]) -> Any:
            return self.transport.request("GET", path, params=list(cursor.items()) or None,
                                          expect=has_list("results")).body

        return list(paginate(fetch, CURSOR, "results"))

    def schema(self, *, refresh: bool = False) -> PropertySchema:
        """The object's properties as a :class:`PropertySchema`, read once and cached on this family object
        (one client per task: once per task)."""
        if self._schema is None or refresh:
            self._schema = PropertySchema.from_definitions(self.object_type, self.property_definitions())
        return self._schema

    def unique_properties(self) -> list[str]:
        """Properties whose values HubSpot keeps unique (usable as ``id_property``), ``hs_object_id`` first."""
        return self.schema().unique_properties

    def check_id_property(self, id_property: str) -> None:
        """Refuse, before anything is sent, an ``id_property`` HubSpot would refuse (no unique values)."""
        try:
            self.schema().check_id_property(id_property)
        except PropertyValueError as exc:
            raise HubSpotConfigError(str(exc)) from None

    # -- single records ------------------------------------------------------------------------

    def create(self, properties: dict[str, Any], *, associations: Sequence[dict[str, Any]] = (),
               unique_property: str | None = None) -> dict[str, Any]:
        """Create one record (with ``associations`` in HubSpot's inline shape, if any).

        Retry: safe with ``unique_property`` (a property with unique values the record carries) — HubSpot
        refuses a second record with the same value, so when an attempt may have been applied before its
        answer was lost, the retry's 409 names the record that attempt created, which is returned. Without
        one, nothing makes the create unique: it is retried only after failures that prove HubSpot did not
        apply it (429, 503, connection refused); otherwise the error is raised and a record may exist.
        """
        unique = bool(unique_property) and bool(str(properties.get(str(unique_property)) or "").strip())

        def created_earlier(exc: HubSpotError) -> Response | None:
            if not (isinstance(exc, HubSpotConflictError) and exc.existing_id):
                return None
            return settled(self.get(exc.existing_id, properties=list(properties)))

        payload = {"properties": as_strings(properties), "associations": list(associations)}
        return self.transport.request("POST", self._crm, json_body=payload, idempotent=unique,
                                      reconcile=created_earlier if unique else None).body

    def get(self, record_id: str | int, *, by: str = "hs_object_id", properties: Sequence[str] | None = None,
            associations: Sequence[str] | None = None) -> dict[str, Any]:
        """Get one record by record id or a unique property (``by=``). Retry: safe — a read."""
        params = [("properties", ",".join(properties))] if properties else []
        if associations:
            params.append(("associations", ",".join(associations)))
        if not is_record_id(by):
            params.append(("idProperty", by))
        return self.transport.request("GET", f"{self._crm}/{path_id(record_id)}", params=params).body

    def update(self, record_id: str | int, properties: dict[str, Any], *, by: str = "hs_object_id") -> Any:
        """Update one record by record id or a unique property. Retry: safe — the same values again change nothing."""
        params = {} if is_record_id(by) else {"idProperty": by}
        payload = {"properties": as_strings(properties)}
        return self.transport.request("PATCH", f"{self._crm}/{path_id(record_id)}", params=params,
                                      json_body=payload).body

    def delete(self, record_id: str | int) -> Any:
        """Archive one record by record id (restorable for 90 days).

        Retry: safe — archiving twice archives once (HubSpot answers 204 either way).
        """
        return self.transport.request("DELETE", f"{self._crm}/{path_id(record_id)}", reconcile=already_gone).body

    def archive(self, record_ids: Iterable[str | int]) -> int:
        """Archive records by record id (``batch/archive``, 100 per request); returns the number of ids sent.

        HubSpot answers 204 whether or not an id existed. Retry: safe — archiving twice archives once.
        """
        sent = 0
        for chunk in chunked((str(i) for i in record_ids), MODERN_BATCH_LIMIT):
            body = {"inputs": [{"id": i} for i in chunk]}
            self.transport.request("POST", f"{self._crm}/batch/archive", json_body=body)
            sent += len(chunk)
        return sent

    def merge(self, primary_id: str | int, secondary_id: str | int) -> Any:
        """Merge ``secondary_id`` into ``primary_id`` (irreversible; contacts, companies, deals, tickets and
        custom objects). Returns the surviving record.

        Retry: safe — a merged record cannot be merged again; when the retry of an attempt that may have
        been applied is refused (400) and ``secondary_id`` now resolves to ``primary_id``, that attempt's
        success is returned.
        """

        def merged_earlier(exc: HubSpotError) -> Response | None:
            if not isinstance(exc, HubSpotValidationError):
                return None
            try:
                survivor = self.get(secondary_id)
            except HubSpotNotFoundError:
                return None
            return settled(survivor) if str(survivor.get("id")) == str(primary_id) else None

        body = {"primaryObjectId": str(primary_id), "objectIdToMerge": str(secondary_id)}
        return self.transport.request("POST", f"{self._crm}/merge", json_body=body, reconcile=merged_earlier).body

    def count(self) -> int:
        """How many records the object type holds (a one-result search's ``total``). Retry: safe — a read."""
        query = {"limit": 1, "after": "0", "filterGroups": [], "sorts": [], "properties": ["hs_object_id"]}
        body = self.transport.request("POST", f"{self._crm}/search", json_body=query, search=True,
                                      expect=lambda b: isinstance(b, dict)).body
        return int(body.get("total") or 0)

    # -- reads that return many records ----------------------------------------------------------

    def batch_get(
        self, ids: Iterable[str | int], *, by: str = "hs_object_id", properties: Sequence[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Yield the records for ``ids`` (by record id or a unique property; unknown ids are skipped),
        100 per request. Retry: safe — reads (the batch read is a POST that changes nothing)."""
        for chunk in chunked(ids, BATCH_GET_LIMIT):
            payload: dict[str, Any] = {"inputs": [{"id": str(value)} for value in chunk],
                                       "properties": list(properties or ()), "propertiesWithHistory": []}
            if not is_record_id(by):
                payload["idProperty"] = by
            body = self.transport.request("POST", f"{self._crm}/batch/read", json_body=payload,
                                          expect=has_list("results")).body
            yield from (body or {}).get("results", [])

    def batch_create(self, records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Create records, 100 per request (``{"properties": {...}, "associations": [...]}`` or bare properties);
        returns HubSpot's results in input order.

        Retry: not safe after a lost answer — nothing makes a create unique, so a batch is retried only
        after failures that prove HubSpot did not apply it. Prefer :meth:`upsert` with a unique ``id_property``.
        """
        out: list[dict[str, Any]] = []
        for chunk in chunked(records, MODERN_BATCH_LIMIT):
            inputs = []
            for index, item in enumerate(chunk):
                properties = item.get("properties", item) if isinstance(item, dict) else item
                inputs.append({"properties": as_strings(dict(properties)),
                               "associations": list(item.get("associations") or []) if "properties" in item else [],
                               "objectWriteTraceId": str(index)})
            body = self.transport.request("POST", f"{self._crm}/batch/create", json_body={"inputs": inputs},
                                          idempotent=False, expect=has_list("results")).body
            errors = body.get("errors") or []
            if errors:
                raise HubSpotValidationError(f"HubSpot refused {len(errors)} of {len(inputs)} records: "
                                             f"{errors[0].get('message')}", body=body)
            results = body.get("results") or []
            results.sort(key=lambda r: int(r.get("objectWriteTraceId") or 0))
            out.extend(results)
        return out

    def batch_update(self, updates: Iterable[tuple[str | int, dict[str, Any]]]) -> list[dict[str, Any]]:
        """Update records by record id, 100 per request: ``(id, properties)`` pairs; returns the results.

        Retry: safe — the same values again change nothing.
        """
        out: list[dict[str, Any]] = []
        for chunk in chunked(updates, MODERN_BATCH_LIMIT):
            inputs = [{"id": str(i), "properties": as_strings(p)} for i, p in chunk]
            body = self.transport.request("POST", f"{self._crm}/batch/update", json_body={"inputs": inputs},
                                          expect=has_list("results")).body
            out.extend(body.get("results") or [])
        return out

    def iter_all(self, *, properties: Sequence[str] | None = None, associations: Sequence[str] | None = None,
                 page_size: int = 100) -> Iterator[Any]:
        """Yield every record, one page at a time. Retry: safe — reads."""
        base: list[tuple[str, Any]] = [("limit", min(page_size, 100))]
        if properties:
            base.append(("properties", ",".join(properties)))
        if associations:
            base.append(("associations", ",".join(associations)))

        def fetch(cursor: dict[str, Any]) -> Any:
            return self.transport.request("GET", self._crm, params=base + list(cursor.items())).body

        return paginate(fetch, CURSOR, "results")

    def search(
        self,
        query: str | None = None,
        *,
        filter_groups: list[dict[str, Any]] | None = None,
        sorts: list[Any] | None = None,
        properties: Sequence[str] | None = None,
        page_size: int = 100,
    ) -> Iterator[Any]:
        """Search records; yields results page by page.

        HubSpot stops a query at 10,000 results. Without ``sorts`` the search is sorted by ``hs_object_id``
        and, each time the cursor reaches the cap, re-issued with ``hs_object_id`` greater than the last id
        seen (added to every filter group), so every match is read. With ``sorts`` it stops at the cap.
        Retry: safe — reads.
        """
        groups = [dict(g, filters=list(g.get("filters") or [])) for g in filter_groups or []]
        by_id = not sorts
        payload: dict[str, Any] = {"limit": min(page_size, 200), "filterGroups": groups,
                                   "sorts": sorts or [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
                                   "properties": list(properties or ())}
        if query:
            payload["query"] = query
        return self._search_pages(payload, by_id)

    def _search_pages(self, payload: dict[str, Any], by_id: bool) -> Iterator[Any]:
        groups = payload["filterGroups"]
        after, last_id = 0, None
        while True:
            if last_id is not None:
                above = {"propertyName": "hs_object_id", "operator": "GT", "value": str(last_id)}
                payload["filterGroups"] = [dict(g, filters=[*g["filters"], above]) for g in groups] or [
                    {"filters": [above]}]
            body = self.transport.request("POST", f"{self._crm}/search", json_body={**payload, "after": str(after)},
                                          search=True, expect=has_list("results")).body
            results = body.get("results") or []
            yield from results
            following = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not results:
                return
            seen = after + len(results)
            capped = int(body.get("total") or 0) > seen and (
                following is None or int(following) + payload["limit"] > SEARCH_RESULT_CAP)
            if capped:
                if not by_id:
                    return  # sorted by something else: HubSpot's cap is the end
                last_id, after = results[-1].get("id"), 0
                continue
            if following is None:
                return
            after = int(following)

    # -- batch create-or-update -------------------------------------------------------------------

    @property
    def batch_limit(self) -> int:
        return MODERN_BATCH_LIMIT

    def canonical_id_property(self, id_property: str) -> str:
        """``id_property`` with the record-id aliases folded into :attr:`record_id_name`."""
        return self.record_id_name if is_record_id(id_property) else id_property

    def upsert(
        self,
        records: Iterable[Record],
        *,
        id_property: str = "hs_object_id",
        batch_size: int | None = None,
        max_concurrency: int = 1,
        on_batch: Callable[[list[Record], BatchOutcome], None] | None = None,
        runner_hook: Callable[[BatchRunner[list[Record]]], None] | None = None,
        dry_run: bool = False,
        keep_rejections: bool = True,
        schema: PropertySchema | None = None,
    ) -> BatchOutcome:
        """Create or update records in batches; return per-record outcomes.

        Each record's ``data`` is a dict of HubSpot property names to values that includes the id
        property. Outcome counts: ``created``, ``updated``, ``upserted`` (contacts' v1 accepts a batch
        without saying which), ``duplicates``; rejections carry the reason.

        :param id_property: a property with unique values (``email``, a custom ``hasUniqueValue``
            property) to create-or-update by, or the record id (``hs_object_id``, ``id``) to update by.
        :param batch_size: records per request (default and maximum: the edition's batch limit).
        :param max_concurrency: batches in flight at once, all under the client's pacing.
        :param on_batch: called after each batch with its records and outcome (progress reporting).
        :param runner_hook: receives the :class:`BatchRunner` before it starts (to read ``unsent`` on
            failure).
        :param dry_run: validate and count (``would_write``) without sending anything.
        :param keep_rejections: keep rejected records in the returned outcome; ``False`` keeps only
            their count (pass ``on_batch`` to receive them as they happen), for flat memory.
        :param schema: the object's property definitions: values are converted (numbers, booleans, dates
            as epoch ms, enumeration labels to values...) and a record with a value its property cannot
            take is rejected with the reason (``INVALID_VALUE``) before sending; a property the object does
            not have rejects its record (``PROPERTY_DOESNT_EXIST``), or, when every record of the first
            batch has it, fails the run as a configuration error.

        Retry: safe — every batch is an upsert keyed by ``id_property`` (``batch/upsert``) or an update by
        record id (``batch/update``), so a batch resent after its answer was lost writes the same values
        again and never creates a second record. HubSpot no longer reports the records the lost attempt
        created as ``new``; they are counted ``created`` all the same when their ``createdAt`` is not older
        than that attempt (HubSpot's clock, from the answer's ``Date`` header, less one second).
        """
        id_property = self.canonical_id_property(id_property)
        self._check_edition(id_property)
        limit = self.batch_limit
        if batch_size is not None and batch_size < 1:
            raise HubSpotConfigError(f"batch_size must be at least 1, got {batch_size!r}")
        size = min(batch_size or limit, limit)
        send = self._sender()
        checked = BatchOutcome(keep_rejections=keep_rejections)  # what pre-send validation settled
        first = [True]

        def prepared() -> Iterator[list[Record]]:
            for chunk in chunked(records, size):
                outcome = BatchOutcome()
                if schema is not None:
                    chunk = _convert(chunk, schema, id_property, outcome, first_chunk=first[0])
                    first[0] = False
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

    def _check_edition(self, id_property: str) -> None:
        """Refuse what this edition cannot do before anything is sent (contacts' v1 narrows the keys)."""

    def _sender(self) -> Callable[[Sequence[Record], str, BatchOutcome], None]:
        return self._send_modern

    def _send_modern(self, batch: Sequence[Record], id_property: str, outcome: BatchOutcome) -> None:
        pending = list(batch)
        while pending:
            if is_record_id(id_property):
                inputs = [{"id": _record_id(r.data), "properties": as_strings(_without_ids(r.data)),
                           "objectWriteTraceId": _trace(r)} for r in pending]
                path = f"{self._crm}/batch/update"
            else:
                keep = id_property == "email"  # an e-mail is sent as written (its case), HubSpot keys it lower-case
                inputs = [{"id": str(r.data[id_property]), "idProperty": id_property,
                           "properties": as_strings(r.data if keep else _without(r.data, id_property)),
                           "objectWriteTraceId": _trace(r)}
                          for r in pending]
                path = f"{self._crm}/batch/upsert"
            try:
                response = self.transport.request("POST", path, json_body={"inputs": inputs},
                                                  expect=has_list("results"))
            except HubSpotValidationError as exc:
                raise_if_unknown_property_everywhere(exc, [], pending)
                culprit = _named_culprit(exc, pending, id_property)
                if culprit is None:
                    self._isolate(pending, id_property, outcome, exc, self._send_modern)
                    return
                outcome.reject(pending[culprit], exc.message, error_code(exc))
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
            outcome.reject(pending[0], exc.message, error_code(exc))
            return
        for half in split_halves(pending):
            outcome.count(RESENT)
            send(half, id_property, outcome)


# -- helpers ---------------------------------------------------------------------------------------


def _key(record: Record, id_property: str) -> str:
    if is_record_id(id_property):
        return _record_id(record.data) if isinstance(record.data, dict) else ""
    value = str(record.data.get(id_property, ""))
    return value.lower() if id_property == "email" else value


def _record_id(data: dict[str, Any]) -> str:
    """The record id of a record's data, under any of its names (``hs_object_id``, ``vid``, ``id``...)."""
    for name in ("hs_object_id", "vid", "id", "record_id"):
        value = data.get(name)
        if value not in (None, ""):
            return str(value).strip()
    return ""


def _without(data: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != name}


def _without_ids(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in ID_ALIASES}


def _convert(chunk: Sequence[Record], schema: PropertySchema, id_property: str, outcome: BatchOutcome, *,
             first_chunk: bool) -> list[Record]:
    """Records with their values checked and converted by the property definitions; the others rejected."""
    if first_chunk:
        data = [r.data for r in chunk if r.invalid is None and isinstance(r.data, dict)]
        everywhere = set.intersection(*(set(d) for d in data)) if data else set()
        unknown = schema.unknown(n for n in everywhere if not (is_record_id(id_property) and n in ID_ALIASES))
        if unknown:
            raise HubSpotConfigError(
                f"{', '.join(map(repr, unknown))} {'is not a property' if len(unknown) == 1 else 'are not properties'} "
                f"of {schema.object_type} in HubSpot, and every record has it. Create the property in HubSpot "
                "(Settings > Properties), rename the column with properties_map to an existing property, or leave "
                "it out. Nothing was sent.")
    out: list[Record] = []
    for record in chunk:
        if record.invalid is not None or not isinstance(record.data, dict):
            out.append(record)
            continue
        ids = {k: v for k, v in record.data.items() if is_record_id(id_property) and k in ID_ALIASES}
        values = {k: v for k, v in record.data.items() if k not in ids}
        unknown = schema.unknown(values)
        if unknown:
            outcome.reject(record, f"{unknown[0]!r} is not a property of {schema.object_type}", UNKNOWN_PROPERTY)
            continue
        try:
            converted = schema.convert(values)
        except PropertyValueError as exc:
            outcome.reject(record, str(exc), INVALID_VALUE)
            continue
        out.append(Record(record.index, {**ids, **converted}, extra=record.extra))
    return out


def _prepare(chunk: Sequence[Record], id_property: str, outcome: BatchOutcome) -> list[Record]:
    """Validate a chunk before sending: ids present, emails well-formed, repeated keys last-wins."""
    latest: dict[str, Record] = {}
    by_id = is_record_id(id_property)
    for record in chunk:
        if record.invalid is not None:
            outcome.reject(record, *record.invalid)
            continue
        if not isinstance(record.data, dict):
            raise HubSpotConfigError(
                f"Input record {record.index} is a {type(record.data).__name__}, expected a dict of "
                "HubSpot property names to values."
            )
        value = _record_id(record.data) if by_id else record.data.get(id_property)
        if value in (None, ""):
            outcome.reject(record, f"missing {id_property!r}: every record needs its id property",
                           "MISSING_ID")
            continue
        if id_property == "email" and not looks_like_email(str(value)):
            outcome.reject(record, f"Email address {value} is invalid", "INVALID_EMAIL")
            continue
        if by_id and not str(value).isdigit():
            outcome.reject(record, f"{id_property} {value!r} is not a numeric record id", "INVALID_ID")
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


def lower_keys(body: Any) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in body.items()} if isinstance(body, dict) else {}


def error_code(exc: HubSpotError) -> str | None:
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


def raise_if_unknown_property_everywhere(
    exc: HubSpotError, bad: Sequence[tuple[int, str, str | None]], pending: Sequence[Record]
) -> None:
    """An unknown property in every record is a configuration error, not bad data: fail at once."""
    names: set[str] = set()
    for detail in _embedded_results(exc):
        if detail.get("error") == "PROPERTY_DOESNT_EXIST" and detail.get("name"):
            names.add(str(detail["name"]))
    for failure in lower_keys(exc.body).get("failuremessages") or []:
        detail = lower_keys(lower_keys(failure).get("propertyvalidationresult"))
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
        if is_record_id(id_property):
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
    if is_record_id(id_property):
        return str(item.get("id", ""))
    value = str((item.get("properties") or {}).get(id_property, item.get("id", "")))
    return value.lower() if id_property == "email" else value
