"""OpenLineage end to end: the example sync DAG under ``dag.test()`` with the OpenLineage provider and its file
transport emits events whose inputs name the SQLite table and whose outputs name the HubSpot objects, with the
row counts the tasks reported.

The run happens in a child interpreter: the OpenLineage plugin decides once per process, when Airflow loads its
plugins, whether it is enabled, and the rest of the session runs with it disabled (no transport configured).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_hubspot._compat import AIRFLOW_V3
from airflow_provider_hubspot.emulator._util import PORTAL_ID

pytest.importorskip("airflow.providers.openlineage", reason="apache-airflow-providers-openlineage is not installed")
pytestmark = pytest.mark.skipif(not AIRFLOW_V3, reason="the lineage DAG run is checked on Airflow 3 (the operators' "
                                "facets are unit-tested on both)")

ROOT = Path(__file__).resolve().parents[2]
FAST = 100_000


def _load_demo():
    spec = importlib.util.spec_from_file_location("hubspot_demo_lineage", ROOT / "scripts" / "demo.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_CHILD = r"""
import importlib.util, json, os, sys
path = os.path.join(os.environ["AIRFLOW__CORE__DAGS_FOLDER"], "hubspot_contact_sync.py")
spec = importlib.util.spec_from_file_location("dagfile_lineage_sync", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
run = module.dag.test(run_conf=json.loads(sys.argv[1]))
states = {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in run.get_task_instances()}
print("STATES " + json.dumps(states))
"""


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_example_sync_emits_lineage_of_the_table_and_the_hubspot_objects(airflow_db, hubspot_connection, tmp_path):
    demo = _load_demo()
    emu = hubspot_connection
    emu.rate_limit = FAST
    db = demo.build_database(tmp_path / "crm.db", rows=120, seed=3)
    ids = demo.prepare_emulator(emu)
    events_path = tmp_path / "openlineage.jsonl"
    env = {
        **os.environ,
        "AIRFLOW_CONN_HUBSPOT_DEFAULT": json.dumps(demo.hubspot_connection(emu)),
        "AIRFLOW_CONN_CRM_DB": json.dumps({"conn_type": "sqlite", "host": db["path"]}),
        "AIRFLOW_VAR_HUBSPOT_REJECTS_DIR": str(tmp_path / "rejects"),
        "TMPDIR": str(tmp_path),
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "file", "log_file_path": str(events_path),
                                                       "append": True}),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "lineage_test",
        "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",  # no fork of the task process under pytest
        "AIRFLOW__OPENLINEAGE__DISABLED": "False",
    }
    conf = {"list_id": str(ids["list_id"]), "event_type": demo.EVENT_TYPE, "summary_path": str(tmp_path / "s.json")}
    proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(conf)], env=env, capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    states = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("STATES "))[7:])
    assert set(states.values()) == {"success"}, states
    summary = json.loads((tmp_path / "s.json").read_text())

    complete = {e["job"]["name"].rsplit(".", 1)[-1]: e for e in _events(events_path) if e["eventType"] == "COMPLETE"}
    table = (f"sqlite://{db['path']}", "customers")
    hubspot = f"hubspot://{PORTAL_ID}"

    def io(name):
        event = complete[name]
        return ([(d["namespace"], d["name"]) for d in event["inputs"]],
                {(d["namespace"], d["name"]): d for d in event["outputs"]})

    # upsert_contacts: the customers table -> HubSpot contacts, with the written and rejected counts
    inputs, outputs = io("upsert_contacts")
    upsert = summary["upsert_contacts"]
    assert inputs == [table]
    assert complete["upsert_contacts"]["inputs"][0]["inputFacets"]["inputStatistics"]["rowCount"] == 120
    contacts = outputs[(hubspot, "contacts")]
    assert contacts["outputFacets"]["outputStatistics"]["rowCount"] == upsert["created"] + upsert["updated"]
    assert contacts["outputFacets"]["hubspotWrite"]["rejected"] == upsert["rejected"] == db["invalid_rows"] >= 1
    fields = [f["name"] for f in contacts["facets"]["schema"]["fields"]]
    assert fields == ["email", "firstname", "lastname", "company", "phone", "city"]

    # add_new_to_list: the same table -> lists/<id>
    inputs, outputs = io("add_new_to_list")
    assert inputs == [table]
    members = outputs[(hubspot, f"lists/{ids['list_id']}")]
    assert members["outputFacets"]["outputStatistics"]["rowCount"] == summary["add_new_to_list"]["added"] > 0

    # merge_duplicates: the XCom of resolve_duplicates -> contacts
    inputs, outputs = io("merge_duplicates")
    assert inputs == [("xcom://hubspot_contact_sync", "resolve_duplicates/return_value")]
    merged = outputs[(hubspot, "contacts")]["outputFacets"]["outputStatistics"]["rowCount"]
    assert merged == summary["merge_duplicates"]["merged"] == db["duplicate_pairs"]

    # log_sync_events: the table -> timeline/<event type>
    inputs, outputs = io("log_sync_events")
    assert inputs == [table]
    events = outputs[(hubspot, f"timeline/{demo.EVENT_TYPE}")]
    assert events["outputFacets"]["outputStatistics"]["rowCount"] == summary["log_sync_events"]["created"]
    assert events["outputFacets"]["hubspotWrite"]["rejected"] == summary["log_sync_events"]["rejected"]
