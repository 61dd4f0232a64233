"""An export killed mid-way (SIGKILL, as a dying worker) or stopped (SIGTERM, as Airflow stops a task) never
leaves a half-written file at its destination; the retry writes it whole."""

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
OPERATOR = "airflow_provider_hubspot.operators.export.HubSpotExportObjectsOperator"


@pytest.fixture
def slow_emulator(hubspot_connection, monkeypatch):
    emu = hubspot_connection
    emu.rate_limit, emu.latency_ms, emu.search_rate_per_second = 0, 30, 1000
    point_connection(emu, monkeypatch, rate_limit=1_000_000, search_rate_limit=1000)
    with emu.state.lock:
        for i in range(4000):
            emu.state.add_contact({"email": f"k{i}@example.com", "firstname": "x" * 200},
                                  created_at=1_700_000_000_000 + i, validate=False)
    return emu


def _run_and_stop(spec: dict, tmp_path: Path, emu, how: signal.Signals, pages: int) -> int:
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec))
    child = subprocess.Popen([sys.executable, str(RUNNER), str(spec_path)], env=os.environ.copy(),
                             stdout=subprocess.DEVNULL, stderr=open(tmp_path / "child.log", "w"))  # noqa: SIM115
    deadline = time.monotonic() + 60
    try:
        while len([r for r in emu.requests if r.path.endswith(("/search", "/contacts"))]) < pages:
            assert child.poll() is None, "the export finished before it could be stopped"
            assert time.monotonic() < deadline, "the export made no progress"
            time.sleep(0.01)
        child.send_signal(how)
    finally:
        child.wait(20)
    return child.returncode


def _retry(spec: dict) -> dict:
    from airflow_provider_hubspot.operators.export import HubSpotExportObjectsOperator

    return HubSpotExportObjectsOperator(task_id="retry", **spec["kwargs"]).execute({"run_id": "retry", "ti": None})


@pytest.mark.parametrize("name", ["contacts.jsonl", "contacts.csv.gz"])
@pytest.mark.parametrize("since", [0, None], ids=["incremental", "full"])
def test_killed_export_leaves_no_partial_file_at_the_destination(slow_emulator, tmp_path, name, since):
    destination = tmp_path / "out" / name
    destination.parent.mkdir()
    destination.write_bytes(b"the previous export\n")
    spec = {"operator": OPERATOR, "kwargs": {"object_type": "contacts", "properties": ["email", "firstname"],
                                             "destination_path": str(destination), "since": since,
                                             "search_lag_seconds": 0, "max_concurrency": 1}}
    assert _run_and_stop(spec, tmp_path, slow_emulator, signal.SIGKILL, pages=8) == -signal.SIGKILL
    assert destination.read_bytes() == b"the previous export\n", "the destination is untouched"
    result = _retry(spec)
    assert result["exported"] == 4000
    assert sorted(p.name for p in destination.parent.iterdir()) == [name], "the retry cleared the partial file"
    opener = __import__("gzip").open if name.endswith(".gz") else open
    with opener(destination, "rt") as handle:
        assert len(handle.read().splitlines()) == 4000 + (".csv" in name)  # + the CSV header


def test_stopped_export_removes_its_partial_file(slow_emulator, tmp_path):
    destination = tmp_path / "out" / "contacts.csv"
    spec = {"operator": OPERATOR, "sigterm_raises": True,
            "kwargs": {"object_type": "contacts", "properties": ["email"], "destination_path": str(destination),
                       "since": 0, "search_lag_seconds": 0}}
    assert _run_and_stop(spec, tmp_path, slow_emulator, signal.SIGTERM, pages=5) != 0
    assert not destination.exists()
    assert list(destination.parent.iterdir()) == [], "no partial file either"
