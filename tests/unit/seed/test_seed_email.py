"""Email seed operations: subscriptions (v1 and communication preferences v3), email events, campaigns, SMTP API
tokens (passwords never logged) and single send."""

from __future__ import annotations

import inspect
import logging

import pytest

from airflow_provider_hubspot.client import (
    HubSpotConfigError,
    HubSpotMissingScopesError,
    HubSpotNotFoundError,
    HubSpotValidationError,
)


@pytest.fixture
def email(make_client):
    return make_client(api_version="2026-03").email  # email families use their own paths in every edition


# -- subscriptions --------------------------------------------------------------------------------


def test_subscription_types_and_status(emu, email):
    emu.state.add_subscription_type("Newsletter", "Monthly news")
    types = email.iter_subscription_types()
    assert inspect.isgenerator(types)
    assert [t["name"] for t in types] == ["Marketing Information", "One to One", "Newsletter"]
    status = email.get_subscription_status("Fresh+tag@Example.com")
    assert status["subscribed"] is True and status["bounced"] is False and status["subscriptionStatuses"] == []
    assert "/subscriptions/Fresh%2Btag@Example.com" in emu.requests[-1].path or emu.requests[-1].path.endswith(
        "/subscriptions/Fresh+tag@Example.com")


def test_update_subscription_then_opt_out_cannot_be_undone(emu, email):
    assert email.update_subscription("ann@example.com", [{"id": 1, "subscribed": True,
                                                          "legalBasis": "CONSENT_WITH_NOTICE",
                                                          "legalBasisExplanation": "signed up"},
                                                         {"id": 2, "subscribed": False}]) == {"status": "ok"}
    statuses = {s["id"]: s for s in email.get_subscription_status("ann@example.com")["subscriptionStatuses"]}
    assert statuses[1]["subscribed"] is True and statuses[1]["legalBasis"] == "CONSENT_WITH_NOTICE"
    assert statuses[2]["subscribed"] is False
    with pytest.raises(HubSpotValidationError, match="cannot be undone"):
        email.update_subscription("ann@example.com", [{"id": 2, "subscribed": True}])
    with pytest.raises(HubSpotValidationError, match="does not exist") as info:
        email.update_subscription("ann@example.com", [{"id": 99, "subscribed": True}])
    assert info.value.status == 400
    with pytest.raises(HubSpotConfigError, match="legal_basis"):
        email.update_subscription("ann@example.com", [{"id": 1, "subscribed": True, "legalBasis": "BECAUSE"}])
    with pytest.raises(HubSpotConfigError):
        email.update_subscription("ann@example.com", [])


def test_unsubscribe_from_all_is_irreversible(emu, email):
    assert "IRREVERSIBLE" in (type(email).unsubscribe_from_all_irreversibly.__doc__ or "")
    email.unsubscribe_from_all_irreversibly("bob@example.com")
    status = email.get_subscription_status("bob@example.com")
    assert status["subscribed"] is False and status["status"] == "unsubscribed"
    with pytest.raises(HubSpotValidationError, match="cannot be undone"):
        email.update_subscription("bob@example.com", [{"id": 1, "subscribed": True}])
    with pytest.raises(HubSpotValidationError):
        email.subscribe_communication("bob@example.com", 1)
    assert emu.state.email_subscription("bob@example.com")["subscribed"] is False


def test_subscription_timeline_filters_and_pages(emu, email):
    for i in range(5):
        email.update_subscription(f"u{i}@example.com", [{"id": 1, "subscribed": False}])
    email.unsubscribe_from_all_irreversibly("u0@example.com")
    items = list(email.iter_subscription_timeline(page_size=2))
    assert [i["recipient"] for i in items] == ["u0@example.com"] + [f"u{i}@example.com" for i in range(4, -1, -1)]
    assert len([r for r in emu.requests if r.path.endswith("/subscriptions/timeline")]) == 3
    portal = list(email.iter_subscription_timeline(change_type="PORTAL_STATUS"))
    assert [i["recipient"] for i in portal] == ["u0@example.com"] and "snapshot" not in portal[0]
    with_snapshot = next(email.iter_subscription_timeline(change_type="PORTAL_STATUS", include_snapshots=True))
    assert with_snapshot["snapshot"]["subscribed"] is False
    newest = items[0]["timestamp"]
    assert all(i["timestamp"] >= newest for i in email.iter_subscription_timeline(start_ms=newest))
    assert list(email.iter_subscription_timeline(end_ms=0)) == []


def test_communication_preferences_v3(emu, email):
    definitions = list(email.iter_communication_definitions())
    assert [d["id"] for d in definitions] == ["1", "2"]
    status = email.get_communication_status("cat@example.com")
    assert status["recipient"] == "cat@example.com" and len(status["subscriptionStatuses"]) == 2
    assert email.subscribe_communication("cat@example.com", 1, legal_basis="NON_GDPR")["status"] == "SUBSCRIBED"
    assert email.subscribe_communication("cat@example.com", 1)["status"] == "SUBSCRIBED"  # idempotent
    assert email.unsubscribe_communication("cat@example.com", 1)["status"] == "NOT_SUBSCRIBED"
    with pytest.raises(HubSpotValidationError, match="cannot be resubscribed"):
        email.subscribe_communication("cat@example.com", 1)
    with pytest.raises(HubSpotValidationError, match="does not exist"):
        email.unsubscribe_communication("cat@example.com", 77)
    v1 = {s["id"]: s["subscribed"] for s in email.get_subscription_status("cat@example.com")["subscriptionStatuses"]}
    assert v1 == {1: False}


