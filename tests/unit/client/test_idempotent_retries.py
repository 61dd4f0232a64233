"""Writes retried after HubSpot applied them (the emulator's ``drop_after`` fault: the request is applied,
then the connection drops before the answer): every effect happens exactly once, and the client method
answers with what the lost attempt did instead of a conflict or a second effect."""

from __future__ import annotations

import pytest

from airflow_provider_hubspot.client import (
    HubSpotConflictError,
    HubSpotConnectionError,
    HubSpotServerError,
    HubSpotValidationError,
)
from airflow_provider_hubspot.client.batching import Record
from airflow_provider_hubspot.client.transport import HubSpotNotSentError

APP = 77
MODERN = "2026-03"
CRM = "/crm/objects/2026-03/contacts"


def _sent(emu) -> list[dict]:
    return [e for e in emu.state.email_events() if e["type"] == "SENT"]


def _posts(emu, path: str) -> int:
    return sum(1 for r in emu.requests if r.method == "POST" and r.path.startswith(path))


# -- e-mail sends ------------------------------------------------------------------------------


def test_single_send_without_send_id_sends_once_when_the_answer_is_lost(hubspot_emulator, make_client):
    email_id = hubspot_emulator.state.add_marketing_email("Welcome")
    hubspot_emulator.inject_fault("drop_after", path="/email/public/v1/singleEmail/send", method="POST")
    answer = make_client().email.send_single_email(email_id, "ann@example.com")
    assert len(_sent(hubspot_emulator)) == 1, "the retry must not send a second email"
    assert _posts(hubspot_emulator, "/email/public/v1/singleEmail/send") == 2
    assert answer["sendResult"] == "SENT" and answer["sendId"]
    first, second = (r.json for r in hubspot_emulator.requests if r.path.endswith("/singleEmail/send"))
    assert first["message"]["sendId"] == second["message"]["sendId"] == answer["sendId"]


def test_transactional_send_without_send_id_sends_once_when_the_answer_is_lost(hubspot_emulator, make_client):
    email_id = hubspot_emulator.state.add_marketing_email("Receipt")
    hubspot_emulator.inject_fault("drop_after", path="/marketing/v3/transactional/single-email/send")
    answer = make_client().email.send_transactional_email(email_id, "buyer@example.com")
    assert len(_sent(hubspot_emulator)) == 1
    assert answer["sendResult"] == "SENT" and answer["status"] == "COMPLETE" and answer["sendId"]


def test_a_caller_send_id_used_before_is_still_reported_as_ignored(hubspot_emulator, make_client):
    email_id = hubspot_emulator.state.add_marketing_email("Welcome")
    email = make_client().email
    assert email.send_single_email(email_id, "ann@example.com", send_id="run-1")["sendResult"] == "SENT"
    again = email.send_single_email(email_id, "ann@example.com", send_id="run-1")
    assert again["sendResult"] == "IDEMPOTENT_IGNORE" and len(_sent(hubspot_emulator)) == 1


def test_each_call_without_send_id_is_its_own_send(hubspot_emulator, make_client):
    email_id = hubspot_emulator.state.add_marketing_email("Welcome")
    email = make_client().email
    first = email.send_single_email(email_id, "ann@example.com")
    second = email.send_single_email(email_id, "ann@example.com")
    assert first["sendId"] != second["sendId"] and len(_sent(hubspot_emulator)) == 2


# -- contact create ----------------------------------------------------------------------------


@pytest.mark.parametrize(("api_version", "path"), [("v1", "/contacts/v1/contact"), (MODERN, CRM)])
def test_create_returns_the_contact_its_lost_attempt_created(hubspot_emulator, make_client, api_version, path):
    hubspot_emulator.inject_fault("drop_after", path=path, method="POST")
    created = make_client(api_version=api_version).contacts.create({"email": "ann@example.com", "firstname": "Ann"})
    assert hubspot_emulator.state.count_contacts() == 1
    vid = hubspot_emulator.state.contact_by_email("ann@example.com")["vid"]
    if api_version == "v1":
        assert created["vid"] == vid and created["properties"]["firstname"]["value"] == "Ann"
    else:
        assert created["id"] == str(vid) and created["properties"]["firstname"] == "Ann"


