"""Contacts family: batch upsert outcomes in every edition, paging generators, bad input."""

from __future__ import annotations

import pytest

from airflow_provider_hubspot.client import (
    HubSpotClient,
    HubSpotConfigError,
    HubSpotValidationError,
    Record,
)
from airflow_provider_hubspot.client.contacts import DUPLICATE


def _records(rows):
    return [Record(i, row) for i, row in enumerate(rows)]


def _people(n, start=0):
    return [{"email": f"person{i}@example.com", "firstname": f"P{i}"} for i in range(start, start + n)]


def _stored_emails(emulator):
    return sorted(c["properties"]["email"] for c in emulator.state.contacts())


def _batch_posts(emulator, path_part):
    return [r for r in emulator.requests if r.method == "POST" and path_part in r.path]


@pytest.mark.parametrize("api_version", ["v1", "v3", "2026-03"])
def test_upsert_creates_then_updates(hubspot_emulator, make_client, api_version):
    client = make_client(api_version=api_version)
    first = client.contacts.upsert(_records(_people(150)))
    assert first.rejections == []
    assert hubspot_emulator.state.count_contacts() == 150
    changed = [{**p, "firstname": "Changed"} for p in _people(150)]
    second = client.contacts.upsert(_records(changed))
    assert hubspot_emulator.state.count_contacts() == 150
    assert {c["properties"]["firstname"] for c in hubspot_emulator.state.contacts()} == {"Changed"}
    if api_version == "v1":
        assert first.counts["upserted"] == 150 and second.counts["upserted"] == 150
    else:
        assert (first.counts["created"], first.counts["updated"]) == (150, 0)
        assert (second.counts["created"], second.counts["updated"]) == (0, 150)


def test_v1_batch_payload_and_chunking(hubspot_emulator, make_client):
    client = make_client(api_version="v1")
    client.contacts.upsert(_records(_people(5)), batch_size=2)
    posts = _batch_posts(hubspot_emulator, "/contacts/v1/contact/batch/")
    assert [len(p.json) for p in posts] == [2, 2, 1]
    assert posts[0].json[0] == {
        "email": "person0@example.com",
        "properties": [{"property": "email", "value": "person0@example.com"},
                       {"property": "firstname", "value": "P0"}],
    }


def test_modern_upsert_payload(hubspot_emulator, make_client):
    make_client().contacts.upsert(_records(_people(1)))
    (post,) = _batch_posts(hubspot_emulator, "/crm/objects/2026-09/contacts/batch/upsert")
    assert post.json == {"inputs": [{"id": "person0@example.com", "idProperty": "email",
                                     "properties": {"email": "person0@example.com", "firstname": "P0"},
                                     "objectWriteTraceId": "0"}]}


@pytest.mark.parametrize("api_version", ["v1", "2026-03"])
def test_whole_batch_rejection_is_split_and_reports_exactly_the_invalid_records(
    hubspot_emulator, make_client, api_version
):
    rows = _people(40)
    rows[3]["email"] = "bad3@example.comv"  # passes a syntax check; HubSpot rejects it
    rows[17]["email"] = "bad17@example.con"
    rows[30]["email"] = "bad30@example.comv"
    client = make_client(api_version=api_version)
    outcome = client.contacts.upsert(_records(rows), batch_size=20)
    assert sorted(r.index for r in outcome.rejections) == [3, 17, 30]
    assert all("invalid" in r.reason.lower() for r in outcome.rejections)
    assert hubspot_emulator.state.count_contacts() == 37
    assert "bad3@example.comv" not in _stored_emails(hubspot_emulator)


def test_v1_split_resubmits_the_rest_once(hubspot_emulator, make_client):
    rows = _people(10)
    rows[2]["email"] = "x@y.comv"
    outcome = make_client(api_version="v1").contacts.upsert(_records(rows))
    posts = _batch_posts(hubspot_emulator, "/contacts/v1/contact/batch/")
    assert [len(p.json) for p in posts] == [10, 9]
    assert outcome.counts["upserted"] == 9
    assert [(r.index, r.code) for r in outcome.rejections] == [(2, "INVALID_EMAIL")]


def test_pre_send_validation_and_duplicates_last_wins(hubspot_emulator, make_client):
    rows = [
        {"email": "a@example.com", "firstname": "old"},
        {"firstname": "no email"},
        {"email": "not-an-email"},
        {"email": "A@example.com", "firstname": "new"},
    ]
    outcome = make_client().contacts.upsert(_records(rows))
    reasons = {r.index: r.code for r in outcome.rejections}
    assert reasons == {0: DUPLICATE, 1: "MISSING_ID", 2: "INVALID_EMAIL"}
    assert outcome.counts["duplicates"] == 1
    (contact,) = hubspot_emulator.state.contacts()
    assert contact["properties"]["firstname"] == "new"


