"""CRM contacts routes for ``/crm/v3/objects/contacts`` and ``/crm/objects/{YYYY-MM}/contacts``.

Each version answers in its own shape: a batch that partly failed answers 207 Multi-Status in v3 and
``2026-03``, and 200 (create: 201) with the same ``errors`` / ``numErrors`` from ``2026-09`` on (HubSpot's
2026-09 documents declare no 207). Batch errors carry every field of HubSpot's ``StandardError``
(``status``, ``category``, ``message``, ``context`` with the input's ``ids`` and ``objectWriteTraceId``,
``errors``, ``links``); results echo the input's ``objectWriteTraceId``. No version's results carry
``warnings`` (2026-09 removed the field; the emulator never has any to report).

Emulator choices where HubSpot's behaviour is UNCERTAIN:

* Batch endpoints accept at most 100 inputs (50 for ``batch/read`` with ``propertiesWithHistory``);
  more answers 400 ``VALIDATION_ERROR``. Duplicate ids answer 400
  ``"Duplicate IDs found in batch input: [a, b]. IDs must be unique"`` (e-mails compared
  case-insensitively).
* ``batch/upsert`` with ``idProperty: "email"``: any invalid input (bad e-mail id or invalid
  property) rejects the WHOLE batch with 400 ``VALIDATION_ERROR`` whose message is
  ``Property values were not valid: [<one validation result>]`` naming only the first bad value;
  nothing is written. Upsert by ``hs_object_id`` (or without ``idProperty``) answers 207 with one
  error per failing input (``OBJECT_NOT_FOUND`` for unknown ids, ``VALIDATION_ERROR`` for invalid
  properties) and applies the others. Any other ``idProperty`` answers 400 ``"Unable to perform
  update/upsert by non-unique 0-1 property <name>"``.
* ``batch/create``: invalid properties reject the whole batch (400, first error) and an existing
  e-mail answers 409 ``CONFLICT`` naming the first one — unless every input carries a distinct
  ``objectWriteTraceId``, in which case failures are reported per input with 207.
  Duplicate e-mails inside one create batch answer 400.
* ``batch/update``: invalid properties reject the whole batch (400); unknown ids are reported
  with 207 and the rest is applied.
* ``merge``: merging an id into itself → 400; an id already merged into the same primary → 400
  ``VALIDATION_ERROR`` with message ``"Object <secondary> is already merged into <primary>"``
  (context ``{"primaryObjectId": [...], "objectIdToMerge": [...]}``); ids merged elsewhere → 400;
  unknown ids → 404 ``OBJECT_NOT_FOUND``; a merged-away ``primaryObjectId`` resolves to its survivor.
* ``DELETE /{id}`` of an unknown id answers 204 (idempotent archive).
* List: ``limit`` default 10, max 100; search: ``limit`` default 10, max 200 (above: 400); search
  ``after`` ≥ 10,000 answers 400 and results are cut at the 10,000th. Search allows at most 5
  filter groups, 10 filters per group and 25 filters in total. String comparisons are
  case-insensitive; ``datetime`` properties are rendered as ISO-8601 in v3 output and accept ISO
  or epoch ms in filters. Without ``sorts`` results are ordered by id.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable
from typing import Any

from . import bodies
from ._util import PORTAL_ID, iso_from_ms, parse_timestamp_ms
from .router import (
    CONTACTS_READ,
    CONTACTS_WRITE,
    VERSION,
    ApiError,
    Request,
    Response,
    Router,
    empty,
    json_response,
    v3_error,
)
from .state import Contact, EmailTaken, EmulatorState
from .versions import multi_status, versioned

BATCH_MAX = 100
HISTORY_BATCH_MAX = 50
SEARCH_MAX_LIMIT = 200
SEARCH_MAX_RESULTS = 10_000
DEFAULT_PROPERTIES = ("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname")
ALWAYS = ("createdate", "hs_object_id", "lastmodifieddate")
SEARCH_TEXT_PROPERTIES = ("email", "firstname", "lastname", "phone", "company")
NOT_FOUND_MESSAGE = "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid."


# ---------------------------------------------------------------------- serialisation
def render_value(state: EmulatorState, name: str, value: str | None) -> str | None:
    if value is None:
        return None
    prop = state.schema.get(name)
    if prop is not None and prop.type == "datetime":
        ms = parse_timestamp_ms(value)
        return iso_from_ms(ms) if ms is not None else value
    return value


def object_json(
    state: EmulatorState,
    c: Contact,
    properties: Iterable[str] | None = None,
    *,
    extra: Iterable[str] = (),
    history: Iterable[str] = (),
) -> dict[str, Any]:
    names: list[str] = list(DEFAULT_PROPERTIES) if properties is None else [*properties, *ALWAYS]
    names.extend(extra)
    props: dict[str, Any] = {}
    for name in names:
        if name in props or (name not in state.schema and name not in ALWAYS):
            continue
        props[name] = render_value(state, name, state.prop(c, name))
    out: dict[str, Any] = {
        "id": str(c.vid),
        "properties": props,
        "createdAt": iso_from_ms(c.created_ms),
        "updatedAt": iso_from_ms(c.updated_ms),
        "archived": False,
    }
    hist = [h for h in history if h in state.schema]
    if hist:
        out["propertiesWithHistory"] = {
            name: (
                [
                    {
                        "value": render_value(state, name, state.prop(c, name)),
                        "timestamp": iso_from_ms(state.prop_timestamp(c, name)),
                        "sourceType": "API",
                    }
                ]
                if state.prop(c, name) is not None
                else []
            )
            for name in hist
        }
    return out


def standard_error(category: str, message: str, context: dict[str, list[str]]) -> dict[str, Any]:
    """One batch error in HubSpot's ``StandardError`` shape (every required field present)."""
    return {"status": "error", "category": category, "message": message, "context": context, "errors": [],
            "links": {}}


