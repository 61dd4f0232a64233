"""Secrets stay secret: every example DAG, on its success path and on failure paths (bad credentials,
exhausted retries on 5xx), leaves no token, refresh token, client secret or developer key in task
output and logs, the metadata DB (XCom, rendered template fields, trigger kwargs), exception texts or
reprs. Our own code must never log a secret in the first place, so raw values are searched for.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from airflow_provider_hubspot.hooks.hubspot import HubSpotHook

from .conftest import load_dag, task_states
from .test_example_dags import demo

CLIENT_SECRET = "SECRET-client-secret-7f3a9c"
REFRESH_TOKEN = "SECRET-refresh-token-51d0e2"
DEVELOPER_KEY = "SECRET-developer-key-c4b8a1"
STATIC_SECRETS = (CLIENT_SECRET, REFRESH_TOKEN, DEVELOPER_KEY)


def _connect(emu, monkeypatch, **extra):
    emu.add_oauth_client("secret-test-client", CLIENT_SECRET, REFRESH_TOKEN)
    conn = {"conn_type": "hubspot", "host": emu.url,
            "extra": {"client_id": "secret-test-client", "client_secret": CLIENT_SECRET,
                      "refresh_token": REFRESH_TOKEN, "developer_api_key": DEVELOPER_KEY,
                      "rate_limit": 100_000, "backoff_base": 0.01, "backoff_max": 0.02, **extra}}
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(conn))


def _issued_tokens(emu) -> set[str]:
    """Access tokens the emulator issued (as seen in the Authorization headers it received)."""
    return {r.headers["authorization"].split(" ", 1)[1] for r in emu.requests
            if r.headers.get("authorization", "").startswith("Bearer ")}


def _scan(secrets, *texts):
    leaks = []
    for secret in secrets:
        for i, text in enumerate(texts):
            if secret and secret in text:
                leaks.append((secret[:12] + "...", i))
    return leaks


def _everything_written(capsys, caplog) -> list[str]:
    home = Path(os.environ["AIRFLOW_HOME"])
    files = [p.read_bytes().decode("utf-8", "replace") for p in home.rglob("*")
             if p.is_file() and p.stat().st_size < 200_000_000 and p.suffix in ("", ".log", ".db", ".json", ".jsonl")]
    out, err = capsys.readouterr()
    return [out, err, caplog.text, *files]


def _sync(emu, tmp_path, monkeypatch):
    db = demo.build_database(tmp_path / "crm.db", rows=150, seed=3)
    ids = demo.prepare_emulator(emu)
    monkeypatch.setenv("AIRFLOW_CONN_CRM_DB", json.dumps({"conn_type": "sqlite", "host": db["path"]}))
    monkeypatch.setenv("AIRFLOW_VAR_HUBSPOT_REJECTS_DIR", str(tmp_path / "rejects"))
    conf = {"list_id": str(ids["list_id"]), "event_type": demo.EVENT_TYPE, "summary_path": str(tmp_path / "s.json")}
    return load_dag("hubspot_contact_sync", "hubspot_contact_sync.py").test(run_conf=conf)


def _leads(emu, tmp_path):
    demo.prepare_emulator(emu)
    buyer = "buyer@example.com"
    emu.state.add_contact({"email": buyer})
    emu.state.set_lifecycle_stage(buyer, "customer", int(time.time() * 1000) - 60_000)
    emu.state.add_form_submission(demo.FORM_ID, "lead@example.com", submitted_at=int(time.time() * 1000))
    conf = {"form_id": demo.FORM_ID, "min_customers": 1, "since": int(time.time() * 1000) - 3_600_000,
            "summary_path": str(tmp_path / "leads.json")}
    return load_dag("hubspot_wait_for_leads", "hubspot_wait_for_leads.py").test(run_conf=conf)


@pytest.mark.parametrize("path", ["success", "bad_credentials", "server_errors"])
def test_contact_sync_leaks_no_secret(airflow_db, hubspot_emulator, monkeypatch, tmp_path, capsys, caplog, path):
    emu = hubspot_emulator
    emu.rate_limit = 100_000
    _connect(emu, monkeypatch, max_retries=1)
    if path == "bad_credentials":
        emu.revoke_refresh_token(REFRESH_TOKEN)
    if path == "server_errors":
        emu.fault_rate, emu.fault_kinds = 1.0, ["503"]
    run = _sync(emu, tmp_path, monkeypatch)
    states = set(task_states(run).values())
    assert ("success" in states and len(states) == 1) == (path == "success"), task_states(run)
    texts = _everything_written(capsys, caplog)
    assert any("Retrying after" in t or "Summary" in t or "OAuth refresh was refused" in t for t in texts), \
        "the scan really sees the task output"
    texts += [repr(HubSpotHook()), repr(HubSpotHook().get_conn())] if path == "success" else []
    assert _scan(STATIC_SECRETS + tuple(_issued_tokens(emu)), *texts) == []


@pytest.mark.parametrize("path", ["success", "bad_credentials"])
def test_wait_for_leads_leaks_no_secret(airflow_db, hubspot_emulator, monkeypatch, tmp_path, capsys, caplog, path):
    emu = hubspot_emulator
    emu.rate_limit = 100_000
    _connect(emu, monkeypatch, max_retries=0)
    if path == "bad_credentials":
        emu.revoke_refresh_token(REFRESH_TOKEN)
    run = _leads(emu, tmp_path)
    states = set(task_states(run).values())
    assert (states == {"success"}) == (path == "success"), task_states(run)
    texts = _everything_written(capsys, caplog)
    assert _scan(STATIC_SECRETS + tuple(_issued_tokens(emu)), *texts) == []


def test_secrets_are_registered_with_airflows_masker(hubspot_emulator, monkeypatch):
    from airflow_provider_hubspot._compat import AIRFLOW_V3

    if AIRFLOW_V3:
        from airflow.sdk.log import redact
    else:  # pragma: no cover - Airflow 2.11
        from airflow.utils.log.secrets_masker import redact
    _connect(hubspot_emulator, monkeypatch)
    client = HubSpotHook().get_conn()
    client.transport.request("GET", "/crm/objects/2026-03/contacts")
    issued = _issued_tokens(hubspot_emulator)
    assert issued
    for secret in (*STATIC_SECRETS, *issued):
        assert secret not in str(redact(f"value={secret}")), "registered with mask_secret (refreshed tokens too)"
