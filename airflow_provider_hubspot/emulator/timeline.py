"""Timeline events: v1 (``/integrations/v1/{appId}/timeline``), v3 (``/integrators/timeline/v3``)
and date-based (``/integrators/timeline/{YYYY-MM}``).

Event types (v1) and event templates (v3) are managed with the developer API key
(``?hapikey=``); events are written with a Bearer token carrying the ``timeline`` scope.

Emulator choices where HubSpot's behaviour is UNCERTAIN:

* v1 ``POST .../event`` and ``.../event/batch`` answer 204. Since 2024-12-02 v1 events are
  immutable: a used event id (per event type) answers 400 ``"An event with id '<id>' already
  exists for event type <type>; timeline events are immutable"``. A batch is all-or-nothing
  (at most 100 ``eventWrappers``; the first failing wrapper decides the answer, its index is in the
  message). Unknown ``eventTypeId`` → 404. ``PUT`` answers 405.
* An ``email`` that matches no contact creates the contact (v1, v3 and date-based); an unknown
  ``objectId`` or ``utk`` answers 400.
* v3 ``POST /events`` answers 201 with the event; a used id → 409 ``CONFLICT``; an unknown template
  → 404; a token the template does not define → 400. ``batch/create`` (at most 500 inputs) answers
  201, or 207 with one error per failing input (duplicates, unknown template, bad identity) while
  the others are created. Tokens with ``objectPropertyName`` are copied onto the contact.
* Date-based ``POST /events`` answers 201 with the occurrence; ``eventTypeName`` must have been
  registered with ``state.register_event_type_name`` (else 400); a used id → 409. ``/events/batch``
  (at most 500 inputs) is all-or-nothing: 400 for validation errors, 409 if any id is used (or
  repeated in the batch); success is 200 with ``{"status": "COMPLETE", "results": [...]}``.
* v1 property names ``log`` and ``lookup`` are reserved (400).
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from . import bodies
from ._util import PORTAL_ID, iso_from_ms, parse_timestamp_ms
from .objects import UniqueTaken
from .router import (
    TIMELINE,
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
from .state import EmulatorState
from .versions import PUBLISHED

V1_BATCH_MAX = 100
MODERN_BATCH_MAX = 500
TEMPLATES_PER_APP = 750
V1_RESERVED_KEYS = {"id", "eventTypeId", "objectId", "email", "utk", "timestamp", "extraData", "timelineIFrame"}
RESERVED_PROPERTY_NAMES = {"log", "lookup"}


class _Identity:
    __slots__ = ("email", "vid")

    def __init__(self, vid: int | None, email: str | None) -> None:
        self.vid = vid
        self.email = email


def _identity(state: EmulatorState, event: dict[str, Any]) -> _Identity | str:
    """Resolve objectId / email / utk; returns an error message on failure."""
    contacts = state.contact_type
    object_id = event.get("objectId")
    email = event.get("email")
    utk = event.get("utk")
    if object_id not in (None, ""):
        c = contacts.live(object_id)
        if c is None:
            return f"Contact {object_id} does not exist"
        return _Identity(c.id, c.properties.get("email"))
    if email not in (None, ""):
        text = str(email).strip()
        if not state.is_valid_email(text):
            return f"Email address {email} is invalid"
        c = contacts.by_email(text)
        return _Identity(c.id if c is not None else None, text.lower())
    if utk not in (None, ""):
        c = contacts.by_utk(str(utk))
        if c is None:
            return f"No contact found for utk {utk}"
        return _Identity(c.id, c.properties.get("email"))
    return "An objectId, email or utk is required to identify the contact"


def _materialise(state: EmulatorState, ident: _Identity) -> int:
    """Create the contact for an e-mail identity if needed; return its vid."""
    contacts = state.contact_type
    c = contacts.live(ident.vid) if ident.vid is not None else None
    if c is None:
        assert ident.email is not None
        c = contacts.by_email(ident.email) or contacts.create({"email": ident.email})
    return int(c.id)


def _timestamp(value: Any, default: int) -> int | None:
    if value in (None, ""):
        return default
    return parse_timestamp_ms(value)


# ---------------------------------------------------------------------- v1 events
def _v1_event_type(state: EmulatorState, app_id: str, type_id: Any) -> dict[str, Any] | None:
    record = state.event_types.get(str(type_id))
    if record is None or record["edition"] != "v1" or record["app_id"] != str(app_id):
        return None
    return record


def _v1_check(
    req: Request, event: Any, pending: set[tuple[str, str]]
) -> tuple[dict[str, Any], _Identity, int] | ApiError:
    state = req.state
    app_id = req.params["appId"]
    if not isinstance(event, dict):
        return v1_error(400, "Each event must be a JSON object")
    if event.get("id") in (None, ""):
        return v1_error(400, "Event id is required")
    type_id = event.get("eventTypeId")
    if type_id in (None, ""):
        return v1_error(400, "eventTypeId is required")
    if _v1_event_type(state, app_id, type_id) is None:
        return v1_error(404, f"Event type {type_id} not found for application {app_id}")
    key = (str(type_id), str(event["id"]))
    if ("v1", *key) in state.events or key in pending:
        return v1_error(
            400,
            f"An event with id '{event['id']}' already exists for event type {type_id}; timeline events are immutable",
        )
    ident = _identity(state, event)
    if isinstance(ident, str):
        return v1_error(400, ident)
    ts = _timestamp(event.get("timestamp"), state.now_ms())
    if ts is None:
        return v1_error(400, f"Invalid timestamp {event.get('timestamp')!r}")
    pending.add(key)
    return event, ident, ts


def _store(state: EmulatorState, key: tuple[str, str, str], event: dict[str, Any], ident: _Identity, ts: int,
           properties: dict[str, Any], *, edition: str, app_id: str | None,
           copied: dict[str, str] | None = None) -> dict[str, Any]:
    """Store an event under ``key`` (edition family, type, id) on its contact, created for an e-mail identity
    if needed; ``copied`` are validated contact properties the event writes to the contact."""
    vid = _materialise(state, ident)
    c = state.contact_type.live(vid)
    if copied and c is not None:
        with contextlib.suppress(UniqueTaken):
            state.contact_type.update(c, copied)
    record = {
        "edition": edition,
        "type": key[1],
        "id": key[2],
        "vid": vid,
        "email": c.properties.get("email") if c is not None else ident.email,
        "timestamp": ts,
        "properties": properties,
        "extra_data": event.get("extraData"),
        "iframe": event.get("timelineIFrame"),
        "app_id": app_id,
    }
    state.add_event(key[0], key[1], record)
    return record


def _v1_store(req: Request, event: dict[str, Any], ident: _Identity, ts: int) -> None:
    properties = {k: v for k, v in event.items() if k not in V1_RESERVED_KEYS}
    _store(req.state, ("v1", str(event["eventTypeId"]), str(event["id"])), event, ident, ts, properties,
           edition="v1", app_id=req.params["appId"])


def v1_create_event(req: Request) -> Response:
    result = _v1_check(req, req.json(), set())
    if isinstance(result, ApiError):
        raise result
    _v1_store(req, *result)
    return empty(204)


def v1_batch_events(req: Request) -> Response:
    body = req.json_object()
    wrappers = body.get("eventWrappers")
    if not isinstance(wrappers, list):
        raise v1_error(400, "eventWrappers must be an array of events")
    if len(wrappers) > V1_BATCH_MAX:
        raise v1_error(400, f"At most {V1_BATCH_MAX} events per batch; got {len(wrappers)}")
    pending: set[tuple[str, str]] = set()
    checked = []
    for index, event in enumerate(wrappers):
        result = _v1_check(req, event, pending)
        if isinstance(result, ApiError):
            result.body["message"] = f"eventWrappers[{index}]: {result.body['message']}"
            raise result
        checked.append(result)
    for item in checked:
        _v1_store(req, *item)
    return empty(204)


def v1_get_event(req: Request) -> Response:
    state = req.state
    record = state.events.get(("v1", req.params["eventTypeId"], req.params["eventId"]))
    if record is None or record["app_id"] != req.params["appId"]:
        raise v1_error(404, "resource not found")
    return json_response(
        {
            **record["properties"],
            "id": record["id"],
            "eventTypeId": int(record["type"]) if record["type"].isdigit() else record["type"],
            "objectId": record["vid"],
            "objectType": "CONTACT",
            "email": record["email"],
            "timestamp": record["timestamp"],
            "extraData": record["extra_data"],
            "portalId": PORTAL_ID,
            "applicationId": int(record["app_id"]) if record["app_id"].isdigit() else record["app_id"],
        }
    )


# ---------------------------------------------------------------------- v1 event types (developer key)
def _v1_type_json(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": int(record["id"]),
        "name": record["name"],
        "headerTemplate": record["headerTemplate"],
        "detailTemplate": record["detailTemplate"],
        "objectType": record["objectType"],
        "applicationId": int(record["app_id"]) if record["app_id"].isdigit() else record["app_id"],
    }


def _v1_type_or_404(req: Request) -> dict[str, Any]:
    record = _v1_event_type(req.state, req.params["appId"], req.params["eventTypeId"])
    if record is None:
        raise v1_error(404, f"Event type {req.params['eventTypeId']} not found")
    return record


def v1_list_types(req: Request) -> Response:
    app_id = req.params["appId"]
    return json_response(
        [_v1_type_json(r) for r in req.state.event_types.values() if r["edition"] == "v1" and r["app_id"] == app_id]
    )


def v1_create_type(req: Request) -> Response:
    body = req.json_object()
    name = str(body.get("name") or "").strip()
    if not name:
        raise v1_error(400, "name is required")
    app_id = req.params["appId"]
    if body.get("applicationId") not in (None, "") and str(body["applicationId"]) != app_id:
        raise v1_error(400, "applicationId must match the application id in the URL")
    record = req.state.new_event_type(
        app_id,
        name,
        edition="v1",
        header_template=str(body.get("headerTemplate") or ""),
        detail_template=str(body.get("detailTemplate") or ""),
        object_type=str(body.get("objectType") or "CONTACT"),
    )
    return json_response(_v1_type_json(record))


def v1_get_type(req: Request) -> Response:
    return json_response(_v1_type_json(_v1_type_or_404(req)))


def v1_update_type(req: Request) -> Response:
    record = _v1_type_or_404(req)
    body = req.json_object()
    for key in ("name", "headerTemplate", "detailTemplate"):
        if key in body:
            record[key] = str(body[key] or "")
    return json_response(_v1_type_json(record))


def v1_delete_type(req: Request) -> Response:
    record = _v1_type_or_404(req)
    del req.state.event_types[record["id"]]
    return empty(204)


def v1_list_properties(req: Request) -> Response:
    record = _v1_type_or_404(req)
    return json_response(list(record["properties"].values()))


def _check_property_body(body: dict[str, Any]) -> None:
    name = str(body.get("name") or "")
    if not name:
        raise v1_error(400, "name is required")
    if name in RESERVED_PROPERTY_NAMES:
        raise v1_error(400, f"'{name}' is a reserved property name")


def v1_create_property(req: Request) -> Response:
    record = _v1_type_or_404(req)
    body = req.json_object()
    _check_property_body(body)
    if any(p["name"] == body["name"] for p in record["properties"].values()):
        raise v1_error(400, f"Property {body['name']} already exists on event type {record['id']}")
    prop = req.state.new_event_property(
        record,
        {
            "name": str(body["name"]),
            "label": str(body.get("label") or body["name"]),
            "propertyType": str(body.get("propertyType") or "String"),
            "objectProperty": body.get("objectProperty"),
            "options": body.get("options") or [],
        },
    )
    return json_response(prop)


def v1_update_property(req: Request) -> Response:
    record = _v1_type_or_404(req)
    body = req.json_object()
    prop = record["properties"].get(str(body.get("id")))
    if prop is None:
        raise v1_error(404, f"Property {body.get('id')} not found on event type {record['id']}")
    if body.get("eventTypeId") not in (None, "") and str(body["eventTypeId"]) != record["id"]:
        raise v1_error(400, "Properties cannot be moved between event types")
    if "name" in body and body["name"] != prop["name"]:
        raise v1_error(400, "The name of a property cannot be changed")
    for key in ("label", "propertyType", "objectProperty", "options"):
        if key in body:
            prop[key] = body[key]
    return json_response(prop)


def v1_delete_property(req: Request) -> Response:
    record = _v1_type_or_404(req)
    if record["properties"].pop(req.params["propertyId"], None) is None:
        raise v1_error(404, f"Property {req.params['propertyId']} not found")
    return empty(204)


# ---------------------------------------------------------------------- v3 templates (developer key)
def _template_json(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record["id"],
        "name": record["name"],
        "headerTemplate": record["headerTemplate"],
        "detailTemplate": record["detailTemplate"],
        "objectType": record["objectType"],
        "tokens": list(record["properties"].values()),
        "createdAt": iso_from_ms(record["createdAt"]),
        "updatedAt": iso_from_ms(record.get("updatedAt", record["createdAt"])),
    }


def _template_or_404(req: Request) -> dict[str, Any]:
    record = req.state.event_types.get(req.params["templateId"])
    if record is None or record["edition"] != "v3" or record["app_id"] != req.params["appId"]:
        raise v3_error(404, f"Event template {req.params['templateId']} not found", "OBJECT_NOT_FOUND")
    return record


def _check_token(body: dict[str, Any]) -> dict[str, Any]:
    name = str(body.get("name") or "")
    if not name:
        raise v3_error(400, "Token name is required", "VALIDATION_ERROR")
    if name in RESERVED_PROPERTY_NAMES:
        raise v3_error(400, f"'{name}' is a reserved token name", "VALIDATION_ERROR")
    token_type = str(body.get("type") or "string")
    if token_type not in {"date", "enumeration", "number", "string"}:
        raise v3_error(400, f"Unknown token type {token_type}", "VALIDATION_ERROR")
    token = {"name": name, "label": str(body.get("label") or name), "type": token_type}
    if body.get("options"):
        token["options"] = body["options"]
    if body.get("objectPropertyName"):
        token["objectPropertyName"] = body["objectPropertyName"]
    return token


def v3_list_templates(req: Request) -> Response:
    app_id = req.params["appId"]
    return json_response(
        {
            "results": [
                _template_json(r)
                for r in req.state.event_types.values()
                if r["edition"] == "v3" and r["app_id"] == app_id
            ]
        }
    )


def v3_create_template(req: Request) -> Response:
    state = req.state
    body = req.json_object()
    app_id = req.params["appId"]
    name = str(body.get("name") or "").strip()
    if not name:
        raise v3_error(400, "name is required", "VALIDATION_ERROR")
    existing = sum(1 for r in state.event_types.values() if r["edition"] == "v3" and r["app_id"] == app_id)
    if existing >= TEMPLATES_PER_APP:
        raise v3_error(400, f"An app may have at most {TEMPLATES_PER_APP} event templates", "VALIDATION_ERROR")
    tokens = [_check_token(t) for t in body.get("tokens") or [] if isinstance(t, dict)]
    record = state.new_event_type(
        app_id,
        name,
        edition="v3",
        header_template=str(body.get("headerTemplate") or ""),
        detail_template=str(body.get("detailTemplate") or ""),
        object_type=str(body.get("objectType") or "contacts"),
    )
    for token in tokens:
        state.new_event_property(record, token)
    return json_response(_template_json(record), status=201)


def v3_get_template(req: Request) -> Response:
    return json_response(_template_json(_template_or_404(req)))


def v3_update_template(req: Request) -> Response:
    state = req.state
    record = _template_or_404(req)
    body = req.json_object()
    for key in ("name", "headerTemplate", "detailTemplate"):
        if key in body:
            record[key] = str(body[key] or "")
    if isinstance(body.get("tokens"), list):
        record["properties"] = {}
        for token in body["tokens"]:
            if isinstance(token, dict):
                state.new_event_property(record, _check_token(token))
    record["updatedAt"] = state.now_ms()
    return json_response(_template_json(record))


def v3_delete_template(req: Request) -> Response:
    record = _template_or_404(req)
    del req.state.event_types[record["id"]]
    return empty(204)


def v3_create_token(req: Request) -> Response:
    record = _template_or_404(req)
    token = _check_token(req.json_object())
    if token["name"] in record["properties"]:
        raise v3_error(409, f"Token {token['name']} already exists", "CONFLICT")
    req.state.new_event_property(record, token)
    return json_response(token)


def v3_update_token(req: Request) -> Response:
    record = _template_or_404(req)
    name = req.params["tokenName"]
    if name not in record["properties"]:
        raise v3_error(404, f"Token {name} not found", "OBJECT_NOT_FOUND")
    body = req.json_object()
    token = _check_token({**record["properties"][name], **body, "name": name})
    record["properties"][name] = token
    return json_response(token)


def v3_delete_token(req: Request) -> Response:
    record = _template_or_404(req)
    if record["properties"].pop(req.params["tokenName"], None) is None:
        raise v3_error(404, f"Token {req.params['tokenName']} not found", "OBJECT_NOT_FOUND")
    return empty(204)


# ---------------------------------------------------------------------- v3 events
def _v3_check(
    state: EmulatorState, event: Any, pending: set[tuple[str, str]]
) -> tuple[dict[str, Any], dict[str, Any], _Identity, int, str] | ApiError:
    if not isinstance(event, dict):
        return v3_error(400, "Each event must be a JSON object", "VALIDATION_ERROR")
    template_id = str(event.get("eventTemplateId") or "")
    template = state.event_types.get(template_id)
    if template is None or template["edition"] != "v3":
        return v3_error(404, f"Event template {template_id or '(missing)'} not found", "OBJECT_NOT_FOUND")
    event_id = str(event.get("id") or uuid.uuid4())
    if ("v3", template_id, event_id) in state.events or (template_id, event_id) in pending:
        return v3_error(
            409,
            f"An event with id {event_id} already exists for event template {template_id}",
            "CONFLICT",
            context={"id": [event_id]},
        )
    tokens = event.get("tokens") or {}
    if not isinstance(tokens, dict):
        return v3_error(400, "tokens must be an object", "VALIDATION_ERROR")
    defined = template["properties"]
    unknown = [name for name in tokens if defined and name not in defined]
    if unknown:
        return v3_error(400, f"Tokens not defined on template {template_id}: {', '.join(unknown)}", "VALIDATION_ERROR")
    ident = _identity(state, event)
    if isinstance(ident, str):
        return v3_error(400, ident, "VALIDATION_ERROR")
    ts = _timestamp(event.get("timestamp"), state.now_ms())
    if ts is None:
        return v3_error(400, f"Invalid timestamp {event.get('timestamp')!r}", "VALIDATION_ERROR")
    pending.add((template_id, event_id))
    return event, template, ident, ts, event_id


def _v3_store(
    state: EmulatorState, event: dict[str, Any], template: dict[str, Any], ident: _Identity, ts: int, event_id: str
) -> dict[str, Any]:
    tokens = {str(k): v for k, v in (event.get("tokens") or {}).items()}
    copied: dict[str, str] = {}
    for name, value in tokens.items():
        target = template["properties"].get(name, {}).get("objectPropertyName")
        if target:
            state.contact_type.validate_one(target, value, copied)
    record = _store(state, ("v3", template["id"], event_id), event, ident, ts, tokens, edition="v3",
                    app_id=template["app_id"], copied=copied)
    return _v3_event_json(record, state.now_ms())


def _v3_event_json(record: dict[str, Any], created: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": record["id"],
        "eventTemplateId": record["type"],
        "objectType": "contacts",
        "objectId": str(record["vid"]),
        "tokens": record["properties"],
        "timestamp": iso_from_ms(record["timestamp"]),
        "createdAt": iso_from_ms(record.get("created", created)),
    }
    if record.get("email"):
        out["email"] = record["email"]
    if record.get("extra_data") is not None:
        out["extraData"] = record["extra_data"]
    if record.get("iframe") is not None:
        out["timelineIFrame"] = record["iframe"]
    return out


def v3_create_event(req: Request) -> Response:
    result = _v3_check(req.state, req.json(), set())
    if isinstance(result, ApiError):
        raise result
    return json_response(_v3_store(req.state, *result), status=201)


def v3_batch_events(req: Request) -> Response:
    state = req.state
    started = iso_from_ms(state.now_ms())
    inputs = req.json_object().get("inputs")
    if not isinstance(inputs, list):
        raise v3_error(400, "inputs must be an array", "VALIDATION_ERROR")
    if len(inputs) > MODERN_BATCH_MAX:
        raise v3_error(400, f"At most {MODERN_BATCH_MAX} inputs per batch", "VALIDATION_ERROR")
    pending: set[tuple[str, str]] = set()
    results = []
    errors = []
    for event in inputs:
        result = _v3_check(state, event, pending)
        if isinstance(result, ApiError):
            err = dict(result.body)
            if isinstance(event, dict) and event.get("id") is not None:
                err.setdefault("context", {})["id"] = [str(event["id"])]
            errors.append(err)
            continue
        results.append(_v3_store(state, *result))
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": started,
        "completedAt": iso_from_ms(state.now_ms()),
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
    return json_response(body, status=207 if errors else 201)


def v3_get_event(req: Request) -> Response:
    record = req.state.events.get(("v3", req.params["templateId"], req.params["eventId"]))
    if record is None:
        raise v3_error(404, "resource not found", "OBJECT_NOT_FOUND")
    return json_response(_v3_event_json(record, record["timestamp"]))


# ---------------------------------------------------------------------- date-based events
def _dated_check(req: Request, event: Any, pending: set[str]) -> tuple[dict[str, Any], _Identity, int, str] | ApiError:
    state = req.state
    if not isinstance(event, dict):
        return v3_error(400, "Each occurrence must be a JSON object", "VALIDATION_ERROR")
    name = str(event.get("eventTypeName") or "")
    if name not in state.event_type_names:
        return v3_error(
            400,
            f"Unknown eventTypeName '{name}'",
            "VALIDATION_ERROR",
            context={"eventTypeName": [name]},
        )
    event_id = str(event.get("id") or "")
    if not event_id:
        return v3_error(400, "id is required", "VALIDATION_ERROR", context={"id": ["must not be blank"]})
    props = event.get("properties")
    if props is None:
        props = {}
    if not isinstance(props, dict):
        return v3_error(400, "properties must be an object", "VALIDATION_ERROR")
    if ("dated", name, event_id) in state.events or f"{name}\x00{event_id}" in pending:
        return v3_error(
            409,
            f"An occurrence for event type {name} with id {event_id} already exists. Occurrences are immutable.",
            "CONFLICT",
            context={"id": [event_id]},
        )
    ident = _identity(state, event)
    if isinstance(ident, str):
        return v3_error(400, ident, "VALIDATION_ERROR")
    ts = _timestamp(event.get("timestamp"), state.now_ms())
    if ts is None:
        return v3_error(400, f"Invalid timestamp {event.get('timestamp')!r}", "VALIDATION_ERROR")
    pending.add(f"{name}\x00{event_id}")
    return event, ident, ts, event_id


def _dated_store(req: Request, event: dict[str, Any], ident: _Identity, ts: int, event_id: str) -> dict[str, Any]:
    name = str(event["eventTypeName"])
    props = {str(k): v for k, v in (event.get("properties") or {}).items()}
    record = _store(req.state, ("dated", name, event_id), event, ident, ts, props, edition=req.params["version"],
                    app_id=None)
    out: dict[str, Any] = {
        "eventTypeName": name,
        "id": event_id,
        "objectId": str(record["vid"]),
        "properties": props,
        "timestamp": iso_from_ms(ts),
    }
    if record["email"]:
        out["email"] = record["email"]
    if record["extra_data"] is not None:
        out["extraData"] = record["extra_data"]
    return out


def dated_create_event(req: Request) -> Response:
    result = _dated_check(req, req.json(), set())
    if isinstance(result, ApiError):
        raise result
    return json_response(_dated_store(req, *result), status=201)


def dated_batch_events(req: Request) -> Response:
    state = req.state
    started = iso_from_ms(state.now_ms())
    inputs = req.json_object().get("inputs")
    if not isinstance(inputs, list):
        raise v3_error(400, "inputs must be an array", "VALIDATION_ERROR")
    if len(inputs) > MODERN_BATCH_MAX:
        raise v3_error(400, f"At most {MODERN_BATCH_MAX} inputs per batch", "VALIDATION_ERROR")
    pending: set[str] = set()
    checked = []
    conflict: ApiError | None = None
    for index, event in enumerate(inputs):
        result = _dated_check(req, event, pending)
        if isinstance(result, ApiError):
            result.body["message"] = f"inputs[{index}]: {result.body['message']}"
            if result.status == 409:
                conflict = conflict or result
                continue
            raise result  # validation errors (400) take precedence; nothing is written
        checked.append(result)
    if conflict is not None:
        raise conflict
    results = [_dated_store(req, *item) for item in checked]
    return json_response(
        {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": iso_from_ms(state.now_ms())}
    )


def register(router: Router) -> None:
    scopes = (TIMELINE,)
    v1 = "/integrations/v1/{appId:\\d+}/timeline"
    router.add("POST", f"{v1}/event", v1_create_event, scopes=scopes)
    router.add("POST", f"{v1}/event/batch", v1_batch_events, scopes=scopes)
    router.add("GET", f"{v1}/event/{{eventTypeId}}/{{eventId}}", v1_get_event, scopes=scopes)
    router.add("GET", f"{v1}/event-types", v1_list_types, auth="devkey")
    router.add("POST", f"{v1}/event-types", v1_create_type, auth="devkey")
    router.add("GET", f"{v1}/event-types/{{eventTypeId}}", v1_get_type, auth="devkey")
    router.add("PUT", f"{v1}/event-types/{{eventTypeId}}", v1_update_type, auth="devkey")
    router.add("DELETE", f"{v1}/event-types/{{eventTypeId}}", v1_delete_type, auth="devkey")
    router.add("GET", f"{v1}/event-types/{{eventTypeId}}/properties", v1_list_properties, auth="devkey")
    router.add("POST", f"{v1}/event-types/{{eventTypeId}}/properties", v1_create_property, auth="devkey")
    router.add("PUT", f"{v1}/event-types/{{eventTypeId}}/properties", v1_update_property, auth="devkey")
    router.add(
        "DELETE", f"{v1}/event-types/{{eventTypeId}}/properties/{{propertyId}}", v1_delete_property, auth="devkey"
    )
    v3 = "/integrators/timeline/v3"
    router.add("POST", f"{v3}/events", v3_create_event, scopes=scopes, body=bodies.TIMELINE_V3_EVENT)
    router.add("POST", f"{v3}/events/batch/create", v3_batch_events, scopes=scopes, body=bodies.TIMELINE_V3_BATCH)
    router.add("GET", f"{v3}/events/{{templateId}}/{{eventId}}", v3_get_event, scopes=scopes)
    tpl = f"{v3}/{{appId:\\d+}}/event-templates"
    router.add("GET", tpl, v3_list_templates, auth="devkey")
    router.add("POST", tpl, v3_create_template, auth="devkey")
    router.add("GET", f"{tpl}/{{templateId}}", v3_get_template, auth="devkey")
    router.add("PUT", f"{tpl}/{{templateId}}", v3_update_template, auth="devkey")
    router.add("DELETE", f"{tpl}/{{templateId}}", v3_delete_template, auth="devkey")
    router.add("POST", f"{tpl}/{{templateId}}/tokens", v3_create_token, auth="devkey")
    router.add("PUT", f"{tpl}/{{templateId}}/tokens/{{tokenName}}", v3_update_token, auth="devkey")
    router.add("DELETE", f"{tpl}/{{templateId}}/tokens/{{tokenName}}", v3_delete_token, auth="devkey")
    dated = f"/integrators/timeline/{VERSION}"
    versions = PUBLISHED["timeline"]  # no 2026-09
    router.add("POST", f"{dated}/events", dated_create_event, scopes=scopes, versions=versions,
               body=bodies.TIMELINE_OCCURRENCE)
    router.add("POST", f"{dated}/events/batch", dated_batch_events, scopes=scopes, versions=versions,
               body=bodies.TIMELINE_OCCURRENCE_BATCH)