def partial_status(req: Request, errors: list[Any], ok: int = 200) -> int:
    """207 Multi-Status when a batch partly failed in v3 / 2026-03; from 2026-09 on the success status."""
    return 207 if errors and multi_status(req.params.get("version")) else ok


def batch_body(
    results: list[dict[str, Any]], errors: list[dict[str, Any]], started: str, completed: str
) -> dict[str, Any]:
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": completed}
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
    return body


def property_error(errors: list[dict[str, Any]]) -> ApiError:
    detailed = [{**e, "localizedErrorMessage": e["message"], "portalId": PORTAL_ID} for e in errors]
    return v3_error(
        400,
        "Property values were not valid: " + json.dumps(detailed, separators=(",", ":")),
        "VALIDATION_ERROR",
    )


def conflict_error(vid: int) -> ApiError:
    return v3_error(409, f"Contact already exists. Existing ID: {vid}", "CONFLICT")


def not_found() -> ApiError:
    return v3_error(404, "resource not found", "OBJECT_NOT_FOUND")


def properties_arg(req: Request, body: dict[str, Any] | None = None, key: str = "properties") -> list[str] | None:
    if body is not None:
        value = body.get(key)
        if isinstance(value, list) and value:
            return [str(v) for v in value]
        return None
    values = req.args(key)
    return values or None


def clean_properties(state: EmulatorState, raw: Any) -> tuple[dict[str, str], list[dict[str, Any]]]:
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        raise v3_error(400, "Invalid input JSON: properties must be an object", "VALIDATION_ERROR")
    return state.validate(raw)


def resolve(state: EmulatorState, id_value: Any, id_property: str | None) -> Contact | None:
    if id_property in (None, "", "hs_object_id"):
        return state.get_live(id_value)
    if id_property == "email":
        return state.live_by_email(str(id_value))
    raise v3_error(400, f"Unable to perform update/upsert by non-unique 0-1 property {id_property}", "VALIDATION_ERROR")


