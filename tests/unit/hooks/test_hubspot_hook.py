"""HubSpotHook: connection parsing, test_connection, secret masking, provider metadata."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_hubspot.client import HubSpotConfigError
from airflow_provider_hubspot.client.transport import DEFAULT_BASE_URL
from airflow_provider_hubspot.get_provider_info import get_provider_info
from airflow_provider_hubspot.hooks.hubspot import HubSpotHook


def _set_conn(monkeypatch, conn_id="hubspot_default", **fields):
    fields.setdefault("conn_type", "hubspot")
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))


def test_provider_info_validates_against_airflows_schema():
    import airflow
    import jsonschema

    schema_path = Path(airflow.__file__).parent / "provider_info.schema.json"
    schema = json.loads(schema_path.read_text())
    info = get_provider_info()
    jsonschema.validate(info, schema)
    assert info["package-name"] == "airflow-provider-hubspot"
    (conn_type,) = info["connection-types"]
    assert conn_type["connection-type"] == "hubspot"
    assert conn_type["hook-class-name"] == "airflow_provider_hubspot.hooks.hubspot.HubSpotHook"
    assert conn_type["conn-fields"]["client_secret"]["schema"]["format"] == "password"
    assert "airflow_provider_hubspot.hooks.hubspot" in info["hooks"][0]["python-modules"]


def test_airflow_discovers_the_provider_and_its_hook(tmp_path):
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path)}
    airflow = Path(sys.executable).parent / "airflow"
    providers = subprocess.run([str(airflow), "providers", "list"], env=env, capture_output=True,
                               text=True, timeout=120)
    assert "airflow-provider-hubspot" in providers.stdout, providers.stderr[-2000:]
    hooks = subprocess.run([str(airflow), "providers", "hooks"], env=env, capture_output=True, text=True,
                           timeout=120)
    assert "airflow_provider_hubspot.hooks.hubspot.HubSpotHook" in hooks.stdout, hooks.stderr[-2000:]


def test_hook_form_fields_come_from_one_list():
    from airflow_provider_hubspot.connection_fields import EXTRA_FIELDS

    conn_fields = get_provider_info()["connection-types"][0]["conn-fields"]
    assert set(conn_fields) == set(EXTRA_FIELDS)
    behaviour = HubSpotHook.get_ui_field_behaviour()
    assert behaviour["relabeling"]["password"] == "Access token"


def test_client_from_json_connection(hubspot_connection):
    client = HubSpotHook().get_conn()
    assert client.base_url == hubspot_connection.url
    assert str(client.edition) == "2026-09"
    assert client.transport.limiter.max_requests == hubspot_connection.rate_limit


def test_client_from_uri_connection_with_host_port_and_schema(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_HUBSPOT_URI",
        "hubspot://:tok@127.0.0.1:8765/http?api_version=v1&rate_limit=190&timeout=30",
    )
    client = HubSpotHook("hubspot_uri").get_conn()
    assert client.base_url == "http://127.0.0.1:8765"
    assert str(client.edition) == "v1"
    assert client.transport.limiter.max_requests == 190
    assert client.transport.timeout == 30


def test_api_version_argument_overrides_the_connection(hubspot_connection):
    assert str(HubSpotHook(api_version="v3").get_conn().edition) == "v3"


def test_empty_host_means_hubspot(monkeypatch):
    _set_conn(monkeypatch, password="tok")
    assert HubSpotHook().get_conn().base_url == DEFAULT_BASE_URL  # no request is made


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"password": ""}, "empty access token"),
        ({"password": "tok", "host": "ftp://example.com"}, "not a valid URL"),
        ({"password": "tok", "extra": {"api_version": "2"}}, "Unknown api_version"),
        ({"password": "tok", "extra": {"rate_limit": "fast"}}, "rate_limit"),
        ({"password": "tok", "extra": {"rate_limit": 0}}, "rate_limit"),
    ],
)
def test_bad_connection_fields_are_clear_errors(monkeypatch, fields, message):
    _set_conn(monkeypatch, **fields)
    with pytest.raises(HubSpotConfigError, match=message):
        HubSpotHook().get_conn()


def test_test_connection_succeeds(hubspot_connection):
    ok, message = HubSpotHook().test_connection()
    assert ok, message
    assert hubspot_connection.url in message


def test_test_connection_reports_a_bad_token(hubspot_emulator, monkeypatch):
    _set_conn(monkeypatch, host=hubspot_emulator.url, password="wrong-token")
    ok, message = HubSpotHook().test_connection()
    assert not ok
    assert "rejected the credentials" in message and "wrong-token" not in message


def test_test_connection_reports_a_missing_scope(hubspot_emulator, monkeypatch):
    hubspot_emulator.add_token("forms-only", scopes={"forms"})
    _set_conn(monkeypatch, host=hubspot_emulator.url, password="forms-only")
    ok, message = HubSpotHook().test_connection()
    assert not ok
    assert "lacks a scope" in message and "crm.objects.contacts.read" in message


def test_test_connection_reports_an_unreachable_host(monkeypatch):
    _set_conn(monkeypatch, host="http://127.0.0.1:9", password="tok", extra={"max_retries": 0})
    ok, message = HubSpotHook().test_connection()
    assert not ok
    assert "unreachable" in message


def test_secrets_are_registered_with_the_masker(hubspot_emulator, monkeypatch, mocker):
    masked = mocker.patch("airflow_provider_hubspot.hooks.hubspot.mask_secret")
    _set_conn(monkeypatch, host=hubspot_emulator.url, password="tok-123",
              extra={"client_id": "cid", "client_secret": "cs-456", "refresh_token": "rt-000",
                     "developer_api_key": "dk-789"})
    client = HubSpotHook().get_conn()
    values = {call.args[0] for call in masked.call_args_list}
    assert {"tok-123", "cs-456", "rt-000", "dk-789"} <= values
    assert "tok-123" not in repr(client) and "tok-123" not in repr(HubSpotHook())


def test_refreshed_oauth_tokens_are_masked(hubspot_emulator, monkeypatch, mocker):
    masked = mocker.patch("airflow_provider_hubspot.hooks.hubspot.mask_secret")
    hubspot_emulator.add_oauth_client("cid", "csecret", "rt-1")
    _set_conn(monkeypatch, host=hubspot_emulator.url,
              extra={"client_id": "cid", "client_secret": "csecret", "refresh_token": "rt-1"})
    client = HubSpotHook().get_conn()
    client.transport.request("GET", "/crm/objects/2026-03/contacts")
    assert client.auth._access_token in {call.args[0] for call in masked.call_args_list}
