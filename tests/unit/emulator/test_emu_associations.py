"""The emulator's association graph and its v4 / date-based routes."""

from __future__ import annotations

import pytest

from airflow_provider_hubspot.emulator import HubSpotEmulator


@pytest.fixture(params=["v4", "2026-03", "2026-09"])
def version(request: pytest.FixtureRequest) -> str:
    return request.param


def batch(emu: HubSpotEmulator, version: str, from_type: str, to_type: str) -> str:
    if version == "v4":
        return f"{emu.url}/crm/v4/associations/{from_type}/{to_type}"
    return f"{emu.url}/crm/associations/{version}/{from_type}/{to_type}"


def pair(a: int, b: int) -> dict:
    return {"from": {"id": str(a)}, "to": {"id": str(b)}}


@pytest.fixture
def records(emu):
    contacts = [emu.state.add_contact({"email": f"c{i}@example.com"}) for i in range(3)]
    companies = [emu.state.add_object("companies", {"name": f"Co{i}"}) for i in range(2)]
    return contacts, companies


def test_labels_are_hubspots_table(emu, http, version):
    labels = http.get(f"{batch(emu, version, 'contacts', 'companies')}/labels").json()["results"]
    assert {(d["typeId"], d["label"], d["category"]) for d in labels} == {(279, None, "HUBSPOT_DEFINED"),
                                                                         (1, "Primary", "HUBSPOT_DEFINED")}
    inverse = http.get(f"{batch(emu, version, '0-2', '0-1')}/labels").json()["results"]
    assert {d["typeId"] for d in inverse} == {280, 2}
    deals = http.get(f"{batch(emu, version, 'deals', 'companies')}/labels").json()["results"]
    assert {d["typeId"] for d in deals} == {341, 5}
    tickets = http.get(f"{batch(emu, version, 'tickets', 'contacts')}/labels").json()["results"]
    assert {d["typeId"] for d in tickets} == {16}


def test_default_labeled_read_archive(emu, http, version, records):
    (c0, c1, c2), (co0, co1) = records
    base = batch(emu, version, "contacts", "companies")
    default = http.post(f"{base}/batch/associate/default", json={"inputs": [pair(c0, co0), pair(c1, co0)]})
    assert default.status_code == 200
    assert default.json()["results"][0]["associationSpec"] == {"associationCategory": "HUBSPOT_DEFINED",
                                                               "associationTypeId": 279}
    primary = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}
    labeled = http.post(f"{base}/batch/create", json={"inputs": [{**pair(c0, co1), "types": [primary]}]})
    assert labeled.status_code == (200 if version == "2026-09" else 201)
    assert labeled.json()["results"] == [{"fromObjectTypeId": "0-1", "fromObjectId": str(c0), "toObjectTypeId": "0-2",
                                          "toObjectId": str(co1), "labels": ["Primary"]}]
    read = http.post(f"{base}/batch/read", json={"inputs": [{"id": str(c0)}, {"id": str(c2)}]})
    assert read.status_code == (200 if version == "2026-09" else 207)
    body = read.json()
    assert body["numErrors"] == 1 and body["errors"][0]["context"]["fromObjectId"] == [str(c2)]
    targets = {t["toObjectId"]: t["associationTypes"] for t in body["results"][0]["to"]}
    assert sorted(targets) == [str(co0), str(co1)]
    assert {a["typeId"] for a in targets[str(co1)]} == {1, 279}
    assert ("fromObjectTypeId" in targets[str(co1)][0]) == (version != "2026-09")
    # the inverse direction exists
    inverse = http.post(f"{batch(emu, version, 'companies', 'contacts')}/batch/read",
                        json={"inputs": [{"id": str(co0)}]}).json()["results"][0]["to"]
    assert sorted(t["toObjectId"] for t in inverse) == sorted([str(c0), str(c1)])
    archived = http.post(f"{base}/batch/archive", json={"inputs": [{"from": {"id": str(c0)},
                                                                    "to": [{"id": str(co0)}]}]})
    assert archived.status_code == (204 if version == "v4" else 200)
    assert [a["to"] for a in emu.state.associations("contacts", "companies", c0)] == [str(co1)]


def test_primary_is_one_company_at_a_time(emu, http, records):
    (c0, _, _), (co0, co1) = records
    base = batch(emu, "2026-09", "contacts", "companies")
    primary = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}
    for company in (co0, co1):
        http.post(f"{base}/batch/create", json={"inputs": [{**pair(c0, company), "types": [primary]}]})
    assert emu.state.associations("contacts", "companies", c0) == [
        {"from": str(c0), "to": str(co0), "types": [279], "labels": []},
        {"from": str(c0), "to": str(co1), "types": [1, 279], "labels": ["Primary"]}]


def test_associating_twice_is_harmless(emu, http, version, records):
    (c0, c1, _), (co0, _) = records
    base = batch(emu, version, "contacts", "companies")
    primary = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}
    body = {"inputs": [{**pair(c0, co0), "types": [primary]}, {**pair(c1, co0), "types": [primary]}]}
    first = http.post(f"{base}/batch/create", json=body)
    before = emu.state.associations("contacts", "companies")
    second = http.post(f"{base}/batch/create", json=body)
    assert second.status_code == first.status_code and second.json()["results"] == first.json()["results"]
    assert emu.state.associations("contacts", "companies") == before
    default = http.post(f"{base}/batch/associate/default", json={"inputs": [pair(c0, co0)]})
    assert default.status_code == 200 and emu.state.associations("contacts", "companies") == before