def inputs_of(body: dict[str, Any], *, maximum: int = BATCH_MAX) -> list[dict[str, Any]]:
    inputs = body.get("inputs")
    if not isinstance(inputs, list):
        raise v3_error(400, "Invalid input JSON: inputs must be an array", "VALIDATION_ERROR")
    if len(inputs) > maximum:
        raise v3_error(
            400,
            f"The maximum number of inputs supported in a batch request is {maximum}. "
            "Please reduce the number of items and try again",
            "VALIDATION_ERROR",
            context={"inputs": [f"size must be between 0 and {maximum}"]},
        )
    for item in inputs:
        if not isinstance(item, dict):
            raise v3_error(400, "Invalid input JSON: each input must be an object", "VALIDATION_ERROR")
    return inputs


def check_duplicates(keys: list[str]) -> None:
    seen: set[str] = set()
    dupes: list[str] = []
    for key in keys:
        if key in seen and key not in dupes:
            dupes.append(key)
        seen.add(key)
    if dupes:
        raise v3_error(
            400,
            f"Duplicate IDs found in batch input: [{', '.join(dupes)}]. IDs must be unique",
            "VALIDATION_ERROR",
            context={"ids": dupes},
        )


def _id_key(value: Any, id_property: str | None) -> str:
    text = str(value)
    return text.lower() if id_property == "email" else text


# ---------------------------------------------------------------------- single record
def create(req: Request) -> Response:
    state = req.state
    body = req.json_object()
    clean, errors = clean_properties(state, body.get("properties"))
    if errors:
        raise property_error(errors)
    try:
        c = state.create(clean)
    except EmailTaken as exc:
        raise conflict_error(exc.vid) from None
    return json_response(object_json(state, c, None, extra=clean.keys()), status=201)


def get_one(req: Request) -> Response:
    state = req.state
    c = resolve(state, req.params["id"], req.arg("idProperty"))
    if c is None:
        raise not_found()
    return json_response(object_json(state, c, properties_arg(req), history=req.args("propertiesWithHistory")))


def patch_one(req: Request) -> Response:
    state = req.state
    c = resolve(state, req.params["id"], req.arg("idProperty"))
    if c is None:
        raise not_found()
    body = req.json_object()
    clean, errors = clean_properties(state, body.get("properties"))
    if errors:
        raise property_error(errors)
    try:
        state.update(c, clean)
    except EmailTaken as exc:
        raise conflict_error(exc.vid) from None
    return json_response(object_json(state, c, None, extra=clean.keys()))


def delete_one(req: Request) -> Response:
    state = req.state
    c = resolve(state, req.params["id"], req.arg("idProperty"))
    if c is not None:
        state.remove(c)
    return empty(204)


def list_contacts(req: Request) -> Response:
    state = req.state
    limit = req.int_arg("limit", 10, minimum=1, maximum=100, clamp=False, v1=False)
    after_raw = req.arg("after")
    try:
        after = int(after_raw) if after_raw else 0
    except ValueError:
        raise v3_error(400, f"Invalid value for after: {after_raw!r}", "VALIDATION_ERROR") from None
    page, has_more = state.live_after_vid(after - 1, limit)
    props = properties_arg(req)
    body: dict[str, Any] = {"results": [object_json(state, c, props) for c in page]}
    if has_more and page:
        nxt = str(page[-1].vid + 1)
        body["paging"] = {"next": {"after": nxt, "link": f"{req.emulator.url}{req.path}?after={nxt}&limit={limit}"}}
    return json_response(body)


