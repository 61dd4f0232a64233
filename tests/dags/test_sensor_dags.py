"""dag.test() runs of both sensors in all three modes; the condition turns true only after a few pokes."""

from __future__ import annotations

import json
import threading
import time

import pytest

from airflow_provider_hubspot.triggers.base import HubSpotPollingTrigger

from .conftest import load_dag, task_states

LIFECYCLE_PATH = "/contacts/search/v1/external/lifecyclestages"
FORMS_PATH = "/form-integrations/v1/submissions/forms/"
NOW_MS = int(time.time() * 1000)


def _after_pokes(emulator, path_prefix, pokes, action):
    """Run ``action`` from a background thread once the sensor has checked ``pokes`` times."""

    def watch():
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if len([r for r in emulator.requests if r.path.startswith(path_prefix)]) >= pokes:
                action()
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("mode", ["poke", "reschedule", "deferrable"])
def test_lifecycle_sensor_dag(airflow_db, hubspot_connection, tmp_path, mode, mocker):
    spy = mocker.spy(HubSpotPollingTrigger, "run")
    emu = hubspot_connection

    def three_new_customers():
        for i in range(3):
            emu.state.set_lifecycle_stage(emu.state.add_contact({"email": f"c{i}@example.com"}), "customer",
                                          NOW_MS - 1000)

    watcher = _after_pokes(emu, LIFECYCLE_PATH, 2, three_new_customers)
    conf = {"stage": "customer", "min_count": 3, "from_ms": NOW_MS - 86_400_000, "to_ms": NOW_MS,
            "out": str(tmp_path / "out.json")}
    run = load_dag(f"hubspot_e2e_lifecycle_{mode}", "hubspot_e2e_sensors.py").test(run_conf=conf)
    watcher.join(1)
    assert set(task_states(run).values()) == {"success"}, task_states(run)
    result = json.loads((tmp_path / "out.json").read_text())["result"]
    assert result["count"] == 3 and result["stage"] == "hs_lifecyclestage_customer_date"
    pokes = [r for r in emu.requests if r.path == LIFECYCLE_PATH]
    assert len(pokes) >= 3
    assert spy.called == (mode == "deferrable"), "only the deferrable sensor hands over to its trigger"


@pytest.mark.parametrize("mode", ["poke", "reschedule", "deferrable"])
def test_form_submission_sensor_dag(airflow_db, hubspot_connection, tmp_path, mode, mocker):
    spy = mocker.spy(HubSpotPollingTrigger, "run")
    emu = hubspot_connection
    form = "0f1e2d3c-aaaa-bbbb-cccc-000000000001"
    emu.state.add_form_submission(form, "old@example.com", submitted_at=NOW_MS - 10_000)

    def two_submissions():
        for i in range(2):
            emu.state.add_form_submission(form, f"new{i}@example.com", submitted_at=NOW_MS + 1000 + i)

    watcher = _after_pokes(emu, FORMS_PATH, 2, two_submissions)
    conf = {"form_id": form, "since": NOW_MS, "min_submissions": 2, "out": str(tmp_path / "out.json")}
    run = load_dag(f"hubspot_e2e_forms_{mode}", "hubspot_e2e_sensors.py").test(run_conf=conf)
    watcher.join(1)
    assert set(task_states(run).values()) == {"success"}, task_states(run)
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["result"]["count"] == 2
    assert sorted(s["email"] for s in out["result"]["submissions"]) == ["new0@example.com", "new1@example.com"]
    assert out["watermark"] == NOW_MS + 1001
    assert spy.called == (mode == "deferrable")
