"""Request-body schemas of HubSpot's published OpenAPI documents, checked by a strict emulator.

A route registered with ``body=`` has its JSON body checked before the handler runs (types, required
fields, enums), unless the emulator runs with ``strict=False``. The schemas are the subset of JSON
Schema the OpenAPI documents use: ``type`` (a name or a list of names), ``required``, ``properties``,
``additionalProperties`` (for maps such as CRM ``properties``: string values), ``items``, ``enum``
and ``nullable``. Fields a schema does not name are accepted.

Sources: HubSpot's public OpenAPI collection (v3 as generated into HubSpot's Python SDK 12, and the
date-based ``2026-03`` / ``2026-09`` documents). Where the v3 and the date-based documents differ,
each version gets its own schema (e.g. a date-based create requires ``associations``, send ``[]``;
a date-based search requires every field but ``query``).

Emulator choice where HubSpot's behaviour is UNCERTAIN: HubSpot's exact answer to a body that breaks
its schema is not documented. The emulator answers 400 ``VALIDATION_ERROR`` with the message
``Invalid input JSON: <where> <what>`` (e.g. ``inputs[3].objectId must be a string, got number``) and
one ``errors`` item per problem (``{"message", "in", "code"}``, codes ``INVALID_TYPE``,
``REQUIRED_FIELD``, ``INVALID_ENUM``). HubSpot's server may coerce what its schema declares a
string; the emulator does not, so a client that passes it sends what the schema asks for.
"""

from __future__ import annotations

from typing import Any

from .router import ApiError, v3_error

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
OBJECT: Schema = {"type": "object"}
STRING_MAP: Schema = {"type": "object", "additionalProperties": STRING}
STRINGS: Schema = {"type": "array", "items": STRING}


def obj(required: tuple[str, ...] = (), **properties: Schema) -> Schema:
    return {"type": "object", "required": list(required), "properties": properties}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


_JSON_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
               "object": "object", "array": "array"}


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _matches(kind: str, value: Any) -> bool:
    actual = _type_of(value)
    return actual == kind or (kind == "number" and actual == "integer")


def problems(schema: Schema, value: Any, where: str = "") -> list[dict[str, str]]:
    """Every way ``value`` breaks ``schema``: ``[{"message", "in", "code"}]`` (empty when it conforms)."""
    found: list[dict[str, str]] = []
    label = where or "the request body"
    if value is None and schema.get("nullable"):
        return found
    kinds = schema.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else list(kinds)
        if not any(_matches(kind, value) for kind in names):
            wanted = " or ".join(("an " if k[0] in "aeiou" else "a ") + k for k in names)
            found.append({"message": f"{label} must be {wanted}, got {_type_of(value)}", "in": where or "body",
                          "code": "INVALID_TYPE"})
            return found
    if "enum" in schema and value not in schema["enum"]:
        found.append({"message": f"{label} must be one of {', '.join(map(str, schema['enum']))}, got {value!r}",
                      "in": where or "body", "code": "INVALID_ENUM"})
    if isinstance(value, dict):
        for name in schema.get("required", ()):
            if name not in value:
                path = f"{where}.{name}" if where else name
                found.append({"message": f"{path} is required", "in": path, "code": "REQUIRED_FIELD"})
        fields = schema.get("properties", {})
        for name, item in value.items():
            path = f"{where}.{name}" if where else str(name)
            if name in fields:
                found.extend(problems(fields[name], item, path))
            elif isinstance(schema.get("additionalProperties"), dict):
                found.extend(problems(schema["additionalProperties"], item, path))
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            found.extend(problems(schema["items"], item, f"{where or 'body'}[{index}]"))
    return found


def check(schema: Schema, value: Any) -> None:
    """Raise the emulator's 400 when ``value`` breaks ``schema``.

    A conforming body (the common case) is checked by a validator compiled once per schema; only a body
    that breaks it is walked again by :func:`problems` to name every problem.
    """
    key = id(schema)
    validator = _COMPILED.get(key)
    if validator is None or validator[0] is not schema:
        validator = _COMPILED[key] = (schema, _compile(schema))
    if validator[1](value):
        return
    found = problems(schema, value)
    if found:
        raise schema_error(found)


_COMPILED: dict[int, tuple[Schema, Any]] = {}
#: ``type`` names as predicates (the same answers as :func:`_matches`, faster).
_IS_TYPE: dict[str, Any] = {
    "string": lambda v: type(v) is str,
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
    "boolean": lambda v: type(v) is bool,
    "integer": lambda v: type(v) is int,
    "number": lambda v: type(v) in (int, float),
}


