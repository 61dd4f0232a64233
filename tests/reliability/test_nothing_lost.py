"""Nothing is lost: large syncs under injected faults, the daily limit, and OAuth expiry."""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path

import pytest

from airflow_provider_hubspot._compat import AirflowFailException
from airflow_provider_hubspot.operators.contacts import HubSpotCreateOrUpdateContactsOperator

from ..unit.operators.conftest import point_connection, read_jsonl

FAST_RETRIES = {"backoff_base": 0.01, "backoff_max": 0.05, "max_retries": 12}


def _dataset(n: int, seed: int = 7):
    """``n`` rows: ~1 % invalid emails (syntactically fine), ~2 % repeated keys with newer values."""
    rng = random.Random(seed)
    rows, invalid = [], set()
    for i in range(n):
        if rng.random() < 0.02 and i > 10:
            j = rng.randrange(i)
            rows.append({**rows[j], "firstname": f"newer-{i}"})
            continue
        email = f"user{i}@example.com"
        if rng.random() < 0.01:
            email = f"user{i}@example.comv"
            invalid.add(i)
        rows.append({"email": email, "firstname": f"F{i}", "city": rng.choice(["Berlin", "Oslo", "Lyon"])})
    return rows


def _expected(rows):
    latest = {}
    for index, row in enumerate(rows):
        latest[row["email"].lower()] = (index, row)
    return {email: row for email, (_, row) in latest.items() if not email.endswith(".comv")}


def test_twenty_thousand_contacts_with_twenty_percent_faults(hubspot_connection, monkeypatch, context, tmp_path):
    emu = hubspot_connection
    emu.rate_limit, emu.interval_ms = 100_000, 200
    point_connection(emu, monkeypatch, **FAST_RETRIES)
    rows = _dataset(20_000)
    expected = _expected(rows)
    emu.fault_rate = 0.2
    op = HubSpotCreateOrUpdateContactsOperator(task_id="sync", records=rows, max_concurrency=8,
                                               rejects_path=str(tmp_path / "rejects.jsonl"), max_rejected=0.05)
    summary = op.execute(context)
    emu.fault_rate = 0
    assert emu.stats["faults"] > 100, "faults were really injected"
    stored = {c["properties"]["email"]: c["properties"] for c in emu.state.contacts()}
    assert set(stored) == set(expected)
    assert all(stored[e]["firstname"] == row["firstname"] for e, row in expected.items()), "latest values win"
    rejects = read_jsonl(tmp_path / "rejects.jsonl")
    reported = [r["index"] for r in rejects]
    assert len(reported) == len(set(reported)), "each input record is reported at most once"
    invalid_inputs = {i for i, row in enumerate(rows) if row["email"].endswith(".comv")}
    assert invalid_inputs <= set(reported), "every invalid input record is in the rejects file"
    rejected = [r for r in rejects if r["code"] != "DUPLICATE_KEY"]
    assert {r["index"] for r in rejected} <= invalid_inputs, "only invalid records are rejected"
    assert all("invalid" in r["reason"].lower() and rows[r["index"]]["email"] in r["reason"] for r in rejected)
    assert summary["received"] == 20_000
    assert summary["created"] + summary["updated"] + summary["rejected"] + summary["duplicates"] == 20_000
    assert summary["retries"] > 0


@pytest.fixture
def context():
    return {"run_id": "reliability", "ti": None}


def test_daily_limit_mid_sync_saves_a_resumable_file(hubspot_connection, monkeypatch, context, tmp_path):
    emu = hubspot_connection
    emu.rate_limit = 100_000
    point_connection(emu, monkeypatch, **FAST_RETRIES)
    source = tmp_path / "people.csv"
    with source.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["E-mail", "First"])
        writer.writeheader()
        for i in range(3_000):
            writer.writerow({"E-mail": f"p{i}@example.com", "First": f"P{i}"})
    emu.daily_limit = 12
    op = HubSpotCreateOrUpdateContactsOperator(task_id="sync", source_path=str(source), batch_size=100,
                                               max_concurrency=2, properties_map={"E-mail": "email", "First": "firstname"},
                                               rejects_path=str(tmp_path / "rejects.jsonl"))
    with pytest.raises(AirflowFailException) as info:
        op.execute(context)
    message = str(info.value)
    assert "daily" in message.lower() and "midnight" in message
    written = emu.state.count_contacts()
    assert f"{written:,} records were written" in message
    resume = Path(re.search(r"source_path='([^']+)'", message).group(1))
    assert resume.parent == tmp_path and resume.name.startswith("sync-resume-") and resume.suffix == ".csv"
    assert not list(tmp_path.glob("*.partial")), "the resume file is moved into place once complete"
    with resume.open() as handle:
        left = list(csv.DictReader(handle))
    assert written + len(left) == 3_000
    assert requests_after_daily_error(emu) <= 2, "no retry hammering after DAILY"
    emu.daily_limit = None  # midnight in the account's time zone
    again = HubSpotCreateOrUpdateContactsOperator(task_id="sync2", source_path=str(resume),
                                                  properties_map={"E-mail": "email", "First": "firstname"})
    again.execute(context)
    assert emu.state.count_contacts() == 3_000
    assert emu.state.contact_by_email("p2999@example.com")["properties"]["firstname"] == "P2999"


def requests_after_daily_error(emu):
    statuses = [r.status for r in emu.requests]
    first = statuses.index(429)
    return len(statuses) - first - 1


def test_oauth_tokens_expiring_during_a_long_sync(hubspot_emulator, monkeypatch, context):
    emu = hubspot_emulator
    emu.rate_limit, emu.oauth_token_ttl, emu.latency_ms = 100_000, 1.0, 5
    emu.add_oauth_client("cid", "csecret", "refresh-1")
    conn = {"conn_type": "hubspot", "host": emu.url,
            "extra": {"client_id": "cid", "client_secret": "csecret", "refresh_token": "refresh-1",
                      "rate_limit": 100_000, **FAST_RETRIES}}
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(conn))
    rows = [{"email": f"o{i}@example.com", "firstname": "x"} for i in range(6_000)]
    op = HubSpotCreateOrUpdateContactsOperator(task_id="sync", records=rows, max_concurrency=2, batch_size=20)
    summary = op.execute(context)
    assert emu.state.count_contacts() == 6_000
    assert summary["created"] == 6_000
    assert emu.stats["oauth_refreshes"] >= 3, "the sync outlived several tokens"
