"""The example DAGs and ``make demo``: they import cleanly, run green under ``dag.test()`` against the
emulator, and what they report is what the emulator holds."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import pytest

from airflow_provider_hubspot.emulator import EmulatorState

from .conftest import load_dag, task_states

ROOT = Path(__file__).resolve().parents[2]
DEMO_PATH = ROOT / "scripts" / "demo.py"
EXAMPLE_DAGS = {"hubspot_contact_sync": "hubspot_contact_sync.py", "hubspot_wait_for_leads": "hubspot_wait_for_leads.py",
                "hubspot_export": "hubspot_export.py"}  # the export's dag.test() runs: test_export_dag.py
FAST = 100_000  # emulator rate limit for dag.test() runs: no pacing waits


def _load_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hubspot_demo", DEMO_PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


demo = _load_demo()


def _failed(checks: list[dict]) -> list[dict]:
    return [c for c in checks if not c["ok"]]


@pytest.fixture
def fast_connection(hubspot_connection, monkeypatch):
    """``hubspot_default`` pointed at the emulator with a generous rate limit (no 10-second waits)."""
    hubspot_connection.rate_limit = FAST
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(demo.hubspot_connection(hubspot_connection)))
    return hubspot_connection


# ------------------------------------------------------------------------------------------ (a) import


_DAGBAG_PROBE = r"""
import json, sys, warnings
warnings.simplefilter("always")
from airflow_provider_hubspot._compat import AIRFLOW_V3
if AIRFLOW_V3:
    from airflow.dag_processing.dagbag import DagBag
    options = {}  # examples are off through AIRFLOW__CORE__LOAD_EXAMPLES
else:  # Airflow 2.11
    from airflow.models.dagbag import DagBag
    options = {"include_examples": False}
out = {}
for path in sys.argv[1:]:
    bag = DagBag(dag_folder=path, **options)
    out[path] = {
        "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
        "dags": {i: {"tags": sorted(d.tags), "doc_md": bool(d.doc_md), "tasks": sorted(d.task_ids)}
                 for i, d in bag.dags.items()},
        "warnings": [str(w) for ws in getattr(bag, "captured_warnings", {}).values() for w in ws],
    }
