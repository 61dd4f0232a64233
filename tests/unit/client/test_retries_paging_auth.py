"""Issue 20: correct under retries and restarts — Retry-After ceiling, paging loops, redaction racing an
OAuth refresh, a single refresh for many threads.

Every test drives time with the fake clock (or none at all) and forces its interleaving with events and
barriers: none depends on timing or luck.
"""

from __future__ import annotations

import sys
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_hubspot.client import HubSpotClient, HubSpotConfigError, HubSpotRateLimitError
from airflow_provider_hubspot.client import transport as transport_module
from airflow_provider_hubspot.client.auth import Auth
from airflow_provider_hubspot.client.errors import (
    HubSpotPagingError,
    HubSpotRetryAfterTooLongError,
    HubSpotServerError,
)
from airflow_provider_hubspot.client.paging import CURSOR, HAS_MORE, OFFSET, TIME_OFFSET, VID_OFFSET, paginate
from airflow_provider_hubspot.client.transport import Transport

CONTACTS = "/crm/objects/2026-03/contacts"


def _list_contacts(client: HubSpotClient) -> Any:
    return client.transport.request("GET", CONTACTS, params={"limit": 1})


# -- 1. Retry-After without a ceiling -----------------------------------------------------------


def test_a_retry_after_above_the_cap_stops_at_once_without_sleeping(hubspot_emulator, make_client, clock):
    hubspot_emulator.inject_fault("429", retry_after=86400)
    client = make_client(max_retry_after=300)
    with pytest.raises(HubSpotRateLimitError) as info:
        _list_contacts(client)
    error = info.value
    assert isinstance(error, HubSpotRetryAfterTooLongError) and not error.retryable
    assert "86400" in str(error) and "max_retry_after" in str(error) and "300" in str(error)
    assert error.retry_after == 86400 and error.status == 429 and error.correlation_id
    assert all(seconds <= 300 for seconds in clock.sleeps), f"slept above the cap: {clock.sleeps}"
    assert client.stats["requests"] == 1 and client.stats["retries"] == 0
    # the shared pacing was not paused for a day either: other threads are not held back
    assert client.transport.limiter._not_before <= clock.now
    before = list(clock.sleeps)
    assert _list_contacts(client).status == 200
    assert clock.sleeps == before, "the next request goes out without a wait"


def test_the_default_cap_is_300_seconds(hubspot_emulator, make_client, clock):
    hubspot_emulator.inject_fault("429", retry_after=301)
    client = make_client()
    assert client.transport.max_retry_after == 300
    with pytest.raises(HubSpotRetryAfterTooLongError):
        _list_contacts(client)
    assert not any(seconds > 300 for seconds in clock.sleeps)


def test_a_retry_after_at_the_cap_is_waited_but_jitter_never_exceeds_the_cap(hubspot_emulator, make_client, clock,
                                                                               monkeypatch):
    monkeypatch.setattr(transport_module.random, "uniform", lambda low, high: high)  # the largest jitter
    hubspot_emulator.inject_fault("429", retry_after=300)
    client = make_client(max_retry_after=300)
    assert _list_contacts(client).status == 200
    assert client.stats["retries"] == 1
    assert max(clock.sleeps) == 300, clock.sleeps


def test_a_larger_cap_lets_the_client_wait_the_long_retry_after(hubspot_emulator, make_client, clock):
    hubspot_emulator.inject_fault("429", retry_after=86400)
    client = make_client(max_retry_after=100_000)
    assert _list_contacts(client).status == 200
    assert any(86400 <= seconds <= 86400.25 for seconds in clock.sleeps), clock.sleeps


def test_a_negative_cap_is_a_config_error(hubspot_emulator, make_client):
    with pytest.raises(HubSpotConfigError, match="max_retry_after"):
        make_client(max_retry_after=-1)


def test_the_operators_treat_the_stop_as_resumable():
    from airflow_provider_hubspot.operators.contacts import RESUMABLE_ERRORS

    assert issubclass(HubSpotRetryAfterTooLongError, RESUMABLE_ERRORS)


def test_the_hook_reads_max_retry_after_from_the_connection_extra(hubspot_emulator):
    from airflow_provider_hubspot.hooks.hubspot import HubSpotHook

    conn = SimpleNamespace(conn_id="hubspot_default", host=hubspot_emulator.url, schema=None, port=None,
                           login=None, password=hubspot_emulator.token, extra_dejson={"max_retry_after": "30"})
    client = HubSpotHook.client_from_connection(conn, mask=lambda secret: None)
    try:
        assert client.transport.max_retry_after == 30.0
    finally:
        client.close()


# -- 2. Paging ----------------------------------------------------------------------------------


