"""client.objects(type) (every CRM object on one batch engine) and client.associations, against the emulator."""

from __future__ import annotations

import pytest

from airflow_provider_hubspot.client import HubSpotConfigError, Record
from airflow_provider_hubspot.client.associations import ASSOCIATION_FAILED
from airflow_provider_hubspot.client.objects import INVALID_VALUE, UNKNOWN_PROPERTY, object_type_name

VERSIONS = ["2026-09", "2026-03", "v3"]


def records(rows):
    return [Record(i, row) for i, row in enumerate(rows)]


@pytest.fixture(params=VERSIONS)
def client(request, make_client, hubspot_emulator):
    hubspot_emulator.rate_limit = 0
    hubspot_emulator.search_rate_per_second = 1000
    hubspot_emulator.state.define_property("external_id", object_type="companies", unique=True)
    return make_client(api_version=request.param)


def test_object_type_names():
    assert object_type_name("0-2") == "companies" and object_type_name("Company") == "companies"
    assert object_type_name("line_items") == "line_items" and object_type_name("2-1234567") == "2-1234567"
    assert object_type_name("p62515_car") == "p62515_car"
    with pytest.raises(HubSpotConfigError):
        object_type_name("../contacts")


def test_objects_family_per_type(client):
    assert client.objects("contacts") is client.contacts
    assert client.objects("0-2") is client.objects("companies")
    assert client.objects("deals").object_type == "deals"


@pytest.mark.parametrize("object_type", ["companies", "deals", "tickets", "products", "line_items"])
def test_upsert_by_a_unique_property_for_each_object(client, hubspot_emulator, object_type):
    hubspot_emulator.state.define_property("ext", object_type=object_type, unique=True)
    api = client.objects(object_type)
    rows = [{"ext": f"k{i}", "description" if object_type != "tickets" else "content": f"v{i}"} for i in range(150)]
    first = api.upsert(records(rows), id_property="ext")
    assert first.counts["created"] == 150 and first.rejected == 0
    again = api.upsert(records(rows[:10]), id_property="ext")
    assert again.counts["updated"] == 10
    assert len(hubspot_emulator.objects(object_type)) == 150
    first_id = hubspot_emulator.objects(object_type)[0]["id"]
    by_id = api.upsert(records([{"hs_object_id": first_id, "ext": "k0"}]), id_property="hs_object_id")
    assert by_id.counts["updated"] == 1


def test_custom_object(client, hubspot_emulator):
    type_id = hubspot_emulator.state.define_custom_object("car", [{"name": "vin", "hasUniqueValue": True},
                                                                  {"name": "year", "type": "number"}])
    api = client.objects(type_id)
    outcome = api.upsert(records([{"vin": "V1", "year": "2020"}, {"vin": "V2", "year": 2021}]), id_property="vin",
                         schema=api.schema())
    assert outcome.counts["created"] == 2
    assert [o["properties"]["year"] for o in hubspot_emulator.objects(type_id)] == ["2020", "2021"]
    assert api.unique_properties() == ["hs_object_id", "vin"]
    assert [r["properties"]["vin"] for r in api.batch_get(["V2"], by="vin", properties=["vin"])] == ["V2"]


def test_values_are_converted_and_bad_cells_reject_their_record(client, hubspot_emulator):
    state = hubspot_emulator.state
    state.define_property("renewal", "date", object_type="companies")
    state.define_property("last_seen", "datetime", object_type="companies")
    state.define_property("tier", "enumeration", ["gold", "silver"], object_type="companies")
    state.define_property("tags", "enumeration", ["a", "b", "c"], object_type="companies", field_type="checkbox")
    api = client.objects("companies")
    schema = api.schema()
    rows = [
        {"external_id": "ok", "numberofemployees": 12.0, "is_public": "yes", "renewal": "2026-12-02",
         "last_seen": "2026-12-02T10:00:00+01:00", "tier": "Gold", "tags": '["a", "c"]'},
        {"external_id": "bad-number", "numberofemployees": "12 kg"},
        {"external_id": "bad-bool", "is_public": "maybe"},
        {"external_id": "bad-date", "renewal": "next tuesday"},
        {"external_id": "bad-option", "tier": "platinum"},
        {"external_id": "unknown", "colour": "red"},
        {"external_id": "bad-many", "tier": "gold;silver"},
    ]
    outcome = api.upsert(records(rows), id_property="external_id", schema=schema)
    assert outcome.counts["created"] == 1 and outcome.rejected == 6
    reasons = {r.record["external_id"]: (r.code, r.reason) for r in outcome.rejections}
    assert reasons["bad-number"] == (INVALID_VALUE, "numberofemployees: '12 kg' is not a number")
    assert reasons["bad-bool"][1].startswith("is_public: 'maybe' is not a yes/no value")
    assert reasons["bad-date"][1].startswith("renewal: 'next tuesday' is not a date")
    assert reasons["bad-option"][1] == "tier: 'platinum' is not one of its options (gold, silver)"
    assert reasons["unknown"] == (UNKNOWN_PROPERTY, "'colour' is not a property of companies")
    assert reasons["bad-many"][1] == "tier: 'gold;silver' is not one of its options (gold, silver)"
    written = hubspot_emulator.objects("companies")[0]["properties"]
    assert written["numberofemployees"] == "12" and written["is_public"] == "true"
    assert written["renewal"] == "1796169600000"  # 2026-12-02T00:00:00Z
    assert written["last_seen"] == "1796202000000"  # 09:00 UTC
    assert written["tier"] == "gold" and written["tags"] == "a;c"


