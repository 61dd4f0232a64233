"""Contact property definitions: v1 (``/properties/v1/contacts/properties``) and modern
(``/crm/v3/properties/contacts``, ``/crm/properties/{YYYY-MM}/contacts``), served from the emulator's
property schema (``state.define_property`` adds more).

Scopes: ``crm.objects.contacts.read`` or ``crm.schemas.contacts.read`` (any one).

Emulator choices where HubSpot's behaviour is UNCERTAIN:

* v1 unknown name → 404 ``"Couldn't find a Property with the given name '<name>'"`` (as recorded from
  HubSpot); modern unknown name → 404 ``OBJECT_NOT_FOUND`` ``"Unable to find property <name> for object
  type 0-1"``.
* ``GET .../properties`` lists every definition at once (v1: a bare array; modern: ``{"results": [...]}``
  without ``paging``), as HubSpot does for properties.
* Only the object type ``contacts`` (or ``0-1``) is served; other object types answer 404.
"""

from __future__ import annotations

from typing import Any

from .router import CONTACTS_READ, VERSION, Request, Response, Router, json_response, v1_error, v3_error
from .schema import SERVER_MANAGED, PropertyDef
from .versions import versioned

SCHEMAS_READ = "crm.schemas.contacts.read"
_CALCULATED = frozenset({"hs_object_id", "createdate", "lastmodifieddate"})


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
        "hasUniqueValue": prop.name in ("email", "hs_object_id"),
        "hidden": False,
        "formField": v1["formField"],
        "archived": False,
        "modificationMetadata": {
            "archivable": not v1["readOnlyDefinition"],
            "readOnlyDefinition": v1["readOnlyDefinition"],
            "readOnlyValue": v1["readOnlyValue"],
        },
    }


def _indexed(req: Request) -> list[tuple[int, PropertyDef]]:
    return list(enumerate(req.state.schema.values()))


def _find(req: Request) -> tuple[int, PropertyDef] | None:
    name = req.params["name"]
    for index, prop in _indexed(req):
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


def _check_object_type(req: Request) -> None:
    if req.params["objectType"] not in ("contacts", "0-1", "contact"):
        raise v3_error(404, f"Unable to infer object type from: {req.params['objectType']}", "OBJECT_NOT_FOUND")


def modern_get(req: Request) -> Response:
    _check_object_type(req)
    found = _find(req)
    if found is None:
        raise v3_error(404, f"Unable to find property {req.params['name']} for object type 0-1", "OBJECT_NOT_FOUND",
                       context={"propertyName": [req.params["name"]]})
    return json_response(modern_property_json(found[1], found[0]))


def modern_all(req: Request) -> Response:
    _check_object_type(req)
    return json_response({"results": [modern_property_json(p, i) for i, p in _indexed(req)]})


def register(router: Router) -> None:
    scopes = (CONTACTS_READ, SCHEMAS_READ)
    router.add("GET", "/properties/v1/contacts/properties", v1_all, scopes=scopes)
    router.add("GET", "/properties/v1/contacts/properties/named/{name}", v1_named, scopes=scopes)
    for base in ("/crm/v3/properties", f"/crm/properties/{VERSION}"):
        add = versioned(router, base, "properties")
        add("GET", f"{base}/{{objectType}}", modern_all, scopes=scopes)
        add("GET", f"{base}/{{objectType}}/{{name}}", modern_get, scopes=scopes)
