"""CRM object routes of every object type: ``/crm/v3/objects/{objectType}`` and
``/crm/objects/{YYYY-MM}/{objectType}`` — one batch engine for contacts, companies, deals, tickets,
products, line items and custom objects, over the object store (``objects.py``).

``{objectType}`` is a plural name (``companies``), an object type id (``0-2``, ``2-2000001``), a
singular name or a custom object's fully qualified name (``p62515_car``). Scopes are the type's:
``crm.objects.<contacts|companies|deals|tickets|custom>.read|write``, ``e-commerce`` for products and
line items.

Each version answers in its own shape: a batch that partly failed answers 207 Multi-Status in v3 and
``2026-03``, and 200 (create: 201) with the same ``errors`` / ``numErrors`` from ``2026-09`` on (HubSpot's
2026-09 documents declare no 207). Batch errors carry every field of HubSpot's ``StandardError``
(``status``, ``category``, ``message``, ``context`` with the input's ``ids`` and ``objectWriteTraceId``,
``errors``, ``links``); results echo the input's ``objectWriteTraceId``. No version's results carry
``warnings`` (2026-09 removed the field; the emulator never has any to report).

Emulator choices where HubSpot's behaviour is UNCERTAIN (the same for every object type):

* Batch endpoints accept at most the type's batch limit (100) inputs (50 for ``batch/read`` with
  ``propertiesWithHistory``); more answers 400 ``VALIDATION_ERROR``. Duplicate ids answer 400
  ``"Duplicate IDs found in batch input: [a, b]. IDs must be unique"`` (e-mails compared
  case-insensitively).
* ``batch/upsert`` by a unique property (``idProperty: "email"``, a custom ``hasUniqueValue``
  property): any invalid input (bad id value or invalid property) rejects the WHOLE batch with 400
  ``VALIDATION_ERROR`` whose message is ``Property values were not valid: [<one validation result>]``
  naming only the first bad value; nothing is written. Upsert by ``hs_object_id`` (or without
  ``idProperty``) answers 207 with one error per failing input (``OBJECT_NOT_FOUND`` for unknown ids,
  ``VALIDATION_ERROR`` for invalid properties) and applies the others. An ``idProperty`` without unique
  values answers 400 ``"Unable to perform update/upsert by non-unique <type id> property <name>"``.
* ``batch/create``: invalid properties reject the whole batch (400, first error) and a unique value
  in use answers 409 ``CONFLICT`` naming the first one (``"<Type> already exists. Existing ID: <id>"``)
  — unless every input carries a distinct ``objectWriteTraceId``, in which case failures are reported
  per input with 207. Duplicate unique values inside one create batch answer 400. Inline
  ``associations`` must name an association type of the object and a live record (else 400, or a
  per-input error in the multi-status case).
* ``batch/update``: invalid properties reject the whole batch (400); unknown ids are reported
  with 207 and the rest is applied.
* ``merge`` (contacts, companies, deals, tickets, custom objects; products and line items answer 404
  as HubSpot publishes no merge for them): merging an id into itself → 400; an id already merged
  into the same primary → 400 ``VALIDATION_ERROR`` ``"Object <secondary> is already merged into
  <primary>"``; ids merged elsewhere → 400; unknown ids → 404 ``OBJECT_NOT_FOUND``; a merged-away
  ``primaryObjectId`` resolves to its survivor. The survivor takes the merged record's associations.
* ``gdpr-delete`` is served for contacts only (HubSpot publishes it for contacts only); other types 404.
* ``DELETE /{id}`` of an unknown id answers 204 (idempotent archive); archiving drops associations.
* An unknown ``{objectType}`` answers 404 ``OBJECT_NOT_FOUND`` ``"Unable to infer object type from: <x>"``.
* List: ``limit`` default 10, max 100; search: ``limit`` default 10, max 200 (above: 400); search
  ``after`` ≥ 10,000 answers 400 and results are cut at the 10,000th. Search allows at most 5
  filter groups, 10 filters per group and 25 filters in total. String comparisons are
  case-insensitive; ``datetime`` properties are rendered as ISO-8601 and accept ISO or epoch ms in
  filters. Without ``sorts`` results are ordered by id.
* ``?associations=<type>`` on a GET adds ``associations: {<plural name>: {results: [{id, type}]}}``
  with v3's type names (``contact_to_company`` for the primary type, ``contact_to_company_unlabeled``
  for the unlabelled one, the label's id for user labels).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable
from typing import Any

from . import bodies
from ._util import PORTAL_ID, iso_from_ms, parse_timestamp_ms
from .objects import ObjectType, UniqueTaken
from .router import VERSION, ApiError, Request, Response, Router, empty, json_response, v3_error
from .versions import multi_status, versioned

HISTORY_BATCH_MAX = 50
SEARCH_MAX_LIMIT = 200
SEARCH_MAX_RESULTS = 10_000


# ---------------------------------------------------------------------- the object type of a request
def object_type(req: Request) -> ObjectType:
    found = req.state.store.get(req.params.get("objectType", ""))
    if found is None:
        raise v3_error(404, f"Unable to infer object type from: {req.params.get('objectType')}", "OBJECT_NOT_FOUND")
    return found


def read_scopes(req: Request) -> tuple[str, ...]:
    found = req.state.store.get(req.params.get("objectType", ""))
    return found.read_scopes if found is not None else ()


def write_scopes(req: Request) -> tuple[str, ...]:
    found = req.state.store.get(req.params.get("objectType", ""))
    return found.write_scopes if found is not None else ()


# ---------------------------------------------------------------------- serialisation
def render_value(t: ObjectType, name: str, value: str | None) -> str | None:
    if value is None:
        return None
    prop = t.schema.get(name)
    if prop is not None and prop.type == "datetime":
        ms = parse_timestamp_ms(value)
        return iso_from_ms(ms) if ms is not None else value
    return value


def object_json(req: Request, t: ObjectType, record: Any, properties: Iterable[str] | None = None, *,
                extra: Iterable[str] = (), history: Iterable[str] = (),
                associations: Iterable[str] = ()) -> dict[str, Any]:
    always = ("createdate", "hs_object_id", t.modified_property)
    names: list[str] = list(t.default_properties) if properties is None else [*properties, *always]
    names.extend(extra)
    props: dict[str, Any] = {}
    for name in names:
        if name in props or name not in t.schema:
            continue
        props[name] = render_value(t, name, t.prop(record, name))
    out: dict[str, Any] = {
        "id": str(record.id),
        "properties": props,
        "createdAt": iso_from_ms(record.created_ms),
        "updatedAt": iso_from_ms(record.updated_ms),
        "archived": False,
    }
    hist = [h for h in history if h in t.schema]
    if hist:
        out["propertiesWithHistory"] = {
            name: ([{"value": render_value(t, name, t.prop(record, name)),
                     "timestamp": iso_from_ms(t.prop_timestamp(record, name)), "sourceType": "API"}]
                   if t.prop(record, name) is not None else [])
            for name in hist
        }
    linked = _associations_json(req, t, record, associations)
    if linked:
        out["associations"] = linked
    return out


def _associations_json(req: Request, t: ObjectType, record: Any, names: Iterable[str]) -> dict[str, Any]:
    store = req.state.store
    out: dict[str, Any] = {}
    for name in names:
        target = store.get(name)
        if target is None:
            continue
        results = []
        for to_id, types in store.associated(t, record.id, target).items():
            for type_id in sorted(types):
                spec = store.associations.spec(t.type_id, target.type_id, type_id) or {}
                label = spec.get("label")
                kind = (f"{t.singular}_to_{target.singular}" if label == "Primary" else
                        f"{t.singular}_to_{target.singular}_unlabeled" if label is None else str(type_id))
                results.append({"id": str(to_id), "type": kind})
        if results:
            out[target.name] = {"results": results}
    return out


def standard_error(category: str, message: str, context: dict[str, list[str]]) -> dict[str, Any]:
    """One batch error in HubSpot's ``StandardError`` shape (every required field present)."""
    return {"status": "error", "category": category, "message": message, "context": context, "errors": [],
            "links": {}}


