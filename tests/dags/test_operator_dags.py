"""dag.test() runs of every write operator against the strict emulator, in every edition (v1, v3, 2026-03,
2026-09: timeline calls of a 2026-09 run go to 2026-03, HubSpot's newest timeline version)."""

from __future__ import annotations

import json

import pytest

from ..unit.operators.conftest import point_connection
from .conftest import load_dag, task_states


def _conf(emulator, api_version, tmp_path):
    state = emulator.state
    existing = [state.add_contact({"email": f"dup{i}@example.com"}) for i in range(4)]
    legacy, ils = state.create_list("Synced")
    if api_version in ("v1", "v3"):
        event_type, app_id = state.create_event_type(99, "Synced", edition=api_version), 99
    else:
        state.register_event_type_name("contact_synced")
        event_type, app_id = "contact_synced", ""
    records = [{"email": f"user{i}@example.com", "firstname": f"U{i}"} for i in range(250)]
    records.append({"email": "broken@example.comv"})
    return {
        "api_version": api_version,
        "records": records,
        "rejects": str(tmp_path / "rejects.jsonl"),
        "list_id": legacy if api_version == "v1" else ils,
        "emails": [r["email"] for r in records[:50]],
        "pairs": [[existing[0], existing[1]], [existing[2], existing[3]]],
        "events": [{"email": r["email"], "source": "airflow"} for r in records[:20]],
        "event_type": event_type,
        "app_id": app_id,
        "out": str(tmp_path / "summaries.json"),
    }


@pytest.mark.parametrize("api_version", ["v1", "v3", "2026-03", "2026-09"])
def test_operators_dag(airflow_db, hubspot_connection, tmp_path, api_version, monkeypatch):
    hubspot_connection.rate_limit = 100_000
    point_connection(hubspot_connection, monkeypatch)
    conf = _conf(hubspot_connection, api_version, tmp_path)
    dag = load_dag("hubspot_e2e_operators", "hubspot_e2e_operators.py")
    run = dag.test(run_conf=conf)
    assert set(task_states(run).values()) == {"success"}, task_states(run)
    summaries = json.loads((tmp_path / "summaries.json").read_text())
    assert summaries["upsert"]["received"] == 251 and summaries["upsert"]["rejected"] == 1
    assert summaries["add_to_list"]["added"] == 50
    assert summaries["merge"]["merged"] == 2
    assert summaries["events"]["created"] == 20
    state = hubspot_connection.state
    assert state.count_contacts() == 250 + 2
    assert len(state.list_members(conf["list_id"])) == 50
    assert len(state.timeline_events()) == 20
    rejects = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert [r["index"] for r in rejects] == [250]
    if api_version == "2026-09":
        paths = {r.path for r in hubspot_connection.requests}
        assert {p for p in paths if p.startswith("/integrators/timeline/")} == {"/integrators/timeline/2026-03/events/batch"}
        assert "/crm/objects/2026-09/contacts/batch/upsert" in paths and "/crm/lists/2026-09/" in str(sorted(paths))
