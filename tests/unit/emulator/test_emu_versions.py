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
