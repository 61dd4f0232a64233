"""Values checked and converted against property definitions (client/property_types.py)."""

from __future__ import annotations

import math
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from airflow_provider_hubspot.client.property_types import PropertySchema, PropertyValueError

DEFINITIONS = [
    {"name": "name", "type": "string", "fieldType": "text"},
    {"name": "domain", "type": "string", "fieldType": "text"},
    {"name": "external_id", "type": "string", "fieldType": "text", "hasUniqueValue": True},
    {"name": "numberofemployees", "type": "number", "fieldType": "number"},
    {"name": "is_public", "type": "bool", "fieldType": "booleancheckbox"},
    {"name": "founded", "type": "date", "fieldType": "date"},
    {"name": "last_seen", "type": "datetime", "fieldType": "date"},
    {"name": "industry", "type": "enumeration", "fieldType": "select",
     "options": [{"label": "Software", "value": "SOFTWARE"}, {"label": "Retail", "value": "RETAIL"}]},
    {"name": "regions", "type": "enumeration", "fieldType": "checkbox",
     "options": [{"label": "Europe", "value": "eu"}, {"label": "Americas", "value": "am"}]},
    {"name": "hs_num_open_deals", "type": "number", "fieldType": "number", "calculated": True},
    {"name": "hs_object_id", "type": "number", "fieldType": "number", "hasUniqueValue": True},
]
SCHEMA = PropertySchema.from_definitions("companies", DEFINITIONS)
MIDNIGHT_2026_12_02 = "1796169600000"


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("numberofemployees", 12, "12"),
    ("numberofemployees", 12.0, "12"),
    ("numberofemployees", "1e3", "1000"),
    ("numberofemployees", Decimal("3.50"), "3.5"),
    ("numberofemployees", " 42 ", "42"),
    ("is_public", True, "true"),
    ("is_public", "No", "false"),
    ("is_public", 1, "true"),
    ("founded", date(2026, 12, 2), MIDNIGHT_2026_12_02),
    ("founded", "2026-12-02", MIDNIGHT_2026_12_02),
    ("founded", datetime(2026, 12, 2, 15, 30, tzinfo=timezone.utc), MIDNIGHT_2026_12_02),
    ("last_seen", "2026-12-02T00:00:01Z", "1796169601000"),
    ("last_seen", datetime(2026, 12, 2), MIDNIGHT_2026_12_02),
    ("last_seen", 1796169601000, "1796169601000"),
    ("industry", "SOFTWARE", "SOFTWARE"),
    ("industry", "retail", "RETAIL"),
    ("regions", ["eu", "Americas"], "eu;am"),
    ("regions", "eu; am", "eu;am"),
    ("name", 7, "7"),
])
def test_values_are_converted_to_what_hubspot_stores(name, value, expected):
    assert SCHEMA.types[name].convert(value) == expected


@pytest.mark.parametrize(("name", "value", "reason"), [
    ("numberofemployees", "12 kg", "not a number"),
    ("numberofemployees", "1,5", "not a number"),
    ("numberofemployees", math.nan, "not a finite number"),
    ("numberofemployees", True, "boolean"),
    ("is_public", "maybe", "not a yes/no value"),
    ("founded", "next tuesday", "not a date"),
    ("industry", "Farming", r"not one of its options \(SOFTWARE, RETAIL\)"),
    ("industry", ["SOFTWARE", "RETAIL"], "takes one"),
    ("regions", ["eu", "asia"], "'asia' is not one of its options"),
    ("hs_num_open_deals", 3, "read-only"),
    ("name", "x" * 70_000, "at most 65,536"),
])
def test_bad_values_are_refused_with_the_property_and_the_reason(name, value, reason):
    with pytest.raises(PropertyValueError, match=reason) as info:
        SCHEMA.types[name].convert(value)
    assert str(info.value).startswith(name) or "read-only" in str(info.value)


def test_records_convert_whole_and_unknown_properties_are_named():
    assert SCHEMA.convert({"name": "ACME", "numberofemployees": 5, "domain": None}) == {
        "name": "ACME", "numberofemployees": "5", "domain": ""}
    with pytest.raises(PropertyValueError, match="'shoe_size' is not a property of companies"):
        SCHEMA.convert({"name": "ACME", "shoe_size": 42})
    assert SCHEMA.unknown(["name", "shoe_size", "colour"]) == ["colour", "shoe_size"]


def test_only_unique_properties_identify_records():
    assert SCHEMA.unique_properties == ["hs_object_id", "external_id"]
    SCHEMA.check_id_property("external_id")
    SCHEMA.check_id_property("hs_object_id")
    with pytest.raises(PropertyValueError, match=r"'domain' does not have unique values.*hs_object_id, external_id"):
        SCHEMA.check_id_property("domain")
    with pytest.raises(PropertyValueError, match="'ref' is not a property of companies"):
        SCHEMA.check_id_property("ref")