# ---------------------------------------------------------------------- batch
def batch_read(req: Request) -> Response:
    state = req.state
    started = iso_from_ms(state.now_ms())
    body = req.json_object()
    history = properties_arg(req, body, "propertiesWithHistory") or []
    inputs = inputs_of(body, maximum=HISTORY_BATCH_MAX if history else BATCH_MAX)
    if history and len(inputs) > HISTORY_BATCH_MAX:  # pragma: no cover - inputs_of checks
        raise v3_error(400, "too many inputs", "VALIDATION_ERROR")
    id_property = body.get("idProperty")
    props = properties_arg(req, body)
    results: list[dict[str, Any]] = []
    missing: list[str] = []
    seen: set[int] = set()
    for item in inputs:
        c = resolve(state, item.get("id"), id_property)
        if c is None:
            missing.append(str(item.get("id")))
        elif c.vid not in seen:
            seen.add(c.vid)
            results.append(object_json(state, c, props, history=history))
    return batch_answer(req, results, [], missing, started)


def batch_answer(req: Request, results: list[Any], errors: list[Any], missing: list[str], started: str) -> Response:
    """200 with the results, naming the inputs that failed (unknown ids as ``OBJECT_NOT_FOUND``) in
    ``errors``: with 207 in v3 / 2026-03, with 200 from 2026-09 on."""
    if missing:
        errors.append(standard_error("OBJECT_NOT_FOUND", NOT_FOUND_MESSAGE, {"ids": missing}))
    completed = iso_from_ms(req.state.now_ms())
    return json_response(batch_body(results, errors, started, completed), status=partial_status(req, errors))


def batch_create(req: Request) -> Response:
    state = req.state
    started = iso_from_ms(state.now_ms())
    inputs = inputs_of(req.json_object())
    traces = [item.get("objectWriteTraceId") for item in inputs]
    multi_status = bool(inputs) and all(traces) and len(set(map(str, traces))) == len(traces)
    planned: list[tuple[int, dict[str, str]]] = []
    errors: list[dict[str, Any]] = []
    seen_emails: dict[str, int] = {}
    for index, item in enumerate(inputs):
        clean, verrs = clean_properties(state, item.get("properties"))
        if verrs:
            if not multi_status:
                raise property_error(verrs[:1])
            errors.append(_input_error(item, "VALIDATION_ERROR", verrs))
            continue
        email = clean.get("email")
        if email:
            if email in seen_emails:
                if not multi_status:
                    raise v3_error(
                        400, f"Duplicate IDs found in batch input: [{email}]. IDs must be unique", "VALIDATION_ERROR"
                    )
                errors.append(_input_error(item, "VALIDATION_ERROR", message=f"Duplicate email {email} in batch input"))
                continue
            seen_emails[email] = index
            existing = state.live_by_email(email)
            if existing is not None:
                if not multi_status:
                    raise conflict_error(existing.vid)
                errors.append(
                    _input_error(item, "CONFLICT", message=f"Contact already exists. Existing ID: {existing.vid}")
                )
                continue
        planned.append((index, clean))
    results = []
    for index, clean in planned:
        c = state.create(clean)
        obj = object_json(state, c, None, extra=clean.keys())
        trace = inputs[index]["objectWriteTraceId"] if multi_status else None
        if trace:
            obj["objectWriteTraceId"] = str(trace)
        results.append(obj)
    completed = iso_from_ms(state.now_ms())
    return json_response(batch_body(results, errors, started, completed), status=partial_status(req, errors, 201))


def _input_error(
    item: dict[str, Any],
    category: str,
    validation: list[dict[str, Any]] | None = None,
    *,
    message: str | None = None,
) -> dict[str, Any]:
    if validation:
        message = "Property values were not valid: " + json.dumps(validation, separators=(",", ":"))
    context: dict[str, list[str]] = {}
    if item.get("id") is not None:
        context["ids"] = [str(item.get("id"))]
    if item.get("objectWriteTraceId") is not None:
        context["objectWriteTraceId"] = [str(item["objectWriteTraceId"])]
    return standard_error(category, message or "error", context)


