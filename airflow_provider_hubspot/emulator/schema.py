"""Contact property schema and the property validation shared by every write path.

Validation results use HubSpot's ``validationResults`` item shape
``{"isValid": false, "message": ..., "error": <code>, "name": <property>}`` with the codes
``PROPERTY_DOESNT_EXIST``, ``INVALID_LONG``, ``INVALID_DATE``, ``INVALID_OPTION`` and ``INVALID_EMAIL``.

Emulator choices (HubSpot's exact behaviour is UNCERTAIN):

* ``number`` accepts any finite decimal (HubSpot numbers may be decimals); anything else is
  ``INVALID_LONG`` ``"<v> was not a valid long."``.
* ``date`` accepts UTC-midnight epoch milliseconds or ``YYYY-MM-DD``; other millisecond values are
  ``INVALID_DATE`` ``"<v> is at H:M:S.0 UTC, not midnight!"``; non-dates are ``INVALID_DATE``
  ``"<v> is not a valid date."``.
* ``datetime`` accepts epoch milliseconds or ISO-8601 and is stored as milliseconds; invalid values
  are ``INVALID_DATE`` too.
* ``enumeration`` values must be one of the options; ``a;b`` (multi-checkbox) is accepted when
  every part is an option. Message: ``"<v> was not one of the allowed options: [a, b]"``.
* E-mail addresses are validated beyond syntax: the top-level domain must be in
  :data:`DEFAULT_ALLOWED_TLDS` (``state.allowed_tlds`` can be changed), so ``x@y.comv`` and
  ``a@b.con`` are invalid.
* ``hs_object_id`` and ``lastmodifieddate`` are server-managed: values sent for them are ignored.
* An empty string clears a property.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ._util import parse_timestamp_ms

PROPERTY_TYPES = ("string", "number", "date", "datetime", "enumeration", "bool", "phone_number")

DEFAULT_LIFECYCLE_STAGES: tuple[str, ...] = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)

DEFAULT_LEAD_STATUSES: tuple[str, ...] = (
    "NEW",
    "OPEN",
    "IN_PROGRESS",
    "OPEN_DEAL",
    "UNQUALIFIED",
    "ATTEMPTED_TO_CONTACT",
    "CONNECTED",
    "BAD_TIMING",
)

#: Properties HubSpot manages itself; writes to them are ignored.
SERVER_MANAGED = frozenset({"hs_object_id", "lastmodifieddate", "hs_lastmodifieddate"})

DEFAULT_ALLOWED_TLDS: frozenset[str] = frozenset(
    [
        "com",
        "net",
        "org",
        "edu",
        "gov",
        "mil",
        "int",
        "info",
        "biz",
        "name",
        "pro",
        "mobi",
        "asia",
        "io",
        "co",
        "ai",
        "app",
        "dev",
        "tech",
        "cloud",
        "online",
        "site",
        "xyz",
        "me",
        "tv",
        "cc",
        "ly",
        "gg",
        "so",
        "to",
        "fm",
        "email",
        "example",
        "test",
        "uk",
        "de",
        "fr",
        "nl",
        "es",
        "it",
        "ca",
        "au",
        "us",
        "eu",
        "ch",
        "at",
        "be",
        "se",
        "no",
        "dk",
        "fi",
        "pl",
        "pt",
        "ie",
        "lu",
        "cz",
        "sk",
        "hu",
        "ro",
        "bg",
        "gr",
        "jp",
        "cn",
        "in",
        "br",
        "mx",
        "ar",
        "cl",
        "nz",
        "za",
        "sg",
        "hk",
        "kr",
        "tw",
        "ru",
        "ua",
        "tr",
        "il",
        "ae",
        "sa",
    ]
)

_LOCAL_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def is_valid_email(email: Any, allowed_tlds: Iterable[str] = DEFAULT_ALLOWED_TLDS) -> bool:
    """Syntax check plus a top-level-domain allow-list (stricter than a regex, like HubSpot)."""
    if not isinstance(email, str) or len(email) > 254 or email.count("@") != 1:
        return False
    local, domain = email.split("@")
    if not local or len(local) > 64 or not _LOCAL_RE.match(local):
        return False
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL_RE.match(label) for label in labels):
        return False
    tld = labels[-1].lower()
    allowed = allowed_tlds if isinstance(allowed_tlds, (set, frozenset)) else set(allowed_tlds)
    return tld in allowed


@dataclass
class PropertyDef:
    """One property definition of an object type.

    :param unique: HubSpot keeps its values unique (``hasUniqueValue``): usable as an ``idProperty``.
    :param field_type: the form field (``checkbox`` makes an enumeration multi-select); default by type.
    """

    name: str
    type: str = "string"
    options: list[str] = field(default_factory=list)
    label: str = ""
    group_name: str = "contactinformation"
    unique: bool = False
    field_type: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "options": list(self.options),
                               "label": self.label}
        if self.group_name != "contactinformation":
            out["group_name"] = self.group_name
        if self.unique:
            out["unique"] = True
        if self.field_type:
            out["field_type"] = self.field_type
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PropertyDef:
        return cls(name=data["name"], type=data.get("type", "string"), options=list(data.get("options", [])),
                   label=data.get("label", data["name"]), group_name=data.get("group_name", "contactinformation"),
                   unique=bool(data.get("unique", False)), field_type=str(data.get("field_type", "")))

    def to_hubspot_json(self) -> dict[str, Any]:
        """Shape of HubSpot's property definition (subset)."""
        field_type = self.field_type or {
            "string": "text",
            "number": "number",
            "date": "date",
            "datetime": "date",
            "enumeration": "select",
            "bool": "booleancheckbox",
            "phone_number": "phonenumber",
        }[self.type]
        return {
            "name": self.name,
            "label": self.label or self.name,
            "type": self.type,
            "fieldType": field_type,
            "groupName": self.group_name,
            "options": [
                {"label": opt, "value": opt, "displayOrder": i, "hidden": False} for i, opt in enumerate(self.options)
            ],
            "hidden": False,
            "calculated": False,
            "readOnlyValue": self.name in SERVER_MANAGED or self.name == "createdate",
        }