def test_repeated_keys_across_concurrent_batches_keep_the_latest_value(hubspot_emulator, make_client):
    rows = []
    for version in range(5):
        rows += [{"email": f"k{i}@example.com", "firstname": f"v{version}"} for i in range(30)]
    make_client().contacts.upsert(_records(rows), batch_size=10, max_concurrency=4)
    assert {c["properties"]["firstname"] for c in hubspot_emulator.state.contacts()} == {"v4"}


@pytest.mark.parametrize("api_version", ["v1", "2026-03"])
def test_unknown_property_in_every_record_fails_fast(hubspot_emulator, make_client, api_version):
    rows = [{**p, "favourite_colour": "blue"} for p in _people(10)]
    with pytest.raises(HubSpotValidationError) as info:
        make_client(api_version=api_version).contacts.upsert(_records(rows))
    assert "favourite_colour" in str(info.value) and "properties_map" in str(info.value)


def test_non_dict_records_are_a_clear_error(make_client):
    with pytest.raises(HubSpotConfigError, match="record 1 is a str"):
        make_client().contacts.upsert(_records([{"email": "a@example.com"}, "b@example.com"]))


def test_unique_id_property_needs_a_modern_edition(make_client):
    with pytest.raises(HubSpotConfigError, match="email or vid only"):
        make_client(api_version="v1").contacts.upsert(_records(_people(1)), id_property="external_id")


def test_upsert_with_faults_loses_nothing(hubspot_emulator, make_client):
    hubspot_emulator.fault_rate = 0.3
    outcome = make_client().contacts.upsert(_records(_people(500)), max_concurrency=4)
    hubspot_emulator.fault_rate = 0
    assert outcome.counts["created"] + outcome.counts["updated"] == 500
    assert hubspot_emulator.state.count_contacts() == 500


# -- paging ------------------------------------------------------------------------------------


@pytest.mark.parametrize("api_version", ["v1", "2026-03"])
def test_iter_all_pages_through_everything_once(hubspot_emulator, make_client, api_version):
    for p in _people(250):
        hubspot_emulator.state.add_contact(p)
    client = make_client(api_version=api_version)
    contacts = list(client.contacts.iter_all(page_size=100))
    assert len(contacts) == 250
    pages = [r for r in hubspot_emulator.requests if r.method == "GET"]
    assert len(pages) == 3


def test_paging_is_lazy(hubspot_emulator, make_client):
    for p in _people(250):
        hubspot_emulator.state.add_contact(p)
    client = make_client(api_version="v1")
    iterator = client.contacts.iter_all(page_size=100)
    next(iterator)
    assert len(hubspot_emulator.requests) == 1


def test_recent_feed_stops_at_the_watermark(hubspot_emulator, make_client):
    for p in _people(120):
        hubspot_emulator.state.add_contact(p)
    newest = max(int(c["properties"]["lastmodifieddate"]) for c in hubspot_emulator.state.contacts())
    client = make_client(api_version="v1")
    recent = list(client.contacts.iter_recent(since_ms=newest + 1))
    assert recent == []
    assert len(hubspot_emulator.requests) == 1


def test_batch_get_by_email_in_chunks_of_100(hubspot_emulator, make_client):
    for p in _people(150):
        hubspot_emulator.state.add_contact(p)
    emails = [p["email"] for p in _people(150)] + ["nobody@example.com"]
    for api_version in ("v1", "2026-03"):
        hubspot_emulator.requests.clear()
        found = list(make_client(api_version=api_version).contacts.batch_get(emails, by="email"))
        assert len(found) == 150
        assert len(hubspot_emulator.requests) == 2


def test_v1_search_pages(hubspot_emulator, make_client):
    for p in _people(30):
        hubspot_emulator.state.add_contact(p)
    found = list(make_client(api_version="v1").contacts.search("person", page_size=10))
    assert len(found) == 30


# -- configuration errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"access_token": ""}, "No HubSpot credentials"),
        ({"access_token": "t", "base_url": "ftp://example.com"}, "not a valid URL"),
        ({"access_token": "t", "api_version": "v2"}, "Unknown api_version"),
        ({"access_token": "t", "client_id": "only-id"}, "client_id, client_secret and refresh_token"),
        ({"access_token": "t", "legacy_hapikey": "k"}, "2022-11-30"),
    ],
)
def test_bad_configuration_is_a_clear_error(options, message):
    token = options.pop("access_token")
    with pytest.raises(HubSpotConfigError, match=message):
        HubSpotClient(token, **options)
