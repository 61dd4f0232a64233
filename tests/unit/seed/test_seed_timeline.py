"""Timeline seed operations: v1 event types and their properties, v3 templates and tokens (developer key),
events and reading one event."""

from __future__ import annotations

import inspect

import pytest
import requests

from airflow_provider_hubspot.client import (
    HubSpotAuthError,
    HubSpotConfigError,
    HubSpotConflictError,
    HubSpotNotFoundError,
    HubSpotValidationError,
)

APP = 77


def test_v1_event_types_and_properties(emu, make_client):
    timeline = make_client(api_version="v1", developer=True).timeline
    created = timeline.create_event_type(APP, {"name": "Webinar", "headerTemplate": "{{name}}",
                                               "objectType": "CONTACT"}, user_id=1)
    type_id = created["id"]
    assert timeline.get_event_type(APP, type_id)["name"] == "Webinar"
    assert [t["id"] for t in timeline.list_event_types(APP, user_id=1)] == [type_id]
    assert [t["id"] for t in timeline.iter_event_types(APP, user_id=1)] == [type_id]
    assert timeline.update_event_type(APP, type_id, {"name": "Webinar 2"})["name"] == "Webinar 2"

    seat = timeline.create_event_type_property(APP, type_id, {"name": "seat", "label": "Seat",
                                                              "propertyType": "String"})
    timeline.create_event_type_property(APP, type_id, {"name": "room", "label": "Room", "propertyType": "String"})
    props = timeline.iter_event_type_properties(APP, type_id)
    assert inspect.isgenerator(props)
    assert [p["name"] for p in props] == ["seat", "room"]
    updated = timeline.update_event_type_property(APP, type_id, seat["id"], {"label": "Seat number"})
    assert updated["label"] == "Seat number" and updated["name"] == "seat"
    timeline.delete_event_type_property(APP, type_id, seat["id"])
    assert [p["name"] for p in timeline.iter_event_type_properties(APP, type_id)] == ["room"]

    timeline.delete_event_type(APP, type_id)
    with pytest.raises(HubSpotNotFoundError):
        timeline.get_event_type(APP, type_id)
    assert all("hapikey" in r.query for r in emu.requests), "every call used the developer key"


def test_v1_event_type_errors(emu, make_client):
    timeline = make_client(api_version="v1", developer=True).timeline
    type_id = timeline.create_event_type(APP, {"name": "T"})["id"]
    with pytest.raises(HubSpotNotFoundError) as info:
        timeline.update_event_type_property(APP, type_id, 999, {"label": "x"})
    assert info.value.status == 404
    with pytest.raises(HubSpotNotFoundError):
        list(timeline.iter_event_type_properties(APP, 424242))
    with pytest.raises(HubSpotNotFoundError):
        timeline.delete_event_type(APP, 424242)
    with pytest.raises(HubSpotValidationError, match="reserved"):
        timeline.create_event_type_property(APP, type_id, {"name": "log", "label": "Log"})
    prop = timeline.create_event_type_property(APP, type_id, {"name": "seat", "label": "Seat"})
    with pytest.raises(HubSpotValidationError, match="cannot be changed"):
        timeline.update_event_type_property(APP, type_id, prop["id"], {"name": "renamed"})


def test_v3_templates_and_tokens(emu, make_client):
    timeline = make_client(api_version="2026-03", developer=True).timeline  # templates: v3 path in every edition
    template = timeline.create_event_template(APP, {"name": "Signup", "headerTemplate": "h", "detailTemplate": "d",
                                                    "objectType": "contacts",
                                                    "tokens": [{"name": "plan", "label": "Plan", "type": "string"}]})
    tid = template["id"]
    assert [t["id"] for t in timeline.iter_event_templates(APP)] == [tid]
    assert timeline.get_event_template(APP, tid)["tokens"][0]["name"] == "plan"
    assert timeline.update_event_template(APP, tid, {"name": "Sign-up"})["name"] == "Sign-up"
    token = timeline.create_template_token(APP, tid, {"name": "seats", "label": "Seats", "type": "number"})
    assert token["type"] == "number"
    assert timeline.update_template_token(APP, tid, "seats", {"label": "Seat count"})["label"] == "Seat count"
    with pytest.raises(HubSpotConflictError):
        timeline.create_template_token(APP, tid, {"name": "seats", "label": "Again", "type": "number"})
    timeline.delete_template_token(APP, tid, "seats")
    assert [t["name"] for t in timeline.get_event_template(APP, tid)["tokens"]] == ["plan"]
    with pytest.raises(HubSpotNotFoundError):
        timeline.delete_template_token(APP, tid, "seats")
    timeline.delete_event_template(APP, tid)
    with pytest.raises(HubSpotNotFoundError):
        timeline.get_event_template(APP, tid)
    assert {r.path.split("/event-templates")[0] for r in emu.requests} == {f"/integrators/timeline/v3/{APP}"}


def test_developer_key_routes_reject_bearer_tokens(emu, make_client):
    client = make_client(api_version="v1", developer=True)
    type_id = client.timeline.create_event_type(APP, {"name": "T"})["id"]
    template = client.timeline.create_event_template(APP, {"name": "Tpl"})["id"]
    paths = [f"/integrations/v1/{APP}/timeline/event-types", f"/integrations/v1/{APP}/timeline/event-types/{type_id}",
             f"/integrations/v1/{APP}/timeline/event-types/{type_id}/properties",
             f"/integrators/timeline/v3/{APP}/event-templates",
             f"/integrators/timeline/v3/{APP}/event-templates/{template}"]
    for path in paths:
        with pytest.raises(HubSpotAuthError) as info:
            client.transport.request("GET", path)  # bearer token, no hapikey
        assert info.value.status == 401
        raw = requests.get(emu.url + path, headers={"Authorization": f"Bearer {emu.token}"}, timeout=5)
        assert raw.status_code == 401 and raw.json()["category"] == "INVALID_AUTHENTICATION"


def test_developer_calls_need_the_developer_key_configured(make_client):
    timeline = make_client(api_version="v1").timeline  # no developer_api_key
    for call in (lambda: timeline.create_event_type_property(APP, 1, {"name": "x"}),
                 lambda: list(timeline.iter_event_type_properties(APP, 1)),
                 lambda: timeline.create_event_template(APP, {"name": "x"}),
                 lambda: list(timeline.iter_event_templates(APP))):
        with pytest.raises(HubSpotConfigError, match="developer API key"):
            call()


@pytest.mark.parametrize("api_version", ["v1", "v3"])
def test_get_one_event(emu, make_client, api_version):
    client = make_client(api_version=api_version, developer=True)
    emu.state.add_contact({"email": "ann@example.com"})
    if api_version == "v1":
        type_id = client.timeline.create_event_type(APP, {"name": "T"})["id"]
        client.timeline.create_event({"id": "e1", "eventTypeId": type_id, "email": "ann@example.com", "seat": "4"},
                                     app_id=APP)
    else:
        type_id = client.timeline.create_event_template(APP, {"name": "T"})["id"]
        client.timeline.create_event({"id": "e1", "eventTemplateId": type_id, "email": "ann@example.com",
                                      "tokens": {}})
    event = client.timeline.get_event(type_id, "e1", app_id=APP)
    assert event["id"] == "e1" and event["email"] == "ann@example.com"
    with pytest.raises(HubSpotNotFoundError):
        client.timeline.get_event(type_id, "missing", app_id=APP)
