"""The emulator's generic object store: every CRM object type on one batch engine, custom objects,
unique properties, property definitions, scopes."""

from __future__ import annotations

import pytest

from airflow_provider_hubspot.emulator import HubSpotEmulator

STANDARD = [("companies", "0-2", {"name": "Acme", "domain": "acme.com", "numberofemployees": "12"}),
            ("deals", "0-3", {"dealname": "Big", "amount": "1000.5", "dealstage": "closedwon"}),
            ("tickets", "0-5", {"subject": "Broken", "hs_pipeline_stage": "1"}),
            ("products", "0-7", {"name": "Widget", "price": "9.99"}),
            ("line_items", "0-8", {"name": "2 widgets", "quantity": "2", "price": "9.99"})]


@pytest.fixture(params=["v3", "2026-03", "2026-09"])
def version(request: pytest.FixtureRequest) -> str:
    return request.param


def prefix(emu: HubSpotEmulator, version: str, object_type: str) -> str:
    if version == "v3":
        return f"{emu.url}/crm/v3/objects/{object_type}"
    return f"{emu.url}/crm/objects/{version}/{object_type}"


@pytest.mark.parametrize(("name", "type_id", "props"), STANDARD)
def test_each_standard_object_crud_batch_and_search(emu, http, version, name, type_id, props):
    base = prefix(emu, version, name)
    created = http.post(base, json={"properties": props, "associations": []})
    assert created.status_code == 201, created.text
    obj = created.json()
    assert obj["properties"]["hs_object_id"] == obj["id"] and obj["createdAt"].endswith("Z")
    assert all(obj["properties"][k] == v for k, v in props.items())
    by_type_id = http.get(f"{prefix(emu, version, type_id)}/{obj['id']}", params={"properties": ",".join(props)})
    assert by_type_id.status_code == 200 and by_type_id.json()["properties"] == {
        **props, "createdate": obj["createdAt"], "hs_object_id": obj["id"],
        "hs_lastmodifieddate": by_type_id.json()["properties"]["hs_lastmodifieddate"]}
    bad = http.patch(f"{base}/{obj['id']}", json={"properties": {"no_such_property": "1"}})
    assert bad.status_code == 400 and "PROPERTY_DOESNT_EXIST" in bad.json()["message"]
    batch = http.post(f"{base}/batch/create", json={"inputs": [
        {"properties": props, "associations": [], "objectWriteTraceId": str(i)} for i in range(3)]})
    assert batch.status_code == 201 and len(batch.json()["results"]) == 3
    ids = [r["id"] for r in batch.json()["results"]]
    updated = http.post(f"{base}/batch/update", json={"inputs": [
        {"id": ids[0], "properties": {}, "objectWriteTraceId": "a"},
        {"id": "999999", "properties": {}, "objectWriteTraceId": "b"}]})
    assert updated.status_code == (207 if version != "2026-09" else 200)
    assert updated.json()["numErrors"] == 1 and updated.json()["results"][0]["objectWriteTraceId"] == "a"
    read = http.post(f"{base}/batch/read", json={"inputs": [{"id": i} for i in ids], "properties": [],
                                                 "propertiesWithHistory": []})
    assert sorted(r["id"] for r in read.json()["results"]) == sorted(ids)
    search = http.post(f"{base}/search", json={"filterGroups": [{"filters": [
        {"propertyName": "hs_object_id", "operator": "IN", "values": ids[:2]}]}], "sorts": [], "properties": [],
        "limit": 10, "after": "0"})
    assert search.status_code == 200 and search.json()["total"] == 2
    assert http.post(f"{base}/batch/archive", json={"inputs": [{"id": i} for i in ids]}).status_code == 204
    assert len(emu.state.objects(name)) == 1
    assert http.delete(f"{base}/{obj['id']}").status_code == 204
    assert http.get(f"{base}/{obj['id']}").status_code == 404
    too_many = {"inputs": [{"properties": {}, "associations": []}] * 101}
    assert http.post(f"{base}/batch/create", json=too_many).status_code == 400


