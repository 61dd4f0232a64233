"""EmulatorState helpers and property validation (no HTTP)."""

from __future__ import annotations

import json

import pytest

from airflow_provider_hubspot.emulator import EmulatorState, ListIds


@pytest.fixture
def state() -> EmulatorState:
    return EmulatorState()


def test_contacts_helpers(state):
    vid = state.add_contact({"email": "Ann@Example.com", "firstname": "Ann"}, utk="u1")
    assert vid == 1001 and state.add_contact({"firstname": "No email"}) == 1002
    c = state.contact_by_email("ANN@example.com")
    assert c is not None and c["vid"] == vid and c["canonical_vid"] == vid and c["merged_vids"] == []
    assert c["properties"]["email"] == "ann@example.com" and c["properties"]["hs_object_id"] == str(vid)
    assert state.contact(vid)["utk"] == "u1"
    assert state.count_contacts() == 2 and [x["vid"] for x in state.contacts()] == [1001, 1002]
    with pytest.raises(ValueError):
        state.add_contact({"email": "ann@example.com"})
    with pytest.raises(ValueError):
        state.add_contact({"email": "bad@x.comv"})
    state.update_contact(vid, {"lastname": "Lee"})
    assert state.contact(vid)["properties"]["lastname"] == "Lee"
    state.delete_contact("ann@example.com")
    assert state.contact(vid) is None and state.count_contacts() == 1


def test_merge_helpers(state):
    a = state.add_contact({"email": "a@example.com"})
    b = state.add_contact({"email": "b@example.com", "city": "Oslo"})
    c = state.add_contact({"email": "c@example.com"})
    state.merge_contacts(b, c)
    state.merge_contacts(a, b)
    survivor = state.contact(c)
    assert survivor["vid"] == a and sorted(survivor["merged_vids"]) == [b, c]
    assert survivor["properties"]["city"] == "Oslo"
    assert state.contact_by_email("c@example.com")["vid"] == a
    assert state.count_contacts() == 1


@pytest.mark.parametrize(
    ("name", "type_", "options", "value", "ok", "stored"),
    [
        ("n", "number", None, "12.5", True, "12.5"),
        ("n", "number", None, "1/1/1", False, None),
        ("d", "date", None, "1572480000000", True, "1572480000000"),
        ("d", "date", None, "2019-10-31", True, "1572480000000"),
        ("d", "date", None, "1572480000001", False, None),
        ("dt", "datetime", None, "2019-10-31T00:00:01Z", True, "1572480001000"),
        ("dt", "datetime", None, "soon", False, None),
        ("e", "enumeration", ["a", "b"], "b", True, "b"),
        ("e", "enumeration", ["a", "b"], "a;b", True, "a;b"),
        ("e", "enumeration", ["a", "b"], "c", False, None),
        ("f", "bool", None, True, True, "true"),
        ("s", "string", None, 42, True, "42"),
    ],
)
def test_define_property_and_validation(state, name, type_, options, value, ok, stored):
    state.define_property(name, type_, options)
    clean, errors = state.validate({name: value})
    assert (not errors) is ok
    if ok:
        assert clean[name] == stored
    else:
        assert errors[0]["name"] == name and errors[0]["isValid"] is False


def test_validation_messages(state):
    _, errors = state.validate(
        {
            "date_of_birth": "1496643178000",
            "nope": "1",
            "num_employees": "x",
            "lifecyclestage": "boss",
            "email": "a@b.con",
        }
    )
    by_name = {e["name"]: e for e in errors}
    assert by_name["date_of_birth"]["message"] == "1496643178000 is at 6:12:58.0 UTC, not midnight!"
    assert by_name["nope"] == {
        "isValid": False,
        "message": 'Property "nope" does not exist',
        "error": "PROPERTY_DOESNT_EXIST",
        "name": "nope",
    }
    assert by_name["num_employees"]["error"] == "INVALID_LONG"
    assert by_name["lifecyclestage"]["error"] == "INVALID_OPTION"
    assert by_name["email"]["message"] == "Email address a@b.con is invalid"
    with pytest.raises(ValueError):
        state.define_property("x", "weird")
    state.allowed_tlds.add("con")
    assert state.is_valid_email("a@b.con")