class FakePages:
    """Answers ``fetch_page`` from a list of page bodies (the last one repeats) and refuses to loop."""

    def __init__(self, pages: list[Any], limit: int = 50) -> None:
        self.pages = pages
        self.cursors: list[dict[str, Any]] = []
        self.limit = limit

    def __call__(self, cursor: dict[str, Any]) -> Any:
        self.cursors.append(dict(cursor))
        if len(self.cursors) > self.limit:
            raise AssertionError(f"paging looped: {len(self.cursors)} pages fetched, cursors {self.cursors[-4:]}")
        return self.pages[min(len(self.cursors) - 1, len(self.pages) - 1)]


def _drain(iterator: Any) -> tuple[list[Any], BaseException | None]:
    items: list[Any] = []
    try:
        for item in iterator:
            items.append(item)
    except Exception as exc:
        return items, exc
    return items, None


def test_the_paging_error_is_a_non_retried_server_error():
    assert issubclass(HubSpotPagingError, HubSpotServerError) and not HubSpotPagingError.retryable


def test_has_more_without_a_new_offset_fails_instead_of_repeating_the_page():
    fetch = FakePages([{"lists": [1, 2], "has-more": True}])  # no "offset"
    items, error = _drain(paginate(fetch, OFFSET, "lists"))
    assert items == [1, 2], "the first page is not repeated"
    assert isinstance(error, HubSpotPagingError), error
    assert "page 1" in str(error) and "offset" in str(error)
    assert len(fetch.cursors) == 1


def test_a_repeated_cursor_fails_instead_of_ending_silently():
    fetch = FakePages([{"lists": [1], "has-more": True, "offset": "A"},
                       {"lists": [2], "has-more": True, "offset": "A"}])
    items, error = _drain(paginate(fetch, OFFSET, "lists"))
    assert items == [1, 2]
    assert isinstance(error, HubSpotPagingError), error
    assert "page 2" in str(error) and "offset=A" in str(error)


def test_cycling_cursors_are_detected():
    fetch = FakePages([{"events": [1], "hasMore": True, "offset": "A"},
                       {"events": [2], "hasMore": True, "offset": "B"},
                       {"events": [3], "hasMore": True, "offset": "A"}])
    items, error = _drain(paginate(fetch, HAS_MORE, "events"))
    assert isinstance(error, HubSpotPagingError), error  # before the fix: an AssertionError from FakePages
    assert items == [1, 2, 3]
    assert "page 3" in str(error) and "offset=A" in str(error) and "already followed" in str(error)
    assert fetch.cursors == [{}, {"offset": "A"}, {"offset": "B"}]


def test_a_cursor_pointing_back_to_the_first_page_is_a_loop():
    fetch = FakePages([{"results": [1], "paging": {"next": {"after": "X"}}},
                       {"results": [2], "paging": {"next": {"after": "Y"}}},
                       {"results": [3], "paging": {"next": {"after": "X"}}}])
    items, error = _drain(paginate(fetch, CURSOR, "results"))
    assert isinstance(error, HubSpotPagingError) and items == [1, 2, 3]


def test_an_empty_page_with_has_more_and_a_new_cursor_is_followed():
    fetch = FakePages([{"contacts": [1], "has-more": True, "vid-offset": 1, "time-offset": 10},
                       {"contacts": [], "has-more": True, "vid-offset": 2, "time-offset": 20},
                       {"contacts": [3], "has-more": False, "vid-offset": 0, "time-offset": 0}])
    items, error = _drain(paginate(fetch, TIME_OFFSET, "contacts"))
    assert error is None and items == [1, 3]
    assert fetch.cursors[-1] == {"vidOffset": 2, "timeOffset": 20}


def test_an_empty_page_with_has_more_and_no_cursor_fails_instead_of_ending_silently():
    fetch = FakePages([{"contacts": [1], "has-more": True, "vid-offset": 1},
                       {"contacts": [], "has-more": True}])
    items, error = _drain(paginate(fetch, VID_OFFSET, "contacts"))
    assert items == [1]
    assert isinstance(error, HubSpotPagingError), error
    assert "page 2 (0 items)" in str(error) and "vidOffset=1" in str(error)


def test_normal_endings_stop_and_max_pages_are_unchanged():
    pages = [{"results": [1, 2], "paging": {"next": {"after": "2"}}}, {"results": [3]}]
    assert list(paginate(FakePages(pages), CURSOR, "results")) == [1, 2, 3]
    assert list(paginate(FakePages(pages), CURSOR, "results", max_pages=1)) == [1, 2]
    assert list(paginate(FakePages(pages), CURSOR, "results", stop=lambda item: item == 2)) == [1]
    done = [{"lists": [1], "has-more": False}]
    assert list(paginate(FakePages(done), OFFSET, "lists")) == [1]
    assert list(paginate(FakePages([[1, 2]]), HAS_MORE, "")) == [1, 2]




# -- 3. Redaction racing an OAuth refresh ------------------------------------------------------


