"""ContactsAPI.gdpr_delete: HubSpot's permanent delete, in every edition (v1 uses the v3 endpoint)."""

from __future__ import annotations

import pytest

from airflow_provider_hubspot.client import HubSpotConfigError


@pytest.mark.parametrize(("api_version", "path"), [
    ("v1", "/crm/v3/objects/contacts/gdpr-delete"),
    ("v3", "/crm/v3/objects/contacts/gdpr-delete"),
    ("2026-03", "/crm/objects/2026-03/contacts/gdpr-delete"),
    ("2026-09", "/crm/objects/2026-09/contacts/gdpr-delete"),
])
def test_gdpr_delete_by_id_and_by_email(hubspot_emulator, make_client, api_version, path):
    vid = hubspot_emulator.state.add_contact({"email": "forget@example.com"})
    client = make_client(api_version=api_version)
    client.contacts.gdpr_delete(vid)
    client.contacts.gdpr_delete("never@example.com", by="email")
    assert hubspot_emulator.state.count_contacts() == 0
    assert {"forget@example.com", "never@example.com"} <= hubspot_emulator.state.gdpr_blocklist
    posts = [r for r in hubspot_emulator.requests if r.method == "POST"]
    assert {r.path for r in posts} == {path}
    assert [r.json for r in posts] == [{"objectId": str(vid)}, {"objectId": "never@example.com", "idProperty": "email"}]


def test_a_gdpr_delete_whose_answer_was_lost_is_done_once(hubspot_emulator, make_client):
    vid = hubspot_emulator.state.add_contact({"email": "forget@example.com"})
    hubspot_emulator.inject_fault("drop_after", path="/crm/objects/2026-09/contacts/gdpr-delete")
    make_client(api_version="2026-09").contacts.gdpr_delete(vid)  # the retry's 404 is the lost attempt's delete
    assert hubspot_emulator.state.count_contacts() == 0


def test_gdpr_delete_needs_a_record_id_or_an_email(make_client):
    with pytest.raises(HubSpotConfigError, match="record id"):
        make_client().contacts.gdpr_delete("x", by="utk")