def test_list_paging_and_unknown_type(emu, http):
    for i in range(25):
        emu.state.add_object("deals", {"dealname": f"d{i}"})
    base = prefix(emu, "2026-09", "deals")
    ids: list[str] = []
    params: dict[str, str | int] = {"limit": 10}
    while True:
        body = http.get(base, params=params).json()
        ids.extend(o["id"] for o in body["results"])
        if "paging" not in body:
            break
        params = {"limit": 10, "after": body["paging"]["next"]["after"]}
    assert ids == [str(3001 + i) for i in range(25)]
    missing = http.get(prefix(emu, "2026-09", "spaceships"))
    assert missing.status_code == 404 and "Unable to infer object type" in missing.json()["message"]


def test_upsert_by_a_unique_property_and_a_non_unique_one_is_refused(emu, http, version):
    emu.state.define_property("external_id", object_type="companies", unique=True)
    base = prefix(emu, version, "companies")
    inputs = [{"id": "A-1", "idProperty": "external_id", "properties": {"name": "A"}, "objectWriteTraceId": "0"},
              {"id": "A-2", "idProperty": "external_id", "properties": {"name": "B"}, "objectWriteTraceId": "1"}]
    first = http.post(f"{base}/batch/upsert", json={"inputs": inputs})
    assert first.status_code == 200 and [r["new"] for r in first.json()["results"]] == [True, True]
    again = http.post(f"{base}/batch/upsert", json={"inputs": inputs})
    assert [r["new"] for r in again.json()["results"]] == [False, False]
    assert [c["properties"]["external_id"] for c in emu.state.objects("companies")] == ["A-1", "A-2"]
    by_domain = http.post(f"{base}/batch/upsert", json={"inputs": [
        {"id": "acme.com", "idProperty": "domain", "properties": {}}]})
    assert by_domain.status_code == 400
    assert by_domain.json()["message"] == "Unable to perform update/upsert by non-unique 0-2 property domain"
    got = http.get(f"{base}/A-2", params={"idProperty": "external_id"})
    assert got.status_code == 200 and got.json()["properties"]["name"] == "B"
    taken = http.post(base, json={"properties": {"external_id": "A-1"}, "associations": []})
    assert taken.status_code == 409 and taken.json()["message"].endswith("Existing ID: 2001")
    bad = http.post(f"{base}/batch/upsert", json={"inputs": [
        {"id": "A-3", "idProperty": "external_id", "properties": {"numberofemployees": "many"}}]})
    assert bad.status_code == 400 and "INVALID_LONG" in bad.json()["message"]


def test_custom_object_by_id_name_and_fully_qualified_name(emu, http):
    type_id = emu.state.define_custom_object("car", [{"name": "vin", "type": "string", "hasUniqueValue": True},
                                                     {"name": "make", "type": "string"},
                                                     {"name": "year", "type": "number"}], plural="cars")
    assert type_id.startswith("2-")
    for name in (type_id, "cars", "p62515_car"):
        r = http.post(f"{prefix(emu, '2026-09', name)}/batch/upsert", json={"inputs": [
            {"id": "VIN1", "idProperty": "vin", "properties": {"make": name}}]})
        assert r.status_code == 200, r.text
    assert [o["properties"]["make"] for o in emu.state.objects("cars")] == ["p62515_car"]
    props = http.get(f"{emu.url}/crm/properties/2026-09/{type_id}").json()["results"]
    assert {p["name"] for p in props if p["hasUniqueValue"]} == {"vin", "hs_object_id"}


def test_merge_where_hubspot_has_it(emu, http):
    a = emu.state.add_object("companies", {"name": "A"})
    b = emu.state.add_object("companies", {"name": "B", "domain": "b.com"})
    base = prefix(emu, "2026-03", "companies")
    merged = http.post(f"{base}/merge", json={"primaryObjectId": str(a), "objectIdToMerge": str(b)})
    assert merged.status_code == 200 and merged.json()["id"] == str(a)
    assert http.get(f"{base}/{b}").json()["id"] == str(a)
    again = http.post(f"{base}/merge", json={"primaryObjectId": str(a), "objectIdToMerge": str(b)})
    assert again.status_code == 400 and again.json()["message"] == f"Object {b} is already merged into {a}"
    p1, p2 = emu.state.add_object("products", {"name": "x"}), emu.state.add_object("products", {"name": "y"})
    no_merge = http.post(f"{prefix(emu, '2026-03', 'products')}/merge",
                         json={"primaryObjectId": str(p1), "objectIdToMerge": str(p2)})
    assert no_merge.status_code == 404
    assert http.post(f"{base}/gdpr-delete", json={"objectId": str(a)}).status_code == 404


