"""Each version in its own shape, each family only in the versions HubSpot publishes, bodies checked."""

from __future__ import annotations

import pytest

BATCH = "/crm/objects/{v}/contacts/batch"


def _url(emu, version, action):
    base = "/crm/v3/objects/contacts/batch" if version == "v3" else BATCH.format(v=version)
    return f"{emu.url}{base}/{action}"


@pytest.mark.parametrize(("version", "status"), [("v3", 207), ("2026-03", 207), ("2026-09", 200)])
def test_partly_failing_batch_update_answers_in_the_versions_shape(emu, http, version, status):
    vid = emu.state.add_contact({"email": "a@example.com"})
    inputs = [{"id": str(vid), "properties": {"firstname": "A"}, "objectWriteTraceId": "t0"},
              {"id": "424242", "properties": {"firstname": "B"}, "objectWriteTraceId": "t1"}]
    r = http.post(_url(emu, version, "update"), json={"inputs": inputs})
    assert r.status_code == status
    body = r.json()
    assert body["numErrors"] == 1 and [e["category"] for e in body["errors"]] == ["OBJECT_NOT_FOUND"]
    error = body["errors"][0]
    assert {"status", "category", "message", "context", "errors", "links"} <= set(error)
    assert [item["objectWriteTraceId"] for item in body["results"]] == ["t0"]
    assert all("warnings" not in item for item in body["results"])


@pytest.mark.parametrize(("version", "status"), [("2026-03", 207), ("2026-09", 201)])
def test_partly_failing_traced_batch_create_answers_in_the_versions_shape(emu, http, version, status):
    emu.state.add_contact({"email": "taken@example.com"})
    inputs = [{"properties": {"email": "new@example.com"}, "associations": [], "objectWriteTraceId": "a"},
              {"properties": {"email": "taken@example.com"}, "associations": [], "objectWriteTraceId": "b"}]
    r = http.post(_url(emu, version, "create"), json={"inputs": inputs})
    assert r.status_code == status
    assert r.json()["numErrors"] == 1 and r.json()["errors"][0]["context"]["objectWriteTraceId"] == ["b"]


@pytest.mark.parametrize("path", [
    "/crm/objects/2027-03/contacts",
    "/crm/lists/2025-09/search",
    "/integrators/timeline/2026-09/events/batch",
    "/crm/properties/2026-06/contacts",
])
def test_versions_hubspot_does_not_publish_answer_404(emu, http, path):
    r = http.request("GET" if "properties" in path or path.endswith("contacts") else "POST", f"{emu.url}{path}",
                     json={"inputs": []})
    assert r.status_code == 404 and r.json()["category"] == "OBJECT_NOT_FOUND"


def test_a_lenient_emulator_serves_any_version(emu, http):
    emu.strict = False
    assert http.get(f"{emu.url}/crm/objects/2027-03/contacts").status_code == 200


def test_our_suite_runs_the_emulator_strict(hubspot_emulator, emu):
    assert hubspot_emulator.strict and emu.strict


@pytest.mark.parametrize(("path", "body", "where"), [
    ("/integrators/timeline/2026-03/events",
     {"eventTypeName": "x", "id": "1", "properties": {}, "objectId": 1001}, "objectId"),
    ("/integrators/timeline/2026-03/events/batch",
     {"inputs": [{"eventTypeName": "x", "id": "1", "properties": {}}, {"eventTypeName": "x", "id": "2"}]},
     "inputs[1].properties"),
    ("/integrators/timeline/v3/events", {"eventTemplateId": "1", "tokens": {"n": 3}}, "tokens.n"),
    ("/crm/objects/2026-09/contacts/batch/read", {"inputs": [{"id": "1"}]}, "properties"),
    ("/crm/objects/2026-03/contacts/batch/upsert", {"inputs": [{"id": 5, "properties": {}}]}, "inputs[0].id"),
    ("/crm/objects/2026-09/contacts", {"properties": {"email": "a@example.com"}}, "associations"),
    ("/crm/objects/2026-09/contacts/search", {"limit": 10}, "filterGroups"),
    ("/crm/objects/2026-03/contacts/merge", {"primaryObjectId": 1, "objectIdToMerge": "2"}, "primaryObjectId"),
    ("/crm/objects/2026-03/contacts/gdpr-delete", {"idProperty": "email"}, "objectId"),
    ("/crm/lists/2026-09", {"name": "L", "objectTypeId": "0-1", "processingType": "SOMETIMES"}, "processingType"),
])
def test_bodies_that_break_hubspots_schema_answer_400_naming_the_field(emu, http, path, body, where):
    emu.state.register_event_type_name("x")
    r = http.post(f"{emu.url}{path}", json=body)
    assert r.status_code == 400, r.text
    error = r.json()
    assert error["category"] == "VALIDATION_ERROR" and where in error["message"]
    assert where in [e["in"] for e in error["errors"]]
    emu.strict = False  # the same body passes the lenient emulator's (absent) schema check
    assert http.post(f"{emu.url}{path}", json=body).json().get("errors") != error["errors"]


def test_list_memberships_take_an_array_of_string_ids(emu, http):
    _, ils = emu.state.create_list("L")
    vid = emu.state.add_contact({"email": "a@example.com"})
    url = f"{emu.url}/crm/lists/2026-03/{ils}/memberships/add"
    assert http.put(url, json=[vid]).status_code == 400
    assert http.put(url, json=[str(vid)]).status_code == 200


@pytest.mark.parametrize("base", ["/crm/v3/objects/contacts", "/crm/objects/2026-03/contacts",
                                  "/crm/objects/2026-09/contacts"])
def test_gdpr_delete(emu, http, base):
    vid = emu.state.add_contact({"email": "forget@example.com"})
    url = f"{emu.url}{base}/gdpr-delete"
    assert http.post(url, json={"objectId": str(vid)}).status_code == 204
    assert emu.state.count_contacts() == 0 and emu.state.contact(vid) is None
    assert http.get(f"{emu.url}{base}/{vid}").status_code == 404
    assert "forget@example.com" in emu.state.gdpr_blocklist
    assert http.post(url, json={"objectId": "never@example.com", "idProperty": "email"}).status_code == 204
    assert "never@example.com" in emu.state.gdpr_blocklist
    assert http.post(url, json={"objectId": "424242"}).status_code == 404
