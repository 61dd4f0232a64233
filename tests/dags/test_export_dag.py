"""The export example DAG: it imports cleanly, and two runs under ``dag.test()`` export what changed in the
emulator and load it into SQLite — the second run only what changed after the first one's watermark."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from .conftest import load_dag, task_states

FILE = "hubspot_export.py"


@pytest.fixture
def connections(hubspot_connection, monkeypatch, tmp_path):
    emu = hubspot_connection
    emu.rate_limit, emu.search_rate_per_second = 100_000, 100_000
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps({
        "conn_type": "hubspot", "host": emu.url, "password": emu.token,
        "extra": {"rate_limit": 100_000, "search_rate_limit": 100_000}}))
    db = tmp_path / "crm.db"
    sqlite3.connect(db).close()
    monkeypatch.setenv("AIRFLOW_CONN_CRM_DB", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    return emu, db


def test_export_dag_parses_with_its_params():
    dag = load_dag("hubspot_export", FILE)
    assert "hubspot" in dag.tags and dag.doc_md
    assert set(dag.task_ids) == {"export_contacts", "export_companies", "create_tables", "load_contacts",
                                 "load_companies", "summarize"}
    dag.params.validate()
    assert dag.params.get_param("summary_path").resolve(None) is None


def test_two_runs_export_and_load_what_changed(airflow_db, connections, tmp_path):
    emu, db = connections
    emu.state.define_property("external_id", object_type="companies", unique=True, label="External ID")
    earlier = int(time.time() * 1000) - 300_000  # five minutes ago: settled for HubSpot's search
    companies = [emu.add_object("companies", {"name": f"Co {i}", "domain": f"co{i}.example", "external_id": f"A{i}"},
                                created_at=earlier) for i in range(4)]
    contacts = [emu.state.add_contact({"email": f"c{i}@example.com", "firstname": f"F{i}", "city": "Paris"},
                                      created_at=earlier) for i in range(30)]
    for n, contact in enumerate(contacts):
        emu.associate("contacts", contact, "companies", companies[n % 4])
    conf = {"export_dir": f"file://{tmp_path}/exports", "summary_path": str(tmp_path / "s1.json")}
    dag = load_dag("hubspot_export", FILE)

    run = dag.test(run_conf=conf)

    assert set(task_states(run).values()) == {"success"}, task_states(run)
    first = json.loads((tmp_path / "s1.json").read_text())
    assert first["contacts"]["loaded"] == 30 and first["companies"]["loaded"] == 4
    with sqlite3.connect(db) as crm:
        rows = {r[0]: r for r in crm.execute("SELECT id, email, city, associated_companies FROM hubspot_contacts")}
        assert len(rows) == 30
        assert rows[str(contacts[5])][1:] == ("c5@example.com", "Paris", str(companies[1]))
        assert crm.execute("SELECT COUNT(*) FROM hubspot_companies").fetchone()[0] == 4

    # changes after the first run's window (stamped just after its watermark, as if made meanwhile)
    from datetime import datetime

    watermark = int(datetime.fromisoformat(first["contacts"]["watermark"].replace("Z", "+00:00")).timestamp() * 1000)
    clock = emu.state.clock
    emu.state.clock = lambda: (watermark + 5) / 1000
    try:
        for contact in contacts[:3]:
            emu.state.update_contact(contact, {"city": "Oslo"})
        new = emu.state.add_contact({"email": "new@example.com", "city": "Rome"})
    finally:
        emu.state.clock = clock
    conf["summary_path"] = str(tmp_path / "s2.json")

    run = dag.test(run_conf=conf)

    assert set(task_states(run).values()) == {"success"}, task_states(run)
    second = json.loads((tmp_path / "s2.json").read_text())
    assert second["contacts"]["loaded"] == 4, "only what changed after the first run's watermark"
    assert second["companies"]["loaded"] == 0
    with sqlite3.connect(db) as crm:
        cities = dict(crm.execute("SELECT id, city FROM hubspot_contacts"))
        assert len(cities) == 31
        assert [cities[str(c)] for c in contacts[:4]] == ["Oslo", "Oslo", "Oslo", "Paris"]
        assert cities[str(new)] == "Rome"
    exports = sorted(p.name for p in (tmp_path / "exports" / "contacts").iterdir())
    assert len(exports) == 2 and all(name.endswith(".csv") for name in exports)