print("PROBE " + json.dumps(out))
"""


@pytest.fixture(scope="module")
def dagbag_probe() -> tuple[dict, str]:
    """Parse both example DAGs in a fresh interpreter (so import-time warnings of our package show too)."""
    paths = [str(Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"]) / name) for name in EXAMPLE_DAGS.values()]
    proc = subprocess.run([sys.executable, "-W", "always", "-c", _DAGBAG_PROBE, *paths], capture_output=True,
                          text=True, timeout=120, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(line for line in proc.stdout.splitlines() if line.startswith("PROBE "))
    return json.loads(line.removeprefix("PROBE ")), proc.stdout + proc.stderr


@pytest.mark.parametrize("dag_id", sorted(EXAMPLE_DAGS))
def test_example_dag_imports_without_errors_or_warnings(dag_id, dagbag_probe):
    parsed, output = dagbag_probe
    path = str(Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"]) / EXAMPLE_DAGS[dag_id])
    bag = parsed[path]
    assert bag["import_errors"] == {}
    assert list(bag["dags"]) == [dag_id]
    assert "hubspot" in bag["dags"][dag_id]["tags"] and bag["dags"][dag_id]["doc_md"]
    assert bag["warnings"] == []
    ours = ("airflow_provider_hubspot", "example_dags", path)
    warned = [line for line in output.splitlines()
              if ("Warning" in line or "[warning" in line) and any(marker in line for marker in ours)]
    assert warned == []


#: Params a user may leave empty in the trigger form.
OPTIONAL_PARAMS = {"hubspot_contact_sync": ["summary_path"],
                   "hubspot_wait_for_leads": ["form_id", "since", "summary_path"], "hubspot_export": ["summary_path"]}


@pytest.mark.parametrize(("dag_id", "name"), [(d, n) for d, names in OPTIONAL_PARAMS.items() for n in names])
def test_optional_params_may_stay_empty_in_the_trigger_form(dag_id, name):
    # The trigger form marks a param required unless its schema allows null, and sends null for an
    # empty field: an optional param must default to None and accept it.
    param = load_dag(dag_id, EXAMPLE_DAGS[dag_id]).params.get_param(name)
    assert "null" in param.schema["type"]
    assert param.value is None
    assert param.resolve(None) is None


@pytest.mark.parametrize("dag_id", sorted(EXAMPLE_DAGS))
def test_example_dag_params_validate_with_their_defaults(dag_id):
    params = load_dag(dag_id, EXAMPLE_DAGS[dag_id]).params
    params.validate()  # raises on a default the schema refuses


# ------------------------------------------------------------------------------------------ (b) dag.test()


def test_contact_sync_dag(airflow_db, fast_connection, tmp_path, monkeypatch):
    emu = fast_connection
    db = demo.build_database(tmp_path / "crm.db", rows=400, seed=7)
    ids = demo.prepare_emulator(emu)
    monkeypatch.setenv("AIRFLOW_CONN_CRM_DB", json.dumps({"conn_type": "sqlite", "host": db["path"]}))
    monkeypatch.setenv("AIRFLOW_VAR_HUBSPOT_REJECTS_DIR", str(tmp_path / "rejects"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the other tasks' default rejects files
    conf = {"list_id": str(ids["list_id"]), "event_type": demo.EVENT_TYPE, "summary_path": str(tmp_path / "s.json")}

    run = load_dag("hubspot_contact_sync", "hubspot_contact_sync.py").test(run_conf=conf)

    assert set(task_states(run).values()) == {"success"}, task_states(run)
    summary = json.loads((tmp_path / "s.json").read_text())
    assert _failed(demo.check_sync(summary, emu, ids, db)) == []
    upsert, merges = summary["upsert_contacts"], summary["merge_duplicates"]
    assert upsert["received"] == db["rows"] == 400
    assert upsert["created"] == db["valid_emails"] and upsert["rejected"] == db["invalid_rows"] >= 1
    assert merges["merged"] == db["duplicate_pairs"] >= 3
    assert emu.state.count_contacts() == db["valid_emails"] - db["duplicate_pairs"]
    assert len(emu.state.list_members(ids["list_id"])) == db["recent_valid_emails"] > 0
    assert len(emu.state.timeline_events()) == db["rows"] - db["invalid_rows"]
    rejects = [json.loads(line) for line in Path(upsert["rejects_path"]).read_text().splitlines()]
    assert Path(upsert["rejects_path"]).parent == tmp_path / "rejects"
    invalid = [r for r in rejects if r["code"] != demo.DUPLICATE_CODE]
    assert len(invalid) == db["invalid_rows"]
    assert all(set(r) == {"index", "record", "reason", "code"} and "is invalid" in r["reason"] for r in invalid)
    events = summary["log_sync_events"]
    assert events["rejected"] == db["invalid_rows"] and Path(events["rejects_path"]).is_relative_to(tmp_path)
    # companies from the accounts table, each contact associated with its own company (primary), deals
    companies = {c["id"]: c["properties"]["external_id"] for c in emu.objects("companies")}
    assert summary["upsert_companies"]["created"] == len(companies) == db["accounts"]
    with sqlite3.connect(db["path"]) as crm:
        account_of = {e.lower(): ref for e, ref in crm.execute("SELECT email, account_ref FROM customers")}
    primary = {a["from"]: a["to"] for a in emu.associations("contacts", "companies") if 1 in a["types"]}
    live = {str(c["vid"]): c["properties"]["email"] for c in emu.state.contacts()}
    assert set(primary) == set(live)
    assert all(companies[primary[vid]] == account_of[email] for vid, email in live.items())
    assert upsert["associated"] == upsert["created"] + upsert["updated"] and upsert["associations_failed"] == 0
    deals = emu.objects("deals")
    assert summary["upsert_deals"]["created"] == len(deals) == db["open_opportunities"] > 0
    assert all(emu.associations("deals", "companies", d["id"])[0]["labels"] == ["Primary"] for d in deals)


def test_wait_for_leads_dag(airflow_db, fast_connection, tmp_path):
    emu = fast_connection
    demo.prepare_emulator(emu)
    buyers = [f"buyer{i}@example.com" for i in range(3)]
    for email in buyers:
        emu.state.add_contact({"email": email, "lifecyclestage": "lead"})
    feeder = demo.LeadFeeder(emu, buyers, customers=3, signups=2, timeout=60)
    conf = {"form_id": demo.FORM_ID, "min_customers": 3, "summary_path": str(tmp_path / "leads.json")}
    feeder.start()
    try:
        run = load_dag("hubspot_wait_for_leads", "hubspot_wait_for_leads.py").test(run_conf=conf)
    finally:
        feeder.stop()

    assert feeder.error is None
    assert set(task_states(run).values()) == {"success"}, task_states(run)
    report = json.loads((tmp_path / "leads.json").read_text())
    assert _failed(demo.check_leads(report, emu, feeder)) == []
    assert report["new_customers"] == 3 and report["submissions"] == 2
    lifecycle_pokes = [r for r in emu.requests if r.path == demo.LIFECYCLE_PATH]
    assert len(lifecycle_pokes) >= 3, "the sensor saw 1 customer first, then all 3"


# ------------------------------------------------------------------------------------------ (c) make demo


def _printed(label: str, text: str) -> int:
    match = re.search(rf"^\s+{re.escape(label)}\s+([\d,]+)", text, re.MULTILINE)
    assert match, f"{label!r} not in the demo's output"
    return int(match.group(1).replace(",", ""))


def test_demo_script_end_to_end(tmp_path):
    result_path, state_path = tmp_path / "result.json", tmp_path / "state.json"
    proc = subprocess.run(
        [sys.executable, str(DEMO_PATH), "--rows", "400", "--rate-limit", str(FAST), "--workdir", str(tmp_path / "w"),
         "--json", str(result_path), "--save-state", str(state_path), "--timeout", "180"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    out = proc.stdout
    result = json.loads(result_path.read_text())
    state = EmulatorState()
    state.load_json(state_path.read_text())

    assert _failed(result["checks"]) == [] and "numbers match" in out
    sync, leads = result["sync"], result["leads"]
    upsert = sync["upsert_contacts"]
    # what the demo printed is what the DAGs reported ...
    assert _printed("records read", out) == upsert["received"] == 400
    assert _printed("contacts created", out) == upsert["created"]
    assert _printed("rejected", out) == upsert["rejected"] == result["database"]["invalid_rows"]
    assert _printed("contacts merged", out) == sync["merge_duplicates"]["merged"]
    assert _printed("timeline events", out) == sync["log_sync_events"]["created"]
    # ... and what the emulator holds at the end
    merged_away = sum(len(c["merged_vids"]) for c in state.contacts())
    assert merged_away == sync["merge_duplicates"]["merged"] == result["database"]["duplicate_pairs"]
    assert _printed("contacts in HubSpot", out) == state.count_contacts() == (
        upsert["created"] - merged_away + len(result["leads"]["emails"]))
    assert _printed("list members", out) == len(state.list_members(result["portal"]["list_id"]))
    assert len(state.timeline_events()) == sync["log_sync_events"]["created"]
    customers = [c for c in state.contacts() if c["properties"].get("lifecyclestage") == "customer"]
    assert len(customers) == leads["new_customers"] and f"saw {leads['new_customers']} new customers" in out
    assert len(state.form_submissions(demo.FORM_ID)) == leads["submissions"] == 2
    assert Path(upsert["rejects_path"]).is_file() and upsert["rejects_path"] in out
    assert not (tmp_path / "w" / "airflow-home").exists(), "the throw-away AIRFLOW_HOME is removed"
