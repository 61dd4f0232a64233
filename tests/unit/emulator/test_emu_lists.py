"""Lists v1 and ILS (v3 / date-based) routes of the emulator."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_hubspot.emulator import HubSpotEmulator


def contacts(emu: HubSpotEmulator, n: int) -> list[int]:
    return [emu.state.add_contact({"email": f"c{i}@example.com"}) for i in range(n)]


# -- v1 ------------------------------------------------------------------------------------------


def test_v1_create_get_update_delete(emu, http):
    r = http.post(f"{emu.url}/contacts/v1/lists", json={"name": "Newsletter", "dynamic": False})
    assert r.status_code == 200
    lst = r.json()
    assert lst["listId"] == 1 and lst["internalListId"] == 500001
    assert lst["dynamic"] is False and lst["listType"] == "STATIC" and lst["metaData"]["size"] == 0
    assert (
        http.post(f"{emu.url}/contacts/v1/lists", json={"name": ""}).json()["message"] == "Every list must have a name."
    )
    assert http.post(f"{emu.url}/contacts/v1/lists", json={"name": "Newsletter"}).status_code == 400
    assert http.get(f"{emu.url}/contacts/v1/lists/1").json()["name"] == "Newsletter"
    r = http.post(f"{emu.url}/contacts/v1/lists/1", json={"name": "Renamed"})
    assert r.status_code == 200 and r.json()["name"] == "Renamed"
    assert http.delete(f"{emu.url}/contacts/v1/lists/1").status_code == 204
    r = http.get(f"{emu.url}/contacts/v1/lists/1")
    assert r.status_code == 404
    assert r.json()["message"] == "Couldn't find a List with the given id '1'."


def test_v1_get_all_static_dynamic_batch(emu, http):
    for i in range(5):
        emu.state.create_list(f"L{i}", dynamic=i % 2 == 1)
    body = http.get(f"{emu.url}/contacts/v1/lists", params={"count": 2}).json()
    assert [x["listId"] for x in body["lists"]] == [1, 2] and body["has-more"] is True and body["offset"] == 2
    body = http.get(f"{emu.url}/contacts/v1/lists", params={"count": 2, "offset": 4}).json()
    assert [x["listId"] for x in body["lists"]] == [5] and body["has-more"] is False
    assert [x["listId"] for x in http.get(f"{emu.url}/contacts/v1/lists/static").json()["lists"]] == [1, 3, 5]
    assert [x["listId"] for x in http.get(f"{emu.url}/contacts/v1/lists/dynamic").json()["lists"]] == [2, 4]
    body = http.get(f"{emu.url}/contacts/v1/lists/batch", params={"listId": [2, 3, 99]}).json()
    assert [x["listId"] for x in body["lists"]] == [2, 3]


def test_v1_add_remove_and_members(emu, http):
    vids = contacts(emu, 4)
    legacy, _ils = emu.state.create_list("Static")
    url = f"{emu.url}/contacts/v1/lists/{legacy}"
    r = http.post(f"{url}/add", json={"vids": [vids[0], vids[1], 999], "emails": ["c2@example.com", "no@example.com"]})
    assert r.status_code == 200
    assert r.json() == {
        "updated": [vids[0], vids[1], vids[2]],
        "discarded": [],
        "invalidVids": [999],
        "invalidEmails": ["no@example.com"],
    }
    r = http.post(f"{url}/add", json={"vids": [vids[0], vids[3]]})
    assert r.json()["updated"] == [vids[3]] and r.json()["discarded"] == [vids[0]]
    assert emu.state.list_members(legacy) == [vids[0], vids[1], vids[2], vids[3]]
    page = http.get(f"{url}/contacts/all", params={"count": 3}).json()
    assert [c["vid"] for c in page["contacts"]] == vids[:3] and page["has-more"] is True
    assert "addedAt" in page["contacts"][0]
    rest = http.get(f"{url}/contacts/all", params={"count": 3, "vidOffset": page["vid-offset"]}).json()
    assert [c["vid"] for c in rest["contacts"]] == [vids[3]] and rest["has-more"] is False
    recent = http.get(f"{url}/contacts/recent", params={"count": 10}).json()
    assert recent["contacts"][0]["vid"] == vids[3]
    r = http.post(f"{url}/remove", json={"vids": [vids[0], vids[0] + 100]})
    assert r.json()["updated"] == [vids[0]] and r.json()["invalidVids"] == [vids[0] + 100]
    assert http.post(f"{url}/remove", json={"vids": [vids[0]]}).json()["discarded"] == [vids[0]]
    too_many = {"vids": list(range(400)), "emails": [f"x{i}@example.com" for i in range(101)]}
    assert http.post(f"{url}/add", json=too_many).status_code == 400


def test_v1_dynamic_list_refuses_manual_changes(emu, http):
    vids = contacts(emu, 1)
    legacy, _ = emu.state.create_list("Smart", dynamic=True)
    r = http.post(f"{emu.url}/contacts/v1/lists/{legacy}/add", json={"vids": vids})
    assert r.status_code == 400
    assert r.json()["message"] == "Can not operate manually on a dynamic list"
    assert r.json()["correlationId"]


def test_v1_sunset_answers_404_but_feeds_keep_working(emu, http):
    legacy, _ = emu.state.create_list("Old")
    contacts(emu, 1)
    emu.v1_lists_sunset = True
    for method, path in [
        ("GET", "/contacts/v1/lists"),
        ("POST", "/contacts/v1/lists"),
        ("GET", "/contacts/v1/lists/static"),
        ("GET", "/contacts/v1/lists/dynamic"),
        ("GET", "/contacts/v1/lists/batch?listId=1"),
        ("GET", f"/contacts/v1/lists/{legacy}"),
        ("POST", f"/contacts/v1/lists/{legacy}/add"),
        ("GET", f"/contacts/v1/lists/{legacy}/contacts/all"),
    ]:
        assert http.request(method, emu.url + path, json={}).status_code == 404, path
    for path in (
        "/contacts/v1/lists/all/contacts/all",
        "/contacts/v1/lists/recently_updated/contacts/recent",
        "/contacts/v1/lists/all/contacts/recent",
    ):
        assert http.get(emu.url + path).status_code == 200, path


# -- ILS -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["/crm/v3/lists", "/crm/lists/2026-03"])
def test_ils_create_get_delete(emu, http, prefix):
    base = emu.url + prefix
    r = http.post(base, json={"name": "Buyers", "objectTypeId": "0-1", "processingType": "MANUAL"})
    assert r.status_code == 200
    lst = r.json()["list"]
    assert lst["listId"] == "500001" and lst["processingType"] == "MANUAL" and lst["size"] == 0
    assert lst["objectTypeId"] == "0-1" and lst["name"] == "Buyers"
    assert http.post(base, json={"name": "X", "processingType": "WEIRD"}).status_code == 400
    assert http.get(f"{base}/500001").json()["list"]["name"] == "Buyers"
    assert http.get(base, params={"listIds": ["500001", "500099"]}).json()["lists"][0]["listId"] == "500001"
    r = http.get(f"{base}/1")  # a legacy id is not an ILS id
    assert r.status_code == 404 and r.json()["category"] == "OBJECT_NOT_FOUND"
    assert http.delete(f"{base}/500001").status_code == 204
    assert http.get(f"{base}/500001").status_code == 404


def test_ils_memberships(emu, http):
    vids = contacts(emu, 5)
    _, ils = emu.state.create_list("Manual")
    base = f"{emu.url}/crm/lists/2026-03/{ils}/memberships"
    r = http.put(f"{base}/add", json=[str(vids[2]), str(vids[0]), "777"])
    assert r.status_code == 200
    assert r.json() == {
        "recordsIdsAdded": [str(vids[2]), str(vids[0])],
        "recordIdsRemoved": [],
        "recordIdsMissing": ["777"],
    }
    assert http.put(f"{base}/add", json=[str(vids[0]), str(vids[1])]).json()["recordsIdsAdded"] == [str(vids[1])]
    page = http.get(base, params={"limit": 2}).json()
    assert [m["recordId"] for m in page["results"]] == [str(vids[0]), str(vids[1])]
    assert page["total"] == 3
    page2 = http.get(base, params={"limit": 2, "after": page["paging"]["next"]["after"]}).json()
    assert [m["recordId"] for m in page2["results"]] == [str(vids[2])] and "paging" not in page2
    r = http.put(f"{base}/remove", json=[str(vids[0])])
    assert r.json()["recordIdsRemoved"] == [str(vids[0])]
    assert http.get(base, params={"limit": 251}).status_code == 400
    assert emu.state.list(ils)["size"] == 2


def test_ils_dynamic_list_refuses_membership_changes(emu, http):
    vids = contacts(emu, 1)
    r = http.post(f"{emu.url}/crm/v3/lists", json={"name": "Dyn", "processingType": "DYNAMIC", "objectTypeId": "0-1"})
    ils = r.json()["list"]["listId"]
    r = http.put(f"{emu.url}/crm/v3/lists/{ils}/memberships/add", json=[str(vids[0])])
    assert r.status_code == 400 and r.json()["category"] == "VALIDATION_ERROR"
    assert "DYNAMIC" in r.json()["message"]


def test_idmapping(emu, http):
    a_legacy, a_ils = emu.state.create_list("A")
    b_legacy, b_ils = emu.state.create_list("B")
    r = http.get(f"{emu.url}/crm/v3/lists/idmapping", params={"legacyListId": a_legacy})
    assert r.json() == {"legacyListId": str(a_legacy), "listId": str(a_ils)}
    assert http.get(f"{emu.url}/crm/v3/lists/idmapping", params={"legacyListId": 55}).status_code == 404
    r = http.post(f"{emu.url}/crm/lists/2026-03/idmapping", json=[str(a_legacy), str(b_legacy), "55"])
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    assert body["legacyListIdsToIdsMapping"] == [
        {"legacyListId": str(a_legacy), "listId": str(a_ils)},
        {"legacyListId": str(b_legacy), "listId": str(b_ils)},
    ]
    assert body["missingLegacyListIds"] == ["55"]


def test_membership_follows_merge_and_delete(emu, http):
    a, b, c = contacts(emu, 3)
    legacy, ils = emu.state.create_list("L")
    emu.state.add_list_members(legacy, [b, c])
    emu.state.merge_contacts(a, b)
    emu.state.delete_contact(c)
    assert emu.state.list_members(ils) == [a]
