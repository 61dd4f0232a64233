"""Association routes: v4 (``/crm/v4/associations/{from}/{to}/...``, ``/crm/v4/objects/...``) and
date-based (``/crm/associations/{YYYY-MM}/{from}/{to}/...``, ``/crm/objects/{YYYY-MM}/.../associations``),
over the object store's association graph (``objects.py``), in each version's shapes (§3 of the objects
reference):

* ``batch/associate/default`` → 200 ``{results: [{from, to, associationSpec}]}`` (errors inline).
* ``batch/create`` (labelled) → v4 and 2026-03: 201, 207 when some failed; 2026-09: 200 either way.
  Results are ``LabelsBetweenObjectPair`` (``fromObjectTypeId``, ``fromObjectId``, ``toObjectTypeId``,
  ``toObjectId``, ``labels``).
* ``batch/read`` → ``{results: [{from: {id}, to: [{toObjectId, associationTypes: [{category, typeId,
  label}]}], paging?}]}``; 207 (v4, 2026-03) or 200 (2026-09) with errors. 2026-09 drops
  ``fromObjectTypeId`` / ``toObjectTypeId`` from ``associationTypes`` items (v4 and 2026-03 carry them).
* ``batch/archive`` and ``batch/labels/archive`` → v4: 204; date-based: 200 with a ``BatchResponse``.
* ``labels`` → ``{results: [{category, typeId, label}]}``; POST creates a USER_DEFINED label (and its
  inverse).
* One pair: PUT ``.../associations/default/{toType}/{toId}`` (200), PUT ``.../associations/{toType}/{toId}``
  with an array of types (201), DELETE (204); GET ``.../associations/{toType}`` (v4 and 2026-03 only;
  2026-09 publishes no such path).

Emulator choices where HubSpot's behaviour is UNCERTAIN:

* Batch limits: 1,000 inputs for ``batch/read`` (HubSpot's changelog), 2,000 for the writes (the
  commonly cited cap); more answers 400.
* An input naming a record that does not exist (or an association type the pair does not have) is
  an error of that input (``OBJECT_NOT_FOUND`` / ``VALIDATION_ERROR``, ``context`` with ``fromObjectId``
  and ``toObjectId``), the other inputs are applied.
* A ``batch/read`` input with no associations is an error ``OBJECT_NOT_FOUND`` (sub-category
  ``crm.associations.NO_ASSOCIATIONS_FOUND``), as HubSpot answers; 500 targets per page.
* Associating a pair again changes nothing and answers as the first time (no error).
"""

from __future__ import annotations

from typing import Any

from . import bodies
from ._util import iso_from_ms
from .objects import ObjectType
from .router import VERSION, Request, Response, Router, empty, json_response, v3_error
from .versions import multi_status, versioned

READ_LIMIT = 1_000
WRITE_LIMIT = 2_000
PAGE = 500


def _types(req: Request) -> tuple[ObjectType, ObjectType]:
    store = req.state.store
    names = (req.params.get("fromObjectType") or req.params.get("objectType"), req.params.get("toObjectType"))
    found = [store.get(n) for n in names]
    for name, t in zip(names, found, strict=True):
        if t is None:
            raise v3_error(400, f"Unable to infer object type from: {name}", "VALIDATION_ERROR")
    return found[0], found[1]  # type: ignore[return-value]


def _scopes(kind: str) -> Any:
    def scopes(req: Request) -> tuple[str, ...]:
        t = req.state.store.get(req.params.get("fromObjectType") or req.params.get("objectType") or "")
        if t is None:
            return ()
        return t.write_scopes if kind == "write" else (*t.read_scopes, *t.write_scopes)

    return scopes


def _inputs(req: Request, maximum: int) -> list[dict[str, Any]]:
    body = req.json_object()
    inputs = body.get("inputs")
    if not isinstance(inputs, list):
        raise v3_error(400, "Invalid input JSON: inputs must be an array", "VALIDATION_ERROR")
    if len(inputs) > maximum:
        raise v3_error(400, f"The maximum number of inputs supported in a batch request is {maximum}. Please reduce "
                            "the number of items and try again", "VALIDATION_ERROR",
                       context={"inputs": [f"size must be between 0 and {maximum}"]})
    return inputs


def _error(category: str, message: str, from_id: Any, to_id: Any = None, sub: str | None = None) -> dict[str, Any]:
    context = {"fromObjectId": [str(from_id)]}
    if to_id is not None:
        context["toObjectId"] = [str(to_id)]
    error: dict[str, Any] = {"status": "error", "category": category, "message": message, "context": context,
                             "errors": [], "links": {}}
    if sub:
        error["subCategory"] = sub
    return error