def test_lists_have_two_id_ranges(state):
    ids = state.create_list("A")
    assert isinstance(ids, ListIds) and ids == (1, 500001)
    legacy, ils = state.create_list("B", dynamic=True)
    assert (legacy, ils) == (2, 500002)
    assert state.list(2)["dynamic"] is True and state.list(500002)["legacy_id"] == 2
    assert state.list(3) is None
    vid = state.add_contact({"email": "m@example.com"})
    state.add_list_members(ils, [vid])
    assert state.list_members(legacy) == [vid] and state.contact(vid)["list_ids"] == [2]


def test_lifecycle_and_forms_helpers(state):
    vid = state.set_lifecycle_stage("new@example.com", "customer", 1_700_000_000_000)
    c = state.contact(vid)
    assert c["properties"]["lifecyclestage"] == "customer"
    assert c["properties"]["hs_lifecyclestage_customer_date"] == "1700000000000"
    state.set_lifecycle_stage(vid, "evangelist", 1_700_000_000_001)
    assert state.contact(vid)["properties"]["hs_lifecyclestage_customer_date"] == "1700000000000"
    with pytest.raises(ValueError):
        state.set_lifecycle_stage(vid, "boss", 1)
    conv = state.add_form_submission(
        "form-1", "new@example.com", {"firstname": "N", "unknown_field": "x"}, submitted_at=1_700_000_001_000
    )
    c = state.contact(vid)
    assert c["form_submissions"][0]["conversion-id"] == conv
    assert c["properties"]["firstname"] == "N" and c["properties"]["num_conversion_events"] == "1"
    assert c["properties"]["hs_calculated_form_submissions"] == "form-1::1700000001000"
    subs = state.form_submissions("form-1")
    assert (
        subs[0]["conversionId"] == conv
        and {"name": "unknown_field", "value": "x", "objectTypeId": "0-1"} in subs[0]["values"]
    )
    created = state.add_form_submission("form-1", "fresh@example.com", submitted_at=1_600_000_000_000)
    fresh = state.contact_by_email("fresh@example.com")
    assert created and fresh["created_at"] == fresh["updated_at"] == 1_600_000_000_000


def test_timeline_helpers(state):
    v1 = state.create_event_type(5, "Type", ["a", {"name": "b", "label": "B", "propertyType": "Numeric"}])
    v3 = state.create_event_type(5, "Template", ["t"], edition="v3")
    assert v1 != v3 and state.event_types[v1]["edition"] == "v1"
    assert [p["name"] for p in state.event_types[v3]["properties"].values()] == ["t"]
    state.register_event_type_name("pe_x")
    assert "pe_x" in state.event_type_names
    with pytest.raises(ValueError):
        state.create_event_type(5, "T", edition="v2")


def test_json_round_trip(state):
    state.define_property("tier", "enumeration", ["gold"])
    a = state.add_contact({"email": "a@example.com", "tier": "gold"}, utk="ua")
    b = state.add_contact({"email": "b@example.com"}, utk="ub")
    state.merge_contacts(a, b)
    state.create_list("L")
    state.add_list_members(1, [a])
    state.create_event_type(9, "T")
    state.register_event_type_name("pe_y")
    state.add_form_submission("f", "a@example.com", submitted_at=1_700_000_000_000)
    snapshot = json.loads(json.dumps(state.to_json()))
    other = EmulatorState()
    other.load_json(snapshot)
    assert other.to_json() == snapshot
    assert other.contact(b)["vid"] == a and other.contact_by_email("b@example.com")["vid"] == a
    assert other.list_members(500001) == [a] and other.schema["tier"].options == ["gold"]
    assert other.add_contact({"email": "c@example.com"}) == b + 1
    other.load_json(json.dumps(snapshot))  # a JSON string works too
    assert other.count_contacts() == 1
    state.clear()
    assert state.count_contacts() == 0 and state.lists() == [] and "tier" not in state.schema