def partial_status(req: Request, errors: list[Any], ok: int = 200) -> int:
    """207 Multi-Status when a batch partly failed in v3 / 2026-03; from 2026-09 on the success status."""
    return 207 if errors and multi_status(req.params.get("version")) else ok


def batch_body(results: list[dict[str, Any]], errors: list[dict[str, Any]], started: str,
               completed: str) -> dict[str, Any]:
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": completed}
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
    return body


def batch_answer(req: Request, results: list[Any], errors: list[Any], started: str, ok: int = 200) -> Response:
    completed = iso_from_ms(req.state.now_ms())
    return json_response(batch_body(results, errors, started, completed), status=partial_status(req, errors, ok))


def property_error(errors: list[dict[str, Any]]) -> ApiError:
    detailed = [{**e, "localizedErrorMessage": e["message"], "portalId": PORTAL_ID} for e in errors]
    return v3_error(400, "Property values were not valid: " + json.dumps(detailed, separators=(",", ":")),
                    "VALIDATION_ERROR")


def conflict_message(t: ObjectType, exc: UniqueTaken) -> str:
    if exc.prop == "email":
        return f"{t.label} already exists. Existing ID: {exc.existing_id}"
    return (f"{t.label} with {exc.prop} {exc.value} already exists (the property has unique values). "
            f"Existing ID: {exc.existing_id}")


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