def default_schema() -> dict[str, PropertyDef]:
    """The default contact properties of a fresh portal."""
    schema: dict[str, PropertyDef] = {}

    def add(name: str, type_: str = "string", options: Iterable[str] = ()) -> None:
        schema[name] = PropertyDef(name=name, type=type_, options=list(options), label=name)

    for name in (
        "email",
        "firstname",
        "lastname",
        "phone",
        "mobilephone",
        "company",
        "website",
        "jobtitle",
        "city",
        "state",
        "country",
        "zip",
        "address",
        "hs_calculated_form_submissions",
        "recent_conversion_event_name",
        "first_conversion_event_name",
        "hs_merged_object_ids",
        "hs_calculated_merged_vids",
        "hs_analytics_source",
    ):
        add(name)
    add("lifecyclestage", "enumeration", DEFAULT_LIFECYCLE_STAGES)
    add("hs_lead_status", "enumeration", DEFAULT_LEAD_STATUSES)
    for stage in DEFAULT_LIFECYCLE_STAGES:
        add(f"hs_lifecyclestage_{stage}_date", "datetime")
    add("date_of_birth", "date")
    add("num_employees", "number")
    add("num_conversion_events", "number")
    add("num_unique_conversion_events", "number")
    add("recent_conversion_date", "datetime")
    add("first_conversion_date", "datetime")
    add("createdate", "datetime")
    add("lastmodifieddate", "datetime")
    add("hs_object_id", "number")
    schema["email"].unique = True
    schema["hs_object_id"].unique = True
    return schema


#: Default properties of the other standard object types (``name: type`` or ``name: (type, options)``).
#: Every type also has ``createdate``, ``hs_lastmodifieddate`` and ``hs_object_id``.
STANDARD_PROPERTIES: dict[str, dict[str, Any]] = {
    "companies": {
        "name": "string", "domain": "string", "website": "string", "phone": "string", "address": "string",
        "city": "string", "state": "string", "zip": "string", "country": "string", "description": "string",
        "industry": "string", "numberofemployees": "number", "annualrevenue": "number",
        "founded_year": "string", "is_public": "bool",
        "lifecyclestage": ("enumeration", DEFAULT_LIFECYCLE_STAGES),
        "type": ("enumeration", ("PROSPECT", "PARTNER", "RESELLER", "VENDOR", "OTHER")),
        "hs_merged_object_ids": "string",
    },
    "deals": {
        "dealname": "string", "amount": "number", "closedate": "datetime", "description": "string",
        "pipeline": ("enumeration", ("default",)),
        "dealstage": ("enumeration", ("appointmentscheduled", "qualifiedtobuy", "presentationscheduled",
                                      "decisionmakerboughtin", "contractsent", "closedwon", "closedlost")),
        "dealtype": ("enumeration", ("newbusiness", "existingbusiness")),
        "hs_priority": ("enumeration", ("low", "medium", "high")),
        "hs_merged_object_ids": "string",
    },
    "tickets": {
        "subject": "string", "content": "string", "hs_pipeline": ("enumeration", ("0",)),
        "hs_pipeline_stage": ("enumeration", ("1", "2", "3", "4")),
        "hs_ticket_priority": ("enumeration", ("LOW", "MEDIUM", "HIGH", "URGENT")),
        "hs_ticket_category": ("enumeration", ("PRODUCT_ISSUE", "BILLING_ISSUE", "FEATURE_REQUEST",
                                               "GENERAL_INQUIRY")),
        "source_type": ("enumeration", ("EMAIL", "CHAT", "PHONE", "FORM")),
        "hs_merged_object_ids": "string",
    },
    "products": {
        "name": "string", "description": "string", "price": "number", "hs_sku": "string",
        "hs_cost_of_goods_sold": "number", "hs_recurring_billing_period": "string",
    },
    "line_items": {
        "name": "string", "description": "string", "quantity": "number", "price": "number", "amount": "number",
        "discount": "number", "hs_product_id": "number", "hs_sku": "string",
        "recurringbillingfrequency": ("enumeration", ("monthly", "quarterly", "annually")),
    },
}