def test_create_conflict_of_a_first_attempt_is_still_a_conflict(hubspot_emulator, make_client):
    hubspot_emulator.state.add_contact({"email": "ann@example.com"})
    with pytest.raises(HubSpotConflictError):
        make_client(api_version=MODERN).contacts.create({"email": "ann@example.com"})


def test_create_conflict_after_a_refused_attempt_is_still_a_conflict(hubspot_emulator, make_client):
    """A 429 proves the first attempt was not applied: the 409 that follows is someone else's contact."""
    hubspot_emulator.state.add_contact({"email": "ann@example.com"})
    hubspot_emulator.inject_fault("429", path=CRM, retry_after=0)
    with pytest.raises(HubSpotConflictError):
        make_client(api_version=MODERN).contacts.create({"email": "ann@example.com"})


def test_create_without_email_is_not_repeated_after_a_lost_answer(hubspot_emulator, make_client):
    hubspot_emulator.inject_fault("drop_after", path=CRM, method="POST")
    client = make_client(api_version=MODERN)
    with pytest.raises(HubSpotConnectionError, match="not retried"):
        client.contacts.create({"firstname": "Nameless"})
    assert hubspot_emulator.state.count_contacts() == 1, "no second contact"
    assert client.stats["retries"] == 0


@pytest.mark.parametrize("kind", ["500", "502", "504", "truncated_json"])
def test_create_without_email_is_not_repeated_after_a_failure_that_may_have_applied(
    hubspot_emulator, make_client, kind
):
    hubspot_emulator.inject_fault(kind, path=CRM, method="POST")
    client = make_client(api_version=MODERN)
    with pytest.raises(HubSpotServerError):
        client.contacts.create({"firstname": "Nameless"})
    assert client.stats["requests"] == 1


@pytest.mark.parametrize("kind", ["429", "503", "423"])
def test_create_without_email_is_retried_after_a_refusal(hubspot_emulator, make_client, kind):
    hubspot_emulator.inject_fault(kind, path=CRM, method="POST", retry_after=0)
    client = make_client(api_version=MODERN)
    created = client.contacts.create({"firstname": "Nameless"})
    assert created["id"] and hubspot_emulator.state.count_contacts() == 1
    assert client.stats["retries"] == 1


def test_a_refused_connection_is_retried_even_for_a_create(make_client):
    client = make_client(base_url="http://127.0.0.1:9", max_retries=2, api_version=MODERN)
    with pytest.raises(HubSpotNotSentError):
        client.contacts.create({"firstname": "Nameless"})
    assert client.stats["requests"] == 3


# -- other writes --------------------------------------------------------------------------------


@pytest.mark.parametrize("api_version", ["v1", MODERN])
def test_list_create_returns_the_list_its_lost_attempt_created(hubspot_emulator, make_client, api_version):
    path = "/contacts/v1/lists" if api_version == "v1" else "/crm/lists/2026-03"
    hubspot_emulator.inject_fault("drop_after", path=path, method="POST")
    created = make_client(api_version=api_version).lists.create("Newsletter")
    assert [lst["name"] for lst in hubspot_emulator.state.lists()] == ["Newsletter"]
    assert created["name"] == "Newsletter"


def test_list_create_with_a_taken_name_is_still_refused(hubspot_emulator, make_client):
    hubspot_emulator.state.create_list("Newsletter")
    with pytest.raises(HubSpotValidationError, match="already exists"):
        make_client(api_version=MODERN).lists.create("Newsletter")


def test_v1_contact_delete_whose_answer_is_lost_reports_the_deletion(hubspot_emulator, make_client):
    vid = hubspot_emulator.state.add_contact({"email": "ann@example.com"})
    hubspot_emulator.inject_fault("drop_after", path="/contacts/v1/contact/vid", method="DELETE")
    answer = make_client(api_version="v1").contacts.delete(vid)
    assert answer == {"vid": vid, "deleted": True, "reason": "OK"}
    assert hubspot_emulator.state.count_contacts() == 0


