"""A new user's connection mistakes, caught before any request: an account API key in the password
(HubSpot sunset them in 2022 and answers 401), and plain HTTP to another machine (the token in clear)."""

from __future__ import annotations

import json

import pytest

from airflow_provider_hubspot.client import HubSpotClient, HubSpotConfigError
from airflow_provider_hubspot.client.transport import normalize_base_url
from airflow_provider_hubspot.connection_fields import EXTRA_FIELDS
from airflow_provider_hubspot.get_provider_info import get_provider_info
from airflow_provider_hubspot.hooks.hubspot import HubSpotHook

ACCOUNT_API_KEY = "3f2a1b4c-1234-4def-9abc-0123456789ab"


def _set_conn(monkeypatch, **fields):
    fields.setdefault("conn_type", "hubspot")
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(fields))


@pytest.fixture
def no_requests(mocker):
    """Fails the test if anything is sent: the checks must happen while the client is built."""
    return mocker.patch("requests.Session.request", side_effect=AssertionError("a request was sent"))


# ---------------------------------------------------------------------------- account API keys (hapikey)


@pytest.mark.parametrize("token", [ACCOUNT_API_KEY, ACCOUNT_API_KEY.upper(), f"  {ACCOUNT_API_KEY}\n"])
def test_an_account_api_key_in_the_password_is_refused_with_what_to_use(monkeypatch, no_requests, token):
    _set_conn(monkeypatch, password=token)
    with pytest.raises(HubSpotConfigError) as raised:
        HubSpotHook().get_conn()
    message = str(raised.value)
    assert "account API key" in message and "hapikey" in message and "2022" in message
    assert "private app" in message and "pat-" in message and "OAuth" in message
    assert ACCOUNT_API_KEY not in message.lower()  # never echo the secret
    no_requests.assert_not_called()


def test_an_account_api_key_in_the_access_token_extra_is_refused_too(monkeypatch, no_requests):
    _set_conn(monkeypatch, extra={"access_token": ACCOUNT_API_KEY})
    with pytest.raises(HubSpotConfigError, match="account API key"):
        HubSpotHook().get_conn()


def test_test_connection_explains_an_account_api_key(monkeypatch, no_requests):
    _set_conn(monkeypatch, password=ACCOUNT_API_KEY)
    ok, message = HubSpotHook().test_connection()
    assert not ok
    assert "misconfigured" in message and "2022" in message


@pytest.mark.parametrize(
    "token",
    [
        f"pat-na1-{ACCOUNT_API_KEY}",  # private-app token
        f"pat-eu1-{ACCOUNT_API_KEY}",
        "emulator-token",
        "CJSP5qf1KhICAQEYs-gDIIGOBii1hQIyGQAf3xBKmlwHjX7OIpuIFEavB2-qYAGQsF4",  # OAuth access token shape
        f"{ACCOUNT_API_KEY}-extra",
    ],
)
def test_valid_token_shapes_are_accepted(monkeypatch, no_requests, token):
    _set_conn(monkeypatch, password=token)
    assert HubSpotHook().get_conn().auth._access_token == token


def test_allow_legacy_hapikey_keeps_its_meaning(monkeypatch, no_requests):
    # The explicit legacy switch still lets a legacy key through (as it does for the legacy_hapikey extra).
    _set_conn(monkeypatch, password=ACCOUNT_API_KEY, extra={"allow_legacy_hapikey": "true"})
    assert HubSpotHook().get_conn().auth._access_token == ACCOUNT_API_KEY
    _set_conn(monkeypatch, password="tok", extra={"legacy_hapikey": "k"})
    with pytest.raises(HubSpotConfigError, match="2022-11-30"):
        HubSpotHook().get_conn()


def test_a_developer_api_key_in_its_extra_is_not_mistaken_for_an_account_key(monkeypatch, no_requests):
    _set_conn(monkeypatch, password="pat-na1-x", extra={"developer_api_key": ACCOUNT_API_KEY})
    assert HubSpotHook().get_conn().auth.has_developer_key