def test_an_unknown_property_in_every_record_is_a_configuration_error(client, hubspot_emulator):
    api = client.objects("companies")
    before = len(hubspot_emulator.requests)
    with pytest.raises(HubSpotConfigError, match="'colour' is not a property of companies"):
        api.upsert(records([{"external_id": str(i), "colour": "red"} for i in range(3)]), id_property="external_id",
                   schema=api.schema())
    sent = [r for r in hubspot_emulator.requests[before:] if "/batch/" in r.path]
    assert sent == []


def test_a_non_unique_id_property_is_refused_before_sending(client):
    api = client.objects("companies")
    with pytest.raises(HubSpotConfigError) as refused:
        api.check_id_property("domain")
    assert "does not have unique values" in str(refused.value)
    assert "hs_object_id, external_id" in str(refused.value)
    api.check_id_property("external_id")
    api.check_id_property("hs_object_id")


def test_single_records_merge_archive_and_batch_helpers(client, hubspot_emulator):
    api = client.objects("deals")
    created = api.batch_create([{"dealname": "A"}, {"properties": {"dealname": "B"}, "associations": []}])
    assert [c["properties"]["dealname"] for c in created] == ["A", "B"]
    a, b = created[0]["id"], created[1]["id"]
    api.batch_update([(a, {"amount": "10"})])
    assert api.get(a, properties=["amount"])["properties"]["amount"] == "10"
    api.update(b, {"amount": "5"})
    one = api.create({"dealname": "C"})
    merged = api.merge(a, b)
    assert merged["id"] == a
    assert api.get(b)["id"] == a
    assert api.archive([a]) == 1
    api.delete(one["id"])
    assert hubspot_emulator.objects("deals") == []
    assert api.count() == 0


def test_search_reads_past_hubspots_10000_results(client, hubspot_emulator):
    for i in range(10_050):
        hubspot_emulator.state.add_object("tickets", {"subject": f"s{i}"})
    ids = [r["id"] for r in client.objects("tickets").search(page_size=200)]
    assert len(ids) == 10_050 and len(set(ids)) == 10_050
    assert ids == sorted(ids, key=int)


def test_association_pages_that_loop_fail_instead_of_repeating(client, monkeypatch):
    """A record whose association pages point back to a cursor already followed: a clear error after one
    repeat, not an endless read (HubSpot's paging is trusted nowhere else either)."""
    from types import SimpleNamespace

    from airflow_provider_hubspot.client.errors import HubSpotPagingError

    api = client.associations
    page = {"results": [{"from": {"id": "1"}, "to": [{"toObjectId": 2, "associationTypes": [{"typeId": 279}]}],
                         "paging": {"next": {"after": "A"}}}]}
    bodies = []

    def request(method, path, **kwargs):
        bodies.append(kwargs["json_body"])
        return SimpleNamespace(body=page)

    monkeypatch.setattr(api.transport, "request", request)
    with pytest.raises(HubSpotPagingError, match="after=A again"):
        list(api.read("contacts", "companies", [1]))
    assert bodies == [{"inputs": [{"id": "1"}]}, {"inputs": [{"id": "1", "after": "A"}]}]


def test_associations(client, hubspot_emulator):
    contacts = [hubspot_emulator.add_object("contacts", {"email": f"c{i}@example.com"}) for i in range(3)]
    company = hubspot_emulator.add_object("companies", {"name": "Acme"})
    api = client.associations
    assert api.resolve_type("contacts", "companies", "primary").type_id == 1
    assert api.resolve_type("contacts", "companies").type_id == 279
    assert api.resolve_type("contacts", "companies", 279).label is None
    with pytest.raises(HubSpotConfigError, match="no association type 'boss'"):
        api.resolve_type("contacts", "companies", "boss")
    pairs = records([(c, company) for c in contacts] + [(contacts[0], 999_999)])
    outcome = api.associate("contacts", "companies", pairs, kind="primary")
    assert outcome.counts["associated"] == 3 and outcome.rejected == 1
    assert outcome.rejections[0].code == ASSOCIATION_FAILED and "999999" in outcome.rejections[0].reason
    again = api.associate("contacts", "companies", records([(c, company) for c in contacts]), kind="primary")
    assert again.counts["associated"] == 3
    assert all(a["types"] == [1, 279] for a in hubspot_emulator.associations("contacts", "companies"))
    read = sorted(api.read("companies", "contacts", [company]))
    assert [(f, t) for f, t, _ in read] == [(str(company), str(c)) for c in contacts]
    assert api.archive("contacts", "companies", [(contacts[0], company)]) == 1
    assert len(hubspot_emulator.associations("contacts", "companies")) == 2
    labels = api.create_label("contacts", "companies", "Billing contact")
    assert any(t.label == "Billing contact" and t.category == "USER_DEFINED" for t in labels)
    assert api.create_label("contacts", "companies", "Billing contact")  # again: 409, read back
