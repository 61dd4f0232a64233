"""Contact property definitions (v1 and modern), contact statistics, and the discontinued Leads API."""

from __future__ import annotations

import inspect

import pytest

from airflow_provider_hubspot.client import HubSpotConfigError, HubSpotError, HubSpotNotFoundError
from airflow_provider_hubspot.client.leads import LeadsAPI, LeadsDiscontinuedError


def test_v1_contact_property(emu, make_client):
    emu.state.define_property("tier", "enumeration", options=["gold", "silver"], label="Tier")
    props = make_client(api_version="v1").properties
    tier = props.get_contact_property("tier")
    assert tier["name"] == "tier" and tier["type"] == "enumeration" and tier["fieldType"] == "select"
    assert [o["value"] for o in tier["options"]] == ["gold", "silver"]
    assert emu.requests[-1].path == "/properties/v1/contacts/properties/named/tier"
    everything = props.iter_contact_properties()
    assert inspect.isgenerator(everything) and "tier" in {p["name"] for p in everything}
    with pytest.raises(HubSpotNotFoundError, match="Couldn't find a Property with the given name 'nope'") as info:
        props.get_contact_property("nope")
    assert info.value.status == 404


@pytest.mark.parametrize(("api_version", "prefix"), [("v3", "/crm/v3/properties/contacts"),
                                                      ("2026-03", "/crm/properties/2026-03/contacts")])
def test_modern_contact_property(emu, make_client, api_version, prefix):
    props = make_client(api_version=api_version).properties
    email = props.get_contact_property("email")
    assert email["name"] == "email" and email["hasUniqueValue"] is True
    assert emu.requests[-1].path == f"{prefix}/email"
    assert "email" in {p["name"] for p in props.iter_contact_properties()}
    with pytest.raises(HubSpotNotFoundError) as info:
        props.get_contact_property("nope")
    assert info.value.category == "OBJECT_NOT_FOUND"
    with pytest.raises(HubSpotConfigError):
        props.get_contact_property(" ")


@pytest.mark.parametrize("api_version", ["v1", "2026-03"])
def test_contact_statistics_uses_the_v1_path_everywhere(emu, make_client, api_version):
    emu.state.add_contact({"email": "a@example.com"})
    stats = make_client(api_version=api_version).contacts.statistics()
    assert stats["contacts"] == 1 and emu.requests[-1].path == "/contacts/v1/contacts/statistics"


@pytest.mark.parametrize(("use", "replacement"), [
    ("list", "client.contacts.search(query)"),
    ("search", "client.contacts.search(query)"),
    ("get_lead", "client.contacts.get(vid)"),
    ("update_lead", "client.contacts.update("),
    ("iter_leads", "client.contacts.iter_all()"),
])
def test_leads_are_discontinued_with_the_replacement_named(make_client, emu, use, replacement):
    client = make_client()
    with pytest.raises(LeadsDiscontinuedError) as info:
        getattr(client.leads, use)
    text = str(info.value)
    assert "discontinued" in text and "2013-12-31" in text and replacement in text
    assert "client.contacts.iter_recent" in text  # the full replacement table is always there
    assert isinstance(info.value, HubSpotError) and isinstance(info.value, HubSpotConfigError)
    assert emu.requests == [], "nothing is sent to HubSpot"


def test_leads_stand_in_stays_introspectable(make_client):
    leads = make_client(api_version="v1").leads
    assert isinstance(leads, LeadsAPI) and "2013-12-31" in repr(leads)
    assert not hasattr(leads, "__wrapped__")  # dunder look-ups behave normally (copy, mock, inspect)
    with pytest.raises(LeadsDiscontinuedError, match="Replacements"):
        leads.anything_else()