def _compile(schema: Schema) -> Any:
    """A function ``value -> bool``: whether ``value`` conforms to ``schema`` (as :func:`problems` finds none)."""
    kinds = schema.get("type")
    names = [] if kinds is None else [kinds] if isinstance(kinds, str) else list(kinds)
    nullable = bool(schema.get("nullable"))
    enum = schema.get("enum")
    required = tuple(schema.get("required", ()))
    fields = {name: _compile(item) for name, item in schema.get("properties", {}).items()}
    extra = _compile(schema["additionalProperties"]) if isinstance(schema.get("additionalProperties"), dict) else None
    items = _compile(schema["items"]) if isinstance(schema.get("items"), dict) else None

    tests = [_IS_TYPE.get(kind, lambda v, kind=kind: _matches(kind, v)) for kind in names]
    if len(tests) == 1:
        type_ok = tests[0]
    else:
        def type_ok(value: Any) -> bool:
            return not tests or any(test(value) for test in tests)

    def valid(value: Any) -> bool:
        if value is None and nullable:
            return True
        if not type_ok(value):
            return False
        if enum is not None and value not in enum:
            return False
        if type(value) is dict:
            for name in required:
                if name not in value:
                    return False
            for name, item in value.items():
                check_item = fields.get(name, extra)
                if check_item is not None and not check_item(item):
                    return False
        elif type(value) is list and items is not None:
            for item in value:
                if not items(item):
                    return False
        return True

    if names == ["string"] and not nullable and enum is None:  # the most common leaf: a plain string
        return lambda value: type(value) is str
    return valid


def schema_error(found: list[dict[str, str]]) -> ApiError:
    shown = "; ".join(p["message"] for p in found[:5]) + ("; ..." if len(found) > 5 else "")
    return v3_error(400, f"Invalid input JSON: {shown}", "VALIDATION_ERROR", errors=found,
                    context={"invalidFields": sorted({p["in"] for p in found})[:50]})


# -- CRM objects ---------------------------------------------------------------------------------------

ASSOCIATION_CATEGORIES = ["HUBSPOT_DEFINED", "USER_DEFINED", "INTEGRATOR_DEFINED", "WORK"]
_ASSOCIATION_TYPE = obj(("associationCategory", "associationTypeId"),
                        associationCategory={"type": "string", "enum": ASSOCIATION_CATEGORIES},
                        associationTypeId=INTEGER)
ASSOCIATIONS_FOR_OBJECT = array(obj(("to", "types"), to=obj(("id",), id=STRING), types=array(_ASSOCIATION_TYPE)))


def crm_create(dated: bool) -> Schema:
    """Single create: the date-based documents require ``associations`` (send ``[]``), v3 does not."""
    required = ("properties", "associations") if dated else ("properties",)
    return obj(required, properties=STRING_MAP, associations=ASSOCIATIONS_FOR_OBJECT)


CRM_UPDATE = obj(("properties",), properties=STRING_MAP, objectWriteTraceId=STRING)


def crm_batch_create(dated: bool) -> Schema:
    required = ("properties", "associations") if dated else ("properties",)
    item = obj(required, properties=STRING_MAP, associations=ASSOCIATIONS_FOR_OBJECT, objectWriteTraceId=STRING)
    return obj(("inputs",), inputs=array(item))


CRM_BATCH_READ = obj(("inputs", "properties", "propertiesWithHistory"), inputs=array(obj(("id",), id=STRING)),
                     properties=STRINGS, propertiesWithHistory=STRINGS, idProperty=STRING)
_BATCH_WRITE_INPUT = obj(("id", "properties"), id=STRING, properties=STRING_MAP, idProperty=STRING,
                         objectWriteTraceId=STRING)
CRM_BATCH_UPDATE = obj(("inputs",), inputs=array(_BATCH_WRITE_INPUT))
CRM_BATCH_UPSERT = obj(("inputs",), inputs=array(_BATCH_WRITE_INPUT))
CRM_BATCH_ARCHIVE = obj(("inputs",), inputs=array(obj(("id",), id=STRING)))
CRM_MERGE = obj(("primaryObjectId", "objectIdToMerge"), primaryObjectId=STRING, objectIdToMerge=STRING)
CRM_GDPR_DELETE = obj(("objectId",), objectId=STRING, idProperty=STRING)

_FILTER = obj(("propertyName", "operator"), propertyName=STRING, operator=STRING, value=STRING,
              values=STRINGS, highValue=STRING)
