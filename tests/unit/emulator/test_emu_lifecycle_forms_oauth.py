"""Lifecycle-stage metrics, form submissions and OAuth routes of the emulator."""

from __future__ import annotations

import time
from typing import Any

import requests

from airflow_provider_hubspot.emulator import HubSpotEmulator

DAY = 86_400_000
NOW = 1_790_000_000_000
LIFECYCLE = "/contacts/search/v1/external/lifecyclestages"


# -- lifecycle -----------------------------------------------------------------------------------


def test_lifecycle_counts(emu, http):
    for i in range(3):
        emu.state.set_lifecycle_stage(f"c{i}@example.com", "customer", NOW - DAY + i)
    emu.state.set_lifecycle_stage("old@example.com", "customer", NOW - 10 * DAY)
    lead = emu.state.set_lifecycle_stage("lead@example.com", "lead", NOW - 2)
    gone = emu.state.set_lifecycle_stage("gone@example.com", "lead", NOW - 3)
    emu.state.delete_contact(gone)
    assert emu.state.contact(lead)["properties"]["hs_lifecyclestage_lead_date"] == str(NOW - 2)
    r = http.get(emu.url + LIFECYCLE, params={"fromTimestamp": NOW - 2 * DAY, "toTimestamp": NOW})
    assert r.status_code == 200
    counts = {e["lifecycleStage"]: e["count"] for e in r.json()}
    assert counts["hs_lifecyclestage_customer_date"] == 3
    assert counts["hs_lifecyclestage_lead_date"] == 1
    assert counts["hs_lifecyclestage_subscriber_date"] == 0
    assert len(counts) == 8
    # inclusive bounds
    r = http.get(emu.url + LIFECYCLE, params={"fromTimestamp": NOW - DAY, "toTimestamp": NOW - DAY})
    assert {e["lifecycleStage"]: e["count"] for e in r.json()}["hs_lifecyclestage_customer_date"] == 1


def test_lifecycle_aggregation_and_errors(emu, http):
    emu.state.define_property("tier", "enumeration", ["gold", "silver"])
    emu.state.define_property("many", "enumeration", [f"o{i}" for i in range(21)])
    for i, tier in enumerate(["gold", "gold", "silver"]):
        vid = emu.state.add_contact({"email": f"c{i}@example.com", "tier": tier})
        emu.state.set_lifecycle_stage(vid, "customer", NOW - 5)
    params: dict[str, Any] = {"fromTimestamp": NOW - DAY, "toTimestamp": NOW, "aggregationProperty": "tier"}
    entry = next(
        e
        for e in http.get(emu.url + LIFECYCLE, params=params).json()
        if e["lifecycleStage"] == "hs_lifecyclestage_customer_date"
    )
    assert entry["aggregation"] == {
        "count": 3,
        "aggregations": {"tier": [{"key": "gold", "count": 2}, {"key": "silver", "count": 1}]},
    }
    for bad in (
        {"toTimestamp": NOW},
        {"fromTimestamp": NOW},
        {"fromTimestamp": "yesterday", "toTimestamp": NOW},
        {"fromTimestamp": NOW - 800 * DAY, "toTimestamp": NOW},
        {"fromTimestamp": NOW - DAY, "toTimestamp": NOW, "aggregationProperty": "many"},
        {"fromTimestamp": NOW - DAY, "toTimestamp": NOW, "aggregationProperty": "firstname"},
        {"fromTimestamp": NOW - DAY, "toTimestamp": NOW, "aggregationProperty": "nope"},
    ):
        r = http.get(emu.url + LIFECYCLE, params=bad)
        assert r.status_code == 400, bad
        assert r.json()["status"] == "error"


# -- forms ---------------------------------------------------------------------------------------


def test_form_submissions_paging_newest_first(emu, http):
    convs = [
        emu.state.add_form_submission("form-1", f"p{i}@example.com", {"firstname": f"P{i}"}, submitted_at=NOW + i)
        for i in range(45)
    ]
    url = f"{emu.url}/form-integrations/v1/submissions/forms/form-1"
    first = http.get(url).json()
    assert len(first["results"]) == 20
    assert first["results"][0]["conversionId"] == convs[-1] and first["results"][0]["submittedAt"] == NOW + 44
    values = {v["name"]: v["value"] for v in first["results"][0]["values"]}
    assert values == {"email": "p44@example.com", "firstname": "P44"}
    # a new submission between pages does not shift later pages
    emu.state.add_form_submission("form-1", "late@example.com", submitted_at=NOW + 1000)
    seen = [r["conversionId"] for r in first["results"]]
    after = first["paging"]["next"]["after"]
    assert first["paging"]["next"]["link"].startswith("?after=")
    while after:
        page = http.get(url, params={"after": after, "limit": 20}).json()
        seen.extend(r["conversionId"] for r in page["results"])
        after = page.get("paging", {}).get("next", {}).get("after")
    assert seen == list(reversed(convs))
    assert http.get(url, params={"limit": 51}).status_code == 400
    assert http.get(url, params={"limit": 50}).json()["results"][0]["values"][0]["value"] == "late@example.com"
    assert http.get(f"{emu.url}/form-integrations/v1/submissions/forms/unknown").status_code == 404
    assert emu.state.contact_by_email("p3@example.com")["properties"]["firstname"] == "P3"