def _version(req: Request) -> str | None:
    return req.params.get("version")


def _answer(req: Request, results: list[Any], errors: list[Any], started: str, *, ok: int = 200,
            partial: bool = True) -> Response:
    body: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": started,
                            "completedAt": iso_from_ms(req.state.now_ms())}
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
    status = 207 if errors and partial and multi_status(_version(req)) else ok
    return json_response(body, status=status)


def _pair(req: Request, source: ObjectType, target: ObjectType, item: dict[str, Any]
          ) -> tuple[int, int] | dict[str, Any]:
    """The record ids of one input's pair, or the error naming what is missing."""
    from_id, to_id = (item.get("from") or {}).get("id"), (item.get("to") or {}).get("id")
    a, b = source.live(from_id), target.live(to_id)
    if a is None or b is None:
        missing = f"{source.singular} {from_id}" if a is None else f"{target.singular} {to_id}"
        return _error("OBJECT_NOT_FOUND", f"No {missing} exists: the association was not created", from_id, to_id)
    return a.id, b.id


def _check_types(req: Request, source: ObjectType, target: ObjectType, types: list[dict[str, Any]]
                 ) -> list[int] | str:
    store = req.state.store
    store.associations.definitions(source.type_id, target.type_id, custom=source.custom or target.custom)
    ids: list[int] = []
    for spec in types:
        known = store.associations.spec(source.type_id, target.type_id, int(spec.get("associationTypeId") or 0))
        if known is None or known["category"] != spec.get("associationCategory"):
            return (f"association type {spec.get('associationCategory')}/{spec.get('associationTypeId')} is not "
                    f"defined from {source.name} to {target.name}")
        ids.append(int(known["typeId"]))
    return ids


def _labels(req: Request, source: ObjectType, target: ObjectType, types: set[int]) -> list[str]:
    store = req.state.store
    specs = [store.associations.spec(source.type_id, target.type_id, t) for t in sorted(types)]
    return [s["label"] for s in specs if s and s.get("label")]


