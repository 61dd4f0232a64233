"""Property definitions: v1 contacts (``/properties/v1/contacts/properties``) and modern, of every
object type (``/crm/v3/properties/{objectType}``, ``/crm/properties/{YYYY-MM}/{objectType}``), served from
each type's property schema (``state.define_property`` adds more; ``POST`` creates one).

Scopes: the type's ``crm.objects.<kind>.read`` or ``crm.schemas.<kind>.read`` (any one); creating a
property: ``crm.schemas.<kind>.write``.

Emulator choices where HubSpot's behaviour is UNCERTAIN:

* v1 unknown name → 404 ``"Couldn't find a Property with the given name '<name>'"`` (as recorded from
  HubSpot); modern unknown name → 404 ``OBJECT_NOT_FOUND`` ``"Unable to find property <name> for object
  type 0-1"``.
* ``GET .../properties`` lists every definition at once (v1: a bare array; modern: ``{"results": [...]}``
  without ``paging``), as HubSpot does for properties.
* An unknown object type answers 404 ``"Unable to infer object type from: <x>"``.
* ``POST`` of a name that exists answers 409 ``CONFLICT``; ``hasUniqueValue`` is kept and cannot change.
"""

from __future__ import annotations

from typing import Any

from . import bodies
from .objects import ObjectType
from .router import CONTACTS_READ, VERSION, Request, Response, Router, json_response, v1_error, v3_error
from .schema import PROPERTY_TYPES, SERVER_MANAGED, PropertyDef
from .versions import versioned

SCHEMAS_READ = "crm.schemas.contacts.read"
_CALCULATED = frozenset({"hs_object_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate"})


def v1_property_json(prop: PropertyDef, index: int) -> dict[str, Any]:
    base = prop.to_hubspot_json()
    read_only = prop.name in SERVER_MANAGED or prop.name in _CALCULATED
    return {
        "name": prop.name,
        "label": base["label"],
        "description": "",
        "groupName": prop.group_name,
        "type": prop.type,
        "fieldType": base["fieldType"],
        "options": base["options"],
        "hidden": False,
        "deleted": False,
        "displayOrder": index,
        "formField": not read_only,
        "readOnlyValue": read_only,
        "readOnlyDefinition": read_only,
        "mutableDefinitionNotDeletable": read_only,
        "calculated": prop.name in _CALCULATED,
        "externalOptions": False,
        "displayMode": "current_value",
        "favorited": False,
    }


def modern_property_json(prop: PropertyDef, index: int) -> dict[str, Any]:
    v1 = v1_property_json(prop, index)
    return {
        "name": prop.name,
        "label": v1["label"],
        "type": prop.type,
        "fieldType": v1["fieldType"],
        "description": "",
        "groupName": prop.group_name,
        "options": v1["options"],
        "displayOrder": index,
        "calculated": v1["calculated"],
        "externalOptions": False,
        "hasUniqueValue": prop.unique or prop.name in ("email", "hs_object_id"),
        "hidden": False,
        "formField": v1["formField"],
        "archived": False,
        "modificationMetadata": {
            "archivable": not v1["readOnlyDefinition"],
            "readOnlyDefinition": v1["readOnlyDefinition"],
            "readOnlyValue": v1["readOnlyValue"],
        },
    }


def _indexed(req: Request, t: ObjectType | None = None) -> list[tuple[int, PropertyDef]]:
    return list(enumerate((t.schema if t is not None else req.state.schema).values()))


def _find(req: Request, t: ObjectType | None = None) -> tuple[int, PropertyDef] | None:
    name = req.params["name"]
    for index, prop in _indexed(req, t):
        if prop.name == name:
            return index, prop
    return None


def v1_named(req: Request) -> Response:
    found = _find(req)
    if found is None:
        raise v1_error(404, f"Couldn't find a Property with the given name '{req.params['name']}'")
    return json_response(v1_property_json(found[1], found[0]))


def v1_all(req: Request) -> Response:
    return json_response([v1_property_json(p, i) for i, p in _indexed(req)])


def _object_type(req: Request) -> ObjectType:
    found = req.state.store.get(req.params["objectType"])
    if found is None:
        raise v3_error(404, f"Unable to infer object type from: {req.params['objectType']}", "OBJECT_NOT_FOUND")
    return found


def modern_get(req: Request) -> Response:
    t = _object_type(req)
    found = _find(req, t)
    if found is None:
        raise v3_error(404, f"Unable to find property {req.params['name']} for object type {t.type_id}",
                       "OBJECT_NOT_FOUND", context={"propertyName": [req.params["name"]]})
    return json_response(modern_property_json(found[1], found[0]))


def modern_all(req: Request) -> Response:
    t = _object_type(req)
    return json_response({"results": [modern_property_json(p, i) for i, p in _indexed(req, t)]})


def modern_create(req: Request) -> Response:
    t = _object_type(req)
    body = req.json_object()
    name = str(body["name"]).strip()
    if name in t.schema:
        raise v3_error(409, f"Property named '{name}' already exists for object type {t.type_id}", "CONFLICT",
                       context={"name": [name]})
    kind = str(body["type"])
    options = [str(o["value"]) for o in body.get("options") or []]
    if kind not in PROPERTY_TYPES or (kind == "enumeration" and not options):
        raise v3_error(400, f"Property {name}: type {kind!r} needs options" if kind == "enumeration" else
                       f"Unknown property type {kind!r}", "VALIDATION_ERROR")
    field_type = str(body.get("fieldType") or "")
    t.define_property(PropertyDef(name=name, type=kind, options=options, label=str(body["label"]),
                                  group_name=str(body["groupName"]), unique=bool(body.get("hasUniqueValue")),
                                  field_type=field_type if field_type == "checkbox" else ""))
    found = next((i, p) for i, p in _indexed(req, t) if p.name == name)
    return json_response(modern_property_json(found[1], found[0]), status=201)


def _scopes(access: str) -> Any:
    def scopes(req: Request) -> tuple[str, ...]:
        t = req.state.store.get(req.params.get("objectType", ""))
        if t is None:
            return ()
        kind = "custom" if t.custom else t.scope
        if access == "write":
            return (f"crm.schemas.{kind}.write",)
        return (*t.read_scopes, f"crm.schemas.{kind}.read")

    return scopes


def register(router: Router) -> None:
    scopes = (CONTACTS_READ, SCHEMAS_READ)
    router.add("GET", "/properties/v1/contacts/properties", v1_all, scopes=scopes)
    router.add("GET", "/properties/v1/contacts/properties/named/{name}", v1_named, scopes=scopes)
    for base in ("/crm/v3/properties", f"/crm/properties/{VERSION}"):
        add = versioned(router, base, "properties")
        add("GET", f"{base}/{{objectType}}", modern_all, scopes=_scopes("read"))
        add("POST", f"{base}/{{objectType}}", modern_create, scopes=_scopes("write"), body=bodies.PROPERTY_CREATE)
        add("GET", f"{base}/{{objectType}}/{{name}}", modern_get, scopes=_scopes("read"))