@pytest.mark.parametrize("api_version", ["v1", MODERN])
def test_merge_whose_answer_is_lost_reports_the_merge(hubspot_emulator, make_client, api_version):
    a = hubspot_emulator.state.add_contact({"email": "a@example.com"})
    b = hubspot_emulator.state.add_contact({"email": "b@example.com"})
    path = "/contacts/v1/contact/merge-vids" if api_version == "v1" else f"{CRM}/merge"
    hubspot_emulator.inject_fault("drop_after", path=path, method="POST")
    answer = make_client(api_version=api_version).contacts.merge(a, b)
    assert answer == "SUCCESS" if api_version == "v1" else answer["id"] == str(a)
    assert hubspot_emulator.state.count_contacts() == 1


def test_timeline_event_whose_answer_is_lost_is_created_once(hubspot_emulator, make_client):
    hubspot_emulator.state.add_contact({"email": "ann@example.com"})
    template = hubspot_emulator.state.create_event_type(APP, "Signup", edition="v3")
    hubspot_emulator.inject_fault("drop_after", path="/integrators/timeline/v3/events", method="POST")
    event = {"id": "e1", "eventTemplateId": template, "email": "ann@example.com", "tokens": {}}
    answer = make_client(api_version="v3").timeline.create_event(event)
    assert answer["id"] == "e1"
    assert [e["id"] for e in hubspot_emulator.state.timeline_events()] == ["e1"]


def test_timeline_batch_resent_after_a_lost_answer_rejects_nothing(hubspot_emulator, make_client):
    hubspot_emulator.state.register_event_type_name("signup")
    hubspot_emulator.inject_fault("drop_after", path="/integrators/timeline/2026-03/events/batch", method="POST")
    events = [Record(i, {"id": f"e{i}", "eventTypeName": "signup", "email": f"u{i}@example.com", "properties": {},
                         "timestamp": "2026-01-01T00:00:00Z"}) for i in range(3)]
    outcome = make_client(api_version=MODERN).timeline.create_events(events)
    assert not outcome.rejections
    assert outcome.counts.get("created", 0) + outcome.counts.get("already_existed", 0) == 3
    assert len(hubspot_emulator.state.timeline_events()) == 3


def test_smtp_token_create_whose_answer_is_lost_is_not_repeated(hubspot_emulator, make_client):
    hubspot_emulator.inject_fault("drop_after", path="/email/public/v1/smtpapi/tokens", method="POST")
    client = make_client()
    with pytest.raises(HubSpotConnectionError, match="not retried"):
        client.email.create_smtp_token("Receipts")
    assert len(hubspot_emulator.state.smtp_tokens()) == 1


def test_upsert_batch_resent_after_a_lost_answer_rejects_nothing(hubspot_emulator, make_client):
    hubspot_emulator.inject_fault("drop_after", path=f"{CRM}/batch/upsert", method="POST")
    records = [Record(i, {"email": f"u{i}@example.com", "firstname": f"U{i}"}) for i in range(3)]
    outcome = make_client(api_version=MODERN).contacts.upsert(records)
    assert not outcome.rejections and hubspot_emulator.state.count_contacts() == 3


def test_list_membership_add_resent_after_a_lost_answer_reports_no_error(hubspot_emulator, make_client):
    ids = hubspot_emulator.state.create_list("Members")
    vids = [hubspot_emulator.state.add_contact({"email": f"u{i}@example.com"}) for i in range(2)]
    hubspot_emulator.inject_fault("drop_after", path="/crm/lists/2026-03", method="PUT")
    result = make_client(api_version=MODERN).lists.add_records(ids.list_id, vids)
    assert not result["missing"]
    assert sorted(result["added"] + result["unchanged"]) == sorted(str(v) for v in vids)
    assert sorted(hubspot_emulator.state.list_members(ids.list_id)) == sorted(vids)