# ------------------------------------------------------------------------------- plain HTTP to a remote


@pytest.mark.parametrize("host", ["http://example.com", "http://10.0.0.5:8765", "http://api.hubapi.com",
                                  "http://[2001:db8::1]:8765", "http://0.0.0.0:8765"])
def test_plain_http_to_another_machine_is_refused_with_the_reason(monkeypatch, no_requests, host):
    _set_conn(monkeypatch, password="pat-na1-x", host=host)
    with pytest.raises(HubSpotConfigError) as raised:
        HubSpotHook().get_conn()
    message = str(raised.value)
    assert "clear text" in message and "https://" in message and "allow_insecure_http" in message
    assert "pat-na1-x" not in message


def test_plain_http_from_host_schema_and_port_is_refused_too(monkeypatch, no_requests):
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", "hubspot://:tok@crm.internal:8765/http")
    with pytest.raises(HubSpotConfigError, match="clear text"):
        HubSpotHook().get_conn()


@pytest.mark.parametrize("host", ["http://127.0.0.1:8765", "http://localhost", "http://localhost:8765/",
                                  "http://127.5.6.7:1234", "http://[::1]:8765", "http://LOCALHOST:80"])
def test_plain_http_to_this_machine_is_allowed(monkeypatch, no_requests, host):
    _set_conn(monkeypatch, password="tok", host=host)
    assert HubSpotHook().get_conn().base_url == host.rstrip("/")


@pytest.mark.parametrize("flag", [True, "true", "True", "1", "yes"])
def test_plain_http_to_another_machine_with_the_explicit_opt_in(monkeypatch, no_requests, flag):
    _set_conn(monkeypatch, password="tok", host="http://hubspot-emulator:8765", extra={"allow_insecure_http": flag})
    assert HubSpotHook().get_conn().base_url == "http://hubspot-emulator:8765"


@pytest.mark.parametrize("flag", [False, "false", "", None])
def test_a_false_opt_in_is_no_opt_in(monkeypatch, no_requests, flag):
    _set_conn(monkeypatch, password="tok", host="http://example.com", extra={"allow_insecure_http": flag})
    with pytest.raises(HubSpotConfigError, match="clear text"):
        HubSpotHook().get_conn()


@pytest.mark.parametrize("host", ["https://example.com", "https://api.hubapi.com", "https://10.0.0.5:8443"])
def test_https_is_always_allowed(monkeypatch, no_requests, host):
    _set_conn(monkeypatch, password="tok", host=host)
    assert HubSpotHook().get_conn().base_url == host


def test_a_client_built_directly_is_protected_too(no_requests):
    with pytest.raises(HubSpotConfigError, match="clear text"):
        HubSpotClient("tok", base_url="http://example.com")
    assert HubSpotClient("tok", base_url="http://example.com", allow_insecure_http=True).base_url == "http://example.com"
    assert HubSpotClient("tok", base_url="http://127.0.0.1:8765").base_url == "http://127.0.0.1:8765"


def test_normalize_base_url_checks_plain_http():
    with pytest.raises(HubSpotConfigError, match="clear text"):
        normalize_base_url("example.com", schema="http", port=80)
    assert normalize_base_url("example.com", schema="http", allow_insecure_http=True) == "http://example.com"
    assert normalize_base_url("localhost", schema="http", port=8765) == "http://localhost:8765"


def test_allow_insecure_http_is_a_connection_form_field():
    assert EXTRA_FIELDS["allow_insecure_http"][1] == "boolean"
    conn_fields = get_provider_info()["connection-types"][0]["conn-fields"]
    assert conn_fields["allow_insecure_http"]["schema"] == {"type": ["boolean", "null"], "default": False}
    assert "clear text" in conn_fields["allow_insecure_http"]["description"]
