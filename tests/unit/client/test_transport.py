"""The request path: pacing, retries by cause, error mapping, defensive parsing, OAuth refresh."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from airflow_provider_hubspot.client import (
    HubSpotAuthError,
    HubSpotClient,
    HubSpotConflictError,
    HubSpotConnectionError,
    HubSpotDailyLimitError,
    HubSpotMissingScopesError,
    HubSpotNotFoundError,
    HubSpotRateLimitError,
    HubSpotRefreshError,
    HubSpotServerError,
    HubSpotValidationError,
)
from airflow_provider_hubspot.client.ratelimit import RateLimiter

CONTACTS = "/crm/objects/2026-03/contacts"


def _list_contacts(client: HubSpotClient) -> object:
    return client.transport.request("GET", CONTACTS, params={"limit": 1})


def test_pacing_keeps_a_burst_under_the_limit_without_429(hubspot_emulator):
    hubspot_emulator.rate_limit = 10
    hubspot_emulator.interval_ms = 1000
    client = HubSpotClient(hubspot_emulator.token, base_url=hubspot_emulator.url, rate_limit=10,
                           rate_limit_interval=1.0, max_retries=0)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: _list_contacts(client), range(35)))
    assert len(results) == 35
    assert hubspot_emulator.stats["429"] == 0
    assert client.stats["rate_limited"] == 0
    client.close()


def test_rate_limiter_never_exceeds_the_window_under_threads(clock):
    limiter = RateLimiter(5, 10.0, margin=0.0, clock=clock, sleep=clock.sleep)
    sent = [limiter.acquire() or clock.now for _ in range(23)]
    for i, start in enumerate(sent):
        inside = [t for t in sent if start <= t < start + 10.0]
        assert len(inside) <= 5, f"window starting at request {i} holds {len(inside)} requests"


def test_rate_limiter_adopts_a_lower_max_from_headers(clock):
    limiter = RateLimiter(100, 10.0, clock=clock, sleep=clock.sleep)
    limiter.update_from_headers({"X-HubSpot-RateLimit-Max": "50",
                                 "X-HubSpot-RateLimit-Interval-Milliseconds": "5000"})
    assert limiter.max_requests == 50
    assert limiter.interval == 5.0
    limiter.update_from_headers({"X-HubSpot-RateLimit-Max": "190"})
    assert limiter.max_requests == 100, "never paces above the configured limit"


def test_ten_secondly_429_waits_retry_after_then_succeeds(hubspot_emulator, make_client, clock):
    hubspot_emulator.inject_fault("429", policy="TEN_SECONDLY_ROLLING", retry_after=3)
    client = make_client()
    assert _list_contacts(client).status == 200
    assert client.stats["retries"] == 1
    assert any(3.0 <= s < 3.3 for s in clock.sleeps), clock.sleeps


def test_ten_secondly_429_without_retry_after_waits_a_slot_not_a_window(hubspot_emulator, make_client, clock):
    # Issue 17: the window frees continuously, so one 429 holds every thread back for one slot of it
    # (interval / budget = 0.1 s at 100 / 10 s), doubled per consecutive 429, never more than a window.
    hubspot_emulator.inject_fault("429", policy="TEN_SECONDLY_ROLLING", count=3)
    client = make_client()
    _list_contacts(client)
    assert client.stats["retries"] == 3
    waits = [s for s in clock.sleeps if s > 0]
    assert len(waits) == 3, waits
    for n, wait in enumerate(waits):
        assert 0.1 * 2**n <= wait <= 0.1 * 2**n * 1.25 + 1e-9, waits


def test_consecutive_429s_without_retry_after_grow_to_one_window_at_most(hubspot_emulator, make_client, clock):
    hubspot_emulator.inject_fault("429", policy="TEN_SECONDLY_ROLLING", count=10)
    client = make_client(max_retries=10)
    _list_contacts(client)
    waits = [s for s in clock.sleeps if s > 0]
    assert len(waits) == 10 and max(waits) <= 10.0 * 1.25 and max(waits) >= 10.0, waits
    assert all(w < 10.0 for w in waits[:7]), "0.1 s doubled: a window only from the 8th 429 on"


def test_secondly_429_waits_about_a_second(hubspot_emulator, make_client, clock):
    hubspot_emulator.inject_fault("429", policy="SECONDLY")
    client = make_client()
    _list_contacts(client)
    assert any(1.0 <= s < 1.3 for s in clock.sleeps), clock.sleeps


def test_daily_limit_fails_at_once_without_retry(hubspot_emulator, make_client):
    hubspot_emulator.inject_fault("429", policy="DAILY")
    client = make_client()
    with pytest.raises(HubSpotDailyLimitError) as info:
        _list_contacts(client)
    assert client.stats["requests"] == 1
    assert client.stats["retries"] == 0
    assert "daily" in str(info.value).lower() and "midnight" in str(info.value)


@pytest.mark.parametrize("kind", ["500", "502", "502_html", "503", "504", "524_html", "423",
                                  "drop_before", "truncated_json"])
def test_transient_failures_are_retried(hubspot_emulator, make_client, kind):
    hubspot_emulator.inject_fault(kind, count=2)
    client = make_client()
    assert _list_contacts(client).status == 200
    assert client.stats["retries"] == 2


def test_backoff_is_exponential_and_bounded(hubspot_emulator, make_client, clock):
    hubspot_emulator.inject_fault("503", count=3)
    client = make_client(max_retries=5)
    _list_contacts(client)
    waits = clock.sleeps
    assert len(waits) == 3
    assert waits[0] <= 1.0 and waits[2] <= 4.0 and waits[2] >= 2.0


def test_retries_are_bounded_and_the_error_names_the_correlation_id(hubspot_emulator, make_client):
    hubspot_emulator.inject_fault("502_html", count=10)
    client = make_client(max_retries=2)
    with pytest.raises(HubSpotServerError) as info:
        _list_contacts(client)
    assert client.stats["requests"] == 3
    assert info.value.status == 502
    assert "<html" not in str(info.value).lower()
    assert f"GET {CONTACTS}" in str(info.value)


def test_429_storm_longer_than_the_budget_ends_in_a_clear_error(hubspot_emulator, make_client):
    hubspot_emulator.inject_fault("429", count=10)
    client = make_client(max_retries=3)
    with pytest.raises(HubSpotRateLimitError) as info:
        _list_contacts(client)
    assert client.stats["requests"] == 4
    assert info.value.correlation_id


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda c: c.contacts.get("999999"), HubSpotNotFoundError),
        (lambda c: c.contacts.create({"email": "dup@example.com"}), HubSpotConflictError),
        (lambda c: c.contacts.create({"nosuchproperty": "x"}), HubSpotValidationError),
    ],
)
def test_client_errors_are_not_retried(hubspot_emulator, make_client, call, error):
    hubspot_emulator.state.add_contact({"email": "dup@example.com"})
    client = make_client()
    with pytest.raises(error):
        call(client)
    assert client.stats["retries"] == 0
    assert client.stats["requests"] == 1


def test_conflict_exposes_the_existing_id(hubspot_emulator, make_client):
    vid = hubspot_emulator.state.add_contact({"email": "dup@example.com"})
    with pytest.raises(HubSpotConflictError) as info:
        make_client().contacts.create({"email": "dup@example.com"})
    assert info.value.existing_id == str(vid)


def test_bad_token_is_an_auth_error_and_not_retried(hubspot_emulator, make_client):
    client = make_client(token="not-a-valid-token")
    with pytest.raises(HubSpotAuthError) as info:
        _list_contacts(client)
    assert info.value.status == 401
    assert info.value.category == "INVALID_AUTHENTICATION"
    assert client.stats["requests"] == 1


def test_missing_scope_is_reported_with_the_scope(hubspot_emulator, make_client):
    hubspot_emulator.add_token("read-only-token", scopes={"crm.objects.contacts.read"})
    client = make_client(token="read-only-token")
    with pytest.raises(HubSpotMissingScopesError) as info:
        client.contacts.create({"email": "a@example.com"})
    assert info.value.required_scopes
    assert client.stats["retries"] == 0


def test_connection_refused_is_retried_then_a_connection_error(make_client):
    client = make_client(base_url="http://127.0.0.1:9", max_retries=2)
    with pytest.raises(HubSpotConnectionError):
        _list_contacts(client)
    assert client.stats["requests"] == 3


def test_timeout_is_retried(hubspot_emulator, make_client):
    hubspot_emulator.inject_fault("slow", seconds=1.5)
    client = make_client(timeout=0.5)
    assert _list_contacts(client).status == 200
    assert client.stats["retries"] == 1


def test_merge_success_body_is_the_literal_text(hubspot_emulator, make_client):
    a = hubspot_emulator.state.add_contact({"email": "a@example.com"})
    b = hubspot_emulator.state.add_contact({"email": "b@example.com"})
    client = make_client(api_version="v1")
    assert client.contacts.merge(a, b) == "SUCCESS"


# -- OAuth -------------------------------------------------------------------------------------


def _oauth_client(hubspot_emulator, make_client, **options):
    hubspot_emulator.add_oauth_client("cid", "csecret", "refresh-1")
    return make_client(token="", client_id="cid", client_secret="csecret", refresh_token="refresh-1",
                       **options)


def test_oauth_fetches_a_token_before_the_first_call(hubspot_emulator, make_client):
    client = _oauth_client(hubspot_emulator, make_client)
    assert _list_contacts(client).status == 200
    assert client.stats["refreshes"] >= 1
    assert any(r.path == "/oauth/2026-09/token" for r in hubspot_emulator.requests)


def test_oauth_falls_back_to_the_v1_token_endpoint(hubspot_emulator, make_client):
    hubspot_emulator.token_endpoint_2026_available = False
    client = _oauth_client(hubspot_emulator, make_client)
    assert _list_contacts(client).status == 200
    assert any(r.path == "/oauth/v1/token" for r in hubspot_emulator.requests)


def test_oauth_refreshes_once_and_replays_on_expired_authentication(hubspot_emulator, make_client):
    client = _oauth_client(hubspot_emulator, make_client)
    _list_contacts(client)
    hubspot_emulator.inject_fault("expired_token", path=CONTACTS)
    assert _list_contacts(client).status == 200
    token_calls = [r for r in hubspot_emulator.requests if r.path.startswith("/oauth/")]
    assert len(token_calls) == 2
    assert client.stats["retries"] == 0


def test_oauth_refreshes_proactively_from_expires_in(hubspot_emulator, make_client):
    hubspot_emulator.oauth_token_ttl = 2
    client = _oauth_client(hubspot_emulator, make_client)
    client.auth.refresh_margin = 0.5
    _list_contacts(client)
    time.sleep(1.6)
    _list_contacts(client)
    expired = [r for r in hubspot_emulator.requests if r.status == 401]
    assert not expired, "the client refreshed before HubSpot saw an expired token"
    assert client.stats["refreshes"] == 2


def test_revoked_refresh_token_is_a_clear_non_retried_failure(hubspot_emulator, make_client):
    client = _oauth_client(hubspot_emulator, make_client)
    hubspot_emulator.revoke_refresh_token("refresh-1")
    with pytest.raises(HubSpotRefreshError) as info:
        _list_contacts(client)
    assert "Re-authorize" in str(info.value)
    assert "csecret" not in str(info.value) and "refresh-1" not in str(info.value)
    token_calls = [r for r in hubspot_emulator.requests if r.path.startswith("/oauth/")]
    assert len(token_calls) == 1


def test_concurrent_expiry_triggers_a_single_refresh(hubspot_emulator, make_client):
    client = _oauth_client(hubspot_emulator, make_client)
    _list_contacts(client)
    hubspot_emulator.expire_token(client.auth._access_token)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: _list_contacts(client), range(16)))
    token_calls = [r for r in hubspot_emulator.requests if r.path.startswith("/oauth/")]
    assert len(token_calls) == 2, "an expiry seen by many threads at once is refreshed once, not per thread"


# -- secrets -----------------------------------------------------------------------------------

SECRET_TOKEN = "pat-test-SECRET-TOKEN-0123456789"
SECRET_DEV_KEY = "dev-SECRET-KEY-abcdef"


def test_secrets_never_reach_logs_errors_or_repr(hubspot_emulator, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    hubspot_emulator.add_token(SECRET_TOKEN)
    client = make_client(token=SECRET_TOKEN, developer_api_key=SECRET_DEV_KEY, client_id="cid",
                         client_secret="SECRET-client-secret", refresh_token="SECRET-refresh",
                         max_retries=1)
    texts = [repr(client), repr(client.auth)]
    hubspot_emulator.inject_fault("500", count=5)
    for call in (
        lambda: _list_contacts(client),
        lambda: client.transport.request("GET", "/integrations/v1/1/timeline/event-types", developer=True),
        lambda: make_client(token=SECRET_TOKEN, base_url="http://127.0.0.1:9", max_retries=1)
        .contacts.get("1"),
    ):
        try:
            call()
        except Exception as exc:  # every failure path's text is scanned
            texts += [str(exc), repr(exc), str(getattr(exc, "body", ""))]
    texts += [record.getMessage() for record in caplog.records]
    texts += [str(record.args) for record in caplog.records]
    for secret in (SECRET_TOKEN, SECRET_DEV_KEY, "SECRET-client-secret", "SECRET-refresh"):
        assert not [t for t in texts if secret in t], f"{secret} leaked"


def test_rate_limiter_counts_requests_it_did_not_send(clock):
    limiter = RateLimiter(10, 10.0, margin=0.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.update_from_headers({"X-HubSpot-RateLimit-Max": "10", "X-HubSpot-RateLimit-Remaining": "2"})
    start = clock.now
    limiter.acquire()
    assert clock.now == start, "slots were left"
    limiter.acquire()
    limiter.acquire()
    assert clock.now >= start + 10.0, "the window used by others is respected"


def test_a_new_client_respects_a_window_an_earlier_task_used(hubspot_emulator):
    hubspot_emulator.rate_limit, hubspot_emulator.interval_ms = 10, 1500
    first = HubSpotClient(hubspot_emulator.token, base_url=hubspot_emulator.url, rate_limit=10,
                          rate_limit_interval=1.5, max_retries=0)
    for _ in range(8):
        _list_contacts(first)
    second = HubSpotClient(hubspot_emulator.token, base_url=hubspot_emulator.url, rate_limit=10,
                           rate_limit_interval=1.5, max_retries=0)
    for _ in range(6):
        _list_contacts(second)
    assert hubspot_emulator.stats["429"] == 0
