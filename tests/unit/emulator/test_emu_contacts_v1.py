"""Contacts v1 routes of the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from airflow_provider_hubspot.emulator import HubSpotEmulator


class Api:
    def __init__(self, emu: HubSpotEmulator) -> None:
        self.emu = emu
        self.s = requests.Session()
        self.s.headers["Authorization"] = f"Bearer {emu.token}"

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.s.get(self.emu.url + path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.s.post(self.emu.url + path, json=body, **kw)

    def delete(self, path: str) -> requests.Response:
        return self.s.delete(self.emu.url + path)


@pytest.fixture
def api(emu: HubSpotEmulator) -> Iterator[Api]:
    a = Api(emu)
    yield a
    a.s.close()


def props(**kw: str) -> dict[str, Any]:
    return {"properties": [{"property": k, "value": v} for k, v in kw.items()]}


# -- create / createOrUpdate ----------------------------------------------------------------------


def test_create_and_conflict(emu, api):
    r = api.post("/contacts/v1/contact", props(email="Ann@Example.com", firstname="Ann"))
    assert r.status_code == 200
    body = r.json()
    assert body["vid"] == 1001 and body["canonical-vid"] == 1001 and body["merged-vids"] == []
    assert body["is-contact"] is True and body["portal-id"]
    assert body["properties"]["email"]["value"] == "ann@example.com"
    assert body["properties"]["firstname"]["versions"][0]["value"] == "Ann"
    r = api.post("/contacts/v1/contact", props(email="ANN@example.com"))
    assert r.status_code == 409
    body = r.json()
    assert body["message"] == "Contact already exists. Existing ID: 1001"
    assert body["identityProfile"]["vid"] == 1001
    assert body["correlationId"]


def test_create_validation(emu, api):
    r = api.post("/contacts/v1/contact", props(email="x@y.comv", bogus="1", num_employees="many"))
    assert r.status_code == 400
    body = r.json()
    assert body["message"] == "Property values were not valid"
    errors = {v["name"]: v for v in body["validationResults"]}
    assert errors["email"]["error"] == "INVALID_EMAIL"
    assert errors["email"]["message"] == "Email address x@y.comv is invalid"
    assert errors["bogus"]["error"] == "PROPERTY_DOESNT_EXIST"
    assert errors["bogus"]["message"] == 'Property "bogus" does not exist'
    assert errors["num_employees"]["error"] == "INVALID_LONG"
    assert emu.state.count_contacts() == 0


def test_create_or_update(emu, api):
    r = api.post("/contacts/v1/contact/createOrUpdate/email/a@example.com/", props(firstname="A"))
    assert r.status_code == 200 and r.json() == {"vid": 1001, "isNew": True}
    r = api.post("/contacts/v1/contact/createOrUpdate/email/A@EXAMPLE.com/", props(lastname="B"))
    assert r.json() == {"vid": 1001, "isNew": False}
    assert emu.state.contact(1001)["properties"]["lastname"] == "B"
    r = api.post("/contacts/v1/contact/createOrUpdate/email/a@b.con/", props(firstname="A"))
    assert r.status_code == 400
    assert r.json()["validationResults"][0]["error"] == "INVALID_EMAIL"
    emu.state.add_contact({"email": "other@example.com"})
    r = api.post("/contacts/v1/contact/createOrUpdate/email/a@example.com/", props(email="other@example.com"))
    assert r.status_code == 409


# -- batch ---------------------------------------------------------------------------------------


def test_batch_success_is_202_and_applied(emu, api):
    emu.state.add_contact({"email": "old@example.com"})
    batch = [
        {"email": "new@example.com", "properties": [{"property": "firstname", "value": "New"}]},
        {"email": "OLD@example.com", "properties": [{"property": "lastname", "value": "Old"}]},
        {"vid": 1001, "properties": [{"property": "city", "value": "Oslo"}]},
    ]
    r = api.post("/contacts/v1/contact/batch/?auditId=test", batch)
    assert r.status_code == 202 and r.content == b""
    assert emu.state.count_contacts() == 2
    old = emu.state.contact_by_email("old@example.com")
    assert old["properties"]["lastname"] == "Old" and old["properties"]["city"] == "Oslo"
    assert emu.state.contact_by_email("new@example.com")["properties"]["firstname"] == "New"


def test_batch_is_all_or_nothing_with_zero_based_indices(emu, api):
    batch = [
        {"email": "ok@example.com", "properties": [{"property": "firstname", "value": "Ok"}]},
        {"email": "xxx@xxx.comv", "properties": []},
        {"properties": [{"property": "firstname", "value": "Nobody"}]},
        {"email": "p@example.com", "properties": [{"property": "property_name", "value": "x"}]},
        {"email": "d@example.com", "properties": [{"property": "date_of_birth", "value": "1496643178000"}]},
        {"email": "e@example.com", "properties": [{"property": "lifecyclestage", "value": "nope"}]},
    ]
    r = api.post("/contacts/v1/contact/batch/", batch)
    assert r.status_code == 400
    body = r.json()
    assert body["status"] == "error" and body["message"] == "Errors found processing batch update"
    assert body["correlationId"] == r.headers["X-HubSpot-Correlation-Id"]
    assert body["invalidEmails"] == ["xxx@xxx.comv"]
    by_index = {f["index"]: f for f in body["failureMessages"]}
    assert sorted(by_index) == [1, 2, 3, 4, 5]
    assert by_index[1]["error"] == {"status": "error", "message": "Email address xxx@xxx.comv is invalid"}
    assert by_index[2]["error"]["message"] == "You need to supply a vid or email for the contact."
    pvr = by_index[3]["propertyValidationResult"]
    assert pvr == {
        "isValid": False,
        "message": 'Property "property_name" does not exist',
        "error": "PROPERTY_DOESNT_EXIST",
        "name": "property_name",
    }
    assert by_index[4]["propertyValidationResult"]["error"] == "INVALID_DATE"
    assert by_index[4]["propertyValidationResult"]["message"] == "1496643178000 is at 6:12:58.0 UTC, not midnight!"
    assert by_index[5]["propertyValidationResult"]["error"] == "INVALID_OPTION"
    assert emu.state.count_contacts() == 0  # nothing applied


def test_batch_limit(emu, api):
    r = api.post("/contacts/v1/contact/batch/", [{"email": f"c{i}@example.com", "properties": []} for i in range(1001)])
    assert r.status_code == 400
    r = api.post("/contacts/v1/contact/batch/", {"not": "an array"})
    assert r.status_code == 400


# -- update / delete / get -----------------------------------------------------------------------


def test_update_delete_and_get(emu, api):
    vid = emu.state.add_contact({"email": "a@example.com"}, utk="utk-1")
    assert api.post(f"/contacts/v1/contact/vid/{vid}/profile", props(firstname="A")).status_code == 204
    assert api.post("/contacts/v1/contact/email/a@example.com/profile", props(lastname="Z")).status_code == 204
    assert api.post("/contacts/v1/contact/vid/999999/profile", props(firstname="A")).status_code == 404
    assert api.post("/contacts/v1/contact/email/no@example.com/profile", props(firstname="A")).status_code == 404
    r = api.post(f"/contacts/v1/contact/vid/{vid}/profile", props(num_employees="x"))
    assert r.status_code == 400 and r.json()["validationResults"][0]["error"] == "INVALID_LONG"
    for path in (
        f"/contacts/v1/contact/vid/{vid}/profile",
        "/contacts/v1/contact/email/a@example.com/profile",
        "/contacts/v1/contact/utk/utk-1/profile",
    ):
        body = api.get(path).json()
        assert body["vid"] == vid
        assert body["properties"]["firstname"]["value"] == "A"
        assert body["properties"]["lastname"]["value"] == "Z"
    only = api.get(f"/contacts/v1/contact/vid/{vid}/profile", params={"property": "firstname"}).json()
    assert set(only["properties"]) == {"firstname", "lastmodifieddate"}
    r = api.delete(f"/contacts/v1/contact/vid/{vid}")
    assert r.status_code == 200 and r.json() == {"vid": vid, "deleted": True, "reason": "OK"}
    r = api.get(f"/contacts/v1/contact/vid/{vid}/profile")
    assert r.status_code == 404 and r.json()["message"] == "contact does not exist"
    assert api.delete(f"/contacts/v1/contact/vid/{vid}").status_code == 404
    assert emu.state.count_contacts() == 0


def test_batch_gets(emu, api):
    a = emu.state.add_contact({"email": "a@example.com"}, utk="ua")
    b = emu.state.add_contact({"email": "b@example.com"}, utk="ub")
    r = api.get("/contacts/v1/contact/vids/batch/", params={"vid": [a, b, 424242]})
    assert sorted(r.json()) == [str(a), str(b)]
    r = api.get("/contacts/v1/contact/emails/batch/", params={"email": ["a@example.com", "zz@example.com"]})
    assert list(r.json()) == [str(a)]
    for path in ("/contacts/v1/contact/utks/batch/", "/contacts/v1/contact/byUtk/batch/"):
        r = api.get(path, params={"utk": ["ub", "nope"]})
        assert list(r.json()) == ["ub"] and r.json()["ub"]["vid"] == b
    assert api.get("/contacts/v1/contact/vids/batch/", params={"vid": list(range(101))}).status_code == 400


# -- merge ---------------------------------------------------------------------------------------


def test_merge(emu, api):
    a = emu.state.add_contact({"email": "a@example.com", "firstname": "A"})
    b = emu.state.add_contact({"email": "b@example.com", "lastname": "B"})
    r = api.post(f"/contacts/v1/contact/merge-vids/{a}/", {"vidToMerge": b})
    assert r.status_code == 200
    assert r.text == "SUCCESS"
    assert r.headers["Content-Type"].startswith("application/json")
    merged = api.get(f"/contacts/v1/contact/vid/{b}/profile").json()
    assert merged["vid"] == b and merged["canonical-vid"] == a
    assert sorted(merged["merged-vids"]) == sorted([a, b])
    assert merged["properties"]["lastname"]["value"] == "B"
    assert merged["merge-audits"][0]["vid-to-merge"] == b
    assert emu.state.count_contacts() == 1
    assert emu.state.contact_by_email("b@example.com")["vid"] == a
    bad = "vid to merge is not a valid contact or is already in the process of being merged"
    for primary, body in ((a, {"vidToMerge": b}), (a, {"vidToMerge": a}), (a, {"vidToMerge": 99999})):
        r = api.post(f"/contacts/v1/contact/merge-vids/{primary}/", body)
        assert r.status_code == 400 and r.json()["message"] == bad
    r = api.post(f"/contacts/v1/contact/merge-vids/{b}/", {"vidToMerge": a})
    assert r.status_code == 400
    assert r.json()["message"] == "canonical vid is not a valid contact or is already in the process of being merged"


# -- feeds ---------------------------------------------------------------------------------------


def test_all_contacts_feed_paging(emu, api):
    vids = [emu.state.add_contact({"email": f"c{i}@example.com", "firstname": f"C{i}"}) for i in range(25)]
    emu.state.delete_contact(vids[3])
    seen: list[int] = []
    offset = 0
    pages = 0
    while True:
        body = api.get("/contacts/v1/lists/all/contacts/all", params={"count": 10, "vidOffset": offset}).json()
        pages += 1
        seen.extend(c["vid"] for c in body["contacts"])
        offset = body["vid-offset"]
        if not body["has-more"]:
            break
    assert pages == 3
    assert seen == [v for v in vids if v != vids[3]]
    first = api.get("/contacts/v1/lists/all/contacts/all", params={"count": 1}).json()["contacts"][0]
    assert set(first["properties"]) <= {"firstname", "lastname", "company", "lastmodifieddate"}
    assert "firstname" in first["properties"]
    assert api.get("/contacts/v1/lists/all/contacts/all", params={"count": 500}).json()["has-more"] is False


def test_recently_updated_feed_newest_first_with_offsets(emu, api):
    base = emu.state.now_ms() - 100_000
    vids = [emu.state.add_contact({"email": f"c{i}@example.com"}, created_at=base + i * 1000) for i in range(7)]
    emu.state.add_contact({"email": "ancient@example.com"}, created_at=base - 40 * 86_400_000)
    api.post(f"/contacts/v1/contact/vid/{vids[0]}/profile", props(firstname="Touched"))
    order: list[int] = []
    params: dict[str, Any] = {"count": 3}
    while True:
        body = api.get("/contacts/v1/lists/recently_updated/contacts/recent", params=params).json()
        order.extend(c["vid"] for c in body["contacts"])
        if not body["has-more"]:
            assert body["vid-offset"] == 0 and body["time-offset"] == 0
            break
        params = {"count": 3, "vidOffset": body["vid-offset"], "timeOffset": body["time-offset"]}
    assert order == [vids[0], *reversed(vids[1:])]  # the 40-day-old contact is outside the window
    created = api.get("/contacts/v1/lists/all/contacts/recent", params={"count": 100}).json()
    assert [c["vid"] for c in created["contacts"]] == [*reversed(vids), 1008]  # no 30-day window here


def test_form_submission_modes_in_feeds(emu, api):
    t = emu.state.now_ms()
    emu.state.add_form_submission("form-1", "f@example.com", {"firstname": "F"}, submitted_at=t - 2000)
    emu.state.add_form_submission("form-2", "f@example.com", submitted_at=t - 1000)
    feed = "/contacts/v1/lists/recently_updated/contacts/recent"
    newest = api.get(feed).json()["contacts"][0]["form-submissions"]
    assert [s["form-id"] for s in newest] == ["form-2"]
    every = api.get(feed, params={"formSubmissionMode": "all"}).json()["contacts"][0]["form-submissions"]
    assert [s["form-id"] for s in every] == ["form-2", "form-1"]
    assert every[0]["conversion-id"] and every[0]["timestamp"] == t - 1000
    oldest = api.get(feed, params={"formSubmissionMode": "oldest"}).json()["contacts"][0]["form-submissions"]
    assert [s["form-id"] for s in oldest] == ["form-1"]
    assert api.get(feed, params={"formSubmissionMode": "none"}).json()["contacts"][0]["form-submissions"] == []
    assert emu.state.contact_by_email("f@example.com")["properties"]["firstname"] == "F"


def test_search_query_and_statistics(emu, api):
    emu.state.add_contact({"email": "alice@acme.com", "firstname": "Alice", "company": "Acme"})
    emu.state.add_contact({"email": "bob@example.com", "firstname": "Bob"})
    body = api.get("/contacts/v1/search/query", params={"q": "acme"}).json()
    assert body["total"] == 1 and body["contacts"][0]["properties"]["firstname"]["value"] == "Alice"
    assert body["has-more"] is False and body["query"] == "acme"
    paged = api.get("/contacts/v1/search/query", params={"q": "", "count": 1}).json()
    assert paged["total"] == 2 and paged["has-more"] is True and paged["offset"] == 1
    stats = api.get("/contacts/v1/contacts/statistics").json()
    assert stats["contacts"] == 2


def test_lifecyclestage_write_sets_the_stage_date(emu, api):
    api.post("/contacts/v1/contact/createOrUpdate/email/l@example.com/", props(lifecyclestage="lead"))
    c = emu.state.contact_by_email("l@example.com")
    assert c["properties"]["lifecyclestage"] == "lead"
    assert int(c["properties"]["hs_lifecyclestage_lead_date"]) > 0


@pytest.mark.parametrize(
    ("email", "valid"),
    [
        ("a@b.com", True),
        ("first.last+tag@sub.example.co.uk", True),
        ("x@y.comv", False),
        ("a@b.con", False),
        ("no-at-sign", False),
        ("a@b", False),
        ("a..b@example.com", False),
        ("a@-bad.com", False),
        ("a b@example.com", False),
    ],
)
def test_email_validation_is_stricter_than_syntax(emu, email, valid):
    assert emu.state.is_valid_email(email) is valid
