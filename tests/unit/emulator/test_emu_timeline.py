"""Timeline routes (v1, v3, date-based) of the emulator."""

from __future__ import annotations

import requests

APP = 77


# -- v1 ------------------------------------------------------------------------------------------


def test_v1_event_type_management_with_developer_key(emu):
    base = f"{emu.url}/integrations/v1/{APP}/timeline/event-types"
    key = {"hapikey": emu.developer_api_key, "userId": "1"}
    r = requests.post(base, params=key, json={"name": "Webinar", "headerTemplate": "h", "applicationId": APP})
    assert r.status_code == 200
    type_id = r.json()["id"]
    assert requests.get(base, params=key).json()[0]["name"] == "Webinar"
    assert requests.put(f"{base}/{type_id}", params=key, json={"name": "Webinar 2"}).json()["name"] == "Webinar 2"
    prop = requests.post(
        f"{base}/{type_id}/properties", params=key, json={"name": "seat", "label": "Seat", "propertyType": "String"}
    ).json()
    assert prop["name"] == "seat" and prop["id"]
    assert (
        requests.post(f"{base}/{type_id}/properties", params=key, json={"name": "log", "label": "x"}).status_code == 400
    )
    r = requests.put(f"{base}/{type_id}/properties", params=key, json={"id": prop["id"], "label": "Seat no."})
    assert r.json()["label"] == "Seat no."
    assert requests.put(f"{base}/{type_id}/properties", params=key, json={"id": 999, "label": "x"}).status_code == 404
    r = requests.put(f"{base}/{type_id}/properties", params=key, json={"id": prop["id"], "name": "renamed"})
    assert r.status_code == 400
    assert len(requests.get(f"{base}/{type_id}/properties", params=key).json()) == 1
    assert requests.delete(f"{base}/{type_id}/properties/{prop['id']}", params=key).status_code == 204
    assert requests.delete(f"{base}/{type_id}", params=key).status_code == 204
    assert requests.get(f"{base}/{type_id}", params=key).status_code == 404


def test_v1_events_single_batch_duplicates_and_get(emu, http):
    type_id = emu.state.create_event_type(APP, "Webinar", ["seat"])
    vid = emu.state.add_contact({"email": "known@example.com"})
    url = f"{emu.url}/integrations/v1/{APP}/timeline/event"
    r = http.post(url, json={"id": "e1", "eventTypeId": type_id, "objectId": vid, "seat": "A1", "extraData": {"k": 1}})
    assert r.status_code == 204
    r = http.post(url, json={"id": "e1", "eventTypeId": type_id, "objectId": vid})
    assert r.status_code == 400 and "already exists" in r.json()["message"]
    assert http.put(url, json={"id": "e9", "eventTypeId": type_id, "objectId": vid}).status_code == 405
    r = http.post(url, json={"id": "e2", "eventTypeId": "424242", "objectId": vid})
    assert r.status_code == 404
    batch = {
        "eventWrappers": [
            {"id": "b1", "eventTypeId": type_id, "email": "new@example.com", "timestamp": "1491062400000"},
            {"id": "b2", "eventTypeId": type_id, "objectId": vid},
        ]
    }
    assert http.post(f"{url}/batch", json=batch).status_code == 204
    assert emu.state.contact_by_email("new@example.com") is not None  # email creates the contact
    again = {"eventWrappers": [{"id": "b3", "eventTypeId": type_id, "objectId": vid}, batch["eventWrappers"][0]]}
    r = http.post(f"{url}/batch", json=again)
    assert r.status_code == 400 and r.json()["message"].startswith("eventWrappers[1]:")
    assert len(emu.state.timeline_events()) == 3  # all-or-nothing: b3 was not stored
    too_many = {"eventWrappers": [{"id": f"x{i}", "eventTypeId": type_id, "objectId": vid} for i in range(101)]}
    assert http.post(f"{url}/batch", json=too_many).status_code == 400
    got = http.get(f"{url}/{type_id}/e1").json()
    assert got["seat"] == "A1" and got["objectId"] == vid and got["extraData"] == {"k": 1}
    assert http.get(f"{url}/{type_id}/nope").status_code == 404
    events = {e["id"]: e for e in emu.state.timeline_events()}
    assert events["e1"]["edition"] == "v1" and events["e1"]["type"] == type_id
    assert events["e1"]["properties"] == {"seat": "A1"} and events["b1"]["timestamp"] == 1491062400000


def test_v1_events_need_the_timeline_scope(emu):
    emu.add_token("contacts-only", {"crm.objects.contacts.write"})
    type_id = emu.state.create_event_type(APP, "T")
    r = requests.post(
        f"{emu.url}/integrations/v1/{APP}/timeline/event",
        json={"id": "1", "eventTypeId": type_id, "email": "a@example.com"},
        headers={"Authorization": "Bearer contacts-only"},
    )
    assert r.status_code == 403 and r.json()["category"] == "MISSING_SCOPES"


# -- v3 ------------------------------------------------------------------------------------------


