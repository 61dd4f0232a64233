"""A task killed mid-sync (as when a worker dies) and then retried: every record exactly once."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..unit.operators.conftest import point_connection

RUNNER = Path(__file__).with_name("_run_operator.py")
CONTEXT = {"run_id": "resume", "ti": None}


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


def _resume_path(message: str) -> Path:
    match = re.search(r"source_path='([^']+)'", message)
    assert match, message
    return Path(match.group(1))


def test_stopped_twice_by_the_daily_limit_each_rerun_from_its_own_resume_file(hubspot_connection, monkeypatch,
                                                                               tmp_path):
    """The resume file of a re-run that stops again never overwrites the file it is reading."""
    from airflow_provider_hubspot._compat import AirflowFailException
    from airflow_provider_hubspot.operators.contacts import HubSpotCreateOrUpdateContactsOperator

    emu = hubspot_connection
    emu.rate_limit = 100_000
    point_connection(emu, monkeypatch, backoff_base=0.01, backoff_max=0.05)
    source = tmp_path / "people.csv"
    source.write_text("email,firstname\n" + "".join(f"d{i}@example.com,D{i}\n" for i in range(3000)))
    kwargs = {"batch_size": 100, "max_concurrency": 2, "rejects_path": str(tmp_path / "rejects.jsonl")}
    emu.daily_limit = 10
    with pytest.raises(AirflowFailException) as first:
        HubSpotCreateOrUpdateContactsOperator(task_id="sync", source_path=str(source), **kwargs).execute(CONTEXT)
    resume1 = _resume_path(str(first.value))
    after_first = emu.state.count_contacts()
    emu.daily_limit = emu.stats["requests"] + 8  # the next day's allowance runs out again part-way
    with pytest.raises(AirflowFailException) as second:
        HubSpotCreateOrUpdateContactsOperator(task_id="sync", source_path=str(resume1), **kwargs).execute(CONTEXT)
    resume2 = _resume_path(str(second.value))
    assert resume2 != resume1 and resume1.exists(), "the second stop wrote a new file, not over its input"
    after_second = emu.state.count_contacts()
    assert after_first < after_second < 3000
    left = resume2.read_text().splitlines()
    assert left[0] == "email,firstname" and after_second + len(left) - 1 == 3000
    emu.daily_limit = None
    HubSpotCreateOrUpdateContactsOperator(task_id="sync", source_path=str(resume2), **kwargs).execute(CONTEXT)
    emails = [c["properties"]["email"] for c in emu.state.contacts()]
    assert sorted(emails) == sorted(f"d{i}@example.com" for i in range(3000)), "every record exactly once"


def test_resume_path_equal_to_the_input_is_not_overwritten(hubspot_connection, monkeypatch, tmp_path):
    from airflow_provider_hubspot._compat import AirflowFailException
    from airflow_provider_hubspot.operators.contacts import HubSpotCreateOrUpdateContactsOperator

    emu = hubspot_connection
    emu.rate_limit = 100_000
    point_connection(emu, monkeypatch)
    source = tmp_path / "left.csv"
    text = "email,firstname\n" + "".join(f"s{i}@example.com,S{i}\n" for i in range(500))
    source.write_text(text)
    emu.daily_limit = 2
    with pytest.raises(AirflowFailException) as info:
        HubSpotCreateOrUpdateContactsOperator(task_id="sync", source_path=str(source), resume_path=str(source),
                                              batch_size=100, max_concurrency=1).execute(CONTEXT)
    assert source.read_text() == text, "the input being read is never overwritten"
    assert _resume_path(str(info.value)) == tmp_path / "left-2.csv"


def test_resume_csv_keeps_columns_first_seen_late(hubspot_connection, monkeypatch, tmp_path):
    from airflow_provider_hubspot._compat import AirflowFailException
    from airflow_provider_hubspot.operators.contacts import HubSpotCreateOrUpdateContactsOperator

    emu = hubspot_connection
    emu.rate_limit = 100_000
    point_connection(emu, monkeypatch)
    rows = [{"email": f"c{i}@example.com"} for i in range(300)] + [{"email": "late@example.com", "company": "Late"}]
    emu.daily_limit = 1
    with pytest.raises(AirflowFailException) as info:
        HubSpotCreateOrUpdateContactsOperator(task_id="sync", records=rows, batch_size=100, max_concurrency=1,
                                              resume_path=str(tmp_path / "resume.csv")).execute(CONTEXT)
    with _resume_path(str(info.value)).open() as handle:
        left = list(csv.DictReader(handle))
    assert len(left) == 201 and left[-1] == {"email": "late@example.com", "company": "Late"}


def test_resume_file_appears_only_when_complete(tmp_path):
    from airflow_provider_hubspot.operators.base import write_resume_file

    def broken():
        for i in range(5):
            yield {"email": f"x{i}@example.com"}
        raise KeyboardInterrupt  # the task is being stopped while it writes

    for as_csv in (True, False):
        target = tmp_path / ("r.csv" if as_csv else "r.jsonl")
        with pytest.raises(KeyboardInterrupt):
            write_resume_file(str(target), broken(), as_csv=as_csv)
        assert not target.exists() and list(tmp_path.iterdir()) == [], "no partial file that looks complete"
    assert write_resume_file(str(tmp_path / "ok.jsonl"), iter([{"a": 1}]), as_csv=False) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ok.jsonl"]