def batch_update(req: Request) -> Response:
    state = req.state
    started = iso_from_ms(state.now_ms())
    body = req.json_object()
    inputs = inputs_of(body)
    default_id_prop = body.get("idProperty")
    check_duplicates([_id_key(i.get("id"), i.get("idProperty", default_id_prop)) for i in inputs])
    planned: list[tuple[dict[str, Any], Contact, dict[str, str]]] = []
    missing: list[str] = []
    for item in inputs:
        clean, verrs = clean_properties(state, item.get("properties"))
        if verrs:
            raise property_error(verrs[:1])
        c = resolve(state, item.get("id"), item.get("idProperty", default_id_prop))
        if c is None:
            missing.append(str(item.get("id")))
            continue
        planned.append((item, c, clean))
    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for item, c, clean in planned:
        try:
            state.update(c, clean)
        except EmailTaken as exc:
            errors.append(_input_error(item, "CONFLICT", message=f"Contact already exists. Existing ID: {exc.vid}"))
            continue
        results.append(_traced(object_json(state, c, None, extra=clean.keys()), item))
    return batch_answer(req, results, errors, missing, started)


def _traced(obj: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """Echo the input's ``objectWriteTraceId`` on its result, as HubSpot does."""
    if item.get("objectWriteTraceId") is not None:
        obj["objectWriteTraceId"] = str(item["objectWriteTraceId"])
    return obj


def batch_upsert(req: Request) -> Response:
    state = req.state
    started = iso_from_ms(state.now_ms())
    body = req.json_object()
    inputs = inputs_of(body)
    default_id_prop = body.get("idProperty")
    id_props = [item.get("idProperty", default_id_prop) for item in inputs]
    for id_prop in id_props:
        if id_prop not in (None, "", "hs_object_id", "email"):
            raise v3_error(
                400, f"Unable to perform update/upsert by non-unique 0-1 property {id_prop}", "VALIDATION_ERROR"
            )
    check_duplicates([_id_key(item.get("id"), p) for item, p in zip(inputs, id_props, strict=True)])
    # Pass 1: validate. By-email inputs are all-or-nothing (HubSpot does no partial upserts by email).
    planned: list[tuple[int, Contact | None, str | None, dict[str, str]]] = []
    errors: list[dict[str, Any]] = []
    for index, (item, id_prop) in enumerate(zip(inputs, id_props, strict=True)):
        raw_id = item.get("id")
        if id_prop == "email":
            email = str(raw_id or "").strip()
            if not state.is_valid_email(email):
                raise property_error(
                    [
                        {
                            "isValid": False,
                            "message": f"Email address {raw_id} is invalid",
                            "error": "INVALID_EMAIL",
                            "name": "email",
                        }
                    ]
                )
            clean, verrs = clean_properties(state, item.get("properties"))
            if verrs:
                raise property_error(verrs[:1])
            clean["email"] = clean.get("email") or email.lower()
            planned.append((index, state.live_by_email(email), email.lower(), clean))
        else:
            clean, verrs = clean_properties(state, item.get("properties"))
            if verrs:
                errors.append(_input_error(item, "VALIDATION_ERROR", verrs[:1]))
                continue
            c = state.get_live(raw_id)
            if c is None:
                errors.append(_input_error(item, "OBJECT_NOT_FOUND", message="resource not found"))
                continue
            planned.append((index, c, None, clean))
    # Pass 2: apply.
    results: list[dict[str, Any]] = []
    for index, c, target_email, clean in planned:
        is_new = False
        try:
            if c is None:
                existing = state.live_by_email(target_email)  # an earlier input may have created it
                if existing is None:
                    c = state.create(clean)
                    is_new = True
                else:
                    c = existing
                    state.update(c, clean)
            else:
                state.update(c, clean)
        except EmailTaken as exc:
            errors.append(
                _input_error(inputs[index], "CONFLICT", message=f"Contact already exists. Existing ID: {exc.vid}")
            )
            continue
        obj = _traced(object_json(state, c, None, extra=clean.keys()), inputs[index])
        obj["new"] = is_new
        results.append(obj)
    completed = iso_from_ms(state.now_ms())
    return json_response(batch_body(results, errors, started, completed), status=partial_status(req, errors))


def batch_archive(req: Request) -> Response:
    state = req.state
    body = req.json_object()
    inputs = inputs_of(body)
    id_prop = body.get("idProperty")
    for item in inputs:
        c = resolve(state, item.get("id"), id_prop)
        if c is not None:
            state.remove(c)
    return empty(204)


# ---------------------------------------------------------------------- merge
def merge(req: Request) -> Response:
    state = req.state
    body = req.json_object()
    raw_primary = body.get("primaryObjectId")
    raw_secondary = body.get("objectIdToMerge")
    try:
        primary_id = int(str(raw_primary))
        secondary_id = int(str(raw_secondary))
    except ValueError:
        raise v3_error(400, "primaryObjectId and objectIdToMerge must be object ids", "VALIDATION_ERROR") from None
    context = {"primaryObjectId": [str(primary_id)], "objectIdToMerge": [str(secondary_id)]}
    if primary_id == secondary_id:
        raise v3_error(400, "Cannot merge an object with itself", "VALIDATION_ERROR", context=context)
    primary = state.get_live(primary_id)
    secondary_raw = state.raw_contact(secondary_id)
    if primary is None or secondary_raw is None or secondary_raw.deleted:
        raise not_found()
    if not secondary_raw.live:
        survivor = state.canonical_vid(secondary_id)
        if survivor == primary.vid:
            raise v3_error(
                400, f"Object {secondary_id} is already merged into {primary.vid}", "VALIDATION_ERROR", context=context
            )
        raise v3_error(
            400,
            f"Object {secondary_id} was merged into {survivor} and cannot be merged again",
            "VALIDATION_ERROR",
            context=context,
        )
    if secondary_raw.vid == primary.vid:  # primary id was itself merged into the secondary
        raise v3_error(
            400, f"Object {primary_id} is already merged into {secondary_id}", "VALIDATION_ERROR", context=context
        )
    state.merge_into(primary, secondary_raw)
    return json_response(object_json(state, primary, None))


# ---------------------------------------------------------------------- GDPR delete
def gdpr_delete(req: Request) -> Response:
    """Permanently delete a contact and blocklist its e-mail; by ``idProperty: "email"`` an address no
    contact has is blocklisted all the same (204). An unknown record id answers 404."""
    state = req.state
    body = req.json_object()
    object_id = body.get("objectId")
    id_property = body.get("idProperty")
    if object_id in (None, ""):
        raise v3_error(400, "objectId is required", "VALIDATION_ERROR", context={"objectId": ["must not be blank"]})
    c = resolve(state, object_id, id_property)
    if c is None and id_property != "email":
        raise not_found()
    state.gdpr_delete(c, str(object_id) if id_property == "email" else None)
    return empty(204)


# ---------------------------------------------------------------------- search
_OPERATORS = {
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
}


def _comparable(state: EmulatorState, name: str, value: Any) -> Any:
    prop = state.schema.get(name)
    kind = prop.type if prop is not None else "string"
    if name == "hs_object_id":
        kind = "number"
    if kind in {"number"}:
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    if kind in {"date", "datetime"}:
        return parse_timestamp_ms(value)
    return str(value).lower()


def _filter_matches(state: EmulatorState, c: Contact, flt: dict[str, Any]) -> bool:
    name = flt["propertyName"]
    op = flt["operator"]
    raw = state.prop(c, name)
    if op == "HAS_PROPERTY":
        return raw is not None
    if op == "NOT_HAS_PROPERTY":
        return raw is None
    if op in {"NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN"} and raw is None:
        return True
    if raw is None:
        return False
    if op in {"CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}:
        token = str(flt.get("value", "")).lower()
        words = [w for w in _split_words(raw.lower())] + [raw.lower()]
        found = any(fnmatch.fnmatchcase(w, token) for w in words)
        return found if op == "CONTAINS_TOKEN" else not found
    have = _comparable(state, name, raw)
    if op in {"IN", "NOT_IN"}:
        values = flt.get("values") or []
        wanted = {_comparable(state, name, v) for v in values}
        return (have in wanted) if op == "IN" else (have not in wanted)
    want = _comparable(state, name, flt.get("value"))
    if have is None or want is None:
        return op == "NEQ"
    try:
        if op == "EQ":
            return bool(have == want)
        if op == "NEQ":
            return bool(have != want)
        if op == "LT":
            return bool(have < want)
        if op == "LTE":
            return bool(have <= want)
        if op == "GT":
            return bool(have > want)
        if op == "GTE":
            return bool(have >= want)
        if op == "BETWEEN":
            high = _comparable(state, name, flt.get("highValue"))
            return high is not None and bool(want <= have <= high)
    except TypeError:
        return False
    return False


def _split_words(text: str) -> list[str]:
    out: list[str] = []
    word = []
    for ch in text:
        if ch.isalnum():
            word.append(ch)
        elif word:
            out.append("".join(word))
            word = []
    if word:
        out.append("".join(word))
    return out


def _candidates(state: EmulatorState, groups: list[list[dict[str, Any]]]) -> Iterable[Contact]:
    """Use the e-mail index when every filter group pins the e-mail with EQ / IN."""
    if not groups:
        return state.iter_live()
    emails: list[str] = []
    for group in groups:
        pinned = None
        for flt in group:
            if flt["propertyName"] == "email" and flt["operator"] == "EQ":
                pinned = [str(flt.get("value", ""))]
                break
            if flt["propertyName"] == "email" and flt["operator"] == "IN":
                pinned = [str(v) for v in flt.get("values") or []]
                break
        if pinned is None:
            return state.iter_live()
        emails.extend(pinned)
    found: dict[int, Contact] = {}
    for email in emails:
        c = state.live_by_email(email)
        if c is not None and c.properties.get("email") == email.strip().lower():
            found[c.vid] = c
    return [found[v] for v in sorted(found)]


def search(req: Request) -> Response:
    state = req.state
    body = req.json(required=False) or {}
    if not isinstance(body, dict):
        raise v3_error(400, "Invalid input JSON: expected an object", "VALIDATION_ERROR")
    limit_raw = body.get("limit", 10)
    try:
        limit = int(limit_raw)
        after = int(body.get("after") or 0)
    except (TypeError, ValueError):
        raise v3_error(400, "limit and after must be integers", "VALIDATION_ERROR") from None
    if limit > SEARCH_MAX_LIMIT or limit < 0:
        raise v3_error(
            400,
            f"Invalid value for limit. limit must be between 0 and {SEARCH_MAX_LIMIT}",
            "VALIDATION_ERROR",
            context={"limit": [f"must be less than or equal to {SEARCH_MAX_LIMIT}"]},
        )
    if after >= SEARCH_MAX_RESULTS:
        raise v3_error(
            400,
            f"Paging beyond {SEARCH_MAX_RESULTS} results is not supported: narrow the query",
            "VALIDATION_ERROR",
        )
    raw_groups = body.get("filterGroups") or []
    if not isinstance(raw_groups, list) or len(raw_groups) > 5:
        raise v3_error(400, "A search may contain at most 5 filterGroups", "VALIDATION_ERROR")
    groups: list[list[dict[str, Any]]] = []
    total_filters = 0
    for group in raw_groups:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise v3_error(400, "Each filterGroup needs a filters array", "VALIDATION_ERROR")
        if len(filters) > 10:
            raise v3_error(400, "A filterGroup may contain at most 10 filters", "VALIDATION_ERROR")
        total_filters += len(filters)
        for flt in filters:
            if not isinstance(flt, dict) or "propertyName" not in flt:
                raise v3_error(400, "Each filter needs a propertyName", "VALIDATION_ERROR")
            op = str(flt.get("operator", "EQ")).upper()
            flt["operator"] = op
            if op not in _OPERATORS:
                raise v3_error(400, f"Unknown filter operator {op}", "VALIDATION_ERROR")
            if flt["propertyName"] not in state.schema:
                raise v3_error(
                    400,
                    f"Property {flt['propertyName']} does not exist on object type CONTACT",
                    "VALIDATION_ERROR",
                )
        groups.append(filters)
    if total_filters > 25:
        raise v3_error(400, "A search may contain at most 25 filters in total", "VALIDATION_ERROR")
    query = str(body.get("query") or "").strip().lower()
    matches: list[Contact] = []
    for c in _candidates(state, groups):
        if groups and not any(all(_filter_matches(state, c, f) for f in group) for group in groups):
            continue
        if query and not any(query in (c.properties.get(n) or "").lower() for n in SEARCH_TEXT_PROPERTIES):
            continue
        matches.append(c)
    sorts = body.get("sorts") or []
    if sorts:
        first = sorts[0]
        if isinstance(first, str):
            name = first.lstrip("-+")
            descending = first.startswith("-")
        else:
            name = str(first.get("propertyName", "hs_object_id"))
            descending = str(first.get("direction", "ASCENDING")).upper().startswith("DESC")
        present = [c for c in matches if state.prop(c, name) is not None]
        absent = [c for c in matches if state.prop(c, name) is None]
        present.sort(key=lambda c: c.vid)
        present.sort(key=lambda c: _comparable(state, name, state.prop(c, name)) or 0, reverse=descending)
        matches = present + absent
    total = len(matches)
    capped = matches[:SEARCH_MAX_RESULTS]
    page = capped[after : after + limit]
    props = properties_arg(req, body)
    result: dict[str, Any] = {"total": total, "results": [object_json(state, c, props) for c in page]}
    if after + limit < len(capped) and limit > 0:
        nxt = str(after + limit)
        result["paging"] = {"next": {"after": nxt, "link": f"{req.emulator.url}{req.path}?after={nxt}"}}
    return json_response(result)


def register(router: Router) -> None:
    r, w = (CONTACTS_READ,), (CONTACTS_WRITE,)
    for base in ("/crm/v3/objects/contacts", f"/crm/objects/{VERSION}/contacts"):
        add = versioned(router, base, "crm_objects")
        dated = "{version" in base
        add("POST", f"{base}/batch/read", batch_read, scopes=r, write=False, body=bodies.CRM_BATCH_READ)
        add("POST", f"{base}/batch/create", batch_create, scopes=w, body=bodies.crm_batch_create(dated))
        add("POST", f"{base}/batch/update", batch_update, scopes=w, body=bodies.CRM_BATCH_UPDATE)
        add("POST", f"{base}/batch/upsert", batch_upsert, scopes=w, body=bodies.CRM_BATCH_UPSERT)
        add("POST", f"{base}/batch/archive", batch_archive, scopes=w, body=bodies.CRM_BATCH_ARCHIVE)
        add("POST", f"{base}/merge", merge, scopes=w, body=bodies.CRM_MERGE)
        add("POST", f"{base}/gdpr-delete", gdpr_delete, scopes=w, body=bodies.CRM_GDPR_DELETE)
        add("POST", f"{base}/search", search, scopes=r, rate="search", write=False, body=bodies.crm_search(dated))
        add("GET", base, list_contacts, scopes=r)
        add("POST", base, create, scopes=w, body=bodies.crm_create(dated))
        add("GET", f"{base}/{{id}}", get_one, scopes=r)
        add("PATCH", f"{base}/{{id}}", patch_one, scopes=w, body=bodies.CRM_UPDATE)
        add("DELETE", f"{base}/{{id}}", delete_one, scopes=w)
