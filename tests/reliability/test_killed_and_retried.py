"""A task killed mid-sync (as when a worker dies) and then retried: every record exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..unit.operators.conftest import point_connection

RUNNER = Path(__file__).with_name("_run_operator.py")


def _run_and_kill(spec: dict, tmp_path: Path, progress, target: int) -> None:
    """Start the operator in a child process and SIGKILL it once ``progress()`` reaches ``target``."""
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec))
    child = subprocess.Popen([sys.executable, str(RUNNER), str(spec_path)], env=os.environ.copy(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    try:
        while progress() < target:
            assert child.poll() is None, "the child finished before it could be killed"
            assert time.monotonic() < deadline, "the child made no progress"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(10)


def _retry(spec: dict) -> dict:
    from importlib import import_module

    module, name = spec["operator"].rsplit(".", 1)
    operator = getattr(import_module(module), name)(task_id="retry", **spec["kwargs"])
    return operator.execute({"run_id": "retry", "ti": None})


@pytest.fixture
def slow_emulator(hubspot_connection, monkeypatch):
    emu = hubspot_connection
    emu.rate_limit, emu.latency_ms = 100_000, 15
    point_connection(emu, monkeypatch)
    return emu


def test_upsert_killed_then_retried(slow_emulator, tmp_path):
    rows = [{"email": f"k{i}@example.com", "firstname": "v1"} for i in range(3000)]
    rows += [{"email": f"k{i}@example.com", "firstname": "v2"} for i in range(0, 3000, 3)]
    spec = {"operator": "airflow_provider_hubspot.operators.contacts.HubSpotCreateOrUpdateContactsOperator",
            "kwargs": {"records": rows, "batch_size": 50, "max_concurrency": 2}}
    _run_and_kill(spec, tmp_path, slow_emulator.state.count_contacts, 1500)
    assert slow_emulator.state.count_contacts() < 3000, "killed before the end"
    _retry(spec)
    contacts = slow_emulator.state.contacts()
    assert len(contacts) == 3000
    latest = {c["properties"]["email"]: c["properties"]["firstname"] for c in contacts}
    assert all(latest[f"k{i}@example.com"] == ("v2" if i % 3 == 0 else "v1") for i in range(3000))


def test_list_adds_killed_then_retried(slow_emulator, tmp_path):
    vids = [slow_emulator.state.add_contact({"email": f"l{i}@example.com"}) for i in range(2000)]
    _, ils = slow_emulator.state.create_list("Members")
    spec = {"operator": "airflow_provider_hubspot.operators.lists.HubSpotAddContactsToListOperator",
            "kwargs": {"list_id": ils, "records": [{"vid": v} for v in vids]}}
    slow_emulator.latency_ms = 300
    _run_and_kill(spec, tmp_path, lambda: len(slow_emulator.state.list_members(ils)), 500)
    assert len(slow_emulator.state.list_members(ils)) < 2000
    slow_emulator.latency_ms = 0
    result = _retry(spec)
    assert sorted(slow_emulator.state.list_members(ils)) == sorted(vids)
    assert result["already_members"] >= 500 and result["added"] + result["already_members"] == 2000


def test_merges_killed_then_retried(slow_emulator, tmp_path):
    vids = [slow_emulator.state.add_contact({"email": f"m{i}@example.com"}) for i in range(200)]
    pairs = [[vids[i], vids[i + 1]] for i in range(0, 200, 2)]
    spec = {"operator": "airflow_provider_hubspot.operators.contacts.HubSpotMergeContactsOperator",
            "kwargs": {"pairs": pairs}}
    _run_and_kill(spec, tmp_path, lambda: 200 - slow_emulator.state.count_contacts(), 40)
    done = 200 - slow_emulator.state.count_contacts()
    assert 40 <= done < 100
    slow_emulator.latency_ms = 0
    result = _retry(spec)
    assert slow_emulator.state.count_contacts() == 100
    assert result["already_merged"] >= done and result["failed"] == 0


def test_timeline_events_killed_then_retried(slow_emulator, tmp_path):
    slow_emulator.state.register_event_type_name("order_placed")
    events = [{"email": f"t{i}@example.com", "id": f"order-{i}", "amount": i} for i in range(3000)]
    spec = {"operator": "airflow_provider_hubspot.operators.timeline.HubSpotCreateTimelineEventsOperator",
            "kwargs": {"events": events, "event_type": "order_placed", "batch_size": 50}}
    _run_and_kill(spec, tmp_path, lambda: len(slow_emulator.state.timeline_events()), 1200)
    assert len(slow_emulator.state.timeline_events()) < 3000
    slow_emulator.latency_ms = 0
    _retry(spec)
    ids = [e["id"] for e in slow_emulator.state.timeline_events()]
    assert len(ids) == 3000 and len(set(ids)) == 3000
