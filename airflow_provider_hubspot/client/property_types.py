"""Values checked and converted against an object's property definitions before they are sent.

HubSpot refuses a whole batch over one bad cell (a number property given ``"12 kg"``, an option that
does not exist); checked here, that cell rejects its own record with a precise reason and the rest of
the batch goes through. Definitions come from the properties API (``GET /crm/properties/{v}/{type}``),
read once per task.

Conversions (HubSpot wants every value as a string):

* ``number``: ints, floats, decimals and numeric text, as plain decimal text (no exponent); NaN and
  infinity refused.
* ``bool``: ``True``/``False`` and ``true``/``false``/``yes``/``no``/``1``/``0`` as ``"true"``/``"false"``.
* ``date``: dates, datetimes, ISO-8601 text or epoch ms, as epoch ms of that day's UTC midnight.
* ``datetime``: datetimes (naive = UTC), ISO-8601 text or epoch ms, as epoch ms.
* ``enumeration``: an option's value (or its label, case-blind); multi-select (checkbox) fields take a
  list (or its JSON text) or ``;``-separated text, joined with ``;``.
* other types (``string``, ``phone_number``...): text, at most 65,536 characters.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

#: HubSpot stores at most this many characters in a property value.
MAX_VALUE_LENGTH = 65_536
_TRUE = {"true", "yes", "1", "y", "t", "on"}
_FALSE = {"false", "no", "0", "n", "f", "off"}


class PropertyValueError(ValueError):
    """A value its property cannot take; the message says which property and why."""


@dataclass(frozen=True)
class PropertyType:
    """What a record's value for one property must look like."""

    name: str
    type: str = "string"
    field_type: str = "text"
    options: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)  # lower-cased label -> value
    unique: bool = False
    read_only: bool = False

    @classmethod
    def from_definition(cls, definition: Mapping[str, Any]) -> PropertyType:
        """From one entry of HubSpot's properties API."""
        options = [o for o in definition.get("options") or [] if isinstance(o, Mapping) and "value" in o]
        metadata = definition.get("modificationMetadata") or {}
        return cls(
            name=str(definition["name"]),
            type=str(definition.get("type") or "string"),
            field_type=str(definition.get("fieldType") or "text"),
            options=tuple(str(o["value"]) for o in options),
            labels={str(o.get("label", "")).strip().lower(): str(o["value"]) for o in options if o.get("label")},
            unique=bool(definition.get("hasUniqueValue")),
            read_only=bool(metadata.get("readOnlyValue") or definition.get("calculated")),
        )

    @property
    def multiple(self) -> bool:
        return self.type == "enumeration" and self.field_type == "checkbox"

    def convert(self, value: Any) -> str:
        """``value`` as the string HubSpot stores; :class:`PropertyValueError` says why it cannot be."""
        if self.read_only:
            raise PropertyValueError(f"{self.name} is read-only in HubSpot (calculated or set by HubSpot)")
        converter = _CONVERTERS.get(self.type, _text)
        try:
            return converter(self, value)
        except PropertyValueError as exc:
            raise PropertyValueError(f"{self.name}: {exc}") from None