def clean_properties(t: ObjectType, raw: Any) -> tuple[dict[str, str], list[dict[str, Any]]]:
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        raise v3_error(400, "Invalid input JSON: properties must be an object", "VALIDATION_ERROR")
    return t.validate(raw)


def by_id_only(id_property: Any) -> bool:
    return id_property in (None, "", "hs_object_id")


def non_unique(t: ObjectType, id_property: Any) -> ApiError:
    return v3_error(400, f"Unable to perform update/upsert by non-unique {t.type_id} property {id_property}",
                    "VALIDATION_ERROR")


def resolve(t: ObjectType, id_value: Any, id_property: Any) -> Any:
    if by_id_only(id_property):
        return t.live(id_value)
    if not t.is_unique(str(id_property)):
        raise non_unique(t, id_property)
    return t.by_unique(str(id_property), id_value)


def inputs_of(body: dict[str, Any], *, maximum: int) -> list[dict[str, Any]]:
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
        raise v3_error(400, f"Duplicate IDs found in batch input: [{', '.join(dupes)}]. IDs must be unique",
                       "VALIDATION_ERROR", context={"ids": dupes})


def input_error(item: dict[str, Any], category: str, validation: list[dict[str, Any]] | None = None, *,
                message: str | None = None) -> dict[str, Any]:
    if validation:
        message = "Property values were not valid: " + json.dumps(validation, separators=(",", ":"))
    context: dict[str, list[str]] = {}
    if item.get("id") is not None:
        context["ids"] = [str(item.get("id"))]
    if item.get("objectWriteTraceId") is not None:
        context["objectWriteTraceId"] = [str(item["objectWriteTraceId"])]
    return standard_error(category, message or "error", context)