def test_email_scopes_are_enforced(emu, make_client):
    emu.add_token("crm-only", {"crm.objects.contacts.read"})
    email = make_client("crm-only").email
    for call in (lambda: email.get_subscription_status("a@example.com"), lambda: list(email.iter_events()),
                 lambda: email.create_smtp_token("Receipts")):
        with pytest.raises(HubSpotMissingScopesError) as info:
            call()
        assert info.value.status == 403
    emu.add_token("content-only", {"content"})
    email = make_client("content-only").email
    assert email.get_subscription_status("a@example.com")["subscribed"] is True
    with pytest.raises(HubSpotMissingScopesError) as info:
        email.create_smtp_token("Receipts")
    assert info.value.required_scopes == ["transactional-email"]


# -- events and campaigns -------------------------------------------------------------------------


def test_email_events_filters_paging_and_one_event(emu, email):
    campaign = emu.state.add_email_campaign("Launch")
    other = emu.state.add_email_campaign("Other")
    logged = [emu.state.add_email_event(f"r{i % 2}@example.com", "SENT" if i % 3 else "OPEN", campaign_id=campaign,
                                        created_ms=1_700_000_000_000 + i) for i in range(7)]
    emu.state.add_email_event("r0@example.com", "CLICK", campaign_id=other, created_ms=1_700_000_000_100,
                              filtered=True)
    events = email.iter_events(page_size=3)
    assert inspect.isgenerator(events)
    everything = list(events)
    assert [e["created"] for e in everything] == sorted((e["created"] for e in everything), reverse=True)
    assert len(everything) == 8
    assert len([r for r in emu.requests if r.path == "/email/public/v1/events"]) == 3
    assert {e["id"] for e in email.iter_events(campaign_id=campaign)} == {e["id"] for e in logged}
    assert all(e["type"] == "OPEN" for e in email.iter_events(event_type="OPEN"))
    assert list(email.iter_events(event_type="open")) == []  # case-sensitive
    assert {e["recipient"] for e in email.iter_events(recipient="r1@example.com")} == {"r1@example.com"}
    window = list(email.iter_events(start_ms=1_700_000_000_002, end_ms=1_700_000_000_004))
    assert sorted(e["created"] for e in window) == [1_700_000_000_002, 1_700_000_000_003, 1_700_000_000_004]
    assert len(list(email.iter_events(exclude_filtered_events=True))) == 7
    one = email.get_event(logged[0]["created"], logged[0]["id"])
    assert one["id"] == logged[0]["id"] and one["emailCampaignId"] == campaign
    with pytest.raises(HubSpotNotFoundError):
        email.get_event(logged[0]["created"] + 1, logged[0]["id"])


def test_campaigns_recent_all_and_data(emu, email):
    ids = [emu.state.add_email_campaign(f"C{i}") for i in range(5)]
    emu.state.add_email_event("x@example.com", "SENT", campaign_id=ids[1], created_ms=9_000_000_000_000)
    emu.state.add_email_event("x@example.com", "DELIVERED", campaign_id=ids[1], created_ms=9_000_000_000_001)
    emu.state.add_email_event("x@example.com", "OPEN", campaign_id=ids[3], created_ms=8_000_000_000_000)
    recent = [c["id"] for c in email.iter_recent_campaigns(page_size=2)]
    assert recent[:2] == [ids[1], ids[3]] and sorted(recent) == sorted(ids)
    assert [c["id"] for c in email.iter_campaigns(page_size=2)] == sorted(ids)
    data = email.get_campaign(ids[1])
    assert data["name"] == "C1" and data["counters"] == {"sent": 1, "delivered": 1}
    assert email.get_campaign(ids[1], app_id=data["appId"])["id"] == ids[1]
    with pytest.raises(HubSpotNotFoundError):
        email.get_campaign(ids[1], app_id=1)
    with pytest.raises(HubSpotNotFoundError):
        email.get_campaign(123)


# -- SMTP API tokens ------------------------------------------------------------------------------


def test_smtp_tokens_v1_create_list_reset(emu, email):
    token = email.create_smtp_token("Receipts", create_contact=True)
    assert token["password"] and token["campaignName"] == "Receipts"
    assert emu.state.email.check_smtp_password(token["userName"], token["password"])
    listed = list(email.iter_smtp_tokens())
    assert [t["userName"] for t in listed] == [token["userName"]] and "password" not in listed[0]
    reset = email.reset_smtp_password(token["userName"])
    assert reset["password"] != token["password"]
    assert emu.state.email.check_smtp_password(token["userName"], reset["password"])
    with pytest.raises(HubSpotNotFoundError):
        email.reset_smtp_password("nobody@62515.smtp.hubspot.net")
    with pytest.raises(HubSpotConfigError):
        email.create_smtp_token(" ")
    assert all("password" not in t and "passwordHash" not in t for t in emu.state.smtp_tokens())