def test_forms_scope(emu):
    emu.add_token("no-forms", {"crm.objects.contacts.read"})
    emu.state.create_form("f")
    r = requests.get(
        f"{emu.url}/form-integrations/v1/submissions/forms/f", headers={"Authorization": "Bearer no-forms"}
    )
    assert r.status_code == 403


# -- OAuth ---------------------------------------------------------------------------------------


def refresh(emu: HubSpotEmulator, path: str = "/oauth/2026-03/token", **overrides: str) -> requests.Response:
    data = {"grant_type": "refresh_token", "client_id": "cid", "client_secret": "secret", "refresh_token": "rt"}
    data.update(overrides)
    return requests.post(emu.url + path, data=data)


def test_oauth_refresh_and_use(emu):
    emu.add_oauth_client("cid", "secret", "rt")
    emu.daily_limit = 1000
    emu.rate_limit = 100
    r = refresh(emu)
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 1800 and body["refresh_token"] == "rt"
    token = body["access_token"]
    r = requests.get(f"{emu.url}/crm/v3/objects/contacts", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert "X-HubSpot-RateLimit-Max" in r.headers
    assert "X-HubSpot-RateLimit-Daily" not in r.headers  # no daily headers for OAuth calls
    assert refresh(emu, "/oauth/v1/token").status_code == 200
    assert emu.stats["oauth_refreshes"] == 2


def test_oauth_token_expiry(emu):
    emu.add_oauth_client("cid", "secret", "rt")
    emu.oauth_token_ttl = 0.3
    token = refresh(emu).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{emu.url}/crm/v3/objects/contacts", headers=headers).status_code == 200
    time.sleep(0.35)
    r = requests.get(f"{emu.url}/crm/v3/objects/contacts", headers=headers)
    assert r.status_code == 401
    body = r.json()
    assert body["category"] == "EXPIRED_AUTHENTICATION"
    assert body["message"] == "The OAuth token used to make this call expired 0 second(s) ago."
    assert "expire time" in body["context"]
    fresh = refresh(emu).json()["access_token"]
    assert requests.get(f"{emu.url}/crm/v3/objects/contacts", headers={"Authorization": f"Bearer {fresh}"}).ok


def test_oauth_errors_and_revocation(emu):
    emu.add_oauth_client("cid", "secret", "rt")
    r = refresh(emu, client_secret="wrong")
    assert r.status_code == 400 and r.json()["error"] == "invalid_client"
    r = refresh(emu, client_id="other")
    assert r.status_code == 400 and r.json()["error"] == "invalid_client"
    r = refresh(emu, refresh_token="nope")
    assert r.status_code == 400
    assert r.json() | {"correlationId": None} == {
        "error": "invalid_grant",
        "error_description": "refresh token is invalid, expired or revoked",
        "status": "BAD_REFRESH_TOKEN",
        "message": "refresh token is invalid, expired or revoked",
        "correlationId": None,
    }
    assert refresh(emu, grant_type="authorization_code").status_code == 400
    emu.revoke_refresh_token("rt")
    assert refresh(emu).json()["status"] == "BAD_REFRESH_TOKEN"
    assert emu.stats["oauth_refreshes"] == 0


def test_oauth_2026_endpoint_can_be_switched_off(emu):
    emu.add_oauth_client("cid", "secret", "rt")
    emu.token_endpoint_2026_available = False
    assert refresh(emu).status_code == 404
    assert refresh(emu, "/oauth/v1/token").status_code == 200


def test_oauth_scripted_fault_on_the_token_endpoint(emu):
    emu.add_oauth_client("cid", "secret", "rt")
    emu.inject_fault("429", path="/oauth/", retry_after=2)
    r = refresh(emu)
    assert r.status_code == 429 and r.headers["Retry-After"] == "2"
    assert refresh(emu).status_code == 200


def test_oauth_token_metadata(emu):
    emu.add_oauth_client("cid", "secret", "rt")
    token = refresh(emu).json()["access_token"]
    info = requests.get(f"{emu.url}/oauth/v1/access-tokens/{token}").json()
    assert info["app_id"] == "cid" and 0 < info["expires_in"] <= 1800
    assert requests.delete(f"{emu.url}/oauth/v1/refresh-tokens/rt").status_code == 204
    assert refresh(emu).status_code == 400
