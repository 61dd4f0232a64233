"""CRM (v3 and date-based) contacts routes of the emulator."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from airflow_provider_hubspot.emulator import HubSpotEmulator

PREFIXES = ["/crm/v3/objects/contacts", "/crm/objects/2026-03/contacts"]


@pytest.fixture(params=PREFIXES)
def base(request: pytest.FixtureRequest, emu: HubSpotEmulator) -> str:
    return emu.url + request.param


def embedded(message: str) -> list[dict[str, Any]]:
    prefix = "Property values were not valid: "
    assert message.startswith(prefix)
    return json.loads(message[len(prefix) :])


def test_create_get_patch_delete(emu, http, base):
    r = http.post(base, json={"properties": {"email": "A@example.com", "firstname": "A", "num_employees": "12"},
                              "associations": []})
    assert r.status_code == 201
    obj = r.json()
    assert obj["id"] == "1001" and obj["archived"] is False
    assert obj["properties"]["email"] == "a@example.com"
    assert obj["properties"]["hs_object_id"] == "1001"
    assert obj["properties"]["num_employees"] == "12"
    assert obj["createdAt"].endswith("Z") and obj["properties"]["createdate"] == obj["createdAt"]
    r = http.post(base, json={"properties": {"email": "a@EXAMPLE.com"}, "associations": []})
    assert r.status_code == 409
    assert r.json()["category"] == "CONFLICT"
    assert r.json()["message"] == "Contact already exists. Existing ID: 1001"
    got = http.get(f"{base}/1001", params={"properties": "firstname,num_employees"}).json()
    assert got["properties"]["firstname"] == "A" and "email" not in got["properties"]
    by_email = http.get(f"{base}/a@example.com", params={"idProperty": "email"}).json()
    assert by_email["id"] == "1001" and by_email["properties"]["firstname"] == "A"
    r = http.patch(f"{base}/a@example.com?idProperty=email", json={"properties": {"lastname": "Z", "firstname": ""}})
    assert r.status_code == 200 and r.json()["properties"]["lastname"] == "Z"
    assert "firstname" not in emu.state.contact(1001)["properties"]
    r = http.patch(f"{base}/1001", json={"properties": {"nope": "x"}})
    assert r.status_code == 400 and r.json()["category"] == "VALIDATION_ERROR"
    assert embedded(r.json()["message"])[0]["error"] == "PROPERTY_DOESNT_EXIST"
    assert http.delete(f"{base}/1001").status_code == 204
    r = http.get(f"{base}/1001")
    assert r.status_code == 404 and r.json()["category"] == "OBJECT_NOT_FOUND"


def test_list_paging(emu, http, base):
    for i in range(25):
        emu.state.add_contact({"email": f"c{i}@example.com"})
    ids: list[str] = []
    params: dict[str, Any] = {"limit": 10}
    while True:
        body = http.get(base, params=params).json()
        ids.extend(o["id"] for o in body["results"])
        nxt = body.get("paging", {}).get("next")
        if not nxt:
            break
        params = {"limit": 10, "after": nxt["after"]}
    assert ids == [str(1001 + i) for i in range(25)]
    assert http.get(base, params={"limit": 101}).status_code == 400


def test_batch_read_with_missing_ids_is_207(emu, http, base):
    emu.state.add_contact({"email": "a@example.com", "firstname": "A"})
    r = http.post(f"{base}/batch/read", json={"inputs": [{"id": "1001"}, {"id": "5"}], "properties": ["firstname"],
                                                        "propertiesWithHistory": []})
    assert r.status_code == 207
    body = r.json()
    assert [o["properties"]["firstname"] for o in body["results"]] == ["A"]
    assert body["numErrors"] == 1 and body["errors"][0]["context"]["ids"] == ["5"]
    r = http.post(f"{base}/batch/read", json={"inputs": [{"id": "A@example.com"}], "idProperty": "email",
                                                        "properties": [], "propertiesWithHistory": []})
    assert r.status_code == 200 and r.json()["results"][0]["id"] == "1001"
    too_many = {"inputs": [{"id": str(i)} for i in range(51)], "properties": [], "propertiesWithHistory": ["email"]}
    assert http.post(f"{base}/batch/read", json=too_many).status_code == 400


def test_batch_create_update_archive(emu, http, base):
    r = http.post(
        f"{base}/batch/create", json={"inputs": [{"properties": {"email": f"c{i}@example.com"}, "associations": []} for i in range(3)]}
    )
    assert r.status_code == 201 and r.json()["status"] == "COMPLETE" and len(r.json()["results"]) == 3
    r = http.post(f"{base}/batch/create", json={"inputs": [{"properties": {"email": "c1@example.com"}, "associations": []}]})
    assert r.status_code == 409 and r.json()["message"] == "Contact already exists. Existing ID: 1002"
    traced = {
        "inputs": [
            {"properties": {"email": "c1@example.com"}, "associations": [], "objectWriteTraceId": "t1"},
            {"properties": {"email": "n@example.com"}, "associations": [], "objectWriteTraceId": "t2"},
        ]
    }
    r = http.post(f"{base}/batch/create", json=traced)
    assert r.status_code == 207
    assert r.json()["results"][0]["objectWriteTraceId"] == "t2" and r.json()["errors"][0]["category"] == "CONFLICT"
    r = http.post(
        f"{base}/batch/update",
        json={
            "inputs": [
                {"id": "1001", "properties": {"firstname": "X"}},
                {"id": "999", "properties": {"firstname": "Y"}},
            ]
        },
    )
    assert r.status_code == 207 and r.json()["results"][0]["properties"]["firstname"] == "X"
    r = http.post(
        f"{base}/batch/update", json={"inputs": [{"id": "1001", "properties": {}}, {"id": "1001", "properties": {}}]}
    )
    assert r.status_code == 400
    assert r.json()["message"] == "Duplicate IDs found in batch input: [1001]. IDs must be unique"
    assert r.json()["context"] == {"ids": ["1001"]}
    assert http.post(f"{base}/batch/archive", json={"inputs": [{"id": "1001"}, {"id": "1002"}]}).status_code == 204
    assert emu.state.count_contacts() == 2
    assert http.post(f"{base}/batch/create", json={"inputs": [{"properties": {}, "associations": []}] * 101}).status_code == 400


def test_upsert_by_email(emu, http, base):
    emu.state.add_contact({"email": "old@example.com"})
    inputs = [
        {"id": "old@example.com", "idProperty": "email", "properties": {"firstname": "Old"}},
        {"id": "New@example.com", "idProperty": "email", "properties": {"firstname": "New"}},
    ]
    r = http.post(f"{base}/batch/upsert", json={"inputs": inputs})
    assert r.status_code == 200
    results = r.json()["results"]
    assert [(o["id"], o["new"]) for o in results] == [("1001", False), ("1002", True)]
    assert emu.state.contact_by_email("new@example.com")["properties"]["firstname"] == "New"


def test_upsert_by_email_rejects_the_whole_batch_naming_the_first_bad_value(emu, http, base):
    inputs = [
        {"id": "ok@example.com", "idProperty": "email", "properties": {"firstname": "Ok"}},
        {"id": "bad@example.comv", "idProperty": "email", "properties": {}},
        {"id": "worse@b.con", "idProperty": "email", "properties": {}},
        {"id": "p@example.com", "idProperty": "email", "properties": {"nope": "1"}},
    ]
    r = http.post(f"{base}/batch/upsert", json={"inputs": inputs})
    assert r.status_code == 400
    body = r.json()
    assert body["category"] == "VALIDATION_ERROR"
    details = embedded(body["message"])
    assert len(details) == 1
    assert details[0]["error"] == "INVALID_EMAIL" and "bad@example.comv" in details[0]["message"]
    assert "worse@b.con" not in body["message"]
    assert emu.state.count_contacts() == 0  # not even the valid one
    r = http.post(f"{base}/batch/upsert", json={"inputs": [inputs[0], inputs[3]]})
    assert r.status_code == 400 and embedded(r.json()["message"])[0]["name"] == "nope"


def test_upsert_by_id_is_multi_status(emu, http, base):
    emu.state.add_contact({"email": "a@example.com"})
    inputs = [
        {"id": "1001", "properties": {"firstname": "A"}},
        {"id": "4242", "properties": {"firstname": "B"}},
        {"id": "1001x", "idProperty": "hs_object_id", "properties": {"num_employees": "many"}},
    ]
    r = http.post(f"{base}/batch/upsert", json={"inputs": inputs})
    assert r.status_code == 207
    body = r.json()
    assert [o["id"] for o in body["results"]] == ["1001"] and body["results"][0]["new"] is False
    assert sorted(e["category"] for e in body["errors"]) == ["OBJECT_NOT_FOUND", "VALIDATION_ERROR"]
    dupes = [{"id": "a@example.com", "idProperty": "email", "properties": {}},
             {"id": "A@EXAMPLE.COM", "idProperty": "email", "properties": {}}]
    r = http.post(f"{base}/batch/upsert", json={"inputs": dupes})
    assert r.status_code == 400 and "Duplicate IDs found in batch input" in r.json()["message"]
    r = http.post(f"{base}/batch/upsert", json={"inputs": [{"id": "x", "idProperty": "firstname", "properties": {}}]})
    assert r.status_code == 400 and "non-unique" in r.json()["message"]
    assert (
        http.post(
            f"{base}/batch/upsert", json={"inputs": [{"id": "a@example.com", "idProperty": "email", "properties": {}}] * 101}
        ).status_code
        == 400
    )


def test_merge(emu, http, base):
    a = emu.state.add_contact({"email": "a@example.com"})
    b = emu.state.add_contact({"email": "b@example.com", "firstname": "B"})
    r = http.post(f"{base}/merge", json={"primaryObjectId": str(a), "objectIdToMerge": str(b)})
    assert r.status_code == 200 and r.json()["id"] == str(a)
    assert http.get(f"{base}/{b}").json()["id"] == str(a)  # merged-away id resolves to the survivor
    r = http.post(f"{base}/merge", json={"primaryObjectId": str(a), "objectIdToMerge": str(b)})
    assert r.status_code == 400 and r.json()["category"] == "VALIDATION_ERROR"
    assert r.json()["message"] == f"Object {b} is already merged into {a}"
    r = http.post(f"{base}/merge", json={"primaryObjectId": str(a), "objectIdToMerge": str(a)})
    assert r.status_code == 400
    r = http.post(f"{base}/merge", json={"primaryObjectId": str(a), "objectIdToMerge": "777"})
    assert r.status_code == 404


def test_search(emu, http, base):
    t = 1_700_000_000_000
    for i in range(30):
        emu.state.add_contact(
            {"email": f"c{i}@example.com", "firstname": "Even" if i % 2 == 0 else "Odd", "num_employees": str(i)},
            created_at=t + i,
        )
    emu.state.add_contact({"email": "alone@other.org", "lifecyclestage": "customer"}, created_at=t + 100)
    search = f"{base}/search"
    defaults = {"filterGroups": [], "sorts": [], "properties": [], "limit": 10, "after": "0"}  # required (dated)

    def find(body):
        return http.post(search, json={**defaults, **body})

    r = find(
        {
            "filterGroups": [{"filters": [{"propertyName": "firstname", "operator": "EQ", "value": "even"}]}],
            "limit": 10,
        },
    )
    body = r.json()
    assert body["total"] == 15 and len(body["results"]) == 10 and body["paging"]["next"]["after"] == "10"
    page2 = find(
        {
            "filterGroups": [{"filters": [{"propertyName": "firstname", "operator": "EQ", "value": "Even"}]}],
            "limit": 10,
            "after": "10",
        },
    ).json()
    assert len(page2["results"]) == 5 and "paging" not in page2
    between = {"propertyName": "num_employees", "operator": "BETWEEN", "value": "5", "highValue": "7"}
    assert find({"filterGroups": [{"filters": [between]}]}).json()["total"] == 3
    two_groups = {
        "filterGroups": [
            {"filters": [{"propertyName": "num_employees", "operator": "GTE", "value": "28"}]},
            {"filters": [{"propertyName": "lifecyclestage", "operator": "HAS_PROPERTY"}]},
        ],
        "sorts": [{"propertyName": "createdate", "direction": "DESCENDING"}],
        "properties": ["email", "lifecyclestage"],
    }
    body = find(two_groups).json()
    assert [o["properties"]["email"] for o in body["results"]] == [
        "alone@other.org",
        "c29@example.com",
        "c28@example.com",
    ]
    created = {"propertyName": "createdate", "operator": "GT", "value": "2023-11-14T22:13:20.010Z"}
    assert find({"filterGroups": [{"filters": [created]}]}).json()["total"] == 20
    email_in = {"propertyName": "email", "operator": "IN", "values": ["c1@example.com", "C2@example.com", "no@x.com"]}
    assert find({"filterGroups": [{"filters": [email_in]}]}).json()["total"] == 2
    assert find({"query": "other"}).json()["total"] == 1
    assert find({"sorts": ["-num_employees"], "limit": 1}).json()["results"][0]["id"] == "1030"
    assert find({"limit": 201}).status_code == 400
    assert find({"after": "10000"}).status_code == 400
    bad = {"filterGroups": [{"filters": [{"propertyName": "nope", "operator": "EQ", "value": "1"}]}]}
    assert find(bad).status_code == 400


def test_upsert_throughput_with_faults(emu):
    """20,000 contacts in 100-per-batch upserts with 20 % random faults, retried naively."""
    emu.fault_rate = 0.2
    emu.fault_kinds = ["429", "500", "502_html", "503", "drop_before", "drop_after"]
    url = f"{emu.url}/crm/objects/2026-03/contacts/batch/upsert"
    start = time.monotonic()
    attempts = 0
    with requests.Session() as s:
        s.headers["Authorization"] = f"Bearer {emu.token}"
        for batch in range(200):
            inputs = [
                {"id": f"c{batch * 100 + i}@example.com", "idProperty": "email", "properties": {"firstname": "F"}}
                for i in range(100)
            ]
            while True:
                attempts += 1
                try:
                    if s.post(url, json={"inputs": inputs}).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
    elapsed = time.monotonic() - start
    assert emu.state.count_contacts() == 20_000
    assert attempts > 200 and emu.stats["faults"] == attempts - 200
    assert elapsed < 15, f"took {elapsed:.1f}s"


def test_contacts_are_one_type_of_the_object_store(emu, http, base):
    """A v1 write, a CRM write and a helper see the same records, ids and unique values."""
    emu.state.define_property("ext_id", unique=True)
    vid = emu.state.add_contact({"email": "a@example.com", "ext_id": "X1"}, utk="u-a")
    assert emu.state.objects("contacts")[0]["id"] == str(vid) == emu.state.contacts()[0]["properties"]["hs_object_id"]
    r = http.post(f"{emu.url}/contacts/v1/contact", json={"properties": [{"property": "email", "value": "b@example.com"},
                                                                        {"property": "ext_id", "value": "X1"}]})
    assert r.status_code == 409 and r.json()["message"] == f"Contact already exists. Existing ID: {vid}"
    other = emu.state.add_contact({"firstname": "No e-mail"})
    r = http.post(f"{base}/merge", json={"primaryObjectId": str(other), "objectIdToMerge": str(vid)})
    assert r.status_code == 200 and r.json()["properties"]["email"] == "a@example.com"
    r = http.get(f"{base}/X1", params={"idProperty": "ext_id"})  # the survivor took the unique value
    assert r.status_code == 200 and r.json()["id"] == str(other)
    assert http.get(f"{emu.url}/contacts/v1/contact/utk/u-a/profile").json()["vid"] == other
    assert http.post(base, json={"properties": {"email": "A@example.com"}, "associations": []}).status_code == 409
    assert emu.state.count_contacts() == 1