def object_schema(properties: dict[str, Any], group_name: str) -> dict[str, PropertyDef]:
    """Property definitions from ``{name: type}`` / ``{name: (type, options)}``, plus the ones every object has."""
    schema: dict[str, PropertyDef] = {}
    for name, spec in properties.items():
        kind, options = (spec, ()) if isinstance(spec, str) else spec
        schema[name] = PropertyDef(name=name, type=kind, options=list(options), label=name, group_name=group_name)
    for name, kind in (("createdate", "datetime"), ("hs_lastmodifieddate", "datetime"), ("hs_object_id", "number")):
        schema[name] = PropertyDef(name=name, type=kind, label=name, group_name=group_name,
                                   unique=name == "hs_object_id")
    return schema


def invalid(name: str, error: str, message: str) -> dict[str, Any]:
    return {"isValid": False, "message": message, "error": error, "name": name}


def stringify(value: Any) -> str:
    """HubSpot property values are strings on the wire."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _midnight_message(value: str, ms: int) -> str:
    rem = ms % 86_400_000
    hours, rem = divmod(rem, 3_600_000)
    minutes, rem = divmod(rem, 60_000)
    seconds, millis = divmod(rem, 1000)
    return f"{value} is at {hours}:{minutes}:{seconds}.{millis} UTC, not midnight!"


def normalize_value(
    prop: PropertyDef, raw: Any, allowed_tlds: Iterable[str] = DEFAULT_ALLOWED_TLDS
) -> tuple[str, dict[str, Any] | None]:
    """Validate one value; return ``(normalised string, None)`` or ``("", validation result)``."""
    value = stringify(raw)
    name = prop.name
    if value == "":
        return "", None
    if name == "email":
        if not is_valid_email(value.strip(), allowed_tlds):
            return "", invalid(name, "INVALID_EMAIL", f"Email address {value} is invalid")
        return value.strip().lower(), None
    kind = prop.type
    if kind == "number":
        try:
            number = float(value)
        except ValueError:
            return "", invalid(name, "INVALID_LONG", f"{value} was not a valid long.")
        if math.isnan(number) or math.isinf(number):
            return "", invalid(name, "INVALID_LONG", f"{value} was not a valid long.")
        return value.strip(), None
    if kind == "date":
        text = value.strip()
        if re.fullmatch(r"-?\d+", text):
            ms = int(text)
            if ms % 86_400_000 != 0:
                return "", invalid(name, "INVALID_DATE", _midnight_message(value, ms))
            return str(ms), None
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            ms_or_none = parse_timestamp_ms(text)
            if ms_or_none is not None:
                return str(ms_or_none), None
        return "", invalid(name, "INVALID_DATE", f"{value} is not a valid date.")
    if kind == "datetime":
        ms_or_none = parse_timestamp_ms(value)
        if ms_or_none is None:
            return "", invalid(name, "INVALID_DATE", f"{value} is not a valid date.")
        return str(ms_or_none), None
    if kind == "enumeration":
        parts = value.split(";") if ";" in value else [value]
        if not prop.options or any(part not in prop.options for part in parts):
            return "", invalid(
                name,
                "INVALID_OPTION",
                f"{value} was not one of the allowed options: [{', '.join(prop.options)}]",
            )
        return value, None
    if kind == "bool":
        lowered = value.lower()
        if lowered not in {"true", "false"}:
            return "", invalid(name, "INVALID_OPTION", f"{value} was not one of the allowed options: [true, false]")
        return lowered, None
    return value, None