#: ``sorts`` is declared an array of strings; HubSpot's docs and clients send ``{propertyName, direction}``.
_SORT: Schema = {"type": ["string", "object"]}


def crm_search(dated: bool) -> Schema:
    """Search: v3 requires nothing; the date-based documents require every field but ``query``."""
    required = ("filterGroups", "sorts", "properties", "limit", "after") if dated else ()
    return obj(required, filterGroups=array(obj(("filters",), filters=array(_FILTER))), sorts=array(_SORT),
               properties=STRINGS, limit=INTEGER, after=STRING, query=STRING)


# -- associations (v4 and date-based) -------------------------------------------------------------------

_OBJECT_ID = obj(("id",), id=STRING)
ASSOCIATION_TYPES = array(_ASSOCIATION_TYPE)
ASSOCIATE_DEFAULT = obj(("inputs",), inputs=array(obj(("from", "to"), **{"from": _OBJECT_ID, "to": _OBJECT_ID})))
ASSOCIATE_LABELED = obj(("inputs",), inputs=array(obj(("from", "to", "types"), **{
    "from": _OBJECT_ID, "to": _OBJECT_ID, "types": ASSOCIATION_TYPES})))
ASSOCIATIONS_READ = obj(("inputs",), inputs=array(obj(("id",), id=STRING, after=STRING)))
ASSOCIATIONS_ARCHIVE = obj(("inputs",), inputs=array(obj(("from", "to"), **{
    "from": _OBJECT_ID, "to": array(_OBJECT_ID)})))
ASSOCIATION_LABEL_CREATE = obj(("name", "label"), name=STRING, label=STRING, inverseLabel=STRING)

# -- properties ----------------------------------------------------------------------------------------

PROPERTY_CREATE = obj(("name", "label", "type", "fieldType", "groupName"), name=STRING, label=STRING,
                      type={"type": "string", "enum": ["string", "number", "date", "datetime", "enumeration", "bool",
                                                       "phone_number"]},
                      fieldType=STRING, groupName=STRING, hasUniqueValue=BOOLEAN, description=STRING,
                      options=array(obj(("label", "value", "hidden", "displayOrder"), label=STRING, value=STRING,
                                        hidden=BOOLEAN, displayOrder=INTEGER, description=STRING)))

# -- lists ---------------------------------------------------------------------------------------------

LIST_CREATE = obj(("name", "objectTypeId", "processingType"), name=STRING, objectTypeId=STRING,
                  processingType={"type": "string", "enum": ["MANUAL", "SNAPSHOT", "DYNAMIC"]},
                  filterBranch=OBJECT, listFolderId=INTEGER, customProperties=STRING_MAP)
LIST_SEARCH = obj((), query=STRING, listIds=STRINGS, processingTypes=STRINGS, additionalProperties=STRINGS,
                  offset=INTEGER, count=INTEGER, sort=STRING)
RECORD_IDS = STRINGS
LIST_ADD_AND_REMOVE = obj(("recordIdsToAdd", "recordIdsToRemove"), recordIdsToAdd=STRINGS, recordIdsToRemove=STRINGS)
LEGACY_LIST_IDS = STRINGS

# -- timeline ------------------------------------------------------------------------------------------

_IFRAME_V3 = obj(("linkLabel", "headerLabel", "url", "width", "height"), linkLabel=STRING, headerLabel=STRING,
                 url=STRING, width=INTEGER, height=INTEGER)
TIMELINE_V3_EVENT = obj(("eventTemplateId", "tokens"), eventTemplateId=STRING, id=STRING, tokens=STRING_MAP,
                        objectId=STRING, email=STRING, utk=STRING, domain=STRING, timestamp=STRING,
                        extraData=OBJECT, timelineIFrame=_IFRAME_V3)
TIMELINE_V3_BATCH = obj(("inputs",), inputs=array(TIMELINE_V3_EVENT))
#: ``AppEventOccurrence`` (2026-03). The value type of ``properties`` is not spelled out in the excerpts
#: read; the emulator takes it to be v3's ``tokens`` type (strings).
TIMELINE_OCCURRENCE = obj(("eventTypeName", "id", "properties"), eventTypeName=STRING, id=STRING,
                          properties=STRING_MAP, objectId=STRING, objectTypeFullyQualifiedName=STRING, email=STRING,
                          utk=STRING, domain=STRING, timestamp=STRING, extraData=OBJECT, timelineIFrame=_IFRAME_V3)
TIMELINE_OCCURRENCE_BATCH = obj(("inputs",), inputs=array(TIMELINE_OCCURRENCE))