def test_missing_records_and_unknown_types_are_errors_of_their_input(emu, http, version, records):
    (c0, _, _), (co0, _) = records
    base = batch(emu, version, "contacts", "companies")
    primary = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 1}
    wrong = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 341}
    r = http.post(f"{base}/batch/create", json={"inputs": [
        {**pair(c0, co0), "types": [primary]}, {**pair(c0, 99999), "types": [primary]},
        {**pair(c0, co0), "types": [wrong]}]})
    assert r.status_code == (200 if version == "2026-09" else 207)
    errors = r.json()["errors"]
    assert [e["category"] for e in errors] == ["OBJECT_NOT_FOUND", "VALIDATION_ERROR"]
    assert errors[0]["context"] == {"fromObjectId": [str(c0)], "toObjectId": ["99999"]}
    assert "company 99999" in errors[0]["message"]
    assert len(r.json()["results"]) == 1
    bad_category = http.post(f"{base}/batch/create", json={"inputs": [
        {**pair(c0, co0), "types": [{"associationCategory": "NOPE", "associationTypeId": 1}]}]})
    assert bad_category.status_code == 400  # the schema's enum
    too_many = http.post(f"{base}/batch/read", json={"inputs": [{"id": "1"}] * 1001})
    assert too_many.status_code == 400


def test_user_defined_labels(emu, http, records):
    (c0, _, _), (co0, _) = records
    base = batch(emu, "2026-03", "contacts", "companies")
    made = http.post(f"{base}/labels", json={"name": "billing_contact", "label": "Billing contact",
                                             "inverseLabel": "Billed company"})
    assert made.status_code == 200
    label = made.json()["results"][0]
    assert label["category"] == "USER_DEFINED" and label["label"] == "Billing contact"
    assert http.post(f"{base}/labels", json={"name": "x", "label": "Billing contact"}).status_code == 409
    spec = {"associationCategory": "USER_DEFINED", "associationTypeId": label["typeId"]}
    r = http.post(f"{base}/batch/create", json={"inputs": [{**pair(c0, co0), "types": [spec]}]})
    assert r.json()["results"][0]["labels"] == ["Billing contact"]
    inverse = emu.state.associations("companies", "contacts", co0)[0]
    assert inverse["labels"] == ["Billed company"]
    removed = http.post(f"{base}/batch/labels/archive", json={"inputs": [{**pair(c0, co0), "types": [spec]}]})
    assert removed.status_code == 200
    assert emu.state.associations("contacts", "companies", c0)[0]["types"] == [279]


def test_one_pair_routes_and_inline_associations(emu, http, records):
    (c0, c1, _), (co0, _) = records
    objects = f"{emu.url}/crm/v4/objects/contacts/{c0}/associations"
    assert http.put(f"{objects}/default/companies/{co0}").status_code == 200
    put = http.put(f"{objects}/companies/{co0}", json=[{"associationCategory": "HUBSPOT_DEFINED",
                                                        "associationTypeId": 1}])
    assert put.status_code == 201 and put.json()["labels"] == ["Primary"]
    listed = http.get(f"{objects}/companies").json()["results"]
    assert listed[0]["toObjectId"] == str(co0)
    assert http.get(f"{emu.url}/crm/objects/2026-09/contacts/{c0}/associations/companies").status_code == 404
    assert http.get(f"{emu.url}/crm/objects/2026-03/contacts/{c0}/associations/companies").status_code == 200
    got = http.get(f"{emu.url}/crm/v3/objects/contacts/{c0}", params={"associations": "companies"}).json()
    assert got["associations"]["companies"]["results"] == [
        {"id": str(co0), "type": "contact_to_company"}, {"id": str(co0), "type": "contact_to_company_unlabeled"}]
    assert http.delete(f"{objects}/companies/{co0}").status_code == 204
    assert emu.state.associations("contacts", "companies", c0) == []
    deal = http.post(f"{emu.url}/crm/objects/2026-09/deals", json={"properties": {"dealname": "D"}, "associations": [
        {"to": {"id": str(co0)}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 5}]},
        {"to": {"id": str(c1)}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]}]})
    assert deal.status_code == 201
    deal_id = deal.json()["id"]
    assert emu.state.associations("deals", "companies", deal_id)[0]["labels"] == ["Primary"]
    assert emu.state.associations("deals", "contacts", deal_id)[0]["to"] == str(c1)
    missing = http.post(f"{emu.url}/crm/objects/2026-09/deals", json={"properties": {}, "associations": [
        {"to": {"id": "424242"}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 5}]}]})
    assert missing.status_code == 400


def test_merge_moves_and_archive_drops_associations(emu, http, records):
    (c0, c1, c2), (co0, co1) = records
    emu.state.associate("contacts", c0, "companies", co0)
    emu.state.associate("contacts", c1, "companies", co1)
    base = f"{emu.url}/crm/objects/2026-03/companies"
    http.post(f"{base}/merge", json={"primaryObjectId": str(co0), "objectIdToMerge": str(co1)})
    assert sorted(a["to"] for a in emu.state.associations("companies", "contacts", co0)) == [str(c0), str(c1)]
    emu.state.merge_contacts(c0, c1)
    assert [a["to"] for a in emu.state.associations("companies", "contacts", co0)] == [str(c0)]
    http.delete(f"{emu.url}/crm/objects/2026-03/contacts/{c0}")
    assert emu.state.associations("companies", "contacts", co0) == []
    emu.state.associate("contacts", c2, "companies", co0)
    http.delete(f"{base}/{co0}")
    assert emu.state.associations("contacts", "companies", c2) == []
