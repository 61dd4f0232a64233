"""Versions per API family: api_version is what the user asks for, each family resolves on its own."""

from __future__ import annotations

import logging

import pytest
import requests

from airflow_provider_hubspot.client import HubSpotConfigError
from airflow_provider_hubspot.client.batching import Record
from airflow_provider_hubspot.client.editions import (
    FAMILY_VERSIONS,
    LATEST_VERSION,
    SUPPORTED_VERSIONS,
    Edition,
)
from airflow_provider_hubspot.emulator.versions import PUBLISHED


@pytest.mark.parametrize(
    ("asked", "family", "used"),
    [
        ("2026-09", "crm_objects", "2026-09"),
        ("2026-09", "lists", "2026-09"),
        ("2026-09", "properties", "2026-09"),
        ("2026-09", "timeline", "2026-03"),  # Timeline has no 2026-09
        ("2026-09", "forms", "v3"),  # no stable date version at all
        ("2026-03", "crm_objects", "2026-03"),
        ("2026-03", "timeline", "2026-03"),
        ("2026-06", "crm_objects", "2026-03"),  # the newest not newer than asked
        ("v3", "crm_objects", "v3"),
        ("v3", "timeline", "v3"),
        ("v1", "crm_objects", "v1"),
        ("v1", "associations", "v3"),
        ("v1", "oauth", "2026-03"),  # as before: OAuth v1 goes off on 2027-02-16
        ("v3", "oauth", "2026-03"),
    ],
)
def test_each_family_uses_the_newest_version_not_newer_than_asked(asked, family, used):
    assert Edition.parse(asked).version_of(family) == used


def test_paths_of_a_2026_09_edition():
    edition = Edition.parse("2026-09")
    assert edition.crm_objects("contacts") == "/crm/objects/2026-09/contacts"
    assert edition.crm_lists == "/crm/lists/2026-09"
    assert edition.crm_properties() == "/crm/properties/2026-09/contacts"
    assert edition.timeline == "/integrators/timeline/2026-03"
    assert edition.oauth_token_path == "/oauth/2026-09/token"
    assert str(edition) == "2026-09"


@pytest.mark.parametrize("asked", ["2027-03", "2026-10", "2030-01"])
def test_a_version_newer_than_the_newest_supported_is_refused_by_name(asked):
    with pytest.raises(HubSpotConfigError, match=rf"newer than the newest .* supports, '{LATEST_VERSION}'"):
        Edition.parse(asked)


def test_betas_and_versions_before_the_first_stable_one_are_refused():
    with pytest.raises(HubSpotConfigError, match="beta"):
        Edition.parse("2026-09-beta")
    with pytest.raises(HubSpotConfigError, match="first stable date version, '2026-03'"):
        Edition.parse("2025-09")


def test_the_client_table_agrees_with_what_the_emulator_serves():
    for family, versions in PUBLISHED.items():
        assert FAMILY_VERSIONS[family] == tuple(v for v in versions if v in SUPPORTED_VERSIONS), family


def test_describe_names_the_version_each_family_uses():
    line = Edition.parse("2026-09").describe()
    assert "api_version 2026-09" in line and "CRM objects 2026-09" in line and "timeline 2026-03" in line


def test_asking_for_2026_09_sends_timeline_to_2026_03_and_contacts_to_2026_09(hubspot_emulator, make_client):
    hubspot_emulator.state.register_event_type_name("signup")
    client = make_client(api_version="2026-09")
    outcome = client.contacts.upsert([Record(0, {"email": "ann@example.com", "firstname": "Ann"})])
    assert outcome.counts["created"] == 1
    events = [Record(0, {"id": "e0", "eventTypeName": "signup", "email": "ann@example.com", "properties": {}})]
    assert client.timeline.create_events(events).counts["created"] == 1
    client.timeline.create_event({"id": "e1", "eventTypeName": "signup", "email": "ann@example.com", "properties": {}})
    paths = [r.path for r in hubspot_emulator.requests]
    assert "/crm/objects/2026-09/contacts/batch/upsert" in paths
    assert "/integrators/timeline/2026-03/events/batch" in paths and "/integrators/timeline/2026-03/events" in paths
    assert not [p for p in paths if p.startswith("/integrators/timeline/2026-09")]


def test_the_client_refuses_2027_03_before_sending_anything(hubspot_emulator, make_client):
    with pytest.raises(HubSpotConfigError, match="'2026-09'"):
        make_client(api_version="2027-03")
    assert not hubspot_emulator.requests


def test_the_strict_emulator_serves_timeline_only_in_the_versions_hubspot_publishes(hubspot_emulator):
    hubspot_emulator.state.register_event_type_name("signup")
    event = {"id": "e0", "eventTypeName": "signup", "email": "ann@example.com", "properties": {}}
    headers = {"Authorization": f"Bearer {hubspot_emulator.token}"}
    url = f"{hubspot_emulator.url}/integrators/timeline/2026-09/events"
    missing = requests.post(url, json=event, headers=headers, timeout=10)
    assert missing.status_code == 404 and missing.json()["category"] == "OBJECT_NOT_FOUND"
    assert requests.post(url.replace("2026-09", "2026-03"), json=event, headers=headers, timeout=10).status_code == 201
    hubspot_emulator.strict = False  # lenient: any YYYY-MM
    event["id"] = "e1"
    assert requests.post(url, json=event, headers=headers, timeout=10).status_code == 201


def test_oauth_uses_the_editions_token_endpoint(hubspot_emulator, make_client):
    hubspot_emulator.add_oauth_client("cid", "csecret", "refresh-1")
    client = make_client(token="", client_id="cid", client_secret="csecret", refresh_token="refresh-1",
                         api_version="2026-09")
    list(client.contacts.iter_all(page_size=1))
    assert [r.path for r in hubspot_emulator.requests if r.path.startswith("/oauth/")] == ["/oauth/2026-09/token"]


def test_the_hook_logs_the_version_each_family_uses(hubspot_connection, caplog, capfd):
    from airflow_provider_hubspot.hooks.hubspot import HubSpotHook

    caplog.set_level(logging.INFO)
    HubSpotHook(api_version="2026-09").get_conn()
    out, err = capfd.readouterr()
    logged = "\n".join([out, err, caplog.text])  # Airflow 3 logs through structlog, Airflow 2 through logging
    assert "api_version 2026-09: CRM objects 2026-09, lists 2026-09, properties 2026-09, timeline 2026-03" in logged


def test_the_default_is_the_newest_supported_version_everywhere_it_is_named():
    from airflow_provider_hubspot.client import DEFAULT_API_VERSION
    from airflow_provider_hubspot.connection_fields import EXTRA_FIELDS, UI_FIELD_BEHAVIOUR

    assert DEFAULT_API_VERSION == LATEST_VERSION == "2026-09"
    assert str(Edition.parse(None)) == "2026-09"
    assert EXTRA_FIELDS["api_version"][2] == UI_FIELD_BEHAVIOUR["placeholders"]["api_version"] == DEFAULT_API_VERSION
