"""Emulator core: routing, auth, rate limits, faults, latency, recording, reset."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import requests

from airflow_provider_hubspot.emulator import FAULT_KINDS, HubSpotEmulator

CONTACTS = "/crm/v3/objects/contacts"


@pytest.fixture(scope="module")
def server() -> Iterator[HubSpotEmulator]:
    with HubSpotEmulator(rate_limit=1000) as emu:
        yield emu


# -- routing -------------------------------------------------------------------------------------


def test_unknown_route_is_404_with_correlation_id(emu, http):
    r = http.get(f"{emu.url}/nope/v1/thing")
    assert r.status_code == 404
    body = r.json()
    assert body["status"] == "error" and body["message"] == "resource not found"
    assert body["correlationId"] == r.headers["X-HubSpot-Correlation-Id"]


def test_wrong_method_is_405_with_allow(emu, http):
    r = http.delete(f"{emu.url}/contacts/v1/contact/batch/")
    assert r.status_code == 405
    assert "POST" in r.headers["Allow"]


def test_trailing_slash_is_optional_and_keep_alive_reuses_connection(emu, http):
    a = http.get(f"{emu.url}{CONTACTS}")
    b = http.get(f"{emu.url}{CONTACTS}/")
    assert a.status_code == b.status_code == 200
    assert a.headers["Content-Length"]
    assert a.headers.get("Connection", "").lower() != "close"


# -- auth ----------------------------------------------------------------------------------------


def test_missing_and_unknown_tokens_are_401(emu):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        r = requests.get(f"{emu.url}{CONTACTS}", headers=headers)
        assert r.status_code == 401
        body = r.json()
        assert body["category"] == "INVALID_AUTHENTICATION"
        assert body["message"].startswith("Authentication credentials not found.")
        assert body["correlationId"] == r.headers["X-HubSpot-Correlation-Id"]
        assert r.headers["x-hubspot-auth-failure"] == "401 Unauthorized"
    assert emu.stats["auth_failures"] == 3


def test_missing_scope_is_403(emu):
    emu.add_token("read-only", {"crm.objects.contacts.read"})
    headers = {"Authorization": "Bearer read-only"}
    assert requests.get(f"{emu.url}{CONTACTS}", headers=headers).status_code == 200
    r = requests.post(f"{emu.url}{CONTACTS}", json={"properties": {}}, headers=headers)
    assert r.status_code == 403
    body = r.json()
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredScopes"] == ["crm.objects.contacts.write"]
    assert body["links"]["scopes"] == "https://developers.hubspot.com/scopes"


def test_developer_key_routes_accept_only_hapikey(emu, http):
    path = f"{emu.url}/integrations/v1/42/timeline/event-types"
    assert http.get(path).status_code == 401  # a bearer token is not accepted here
    assert requests.get(path, params={"hapikey": "wrong"}).status_code == 401
    r = requests.get(path, params={"hapikey": emu.developer_api_key})
    assert r.status_code == 200 and r.json() == []


# -- rate limits ---------------------------------------------------------------------------------


def test_rate_limit_headers_and_ten_secondly_429(emu, http):
    emu.rate_limit = 3
    emu.interval_ms = 1000
    seen = [http.get(f"{emu.url}{CONTACTS}") for _ in range(3)]
    assert [r.headers["X-HubSpot-RateLimit-Remaining"] for r in seen] == ["2", "1", "0"]
    assert seen[0].headers["X-HubSpot-RateLimit-Max"] == "3"
    assert seen[0].headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "1000"
    assert "X-HubSpot-RateLimit-Daily" not in seen[0].headers
    r = http.get(f"{emu.url}{CONTACTS}")
    assert r.status_code == 429
    body = r.json()
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert body["errorType"] == "RATE_LIMIT" and body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["groupName"].startswith("publicapi:")
    assert body["correlationId"] == r.headers["X-HubSpot-Correlation-Id"]
    assert emu.stats["429"] == 1
    time.sleep(1.05)
    assert http.get(f"{emu.url}{CONTACTS}").status_code == 200


def test_429s_do_not_consume_the_window_or_count_as_writes(emu, http):
    emu.rate_limit = 1
    emu.interval_ms = 600
    assert http.post(f"{emu.url}{CONTACTS}", json={"properties": {"email": "a@example.com"}}).status_code == 201
    for _ in range(5):
        assert http.post(f"{emu.url}{CONTACTS}", json={"properties": {}}).status_code == 429
    assert emu.stats["writes"] == 1
    time.sleep(0.65)
    assert http.get(f"{emu.url}{CONTACTS}").status_code == 200


def test_daily_limit(emu, http):
    emu.daily_limit = 2
    r = http.get(f"{emu.url}{CONTACTS}")
    assert r.headers["X-HubSpot-RateLimit-Daily"] == "2"
    assert r.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "1"
    assert http.get(f"{emu.url}{CONTACTS}").headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    r = http.get(f"{emu.url}{CONTACTS}")
    assert r.status_code == 429
    assert r.json()["policyName"] == "DAILY"
    assert r.json()["message"] == "You have reached your daily limit."


def test_search_has_its_own_secondly_bucket_without_headers(emu, http):
    emu.rate_limit = 2
    url = f"{emu.url}{CONTACTS}/search"
    answers = [http.post(url, json={}) for _ in range(5)]
    assert [r.status_code for r in answers] == [200, 200, 200, 200, 429]
    assert not any(h.startswith("X-HubSpot-RateLimit") for h in answers[0].headers)
    assert answers[-1].json()["policyName"] == "SECONDLY"
    assert answers[-1].json()["message"] == "You have reached your secondly limit."
    # the ten-secondly window is untouched by search
    assert http.get(f"{emu.url}{CONTACTS}").headers["X-HubSpot-RateLimit-Remaining"] == "1"


def test_rate_window_is_per_token(emu, http):
    emu.rate_limit = 1
    emu.add_token("other")
    assert http.get(f"{emu.url}{CONTACTS}").status_code == 200
    assert http.get(f"{emu.url}{CONTACTS}").status_code == 429
    assert requests.get(f"{emu.url}{CONTACTS}", headers={"Authorization": "Bearer other"}).status_code == 200


# -- faults --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "ctype"),
    [
        ("500", 500, "application/json"),
        ("502", 502, "application/json"),
        ("502_html", 502, "text/html"),
        ("524_html", 524, "text/html"),
        ("503", 503, "application/json"),
        ("504", 504, "application/json"),
        ("423", 423, "application/json"),
    ],
)
def test_status_faults(emu, http, kind, status, ctype):
    emu.inject_fault(kind, path=CONTACTS)
    r = http.get(f"{emu.url}{CONTACTS}")
    assert r.status_code == status
    assert r.headers["Content-Type"].startswith(ctype)
    assert r.headers["X-HubSpot-Correlation-Id"]
    if ctype == "application/json":
        assert r.json()["correlationId"] == r.headers["X-HubSpot-Correlation-Id"]
    assert http.get(f"{emu.url}{CONTACTS}").status_code == 200
    assert emu.stats["faults"] == 1


@pytest.mark.parametrize("policy", ["TEN_SECONDLY_ROLLING", "SECONDLY", "DAILY"])
def test_429_fault_policies_and_retry_after(emu, http, policy):
    emu.inject_fault("429", policy=policy, retry_after=3)
    r = http.get(f"{emu.url}{CONTACTS}")
    assert r.status_code == 429
    assert r.json()["policyName"] == policy
    assert r.headers["Retry-After"] == "3"
    assert emu.stats["429"] == 1


def test_fault_queue_is_fifo_and_matches_path_and_method(emu, http):
    emu.inject_fault("500", path="/contacts/v1/", method="POST")
    emu.inject_fault("503", count=2)
    assert http.get(f"{emu.url}{CONTACTS}").status_code == 503  # first fault does not match
    assert http.post(f"{emu.url}/contacts/v1/contact", json={}).status_code == 500
    assert http.get(f"{emu.url}{CONTACTS}").status_code == 503
    assert http.get(f"{emu.url}{CONTACTS}").status_code == 200
    assert emu.pending_faults == 0
    with pytest.raises(ValueError):
        emu.inject_fault("teapot")


def test_drop_before_does_not_apply_the_write(emu, http):
    emu.inject_fault("drop_before")
    with pytest.raises(requests.ConnectionError):
        http.post(f"{emu.url}{CONTACTS}", json={"properties": {"email": "a@example.com"}})
    assert emu.state.count_contacts() == 0
    assert emu.requests[-1].status == 0
    assert http.post(f"{emu.url}{CONTACTS}", json={"properties": {"email": "a@example.com"}}).status_code == 201


def test_drop_after_applies_the_write_then_loses_the_response(emu, http):
    emu.inject_fault("drop_after")
    with pytest.raises(requests.ConnectionError):
        http.post(f"{emu.url}{CONTACTS}", json={"properties": {"email": "a@example.com"}})
    assert emu.state.count_contacts() == 1
    r = http.post(f"{emu.url}{CONTACTS}", json={"properties": {"email": "a@example.com"}})
    assert r.status_code == 409  # the naive retry exposes the duplicate
    assert emu.stats["writes"] == 1 and emu.stats["dropped"] == 1


def test_truncated_json(emu, http):
    emu.inject_fault("truncated_json")
    r = http.post(f"{emu.url}{CONTACTS}", json={"properties": {"email": "a@example.com"}})
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    assert emu.state.count_contacts() == 1


def test_slow_fault_sleeps_then_answers(emu, http):
    emu.inject_fault("slow", seconds=0.3)
    start = time.monotonic()
    assert http.get(f"{emu.url}{CONTACTS}").status_code == 200
    assert time.monotonic() - start >= 0.3
    with pytest.raises(requests.Timeout):
        emu.inject_fault("slow", seconds=0.5)
        http.get(f"{emu.url}{CONTACTS}", timeout=0.1)


def test_reset_aborts_requests_still_sleeping(emu):
    emu.inject_fault("slow", seconds=0.4)
    outcome: list[object] = []

    def call() -> None:
        try:
            outcome.append(
                requests.post(
                    f"{emu.url}{CONTACTS}",
                    json={"properties": {"email": "late@example.com"}},
                    headers={"Authorization": f"Bearer {emu.token}"},
                ).status_code
            )
        except requests.ConnectionError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    time.sleep(0.15)
    emu.reset()
    thread.join()
    assert isinstance(outcome[0], requests.ConnectionError)
    assert emu.state.count_contacts() == 0 and emu.requests == [] and emu.stats["writes"] == 0


def test_expired_token_fault(emu, http):
    emu.inject_fault("expired_token")
    r = http.get(f"{emu.url}{CONTACTS}")
    assert r.status_code == 401
    assert r.json()["category"] == "EXPIRED_AUTHENTICATION"
    assert r.json()["message"] == "The OAuth token used to make this call expired 0 second(s) ago."


def test_random_faults_are_seeded_and_replayable(emu):
    def run() -> list[int]:
        emu.reset()
        emu.fault_rate = 0.5
        emu.fault_kinds = ["500", "503", "429"]
        with requests.Session() as s:
            s.headers["Authorization"] = f"Bearer {emu.token}"
            return [s.get(f"{emu.url}{CONTACTS}").status_code for _ in range(40)]

    first, second = run(), run()
    assert first == second
    assert 200 in first and set(first) - {200}
    assert emu.stats["faults"] == sum(1 for s in first if s != 200)


def test_oauth_token_endpoint_is_exempt_from_random_faults(emu):
    emu.add_oauth_client("cid", "secret", "rt")
    emu.fault_rate = 1.0
    for _ in range(5):
        r = requests.post(
            f"{emu.url}/oauth/v1/token",
            data={"grant_type": "refresh_token", "client_id": "cid", "client_secret": "secret", "refresh_token": "rt"},
        )
        assert r.status_code == 200


def test_all_fault_kinds_are_known():
    assert set(FAULT_KINDS) >= {"429", "500", "502", "502_html", "524_html", "503", "504", "423", "slow"}
    assert {"drop_before", "drop_after", "truncated_json", "expired_token"} <= set(FAULT_KINDS)


# -- latency / concurrency -----------------------------------------------------------------------


def test_latency_overlaps_across_concurrent_requests(emu):
    emu.latency_ms = 200
    results: list[int] = []

    def call() -> None:
        results.append(
            requests.get(f"{emu.url}{CONTACTS}", headers={"Authorization": f"Bearer {emu.token}"}).status_code
        )

    threads = [threading.Thread(target=call) for _ in range(8)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    assert results == [200] * 8
    assert 0.2 <= elapsed < 1.0


# -- recording / reset ---------------------------------------------------------------------------


def test_requests_are_recorded(emu, http):
    http.post(f"{emu.url}{CONTACTS}?foo=1&foo=2", json={"properties": {"email": "a@example.com"}})
    rec = emu.requests[-1]
    assert rec.method == "POST" and rec.path == CONTACTS
    assert rec.query == {"foo": ["1", "2"]}
    assert rec.headers["authorization"] == f"Bearer {emu.token}"
    assert rec.json == {"properties": {"email": "a@example.com"}}
    assert rec.body.startswith(b"{")
    assert rec.status == 201
    assert emu.stats["requests"] == 1 and emu.stats["writes"] == 1


def test_reset_restores_everything(emu, http):
    emu.state.add_contact({"email": "a@example.com"})
    emu.add_token("extra")
    emu.inject_fault("500", count=5)
    emu.rate_limit = 1
    emu.v1_lists_sunset = True
    http.get(f"{emu.url}{CONTACTS}")
    emu.reset()
    assert emu.state.count_contacts() == 0
    assert emu.requests == [] and emu.stats["requests"] == 0
    assert emu.rate_limit == 1000 and emu.v1_lists_sunset is False and emu.pending_faults == 0
    assert requests.get(f"{emu.url}{CONTACTS}", headers={"Authorization": "Bearer extra"}).status_code == 401
    assert http.get(f"{emu.url}{CONTACTS}").status_code == 200


def test_context_manager_and_free_port():
    with HubSpotEmulator() as a, HubSpotEmulator() as b:
        assert a.url != b.url and a.url.startswith("http://127.0.0.1:")
        assert requests.get(f"{a.url}{CONTACTS}", headers={"Authorization": "Bearer emulator-token"}).ok
    assert not a.running


def test_state_file_round_trip(tmp_path):
    path = tmp_path / "state.json"
    with HubSpotEmulator(state_file=str(path)) as emu:
        vid = emu.state.add_contact({"email": "keep@example.com", "firstname": "Kim"})
        emu.state.create_list("Kept")
    assert path.exists()
    with HubSpotEmulator(state_file=str(path)) as emu:
        assert emu.state.contact(vid)["properties"]["firstname"] == "Kim"
        assert emu.state.lists()[0]["name"] == "Kept"
        assert emu.state.add_contact({"email": "new@example.com"}) == vid + 1


def test_throughput_many_small_requests(emu):
    emu.rate_limit = 0  # unlimited
    start = time.monotonic()
    with requests.Session() as s:
        s.headers["Authorization"] = f"Bearer {emu.token}"
        for _ in range(500):
            assert s.get(f"{emu.url}/contacts/v1/contacts/statistics").status_code == 200
    elapsed = time.monotonic() - start
    assert elapsed < 5, f"500 keep-alive requests took {elapsed:.2f}s"