@dataclass
class PropertySchema:
    """An object type's properties, by name: converts a record's values, names the unique ones."""

    object_type: str
    types: dict[str, PropertyType]

    @classmethod
    def from_definitions(cls, object_type: str, definitions: Iterable[Mapping[str, Any]]) -> PropertySchema:
        types = {}
        for definition in definitions:
            if isinstance(definition, Mapping) and definition.get("name"):
                prop = PropertyType.from_definition(definition)
                types[prop.name] = prop
        return cls(object_type, types)

    @property
    def unique_properties(self) -> list[str]:
        """Properties whose values HubSpot keeps unique (usable as ``id_property``), ``hs_object_id`` first."""
        names = sorted(name for name, prop in self.types.items() if prop.unique and name != "hs_object_id")
        return ["hs_object_id", *names]

    def check_id_property(self, id_property: str) -> None:
        """Refuse an upsert key HubSpot would refuse: it must be a property with unique values."""
        if id_property in ("hs_object_id", "id", "vid", "record_id"):
            return
        prop = self.types.get(id_property)
        if prop is None:
            raise PropertyValueError(f"id_property {id_property!r} is not a property of {self.object_type}; its unique "
                                     f"properties are {', '.join(self.unique_properties)}.")
        if not prop.unique:
            raise PropertyValueError(
                f"id_property {id_property!r} does not have unique values in HubSpot, so it cannot identify "
                f"{self.object_type} records (HubSpot refuses upserts by it). Use one of "
                f"{', '.join(self.unique_properties)}, or create a property with unique values.")

    def unknown(self, names: Iterable[str]) -> list[str]:
        """The names that are not properties of this object type."""
        return sorted(name for name in names if name not in self.types)

    def convert(self, record: Mapping[str, Any]) -> dict[str, str]:
        """A record's values converted; the first value that cannot be raises :class:`PropertyValueError`."""
        out: dict[str, str] = {}
        for name, value in record.items():
            prop = self.types.get(name)
            if prop is None:
                raise PropertyValueError(f"{name!r} is not a property of {self.object_type}")
            out[name] = "" if value is None or value == "" else prop.convert(value)
        return out


# -- converters ---------------------------------------------------------------------------------


def _text(prop: PropertyType, value: Any) -> str:
    text = value if isinstance(value, str) else _plain(value)
    if len(text) > MAX_VALUE_LENGTH:
        raise PropertyValueError(f"{len(text):,} characters; HubSpot stores at most {MAX_VALUE_LENGTH:,}")
    return text


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return _number(PropertyType("value", "number"), value)
    return str(value)


def _number(prop: PropertyType, value: Any) -> str:
    if isinstance(value, bool):
        raise PropertyValueError(f"{value!r} is a boolean, not a number")
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except (InvalidOperation, ValueError, TypeError):
        raise PropertyValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise PropertyValueError(f"{value!r} is not a finite number")
    text = format(number.normalize(), "f")
    return text[:-2] if text.endswith(".0") else text


def _bool(prop: PropertyType, value: Any) -> str:
    text = str(value).strip().lower()
    if value is True or text in _TRUE:
        return "true"
    if value is False or text in _FALSE:
        return "false"
    raise PropertyValueError(f"{value!r} is not a yes/no value (use true/false)")


def _moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=timezone.utc)
    try:
        return _moment(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise PropertyValueError(f"{value!r} is not a date (use ISO-8601 such as 2026-12-02, or epoch ms)") from None


def _date(prop: PropertyType, value: Any) -> str:
    moment = _moment(value).astimezone(timezone.utc)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return str(int(midnight.timestamp() * 1000))


def _datetime(prop: PropertyType, value: Any) -> str:
    return str(int(_moment(value).timestamp() * 1000))


def _enumeration(prop: PropertyType, value: Any) -> str:
    if prop.multiple and isinstance(value, str) and value.strip().startswith("["):
        try:  # a list that reached us as JSON text (a JSON Lines or XCom source mapped to strings)
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            value = parsed
    if isinstance(value, (list, tuple, set)):
        items = [str(v).strip() for v in value]
    else:
        items = [part.strip() for part in str(value).split(";")] if prop.multiple else [str(value).strip()]
    items = [item for item in items if item]
    if len(items) > 1 and not prop.multiple:
        raise PropertyValueError(f"{value!r} names {len(items)} options; this property takes one")
    chosen = []
    for item in items:
        if item in prop.options or not prop.options:
            chosen.append(item)
        elif item.lower() in prop.labels:
            chosen.append(prop.labels[item.lower()])
        else:
            shown = ", ".join(prop.options[:10]) + (", ..." if len(prop.options) > 10 else "")
            raise PropertyValueError(f"{item!r} is not one of its options ({shown})")
    return ";".join(chosen)


_CONVERTERS = {"number": _number, "bool": _bool, "date": _date, "datetime": _datetime,
               "enumeration": _enumeration}
