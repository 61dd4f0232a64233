"""The emulator's command line and its pytest plugin."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

import airflow_provider_hubspot.emulator.pytest_plugin as plugin_module

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[3]


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return path.read_text().strip()
        if proc.poll() is not None:
            raise AssertionError(f"emulator exited early: {proc.communicate()}")
        time.sleep(0.05)
    raise AssertionError("emulator did not write its URL in time")


def test_cli_serves_prints_its_url_and_saves_state(tmp_path):
    url_file = tmp_path / "url.txt"
    state_file = tmp_path / "state.json"
    cmd = [
        sys.executable,
        "-m",
        "airflow_provider_hubspot.emulator",
        "--port",
        "0",
        "--rate-limit",
        "50",
        "--print-url-file",
        str(url_file),
        "--state",
        str(state_file),
        "--token",
        "cli-token",
        "--oauth-client",
        "cid:secret:rt",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        url = _wait_for(url_file, proc)
        assert url.startswith("http://127.0.0.1:")
        headers = {"Authorization": "Bearer cli-token"}
        r = requests.post(
            f"{url}/crm/v3/objects/contacts", json={"properties": {"email": "cli@example.com"}}, headers=headers
        )
        assert r.status_code == 201
        assert r.headers["X-HubSpot-RateLimit-Max"] == "50"
        token = requests.post(
            f"{url}/oauth/v1/token",
            data={"grant_type": "refresh_token", "client_id": "cid", "client_secret": "secret", "refresh_token": "rt"},
        ).json()
        assert token["access_token"]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert f"HUBSPOT_EMULATOR_URL={url}" in out
    assert "HUBSPOT_EMULATOR_TOKEN=cli-token" in out
    assert "AIRFLOW_CONN_HUBSPOT_DEFAULT=" in out
    saved = json.loads(state_file.read_text())
    assert [c["properties"]["email"] for c in saved["contacts"]] == ["cli@example.com"]

    # a second run picks the state up again
    url_file.unlink()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        url = _wait_for(url_file, proc)
        r = requests.get(
            f"{url}/crm/v3/objects/contacts/cli@example.com?idProperty=email",
            headers={"Authorization": "Bearer cli-token"},
        )
        assert r.status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    assert proc.returncode == 0


INNER_TESTS = """
import json
import os

import requests


def test_emulator_runs(hubspot_emulator):
    assert hubspot_emulator.running
    hubspot_emulator.state.add_contact({"email": "a@example.com"})
    hubspot_emulator.rate_limit = 5
    r = requests.get(hubspot_emulator.url + "/crm/v3/objects/contacts",
                     headers={"Authorization": "Bearer " + hubspot_emulator.token})
    assert len(r.json()["results"]) == 1


def test_reset_between_tests(hubspot_emulator):
    assert hubspot_emulator.state.count_contacts() == 0
    assert hubspot_emulator.rate_limit == 100
    assert hubspot_emulator.requests == []


def test_connection_env(hubspot_connection, hubspot_emulator_session):
    assert hubspot_connection is hubspot_emulator_session
    conn = json.loads(os.environ["AIRFLOW_CONN_HUBSPOT_DEFAULT"])
    assert conn == {
        "conn_type": "hubspot",
        "host": hubspot_connection.url,
        "password": hubspot_connection.token,
        "extra": {"rate_limit": 100},
    }


def test_env_is_restored():
    assert "AIRFLOW_CONN_HUBSPOT_DEFAULT" not in os.environ
"""


def test_pytest_plugin_fixtures(pytester, request, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", raising=False)
    pytester.makepyfile(test_inner=INNER_TESTS)
    args = ["-p", "no:cacheprovider"]
    if not request.config.pluginmanager.is_registered(plugin_module):  # not installed as an entry point
        args += ["-p", plugin_module.__name__]
    result = pytester.runpytest(*args)
    result.assert_outcomes(passed=4)


def test_plugin_module_does_not_import_airflow():
    code = (
        "import sys, airflow_provider_hubspot.emulator.pytest_plugin, airflow_provider_hubspot.emulator.__main__; "
        "print(any(m == 'airflow' or m.startswith(('airflow.', 'requests')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.parametrize("argv", [["--help"]])
def test_cli_help(argv):
    out = subprocess.run(
        [sys.executable, "-m", "airflow_provider_hubspot.emulator", *argv], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 0 and "--print-url-file" in out.stdout