def _type_items(req: Request, source: ObjectType, target: ObjectType, types: set[int]) -> list[dict[str, Any]]:
    store = req.state.store
    out = []
    for type_id in sorted(types):
        spec = store.associations.spec(source.type_id, target.type_id, type_id) or {
            "category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}
        item = {"category": spec["category"], "typeId": spec["typeId"], "label": spec["label"]}
        if _version(req) in (None, "2026-03"):  # v4 and 2026-03 carry the object types; 2026-09 dropped them
            item.update(fromObjectTypeId=source.type_id, toObjectTypeId=target.type_id)
        out.append(item)
    return out


# ---------------------------------------------------------------------- batch
def associate_default(req: Request) -> Response:
    source, target = _types(req)
    started = iso_from_ms(req.state.now_ms())
    store = req.state.store
    default = store.associations.default_type(source.type_id, target.type_id, custom=source.custom or target.custom)
    results, errors = [], []
    for item in _inputs(req, WRITE_LIMIT):
        pair = _pair(req, source, target, item)
        if isinstance(pair, dict):
            errors.append(pair)
            continue
        store.associate(source, pair[0], target, pair[1])
        results.append({"from": {"id": str(pair[0])}, "to": {"id": str(pair[1])},
                        "associationSpec": {"associationCategory": default["category"],
                                            "associationTypeId": default["typeId"]}})
    return _answer(req, results, errors, started, partial=False)


def create_labeled(req: Request) -> Response:
    source, target = _types(req)
    started = iso_from_ms(req.state.now_ms())
    store = req.state.store
    results, errors = [], []
    checked: dict[str, list[int] | str] = {}  # the inputs of a batch mostly share their types: check each once
    for item in _inputs(req, WRITE_LIMIT):
        pair = _pair(req, source, target, item)
        if isinstance(pair, dict):
            errors.append(pair)
            continue
        types = item.get("types") or []
        key = repr(types)
        type_ids = checked.get(key)
        if type_ids is None:
            type_ids = checked[key] = _check_types(req, source, target, types)
        if isinstance(type_ids, str):
            errors.append(_error("VALIDATION_ERROR", type_ids, pair[0], pair[1]))
            continue
        for type_id in type_ids:
            store.associate(source, pair[0], target, pair[1], type_id)
        results.append(_labels_between(req, source, target, pair[0], pair[1]))
    return _answer(req, results, errors, started, ok=201 if multi_status(_version(req)) else 200)


def _labels_between(req: Request, source: ObjectType, target: ObjectType, from_id: int, to_id: int) -> dict[str, Any]:
    types = req.state.store.associations.of(source.type_id, from_id, target.type_id).get(to_id, set())
    return {"fromObjectTypeId": source.type_id, "fromObjectId": str(from_id), "toObjectTypeId": target.type_id,
            "toObjectId": str(to_id), "labels": _labels(req, source, target, types)}


def batch_read(req: Request) -> Response:
    source, target = _types(req)
    started = iso_from_ms(req.state.now_ms())
    store = req.state.store
    results, errors = [], []
    for item in _inputs(req, READ_LIMIT):
        raw_id = item.get("id")
        record = source.live(raw_id)
        linked = store.associated(source, record.id, target) if record is not None else {}
        if not linked:
            message = f"No {target.singular} is associated with {source.singular} {raw_id}."
            errors.append(_error("OBJECT_NOT_FOUND", message, raw_id, sub="crm.associations.NO_ASSOCIATIONS_FOUND"))
            continue
        try:
            offset = int(item.get("after") or 0)
        except ValueError:
            raise v3_error(400, f"Invalid after: {item.get('after')!r}", "VALIDATION_ERROR") from None
        targets = list(linked.items())
        page = targets[offset: offset + PAGE]
        result: dict[str, Any] = {"from": {"id": str(raw_id)},
                                  "to": [{"toObjectId": str(to_id), "associationTypes": _type_items(req, source,
                                                                                                    target, types)}
                                         for to_id, types in page]}
        if offset + PAGE < len(targets):
            result["paging"] = {"next": {"after": str(offset + PAGE)}}
        results.append(result)
    return _answer(req, results, errors, started)


def batch_archive(req: Request) -> Response:
    source, target = _types(req)
    started = iso_from_ms(req.state.now_ms())
    store = req.state.store
    for item in _inputs(req, WRITE_LIMIT):
        a = source.live((item.get("from") or {}).get("id"))
        if a is None:
            continue
        for to in item.get("to") or []:
            b = target.live((to or {}).get("id"))
            if b is not None:
                store.associations.remove(source.type_id, a.id, target.type_id, b.id)
    return empty(204) if _version(req) is None else _answer(req, [], [], started)


def archive_labels(req: Request) -> Response:
    source, target = _types(req)
    started = iso_from_ms(req.state.now_ms())
    store = req.state.store
    errors = []
    for item in _inputs(req, WRITE_LIMIT):
        pair = _pair(req, source, target, item)
        if isinstance(pair, dict):
            errors.append(pair)
            continue
        type_ids = _check_types(req, source, target, item.get("types") or [])
        if isinstance(type_ids, str):
            errors.append(_error("VALIDATION_ERROR", type_ids, pair[0], pair[1]))
            continue
        store.associations.remove(source.type_id, pair[0], target.type_id, pair[1], type_ids)
    if _version(req) is None and not errors:
        return empty(204)
    return _answer(req, [], errors, started, partial=False)


# ---------------------------------------------------------------------- labels
def labels(req: Request) -> Response:
    source, target = _types(req)
    defs = req.state.store.associations.definitions(source.type_id, target.type_id,
                                                    custom=source.custom or target.custom)
    return json_response({"results": [dict(d) for d in defs]})


def create_label(req: Request) -> Response:
    source, target = _types(req)
    body = req.json_object()
    label = str(body.get("label") or "").strip()
    if not label:
        raise v3_error(400, "label must not be blank", "VALIDATION_ERROR", context={"label": ["must not be blank"]})
    existing = req.state.store.associations.definitions(source.type_id, target.type_id)
    if any(d.get("label") == label for d in existing):
        raise v3_error(409, f"A label {label!r} already exists from {source.name} to {target.name}", "CONFLICT")
    defs = req.state.store.associations.create_label(source.type_id, target.type_id, label, body.get("inverseLabel"),
                                                     custom=source.custom or target.custom)
    return json_response({"results": [dict(d) for d in defs if d.get("label") in (label,)]})


# ---------------------------------------------------------------------- one pair / one record
def _one_pair(req: Request) -> tuple[ObjectType, ObjectType, int, int]:
    source, target = _types(req)
    pair = _pair(req, source, target, {"from": {"id": req.params.get("fromObjectId") or req.params.get("objectId")},
                                       "to": {"id": req.params.get("toObjectId")}})
    if isinstance(pair, dict):
        raise v3_error(404, pair["message"], "OBJECT_NOT_FOUND", context=pair["context"])
    return source, target, pair[0], pair[1]


def put_default(req: Request) -> Response:
    source, target, from_id, to_id = _one_pair(req)
    started = iso_from_ms(req.state.now_ms())
    store = req.state.store
    store.associate(source, from_id, target, to_id)
    default = store.associations.default_type(source.type_id, target.type_id)
    result = {"from": {"id": str(from_id)}, "to": {"id": str(to_id)},
              "associationSpec": {"associationCategory": default["category"], "associationTypeId": default["typeId"]}}
    return _answer(req, [result], [], started)


def put_labeled(req: Request) -> Response:
    source, target, from_id, to_id = _one_pair(req)
    types = req.json()
    if not isinstance(types, list):
        raise v3_error(400, "Invalid input JSON: expected an array of association types", "VALIDATION_ERROR")
    type_ids = _check_types(req, source, target, types)
    if isinstance(type_ids, str):
        raise v3_error(400, type_ids, "VALIDATION_ERROR")
    for type_id in type_ids:
        req.state.store.associate(source, from_id, target, to_id, type_id)
    return json_response(_labels_between(req, source, target, from_id, to_id), status=201)


def delete_pair(req: Request) -> Response:
    source, target = _types(req)
    a = source.live(req.params.get("objectId"))
    b = target.live(req.params.get("toObjectId"))
    if a is not None and b is not None:
        req.state.store.associations.remove(source.type_id, a.id, target.type_id, b.id)
    return empty(204)


def list_one(req: Request) -> Response:
    source, target = _types(req)
    record = source.live(req.params.get("objectId"))
    if record is None:
        raise v3_error(404, "resource not found", "OBJECT_NOT_FOUND")
    limit = req.int_arg("limit", PAGE, minimum=1, maximum=PAGE, clamp=False, v1=False)
    offset = req.int_arg("after", 0, minimum=0, clamp=False, v1=False)
    targets = list(req.state.store.associated(source, record.id, target).items())
    page = targets[offset: offset + limit]
    body: dict[str, Any] = {"results": [{"toObjectId": str(to_id), "associationTypes": _type_items(req, source, target,
                                                                                                   types)}
                                        for to_id, types in page]}
    if offset + limit < len(targets):
        body["paging"] = {"next": {"after": str(offset + limit)}}
    return json_response(body)


def register(router: Router) -> None:
    read, write = _scopes("read"), _scopes("write")
    for base in ("/crm/v4/associations/{fromObjectType}/{toObjectType}",
                 f"/crm/associations/{VERSION}/{{fromObjectType}}/{{toObjectType}}"):
        add = versioned(router, base, "associations")
        add("POST", f"{base}/batch/associate/default", associate_default, scopes=write, body=bodies.ASSOCIATE_DEFAULT)
        add("POST", f"{base}/batch/create", create_labeled, scopes=write, body=bodies.ASSOCIATE_LABELED)
        add("POST", f"{base}/batch/read", batch_read, scopes=read, write=False, body=bodies.ASSOCIATIONS_READ)
        add("POST", f"{base}/batch/archive", batch_archive, scopes=write, body=bodies.ASSOCIATIONS_ARCHIVE)
        add("POST", f"{base}/batch/labels/archive", archive_labels, scopes=write, body=bodies.ASSOCIATE_LABELED)
        add("GET", f"{base}/labels", labels, scopes=read)
        add("POST", f"{base}/labels", create_label, scopes=write, body=bodies.ASSOCIATION_LABEL_CREATE)
    for base in ("/crm/v4/objects/{objectType}/{objectId}/associations",
                 f"/crm/objects/{VERSION}/{{objectType}}/{{objectId}}/associations"):
        add = versioned(router, base, "associations")
        add("PUT", f"{base}/default/{{toObjectType}}/{{toObjectId}}", put_default, scopes=write)
        add("PUT", f"{base}/{{toObjectType}}/{{toObjectId}}", put_labeled, scopes=write,
            body=bodies.ASSOCIATION_TYPES)
        add("DELETE", f"{base}/{{toObjectType}}/{{toObjectId}}", delete_pair, scopes=write)
        dated = "{version" in base
        add("GET", f"{base}/{{toObjectType}}", list_one, scopes=read, write=False,
            **({"versions": ("2026-03",)} if dated else {}))