def test_smtp_tokens_v3(emu, email):
    first = email.create_transactional_smtp_token("Receipts")
    email.create_transactional_smtp_token("Alerts", create_contact=True)
    email.create_transactional_smtp_token("Receipts")
    assert first["password"] and first["id"]
    tokens = list(email.iter_transactional_smtp_tokens(page_size=2))
    assert len(tokens) == 3 and all("password" not in t for t in tokens)
    assert len(list(email.iter_transactional_smtp_tokens(campaign_name="Receipts"))) == 2
    reset = email.reset_transactional_smtp_password(first["id"])
    assert reset["password"] != first["password"]
    assert next(t["userName"] for t in email.iter_smtp_tokens()) == first["id"]  # the same tokens as v1
    with pytest.raises(HubSpotNotFoundError):
        email.reset_transactional_smtp_password("missing")


def test_smtp_passwords_never_reach_logs(emu, make_client, caplog):
    seen: list[str] = []
    client = make_client(api_version="v1", on_new_secret=seen.append)
    caplog.set_level(logging.DEBUG)
    token = client.email.create_smtp_token("Receipts")
    emu.inject_fault("500", count=1, path="/email/public/v1/smtpapi/tokens/")
    reset = client.email.reset_smtp_password(token["userName"])  # retried once: a warning is logged
    v3 = client.email.create_transactional_smtp_token("Alerts")
    list(client.email.iter_smtp_tokens())
    passwords = [token["password"], reset["password"], v3["password"]]
    assert set(passwords) <= set(seen), "each password was handed to the masking hook (Airflow's mask_secret)"
    for password in passwords:
        assert client.transport.redact(f"oops {password}") == "oops ***"
    # HubSpot echoing a password back in an error body: the error carries *** instead
    with pytest.raises(HubSpotValidationError) as info:
        client.transport.request("POST", "/marketing/v3/transactional/smtp-tokens",
                                 json_body={"campaignName": reset["password"]})
    assert reset["password"] not in repr(info.value.body) and "***" in repr(info.value.body)
    assert any("Retrying" in r.getMessage() for r in caplog.records)
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    for password in passwords:
        assert password not in logged


# -- single send ----------------------------------------------------------------------------------


def test_single_send_v1(emu, email):
    email_id = emu.state.add_marketing_email("Welcome")
    sent = email.send_single_email(email_id, "new@example.com", contact_properties={"firstname": "Nia"},
                                   custom_properties={"coupon": "X1"}, send_id="s-1")
    assert sent["sendResult"] == "SENT" and sent["eventId"]["id"]
    assert emu.state.contact_by_email("new@example.com")["properties"]["firstname"] == "Nia"
    assert [e["type"] for e in emu.state.email_events()] == ["SENT"]
    again = email.send_single_email(email_id, "new@example.com", send_id="s-1")
    assert again["sendResult"] == "IDEMPOTENT_IGNORE" and len(emu.state.email_events()) == 1
    body = emu.requests[-1].json
    assert body["message"] == {"to": "new@example.com", "sendId": "s-1"} and body["emailId"] == email_id


def test_single_send_v1_errors_and_suppressions(emu, email):
    email_id = emu.state.add_marketing_email("Welcome")
    with pytest.raises(HubSpotValidationError) as info:
        email.send_single_email(999, "a@example.com")
    assert info.value.status == 400 and info.value.body["sendResult"] == "MISSING_CONTENT"
    with pytest.raises(HubSpotValidationError) as info:
        email.send_single_email(email_id, "not-an-address")
    assert info.value.body["sendResult"] == "INVALID_TO_ADDRESS"
    with pytest.raises(HubSpotValidationError, match="does not exist"):
        email.send_single_email(email_id, "a@example.com", contact_properties={"no_such_property": "x"})
    email.unsubscribe_from_all_irreversibly("gone@example.com")
    assert email.send_single_email(email_id, "gone@example.com")["sendResult"] == "PREVIOUSLY_UNSUBSCRIBED_PORTAL"
    emu.state.add_email_event("bounced@example.com", "BOUNCE")
    assert email.send_single_email(email_id, "bounced@example.com")["sendResult"] == "PREVIOUSLY_BOUNCED"
    assert email.get_subscription_status("bounced@example.com")["bounced"] is True


def test_single_send_v3(emu, email):
    email_id = emu.state.add_marketing_email("Receipt")
    status = email.send_transactional_email(email_id, "buyer@example.com", custom_properties={"total": "9"},
                                            send_id="r-1")
    assert status["status"] == "COMPLETE" and status["sendResult"] == "SENT"
    with pytest.raises(HubSpotValidationError) as info:
        email.send_transactional_email(404, "buyer@example.com")
    assert info.value.category == "VALIDATION_ERROR"
