"""Timeline events: v1 (``/integrations/v1/{appId}/timeline``), v3 and date-based
(``/integrators/timeline/<version>``), plus v1 event types (developer key).

Events are immutable and their ids unique per type, so sending an event again is answered with
400 (v1) / 409 (2026-03) / a 207 error (v3). :meth:`TimelineAPI.create_events` counts those as
``already_existed``: a retried task never duplicates events.

Retries: an event with an ``id`` (and every write keyed by a name HubSpot keeps unique) is safe to
resend; an event without one (v3 lets HubSpot pick the id), an event type and an event template are
resent only after failures that prove HubSpot did not apply them. Every write says why in its docstring.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from airflow_provider_hubspot.client.batching import BatchOutcome, BatchRunner, Record, chunked
from airflow_provider_hubspot.client.errors import (
    HubSpotConfigError,
    HubSpotConflictError,
    HubSpotError,
    HubSpotValidationError,
)
from airflow_provider_hubspot.client.family import ApiFamily, already_gone, settled
from airflow_provider_hubspot.client.paging import CURSOR, HAS_MORE, has_list, paginate
from airflow_provider_hubspot.client.transport import Response

BATCH_LIMIT = 100
TEMPLATES_BASE = "/integrators/timeline/v3"
_EXISTS_WORDS = ("already exists", "already been used", "already used", "duplicate", "already exist")


_INDEX_RE = re.compile(r"(?:inputs|eventWrappers)\[(\d+)\]")


def _named_event(exc: HubSpotError, pending: Sequence[Record]) -> int | None:
    """The position of the event a whole-batch rejection names (``inputs[N]``, or its id), if any."""
    match = _INDEX_RE.search(exc.message)
    if match and int(match.group(1)) < len(pending):
        return int(match.group(1))
    hits = [i for i, r in enumerate(pending) if str(r.data.get("id")) and f"'{r.data.get('id')}'" in exc.message]
    return hits[0] if len(hits) == 1 else None


def _strip_index(message: str) -> str:
    return re.sub(r"(?:inputs|eventWrappers)\[\d+\]\.?", "", message).lstrip(": ")


def _already_exists(exc: HubSpotError) -> bool:
    text = exc.message.lower()
    return isinstance(exc, HubSpotConflictError) or any(word in text for word in _EXISTS_WORDS)


class TimelineAPI(ApiFamily):
    """Timeline calls in the client's edition.

    :param app_id: the HubSpot app id (v1 paths and event-type management).
    """

    def _v1(self, app_id: str | int | None) -> str:
        if app_id in (None, ""):
            raise HubSpotConfigError("v1 timeline calls need the app id (app_id=) of the HubSpot app that owns "
                                     "the event type.")
        return f"/integrations/v1/{app_id}/timeline"

    @property
    def type_key(self) -> str:
        """The event field naming its type in this edition."""
        if self.edition.is_v1:
            return "eventTypeId"
        return "eventTemplateId" if self.edition.timeline_version == "v3" else "eventTypeName"

    # -- events ----------------------------------------------------------------------------------

    def create_event(self, event: dict[str, Any], *, app_id: str | int | None = None) -> Any:
        """Create one event (in this edition's shape).

        Retry: safe with an ``id`` — HubSpot refuses a second event with the same id, so when an attempt may
        have been applied before its answer was lost, the retry's "already exists" is answered as that
        attempt's success (v1: ``None``; v3: the event read back; date-based editions, which cannot read an
        event: the event as sent). Without an ``id`` (v3 lets HubSpot pick one) it is resent only after
        failures that prove HubSpot did not apply it.
        """
        path = f"{self._v1(app_id)}/event" if self.edition.is_v1 else f"{self.edition.timeline}/events"

        def created_earlier(exc: HubSpotError) -> Response | None:
            if not (isinstance(exc, (HubSpotValidationError, HubSpotConflictError)) and _already_exists(exc)):
                return None
            if self.edition.is_v1:
                return settled(None, 204)
            if self.edition.timeline_version == "v3":
                return settled(self.get_event(event.get(self.type_key, ""), str(event["id"])), 201)
            return settled(dict(event), 201)

        has_id = event.get("id") not in (None, "")
        return self.transport.request("POST", path, json_body=event, idempotent=has_id,
                                      reconcile=created_earlier if has_id else None).body

    def get_event(self, event_type: str | int, event_id: str, *, app_id: str | int | None = None) -> Any:
        """Get one event by its type (id / template id) and id. Retry: safe — a read."""
        if self.edition.is_v1:
            path = f"{self._v1(app_id)}/event/{event_type}/{event_id}"
        elif self.edition.timeline_version == "v3":
            path = f"{self.edition.timeline}/events/{event_type}/{event_id}"
        else:
            raise HubSpotConfigError(f"HubSpot's {self.edition.timeline_version} timeline API has no endpoint to read "
                                     "one event; use api_version='v3' (event templates) or 'v1' to read events back.")
        return self.transport.request("GET", path).body

    def create_events(
        self,
        events: Iterable[Record],
        *,
        app_id: str | int | None = None,
        batch_size: int = BATCH_LIMIT,
        max_concurrency: int = 1,
        on_batch: Any = None,
        keep_rejections: bool = True,
    ) -> BatchOutcome:
        """Create events in batches; counts ``created`` / ``already_existed``, rejects the rest with reasons.

        Each record's ``data`` is one event in this edition's shape, including its ``id``.

        Retry: safe when every event has an ``id`` (HubSpot refuses a used id, and a batch refused for that
        is settled event by event as ``created`` / ``already_existed``, never as rejected). A batch whose
        answer was lost after HubSpot applied it is resent; when HubSpot then says its events exist,
        they are counted ``created`` — the outcome of the lost attempt. Events without an
        ``id`` are resent only after failures that prove HubSpot did not apply them.
        """
        if self.edition.is_v1:
            self._v1(app_id)
        size = max(1, min(batch_size, BATCH_LIMIT))

        def send(batch: list[Record]) -> BatchOutcome:
            outcome = BatchOutcome()
            self._send_batch(batch, app_id, outcome)
            return outcome

        runner: BatchRunner[list[Record]] = BatchRunner(
            send, max_concurrency=max_concurrency, keep_rejections=keep_rejections,
            keys=lambda batch: (str(r.data.get("id")) for r in batch))
        return runner.run(chunked(events, size), on_done=on_batch)

    def _send_batch(self, batch: Sequence[Record], app_id: str | int | None, outcome: BatchOutcome) -> None:
        """Send a batch; when HubSpot rejects it whole, settle the event it names and resend the rest.

        A rejection that names no event, or says an event already exists (a retried task), settles the
        remaining events one by one so each gets its own answer.
        """
        pending = list(batch)
        while pending:
            events = [r.data for r in pending]
            keyed = all(event.get("id") not in (None, "") for event in events)
            try:
                if self.edition.is_v1:
                    self.transport.request("POST", f"{self._v1(app_id)}/event/batch",
                                           json_body={"eventWrappers": events}, idempotent=keyed)
                elif self.edition.timeline_version == "v3":
                    response = self.transport.request("POST", f"{self.edition.timeline}/events/batch/create",
                                                      json_body={"inputs": events}, idempotent=keyed)
                    body = response.body or {}
                    if body.get("errors"):  # 207: the others were created
                        self._settle_partial(pending, body, app_id, outcome,
                                             lost_attempt=response.lost_attempt_age is not None)
                        return
                else:
                    self.transport.request("POST", f"{self.edition.timeline}/events/batch",
                                           json_body={"inputs": events}, idempotent=keyed)
            except (HubSpotValidationError, HubSpotConflictError) as exc:
                if _already_exists(exc) and exc.lost_attempt_age is not None:
                    outcome.count("created", len(pending))  # the lost attempt created the batch
                    return
                position = _named_event(exc, pending)
                if position is None or _already_exists(exc):
                    self._one_by_one(pending, app_id, outcome)
                    return
                outcome.reject(pending.pop(position), _strip_index(exc.message), exc.category)
                continue
            outcome.count("created", len(pending))
            return

    def _settle_partial(self, batch: Sequence[Record], body: dict[str, Any], app_id: str | int | None,
                        outcome: BatchOutcome, *, lost_attempt: bool = False) -> None:
        """A v3 batch that partly failed: its ``results`` were created; each event an error names by its id is
        ``already_existed`` (a used id; ``created`` when the batch was resent after an attempt whose answer
        was lost, which created it) or rejected with HubSpot's reason; events neither answers for are
        settled one by one."""
        created = {str(item.get("id")) for item in body.get("results") or [] if item.get("id") is not None}
        errors: dict[str, dict[str, Any]] = {}
        for error in body.get("errors") or []:
            for values in (error.get("context") or {}).values():
                for value in values if isinstance(values, list) else []:
                    errors.setdefault(str(value), error)
        unsettled: list[Record] = []
        for record in batch:
            event_id = str(record.data.get("id") or "")
            error = errors.get(event_id) if event_id else None
            if event_id and event_id in created:
                outcome.count("created")
            elif error is not None:
                message = str(error.get("message") or "rejected by HubSpot")
                if error.get("category") == "CONFLICT" or any(word in message.lower() for word in _EXISTS_WORDS):
                    outcome.count("created" if lost_attempt else "already_existed")
                else:
                    outcome.reject(record, message, error.get("category"))
            else:
                unsettled.append(record)
        if unsettled:
            self._one_by_one(unsettled, app_id, outcome)

    def _one_by_one(self, batch: Sequence[Record], app_id: str | int | None, outcome: BatchOutcome) -> None:
        for record in batch:
            try:
                self.create_event(record.data, app_id=app_id)
            except (HubSpotValidationError, HubSpotConflictError) as exc:
                if _already_exists(exc):
                    outcome.count("already_existed")
                else:
                    outcome.reject(record, exc.message, exc.category)
                continue
            outcome.count("created")

    # -- v1 event types (developer key) -------------------------------------------------------------

    def list_event_types(self, app_id: str | int, *, user_id: str | int | None = None) -> Any:
        """The app's v1 event types. Retry: safe — a read."""
        params = {"userId": user_id} if user_id else None
        return self.transport.request("GET", f"{self._v1(app_id)}/event-types", params=params, developer=True).body

    def create_event_type(self, app_id: str | int, event_type: dict[str, Any], *,
                          user_id: str | int | None = None) -> Any:
        """Create a v1 event type.

        Retry: only when HubSpot provably did not receive it (429, 503, connection refused): each create
        makes a new type, so a create whose answer was lost is raised (check :meth:`list_event_types`)
        rather than repeated.
        """
        params = {"userId": user_id} if user_id else None
        body = {"applicationId": int(app_id), **event_type}
        return self.transport.request("POST", f"{self._v1(app_id)}/event-types", params=params, json_body=body,
                                      developer=True, idempotent=False).body

    def get_event_type(self, app_id: str | int, event_type_id: str | int) -> Any:
        """One v1 event type. Retry: safe — a read."""
        return self.transport.request("GET", f"{self._v1(app_id)}/event-types/{event_type_id}", developer=True).body

    def update_event_type(self, app_id: str | int, event_type_id: str | int, changes: dict[str, Any]) -> Any:
        """Change a v1 event type. Retry: safe — setting the same values again changes nothing."""
        return self.transport.request("PUT", f"{self._v1(app_id)}/event-types/{event_type_id}", json_body=changes,
                                      developer=True).body

    def delete_event_type(self, app_id: str | int, event_type_id: str | int) -> None:
        """Delete a v1 event type. Retry: safe — a 404 after an attempt that may have been applied is that
        attempt's deletion."""
        self.transport.request("DELETE", f"{self._v1(app_id)}/event-types/{event_type_id}", developer=True,
                               reconcile=already_gone)

    def iter_event_types(self, app_id: str | int, *, user_id: str | int | None = None) -> Iterator[dict[str, Any]]:
        """Yield the app's v1 event types (a generator over :meth:`list_event_types`' endpoint). Retry: safe."""
        path = f"{self._v1(app_id)}/event-types"
        params = {"userId": user_id} if user_id else None

        def fetch(cursor: dict[str, Any]) -> Any:
            return self.transport.request("GET", path, params=params, developer=True, expect=has_list("")).body

        return paginate(fetch, HAS_MORE, "")

    # -- v1 event type properties (developer key) -------------------------------------------------

    def iter_event_type_properties(self, app_id: str | int, event_type_id: str | int) -> Iterator[dict[str, Any]]:
        """Yield the custom properties of a v1 event type. Retry: safe — a read."""
        path = f"{self._v1(app_id)}/event-types/{event_type_id}/properties"

        def fetch(cursor: dict[str, Any]) -> Any:
            return self.transport.request("GET", path, developer=True, expect=has_list("")).body

        return paginate(fetch, HAS_MORE, "")

    def create_event_type_property(self, app_id: str | int, event_type_id: str | int,
                                   prop: dict[str, Any]) -> dict[str, Any]:
        """Add a property ``{"name", "label", "propertyType", "objectProperty"?, "options"?}`` to a v1 event type
        (the names ``log`` and ``lookup`` are reserved by HubSpot).

        Retry: safe — HubSpot refuses a second property with the same name, so when an attempt may have been
        applied before its answer was lost, the retry's "already exists" is answered with that property.
        """

        def created_earlier(exc: HubSpotError) -> Response | None:
            if not (isinstance(exc, (HubSpotValidationError, HubSpotConflictError)) and _already_exists(exc)):
                return None
            found = next((p for p in self.iter_event_type_properties(app_id, event_type_id)
                          if p.get("name") == prop.get("name")), None)
            return None if found is None else settled(found)

        return self.transport.request("POST", f"{self._v1(app_id)}/event-types/{event_type_id}/properties",
                                      json_body=prop, developer=True, expect=lambda b: isinstance(b, dict),
                                      reconcile=created_earlier).body

    def update_event_type_property(self, app_id: str | int, event_type_id: str | int, property_id: str | int,
                                   changes: dict[str, Any]) -> dict[str, Any]:
        """Change a v1 event type property (``label``, ``propertyType``, ``options``...; the name cannot change).
        An unknown ``property_id`` raises :class:`HubSpotNotFoundError`. Retry: safe — the same change again
        changes nothing."""
        body = {**changes, "id": int(property_id), "eventTypeId": int(event_type_id)}
        return self.transport.request("PUT", f"{self._v1(app_id)}/event-types/{event_type_id}/properties",
                                      json_body=body, developer=True, expect=lambda b: isinstance(b, dict)).body

    def delete_event_type_property(self, app_id: str | int, event_type_id: str | int, property_id: str | int) -> None:
        """Delete a property of a v1 event type. Retry: safe — a 404 after an attempt that may have been
        applied is that attempt's deletion."""
        self.transport.request("DELETE", f"{self._v1(app_id)}/event-types/{event_type_id}/properties/{property_id}",
                               developer=True, reconcile=already_gone)

    # -- v3 event templates and tokens (developer key) -----------------------------------------------
    # HubSpot publishes templates only under /integrators/timeline/v3 (hubspot-api.md §7.2: the date-based
    # timeline API has events and project event types, no templates), so these use v3 in every edition.

    @staticmethod
    def _templates(app_id: str | int) -> str:
        if app_id in (None, ""):
            raise HubSpotConfigError("Event template calls need the app id (app_id=) of the HubSpot app.")
        return f"{TEMPLATES_BASE}/{app_id}/event-templates"

    def iter_event_templates(self, app_id: str | int) -> Iterator[dict[str, Any]]:
        """Yield the app's event templates (each with its ``tokens``). Retry: safe — a read."""
        path = self._templates(app_id)

        def fetch(cursor: dict[str, Any]) -> Any:
            return self.transport.request("GET", path, developer=True, expect=has_list("results")).body

        return paginate(fetch, CURSOR, "results")

    def create_event_template(self, app_id: str | int, template: dict[str, Any]) -> dict[str, Any]:
        """Create an event template ``{"name", "headerTemplate", "detailTemplate", "objectType", "tokens"?}``.

        Retry: only when HubSpot provably did not receive it (429, 503, connection refused): each create
        makes a new template, so a create whose answer was lost is raised (check
        :meth:`iter_event_templates`) rather than repeated.
        """
        return self.transport.request("POST", self._templates(app_id), json_body=template, developer=True,
                                      expect=lambda b: isinstance(b, dict), idempotent=False).body

    def get_event_template(self, app_id: str | int, template_id: str | int) -> dict[str, Any]:
        """One event template. Retry: safe — a read."""
        return self.transport.request("GET", f"{self._templates(app_id)}/{template_id}", developer=True,
                                      expect=lambda b: isinstance(b, dict)).body

    def update_event_template(self, app_id: str | int, template_id: str | int,
                              template: dict[str, Any]) -> dict[str, Any]:
        """Replace an event template's name / templates (and its tokens when ``tokens`` is given).

        Retry: safe — replacing with the same content again changes nothing.
        """
        return self.transport.request("PUT", f"{self._templates(app_id)}/{template_id}", json_body=template,
                                      developer=True, expect=lambda b: isinstance(b, dict)).body

    def delete_event_template(self, app_id: str | int, template_id: str | int) -> None:
        """Delete an event template. Retry: safe — a 404 after an attempt that may have been applied is that
        attempt's deletion."""
        self.transport.request("DELETE", f"{self._templates(app_id)}/{template_id}", developer=True,
                               reconcile=already_gone)

    def create_template_token(self, app_id: str | int, template_id: str | int,
                              token: dict[str, Any]) -> dict[str, Any]:
        """Add a token ``{"name", "label", "type": date|enumeration|number|string, "options"?,
        "objectPropertyName"?}`` to an event template.

        Retry: safe — HubSpot refuses a second token with the same name (409), so when an attempt may have
        been applied before its answer was lost, the retry's 409 is answered with the template's token.
        """

        def created_earlier(exc: HubSpotError) -> Response | None:
            if not isinstance(exc, HubSpotConflictError):
                return None
            tokens = self.get_event_template(app_id, template_id).get("tokens") or []
            found = next((t for t in tokens if t.get("name") == token.get("name")), None)
            return None if found is None else settled(found)

        return self.transport.request("POST", f"{self._templates(app_id)}/{template_id}/tokens", json_body=token,
                                      developer=True, expect=lambda b: isinstance(b, dict),
                                      reconcile=created_earlier).body

    def update_template_token(self, app_id: str | int, template_id: str | int, token_name: str,
                              changes: dict[str, Any]) -> dict[str, Any]:
        """Change a token's label, options or ``objectPropertyName`` (its name and type identify it).

        Retry: safe — the same change again changes nothing.
        """
        return self.transport.request("PUT", f"{self._templates(app_id)}/{template_id}/tokens/{token_name}",
                                      json_body={**changes, "name": token_name}, developer=True,
                                      expect=lambda b: isinstance(b, dict)).body

    def delete_template_token(self, app_id: str | int, template_id: str | int, token_name: str) -> None:
        """Delete a token of an event template. Retry: safe — a 404 after an attempt that may have been applied
        is that attempt's deletion."""
        self.transport.request("DELETE", f"{self._templates(app_id)}/{template_id}/tokens/{token_name}",
                               developer=True, reconcile=already_gone)