def test_v3_templates_and_tokens(emu):
    key = {"hapikey": emu.developer_api_key}
    base = f"{emu.url}/integrators/timeline/v3/{APP}/event-templates"
    r = requests.post(
        base,
        params=key,
        json={
            "name": "Signup",
            "headerTemplate": "h",
            "detailTemplate": "d",
            "objectType": "contacts",
            "tokens": [{"name": "plan", "type": "string"}],
        },
    )
    assert r.status_code == 201
    tid = r.json()["id"]
    assert requests.get(base, params=key).json()["results"][0]["id"] == tid
    r = requests.post(f"{base}/{tid}/tokens", params=key, json={"name": "seats", "type": "number", "label": "Seats"})
    assert r.status_code == 200
    assert (
        requests.put(f"{base}/{tid}/tokens/seats", params=key, json={"label": "Seat count"}).json()["label"]
        == "Seat count"
    )
    assert len(requests.get(f"{base}/{tid}", params=key).json()["tokens"]) == 2
    assert requests.delete(f"{base}/{tid}/tokens/seats", params=key).status_code == 204
    assert requests.put(f"{base}/{tid}", params=key, json={"name": "Signup 2"}).json()["name"] == "Signup 2"
    assert requests.delete(f"{base}/{tid}", params=key).status_code == 204
    assert requests.get(f"{base}/{tid}", params=key).status_code == 404


def test_v3_events(emu, http):
    tid = emu.state.create_event_type(APP, "Signup", ["plan"], edition="v3")
    url = f"{emu.url}/integrators/timeline/v3/events"
    r = http.post(url, json={"eventTemplateId": tid, "id": "s1", "email": "a@example.com", "tokens": {"plan": "pro"}})
    assert r.status_code == 201
    assert r.json()["id"] == "s1" and r.json()["tokens"] == {"plan": "pro"} and r.json()["email"] == "a@example.com"
    assert http.post(url, json={"eventTemplateId": tid, "id": "s1", "email": "a@example.com", "tokens": {}}).status_code == 409
    assert http.post(url, json={"eventTemplateId": "999", "id": "s2", "email": "a@example.com", "tokens": {}}).status_code == 404
    bad_token = {"eventTemplateId": tid, "id": "s3", "email": "a@example.com", "tokens": {"nope": 1}}
    assert http.post(url, json=bad_token).status_code == 400
    batch = {
        "inputs": [
            {"eventTemplateId": tid, "id": "s1", "email": "a@example.com", "tokens": {}},
            {"eventTemplateId": tid, "id": "s4", "email": "b@example.com", "tokens": {"plan": "free"}},
        ]
    }
    r = http.post(f"{url}/batch/create", json=batch)
    assert r.status_code == 207
    body = r.json()
    assert [e["id"] for e in body["results"]] == ["s4"]
    assert body["numErrors"] == 1 and body["errors"][0]["category"] == "CONFLICT"
    r = http.post(
        f"{url}/batch/create", json={"inputs": [{"eventTemplateId": tid, "id": "s5", "email": "c@example.com", "tokens": {}}]}
    )
    assert r.status_code == 201 and r.json()["status"] == "COMPLETE"
    assert http.get(f"{url}/{tid}/s4").json()["tokens"] == {"plan": "free"}
    assert http.get(f"{url}/{tid}/zzz").status_code == 404
    assert {e["id"] for e in emu.state.timeline_events() if e["edition"] == "v3"} == {"s1", "s4", "s5"}


# -- date-based ----------------------------------------------------------------------------------


def test_dated_events(emu, http):
    emu.state.register_event_type_name("pe123_signup")
    url = f"{emu.url}/integrators/timeline/2026-03/events"
    event = {
        "eventTypeName": "pe123_signup",
        "id": "o1",
        "email": "a@example.com",
        "properties": {"plan": "pro"},
        "timestamp": "2026-03-01T10:00:00Z",
    }
    r = http.post(url, json=event)
    assert r.status_code == 201 and r.json()["id"] == "o1" and r.json()["timestamp"] == "2026-03-01T10:00:00.000Z"
    assert http.post(url, json=event).status_code == 409
    r = http.post(url, json={**event, "id": "o2", "eventTypeName": "unknown"})
    assert r.status_code == 400 and r.json()["category"] == "VALIDATION_ERROR"
    ok = [{**event, "id": f"b{i}"} for i in range(3)]
    r = http.post(f"{url}/batch", json={"inputs": ok})
    assert r.status_code == 200 and len(r.json()["results"]) == 3
    r = http.post(f"{url}/batch", json={"inputs": [{**event, "id": "c1"}, {**event, "id": "b0"}]})
    assert r.status_code == 409  # whole batch rejected
    r = http.post(f"{url}/batch", json={"inputs": [{**event, "id": "c2"}, {**event, "id": "c3", "eventTypeName": "x"}]})
    assert r.status_code == 400
    r = http.post(f"{url}/batch", json={"inputs": [{**event, "id": "d1"}, {**event, "id": "d1"}]})
    assert r.status_code == 409
    stored = [e for e in emu.state.timeline_events() if e["type"] == "pe123_signup"]
    assert sorted(e["id"] for e in stored) == ["b0", "b1", "b2", "o1"]
    assert stored[0]["edition"] == "2026-03" and stored[0]["properties"] == {"plan": "pro"}
    assert stored[0]["vid"] == emu.state.contact_by_email("a@example.com")["vid"]