def test_scopes_are_the_object_types(emu):
    import requests

    emu.add_token("contacts-only", {"crm.objects.contacts.read", "crm.objects.contacts.write"})
    headers = {"Authorization": "Bearer contacts-only"}
    assert requests.get(prefix(emu, "2026-03", "contacts"), headers=headers).status_code == 200
    denied = requests.get(prefix(emu, "2026-03", "companies"), headers=headers)
    assert denied.status_code == 403
    assert denied.json()["errors"][0]["context"]["requiredScopes"] == ["crm.objects.companies.read"]
    emu.add_token("shop", {"crm.objects.e-commerce.write"})
    write = requests.post(prefix(emu, "2026-03", "line_items"), headers={"Authorization": "Bearer shop"},
                          json={"properties": {"name": "x"}, "associations": []})
    assert write.status_code == 201


def test_properties_of_every_type_and_create(emu, http):
    base = f"{emu.url}/crm/properties/2026-09"
    companies = http.get(f"{base}/companies").json()["results"]
    assert {"name", "domain", "hs_object_id"} <= {p["name"] for p in companies}
    assert next(p for p in companies if p["name"] == "domain")["hasUniqueValue"] is False
    created = http.post(f"{base}/companies", json={"name": "external_id", "label": "External id", "type": "string",
                                                   "fieldType": "text", "groupName": "companyinformation",
                                                   "hasUniqueValue": True})
    assert created.status_code == 201 and created.json()["hasUniqueValue"] is True
    assert http.post(f"{base}/companies", json={"name": "external_id", "label": "x", "type": "string",
                                                "fieldType": "text", "groupName": "g"}).status_code == 409
    assert http.get(f"{base}/0-2/external_id").json()["hasUniqueValue"] is True
    missing_options = {"name": "tier", "label": "Tier", "type": "enumeration", "fieldType": "select",
                       "groupName": "g", "options": [{"label": "Gold", "value": "gold"}]}
    assert http.post(f"{base}/deals", json=missing_options).status_code == 400  # strict: hidden, displayOrder
    missing_options["options"] = [{"label": "Gold", "value": "gold", "hidden": False, "displayOrder": 0}]
    assert http.post(f"{base}/deals", json=missing_options).status_code == 201
    assert http.get(f"{base}/spaceships").status_code == 404
    grouped = {"name": "tier", "label": "Tier", "type": "string", "fieldType": "text", "groupName": "billing"}
    assert http.post(f"{base}/contacts", json=grouped).json()["groupName"] == "billing"  # as for every type


def test_state_snapshot_keeps_objects_and_associations(emu):
    emu.state.define_property("external_id", object_type="companies", unique=True)
    car = emu.state.define_custom_object("car", [{"name": "vin", "hasUniqueValue": True}])
    company = emu.state.add_object("companies", {"name": "A", "external_id": "X"})
    contact = emu.state.add_contact({"email": "a@example.com"})
    vehicle = emu.state.add_object(car, {"vin": "V1"})
    emu.state.associate("contacts", contact, "companies", company, 1)
    emu.state.associate(car, vehicle, "contacts", contact)
    snapshot = emu.state.to_json()
    emu.state.clear()
    emu.state.load_json(snapshot)
    assert emu.state.objects("companies")[0]["properties"]["external_id"] == "X"
    assert emu.state.object_type("companies").by_unique("external_id", "X") is not None
    assert emu.state.associations("contacts", "companies") == [
        {"from": str(contact), "to": str(company), "types": [1, 279], "labels": ["Primary"]}]
    assert emu.state.associations("contacts", car)[0]["to"] == str(vehicle)
    assert emu.state.objects(car)[0]["properties"]["vin"] == "V1"