def _bare_transport() -> Transport:
    auth = Auth(access_token="pat-secret-one")
    return Transport("http://127.0.0.1:9", auth, sleep=lambda s: None)


class _SlowSecret(str):
    """A secret whose truth test (``if secret`` in :meth:`Transport.redact`) runs a callback: it lets a
    test register a new secret exactly while redact() iterates the known ones."""

    callback: Any = None

    def __len__(self) -> int:
        callback, type(self).callback = type(self).callback, None
        if callback is not None:
            callback()
        return str.__len__(self)


def test_a_secret_registered_while_redacting_does_not_break_redaction():
    transport = _bare_transport()
    transport._register_secret(_SlowSecret("refresh-secret-two"))
    _SlowSecret.callback = lambda: transport._register_secret("access-secret-three")
    text = "pat-secret-one refresh-secret-two access-secret-three"
    redacted = transport.redact(text)  # before the fix: RuntimeError: Set changed size during iteration
    assert "pat-secret-one" not in redacted and "refresh-secret-two" not in redacted
    assert "access-secret-three" not in transport.redact(text), "the new secret is known from then on"


def test_another_thread_registering_while_one_redacts_is_safe():
    transport = _bare_transport()
    iterating, registered = threading.Event(), threading.Event()

    def in_the_middle_of_redact() -> None:  # runs in the redacting thread, inside its loop over secrets
        iterating.set()
        assert registered.wait(30)

    def refresher() -> None:  # an OAuth refresh in another thread registers the new token
        assert iterating.wait(30)
        transport._register_secret("access-secret-three")
        registered.set()

    transport._register_secret(_SlowSecret("refresh-secret-two"))
    _SlowSecret.callback = in_the_middle_of_redact
    thread = threading.Thread(target=refresher)
    thread.start()
    try:
        redacted = transport.redact("refresh-secret-two and pat-secret-one")
    finally:
        thread.join(30)
    assert redacted == "*** and ***"


def test_many_threads_redacting_while_secrets_are_registered_never_raise():
    transport = _bare_transport()
    errors: list[BaseException] = []
    stop = threading.Event()

    def redactor() -> None:
        try:
            while not stop.is_set():
                transport.redact("pat-secret-one and some text")
        except BaseException as exc:
            errors.append(exc)

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    threads = [threading.Thread(target=redactor) for _ in range(8)]
    try:
        for thread in threads:
            thread.start()
        for i in range(1000):
            transport._register_secret(f"token-{i}")
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        sys.setswitchinterval(old_interval)
    assert not errors, errors[:1]
    assert transport.redact("token-999") == "***"


# -- 4. One OAuth refresh however many threads find the token expired -------------------------


class _AuthClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_many_threads_finding_the_token_expired_refresh_it_exactly_once(hubspot_emulator, monkeypatch):
    """16 threads all see the expired token, then wait while one of them refreshes (a barrier and an event
    force the interleaving that lost a refresh per thread before the fix: the generation was read after
    the expiry check, so a thread delayed between the two took the new generation for the one it saw)."""
    hubspot_emulator.add_oauth_client("cid", "csecret", "refresh-1")
    auth_clock = _AuthClock()
    auth = Auth(client_id="cid", client_secret="csecret", refresh_token="refresh-1", clock=auth_clock)
    transport = Transport(hubspot_emulator.url, auth, sleep=lambda s: None, pool_size=16)
    threads_count = 16
    try:
        transport.request("GET", CONTACTS, params={"limit": 1})
        assert hubspot_emulator.stats["oauth_refreshes"] == 1
        auth_clock.now += 3600  # the token (1800 s) looks expired to every thread from now on

        barrier = threading.Barrier(threads_count, timeout=30)
        refreshed = threading.Event()
        local = threading.local()
        needs_refresh, store_token = Auth._needs_refresh, Auth._store_token

        def first_check_waits(self: Auth) -> bool:
            result = needs_refresh(self)
            if result and not getattr(local, "checked", False):
                local.checked = True
                if barrier.wait() != 0:  # everyone saw "expired"; all but one wait for its refresh
                    assert refreshed.wait(30), "the refresh never happened"
            return result

        def store_and_signal(self: Auth, body: Any) -> None:
            store_token(self, body)
            refreshed.set()

        monkeypatch.setattr(Auth, "_needs_refresh", first_check_waits)
        monkeypatch.setattr(Auth, "_store_token", store_and_signal)
        statuses: list[int] = []
        errors: list[BaseException] = []

        def call() -> None:
            try:
                statuses.append(transport.request("GET", CONTACTS, params={"limit": 1}).status)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=call) for _ in range(threads_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors[:1]
        assert statuses == [200] * threads_count
        assert hubspot_emulator.stats["oauth_refreshes"] == 2, "one refresh for the expiry, not one per thread"
        assert auth.refresh_count == 2
    finally:
        transport.close()