def traced(obj: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """Echo the input's ``objectWriteTraceId`` on its result, as HubSpot does."""
    if item.get("objectWriteTraceId") is not None:
        obj["objectWriteTraceId"] = str(item["objectWriteTraceId"])
    return obj


def inline_associations(req: Request, t: ObjectType, raw: Any) -> list[tuple[ObjectType, int, int]]:
    """The ``associations`` of a create input as ``(target type, target id, type id)``; 400 when one names
    an association type the object does not have or a record that does not exist."""
    store = req.state.store
    out: list[tuple[ObjectType, int, int]] = []
    for item in raw or []:
        to_id = str((item.get("to") or {}).get("id", ""))
        for spec in item.get("types") or []:
            type_id = spec.get("associationTypeId")
            target = next((store.types[b] for (a, b), defs in store.associations.labels.items()
                           if a == t.type_id and b in store.types and any(d["typeId"] == type_id for d in defs)), None)
            if target is None:
                raise v3_error(400, f"Association type {type_id} is not defined for {t.name}", "VALIDATION_ERROR",
                               context={"associationTypeId": [str(type_id)]})
            record = target.live(to_id)
            if record is None:
                raise v3_error(400, f"No {target.singular} with id {to_id} exists to associate with",
                               "VALIDATION_ERROR", context={"toObjectId": [to_id]})
            out.append((target, record.id, int(type_id)))
    return out


def _associate_all(req: Request, t: ObjectType, record: Any, links: list[tuple[ObjectType, int, int]]) -> None:
    for target, to_id, type_id in links:
        req.state.store.associate(t, record.id, target, to_id, type_id)


# ---------------------------------------------------------------------- single record
def create(req: Request) -> Response:
    t = object_type(req)
    body = req.json_object()
    clean, errors = clean_properties(t, body.get("properties"))
    if errors:
        raise property_error(errors)
    links = inline_associations(req, t, body.get("associations"))
    try:
        record = t.create(clean)
    except UniqueTaken as exc:
        raise v3_error(409, conflict_message(t, exc), "CONFLICT") from None
    _associate_all(req, t, record, links)
    return json_response(object_json(req, t, record, None, extra=clean.keys()), status=201)


def get_one(req: Request) -> Response:
    t = object_type(req)
    record = resolve(t, req.params["id"], req.arg("idProperty"))
    if record is None:
        raise not_found()
    return json_response(object_json(req, t, record, properties_arg(req), history=req.args("propertiesWithHistory"),
                                     associations=req.args("associations")))


def patch_one(req: Request) -> Response:
    t = object_type(req)
    record = resolve(t, req.params["id"], req.arg("idProperty"))
    if record is None:
        raise not_found()
    body = req.json_object()
    clean, errors = clean_properties(t, body.get("properties"))
    if errors:
        raise property_error(errors)
    try:
        t.update(record, clean)
    except UniqueTaken as exc:
        raise v3_error(409, conflict_message(t, exc), "CONFLICT") from None
    return json_response(object_json(req, t, record, None, extra=clean.keys()))


def delete_one(req: Request) -> Response:
    t = object_type(req)
    record = resolve(t, req.params["id"], req.arg("idProperty"))
    if record is not None:
        t.remove(record)
    return empty(204)


def list_objects(req: Request) -> Response:
    t = object_type(req)
    limit = req.int_arg("limit", 10, minimum=1, maximum=100, clamp=False, v1=False)
    after_raw = req.arg("after")
    try:
        after = int(after_raw) if after_raw else 0
    except ValueError:
        raise v3_error(400, f"Invalid value for after: {after_raw!r}", "VALIDATION_ERROR") from None
    page, has_more = t.live_after(after - 1, limit)
    props = properties_arg(req)
    linked = req.args("associations")
    body: dict[str, Any] = {"results": [object_json(req, t, r, props, associations=linked) for r in page]}
    if has_more and page:
        nxt = str(page[-1].id + 1)
        body["paging"] = {"next": {"after": nxt, "link": f"{req.emulator.url}{req.path}?after={nxt}&limit={limit}"}}
    return json_response(body)


# ---------------------------------------------------------------------- batch
def batch_read(req: Request) -> Response:
    t = object_type(req)
    started = iso_from_ms(req.state.now_ms())
    body = req.json_object()
    history = properties_arg(req, body, "propertiesWithHistory") or []
    inputs = inputs_of(body, maximum=HISTORY_BATCH_MAX if history else t.batch_limit)
    id_property = body.get("idProperty")
    props = properties_arg(req, body)
    results: list[dict[str, Any]] = []
    missing: list[str] = []
    seen: set[int] = set()
    for item in inputs:
        record = resolve(t, item.get("id"), id_property)
        if record is None:
            missing.append(str(item.get("id")))
        elif record.id not in seen:
            seen.add(record.id)
            results.append(object_json(req, t, record, props, history=history))
    errors: list[dict[str, Any]] = []
    if missing:
        message = f"Could not get some {t.upper} objects, they may be deleted or not exist. Check that ids are valid."
        errors.append(standard_error("OBJECT_NOT_FOUND", message, {"ids": missing}))
    return batch_answer(req, results, errors, started)


def batch_create(req: Request) -> Response:
    t = object_type(req)
    started = iso_from_ms(req.state.now_ms())
    inputs = inputs_of(req.json_object(), maximum=t.batch_limit)
    traces = [item.get("objectWriteTraceId") for item in inputs]
    per_input = bool(inputs) and all(traces) and len(set(map(str, traces))) == len(traces)
    unique = [p for p in t.unique_properties() if p != "hs_object_id"]
    planned: list[tuple[int, dict[str, str], list[tuple[ObjectType, int, int]]]] = []
    errors: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(inputs):
        try:
            clean, verrs = clean_properties(t, item.get("properties"))
            if verrs:
                if not per_input:
                    raise property_error(verrs[:1])
                errors.append(input_error(item, "VALIDATION_ERROR", verrs))
                continue
            links = inline_associations(req, t, item.get("associations"))
        except ApiError as exc:
            if not per_input:
                raise
            errors.append(input_error(item, "VALIDATION_ERROR", message=str(exc.body.get("message"))))
            continue
        keys = [(p, t.key(p, clean[p])) for p in unique if clean.get(p)]
        repeated = next((k for k in keys if k in seen), None)
        if repeated is not None:
            if not per_input:
                raise v3_error(400, f"Duplicate IDs found in batch input: [{repeated[1]}]. IDs must be unique",
                               "VALIDATION_ERROR")
            errors.append(input_error(item, "VALIDATION_ERROR",
                                      message=f"Duplicate {repeated[0]} {repeated[1]} in batch input"))
            continue
        seen.update(keys)
        existing = next(((p, clean[p], t.by_unique(p, clean[p])) for p in unique
                         if clean.get(p) and t.by_unique(p, clean[p]) is not None), None)
        if existing is not None:
            taken = UniqueTaken(existing[0], existing[1], existing[2].id)
            if not per_input:
                raise v3_error(409, conflict_message(t, taken), "CONFLICT")
            errors.append(input_error(item, "CONFLICT", message=conflict_message(t, taken)))
            continue
        planned.append((index, clean, links))
    results = []
    for index, clean, links in planned:
        record = t.create(clean)
        _associate_all(req, t, record, links)
        obj = object_json(req, t, record, None, extra=clean.keys())
        results.append(traced(obj, inputs[index]) if per_input else obj)
    return batch_answer(req, results, errors, started, ok=201)


def batch_update(req: Request) -> Response:
    t = object_type(req)
    started = iso_from_ms(req.state.now_ms())
    body = req.json_object()
    inputs = inputs_of(body, maximum=t.batch_limit)
    default_id_prop = body.get("idProperty")
    check_duplicates([_id_key(t, i.get("id"), i.get("idProperty", default_id_prop)) for i in inputs])
    planned: list[tuple[dict[str, Any], Any, dict[str, str]]] = []
    missing: list[str] = []
    for item in inputs:
        clean, verrs = clean_properties(t, item.get("properties"))
        if verrs:
            raise property_error(verrs[:1])
        record = resolve(t, item.get("id"), item.get("idProperty", default_id_prop))
        if record is None:
            missing.append(str(item.get("id")))
            continue
        planned.append((item, record, clean))
    results: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for item, record, clean in planned:
        try:
            t.update(record, clean)
        except UniqueTaken as exc:
            errors.append(input_error(item, "CONFLICT", message=conflict_message(t, exc)))
            continue
        results.append(traced(object_json(req, t, record, None, extra=clean.keys()), item))
    if missing:
        message = f"Could not get some {t.upper} objects, they may be deleted or not exist. Check that ids are valid."
        errors.append(standard_error("OBJECT_NOT_FOUND", message, {"ids": missing}))
    return batch_answer(req, results, errors, started)


def _id_key(t: ObjectType, value: Any, id_property: Any) -> str:
    return t.key(str(id_property or "hs_object_id"), value)


def batch_upsert(req: Request) -> Response:
    t = object_type(req)
    started = iso_from_ms(req.state.now_ms())
    body = req.json_object()
    inputs = inputs_of(body, maximum=t.batch_limit)
    default_id_prop = body.get("idProperty")
    id_props = [item.get("idProperty", default_id_prop) for item in inputs]
    for id_prop in id_props:
        if not by_id_only(id_prop) and not t.is_unique(str(id_prop)):
            raise non_unique(t, id_prop)
    check_duplicates([_id_key(t, item.get("id"), p) for item, p in zip(inputs, id_props, strict=True)])
    # Pass 1: validate. Inputs keyed by a unique property are all-or-nothing (no partial upserts by it).
    planned: list[tuple[int, Any, str, str, dict[str, str]]] = []
    errors: list[dict[str, Any]] = []
    for index, (item, id_prop) in enumerate(zip(inputs, id_props, strict=True)):
        raw_id = item.get("id")
        if by_id_only(id_prop):
            clean, verrs = clean_properties(t, item.get("properties"))
            if verrs:
                errors.append(input_error(item, "VALIDATION_ERROR", verrs[:1]))
                continue
            record = t.live(raw_id)
            if record is None:
                errors.append(input_error(item, "OBJECT_NOT_FOUND", message="resource not found"))
                continue
            planned.append((index, record, "", "", clean))
            continue
        key = str(id_prop)
        key_clean, key_errors = t.validate({key: raw_id})
        if key_errors or not key_clean.get(key):
            raise property_error(key_errors[:1] or [{"isValid": False, "message": f"{raw_id!r} is not a valid {key}",
                                                     "error": "INVALID_ID", "name": key}])
        clean, verrs = clean_properties(t, item.get("properties"))
        if verrs:
            raise property_error(verrs[:1])
        value = key_clean[key]
        clean[key] = clean.get(key) or value
        planned.append((index, t.by_unique(key, value), key, value, clean))
    # Pass 2: apply.
    results: list[dict[str, Any]] = []
    for index, record, id_prop, value, clean in planned:
        is_new = False
        try:
            if record is None:  # by a unique value (an earlier input may have created the record)
                record, is_new = t.upsert(id_prop, value, clean)
            else:
                t.update(record, clean)
        except UniqueTaken as exc:
            errors.append(input_error(inputs[index], "CONFLICT", message=conflict_message(t, exc)))
            continue
        obj = traced(object_json(req, t, record, None, extra=clean.keys()), inputs[index])
        obj["new"] = is_new
        results.append(obj)
    return batch_answer(req, results, errors, started)


def batch_archive(req: Request) -> Response:
    t = object_type(req)
    body = req.json_object()
    inputs = inputs_of(body, maximum=t.batch_limit)
    id_prop = body.get("idProperty")
    for item in inputs:
        record = resolve(t, item.get("id"), id_prop)
        if record is not None:
            t.remove(record)
    return empty(204)


# ---------------------------------------------------------------------- merge, GDPR delete
def merge(req: Request) -> Response:
    t = object_type(req)
    if not t.mergeable:
        raise not_found()
    body = req.json_object()
    try:
        primary_id = int(str(body.get("primaryObjectId")))
        secondary_id = int(str(body.get("objectIdToMerge")))
    except ValueError:
        raise v3_error(400, "primaryObjectId and objectIdToMerge must be object ids", "VALIDATION_ERROR") from None
    context = {"primaryObjectId": [str(primary_id)], "objectIdToMerge": [str(secondary_id)]}
    if primary_id == secondary_id:
        raise v3_error(400, "Cannot merge an object with itself", "VALIDATION_ERROR", context=context)
    primary = t.live(primary_id)
    secondary = t.raw(secondary_id)
    if primary is None or secondary is None or secondary.deleted:
        raise not_found()
    primary_key = primary.id
    if not secondary.live:
        survivor = t.canonical(secondary_id)
        if survivor == primary_key:
            raise v3_error(400, f"Object {secondary_id} is already merged into {primary_key}", "VALIDATION_ERROR",
                           context=context)
        raise v3_error(400, f"Object {secondary_id} was merged into {survivor} and cannot be merged again",
                       "VALIDATION_ERROR", context=context)
    if secondary.id == primary_key:  # the primary id was itself merged into the secondary
        raise v3_error(400, f"Object {primary_id} is already merged into {secondary_id}", "VALIDATION_ERROR",
                       context=context)
    t.merge(primary, secondary)
    return json_response(object_json(req, t, primary, None))


def gdpr_delete(req: Request) -> Response:
    """Permanently delete a contact and blocklist its e-mail; by ``idProperty: "email"`` an address no
    contact has is blocklisted all the same (204). An unknown record id answers 404."""
    t = object_type(req)
    if t.type_id != "0-1":
        raise not_found()
    body = req.json_object()
    object_id = body.get("objectId")
    id_property = body.get("idProperty")
    if object_id in (None, ""):
        raise v3_error(400, "objectId is required", "VALIDATION_ERROR", context={"objectId": ["must not be blank"]})
    record = resolve(t, object_id, id_property)
    if record is None and id_property != "email":
        raise not_found()
    req.state.contact_type.gdpr_delete(record, str(object_id) if id_property == "email" else None)
    return empty(204)


# ---------------------------------------------------------------------- search
_OPERATORS = frozenset({"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY",
                        "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"})
_COMPARE = {"EQ": lambda a, b: a == b, "NEQ": lambda a, b: a != b, "LT": lambda a, b: a < b,
            "LTE": lambda a, b: a <= b, "GT": lambda a, b: a > b, "GTE": lambda a, b: a >= b}


def _kind(t: ObjectType, name: str) -> str:
    """How values of a property compare: ``number``, ``date`` / ``datetime`` (epoch ms) or ``string``."""
    prop = t.schema.get(name)
    return "number" if name == "hs_object_id" else prop.type if prop is not None else "string"


def _comparable(kind: str, value: Any) -> Any:
    if kind == "number":
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    if kind in ("date", "datetime"):
        return parse_timestamp_ms(value)
    return str(value).lower()


def _matcher(t: ObjectType, flt: dict[str, Any]) -> Callable[[Any], bool]:
    """One filter as a test of a record; its values are parsed here, once per request."""
    name, op = flt["propertyName"], flt["operator"]
    kind = _kind(t, name)
    if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        return lambda record: (t.prop(record, name) is not None) == (op == "HAS_PROPERTY")
    token = str(flt.get("value", "")).lower()
    wanted = {_comparable(kind, v) for v in flt.get("values") or []}
    want = _comparable(kind, flt.get("value"))
    high = _comparable(kind, flt.get("highValue"))

    def matches(record: Any) -> bool:
        raw = t.prop(record, name)
        if raw is None:
            return op in ("NEQ", "NOT_IN", "NOT_CONTAINS_TOKEN")
        if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
            words = [*_split_words(raw.lower()), raw.lower()]
            return any(fnmatch.fnmatchcase(w, token) for w in words) == (op == "CONTAINS_TOKEN")
        have = _comparable(kind, raw)
        if op in ("IN", "NOT_IN"):
            return (have in wanted) == (op == "IN")
        if have is None or want is None:
            return op == "NEQ"
        try:
            if op == "BETWEEN":
                return high is not None and bool(want <= have <= high)
            return bool(_COMPARE[op](have, want))
        except TypeError:
            return False

    return matches


def _split_words(text: str) -> list[str]:
    out: list[str] = []
    word: list[str] = []
    for ch in text:
        if ch.isalnum():
            word.append(ch)
        elif word:
            out.append("".join(word))
            word = []
    if word:
        out.append("".join(word))
    return out


def _candidates(t: ObjectType, groups: list[list[dict[str, Any]]]) -> Iterable[Any]:
    """Use a unique-property index when every filter group pins a unique property with EQ / IN."""
    if not groups:
        return t.iter_live()
    found: dict[int, Any] = {}
    for group in groups:
        pinned = next((f for f in group if f["operator"] in ("EQ", "IN") and t.is_unique(f["propertyName"])), None)
        if pinned is None:
            return t.iter_live()
        name = pinned["propertyName"]
        values = [pinned.get("value", "")] if pinned["operator"] == "EQ" else pinned.get("values") or []
        for value in values:
            record = t.by_unique(name, value)
            if record is not None and t.key(name, t.prop(record, name) or "") == t.key(name, value):
                found[record.id] = record
    return [found[i] for i in sorted(found)]


def _search_groups(t: ObjectType, raw_groups: Any) -> list[list[dict[str, Any]]]:
    if not isinstance(raw_groups, list) or len(raw_groups) > 5:
        raise v3_error(400, "A search may contain at most 5 filterGroups", "VALIDATION_ERROR")
    groups: list[list[dict[str, Any]]] = []
    for group in raw_groups:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise v3_error(400, "Each filterGroup needs a filters array", "VALIDATION_ERROR")
        if len(filters) > 10:
            raise v3_error(400, "A filterGroup may contain at most 10 filters", "VALIDATION_ERROR")
        for flt in filters:
            if not isinstance(flt, dict) or "propertyName" not in flt:
                raise v3_error(400, "Each filter needs a propertyName", "VALIDATION_ERROR")
            flt["operator"] = str(flt.get("operator", "EQ")).upper()
            if flt["operator"] not in _OPERATORS:
                raise v3_error(400, f"Unknown filter operator {flt['operator']}", "VALIDATION_ERROR")
            if flt["propertyName"] not in t.schema:
                raise v3_error(400, f"Property {flt['propertyName']} does not exist on object type {t.upper}",
                               "VALIDATION_ERROR")
        groups.append(filters)
    if sum(len(g) for g in groups) > 25:
        raise v3_error(400, "A search may contain at most 25 filters in total", "VALIDATION_ERROR")
    return groups


def search(req: Request) -> Response:
    t = object_type(req)
    body = req.json(required=False) or {}
    if not isinstance(body, dict):
        raise v3_error(400, "Invalid input JSON: expected an object", "VALIDATION_ERROR")
    try:
        limit = int(body.get("limit", 10))
        after = int(body.get("after") or 0)
    except (TypeError, ValueError):
        raise v3_error(400, "limit and after must be integers", "VALIDATION_ERROR") from None
    if limit > SEARCH_MAX_LIMIT or limit < 0:
        raise v3_error(400, f"Invalid value for limit. limit must be between 0 and {SEARCH_MAX_LIMIT}",
                       "VALIDATION_ERROR", context={"limit": [f"must be less than or equal to {SEARCH_MAX_LIMIT}"]})
    if after >= SEARCH_MAX_RESULTS:
        raise v3_error(400, f"Paging beyond {SEARCH_MAX_RESULTS} results is not supported: narrow the query",
                       "VALIDATION_ERROR")
    groups = _search_groups(t, body.get("filterGroups") or [])
    query = str(body.get("query") or "").strip().lower()
    tests = [[_matcher(t, f) for f in group] for group in groups]
    matches: list[Any] = []
    for record in _candidates(t, groups):
        if tests and not any(all(test(record) for test in group) for group in tests):
            continue
        if query and not any(query in (record.properties.get(n) or "").lower() for n in t.search_text):
            continue
        matches.append(record)
    sorts = body.get("sorts") or []
    if sorts:
        first = sorts[0]
        if isinstance(first, str):
            name, descending = first.lstrip("-+"), first.startswith("-")
        else:
            name = str(first.get("propertyName", "hs_object_id"))
            descending = str(first.get("direction", "ASCENDING")).upper().startswith("DESC")
        present = [r for r in matches if t.prop(r, name) is not None]
        absent = [r for r in matches if t.prop(r, name) is None]
        present.sort(key=lambda r: r.id)
        kind = _kind(t, name)
        present.sort(key=lambda r: _comparable(kind, t.prop(r, name)) or 0, reverse=descending)
        matches = present + absent
    capped = matches[:SEARCH_MAX_RESULTS]
    page = capped[after: after + limit]
    props = properties_arg(req, body)
    result: dict[str, Any] = {"total": len(matches), "results": [object_json(req, t, r, props) for r in page]}
    if after + limit < len(capped) and limit > 0:
        nxt = str(after + limit)
        result["paging"] = {"next": {"after": nxt, "link": f"{req.emulator.url}{req.path}?after={nxt}"}}
    return json_response(result)


def register(router: Router) -> None:
    r, w = read_scopes, write_scopes
    for base in ("/crm/v3/objects/{objectType}", f"/crm/objects/{VERSION}/{{objectType}}"):
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
        add("GET", base, list_objects, scopes=r)
        add("POST", base, create, scopes=w, body=bodies.crm_create(dated))
        add("GET", f"{base}/{{id}}", get_one, scopes=r)
        add("PATCH", f"{base}/{{id}}", patch_one, scopes=w, body=bodies.CRM_UPDATE)
        add("DELETE", f"{base}/{{id}}", delete_one, scopes=w)
