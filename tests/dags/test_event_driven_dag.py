"""Event-driven scheduling end to end, with Airflow's own processes: a form submission in the emulator starts the
``hubspot_demo_request_watcher`` DAG through its asset watcher — a real ``airflow triggerer`` runs the
``HubSpotFormSubmissionEventTrigger``, a real ``airflow scheduler`` creates the asset-triggered run and runs its
task (LocalExecutor, through an ``airflow api-server``). Then the triggerer is restarted: a submission made while
it was down starts exactly one more run, and the first one is not reported again.

A focused, slower test (about a minute): its own AIRFLOW_HOME and metadata database, only the example DAG.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from airflow_provider_hubspot._compat import AIRFLOW_V3

pytestmark = pytest.mark.skipif(not AIRFLOW_V3, reason="event-driven scheduling (asset watchers) needs Airflow 3")

_PARSE = r"""
import json, sys, warnings
warnings.simplefilter("always")
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags["hubspot_demo_request_watcher"]
(asset,) = dag.timetable.asset_condition.objects if hasattr(dag.timetable.asset_condition, "objects") else [None]
print("PARSE " + json.dumps({"errors": {str(k): str(v) for k, v in bag.import_errors.items()},
                             "dags": sorted(bag.dags), "tags": sorted(dag.tags),
                             "warnings": [str(w) for ws in getattr(bag, "captured_warnings", {}).values() for w in ws],
                             "watchers": [type(w.trigger).__name__ for w in asset.watchers] if asset else None,
                             "uri": asset.uri if asset else None}))
"""


def test_the_watcher_example_parses_cleanly(tmp_path):
    path = ROOT / "example_dags" / "hubspot_demo_request_watcher.py"
    env = {**os.environ, "HUBSPOT_PORTAL_ID": "62515", "HUBSPOT_DEMO_FORM_ID": "f-1"}
    proc = subprocess.run([sys.executable, "-W", "always", "-c", _PARSE, str(path)], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    parsed = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("PARSE "))[6:])
    assert parsed["errors"] == {} and parsed["warnings"] == []
    assert parsed["dags"] == ["hubspot_after_contacts_sync", "hubspot_demo_request_watcher"]
    assert "hubspot" in parsed["tags"]
    assert parsed["watchers"] == ["HubSpotFormSubmissionEventTrigger"]
    assert parsed["uri"] == "hubspot://62515/forms/f-1"
    ours = [line for line in (proc.stdout + proc.stderr).splitlines()
            if "Warning" in line and ("airflow_provider_hubspot" in line or str(path) in line)]
    assert ours == []

ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "hubspot_demo_request_watcher"
FORM_ID = "e2e-demo-request-form"
AIRFLOW = str(Path(sys.executable).parent / "airflow")
FEED = "/contacts/v1/lists/recently_updated/contacts/recent"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stack:
    """Airflow's processes in one throw-away AIRFLOW_HOME; each started in its own process group."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.env = env
        self.procs: dict[str, subprocess.Popen] = {}

    def run(self, *args: str) -> None:
        result = subprocess.run([AIRFLOW, *args], env=self.env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, f"airflow {' '.join(args)}: {result.stderr[-3000:]}"

    def start(self, name: str, *args: str) -> None:
        log = open(self.home / f"{name}.log", "a")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen([AIRFLOW, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        log.close()

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)

    def query(self, sql: str, *params: object) -> list[tuple]:
        with sqlite3.connect(self.home / "airflow.db", timeout=30) as db:
            return db.execute(sql, params).fetchall()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-4000:]}" for p in sorted(self.home.glob("*.log")))

    def wait(self, condition: Callable[[], bool], what: str, limit: float = 180.0) -> None:
        """Wait for a condition (the limit turns a hang into a failure with the processes' logs)."""
        deadline = time.monotonic() + limit
        while not condition():
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                raise AssertionError(f"still waiting for {what} (exited: {dead})\n{self.logs()}")
            time.sleep(0.5)


@pytest.fixture
def stack(tmp_path, hubspot_connection) -> Iterator[Stack]:
    home = tmp_path / "airflow-home"
    dags = home / "dags"
    dags.mkdir(parents=True)
    (dags / "hubspot_demo_request_watcher.py").write_text(
        (ROOT / "example_dags" / "hubspot_demo_request_watcher.py").read_text())
    api_port = _free_port()
    env = {
        **os.environ,  # AIRFLOW_CONN_HUBSPOT_DEFAULT points at the emulator (hubspot_connection)
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API_AUTH__JWT_SECRET": "hubspot-e2e-test-secret",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
        "HUBSPOT_DEMO_FORM_ID": FORM_ID,
        "HUBSPOT_WATCH_POLL_SECONDS": "1",
        "HUBSPOT_DEMO_ROUTED_PATH": str(tmp_path / "routed.jsonl"),
    }
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    airflow = Stack(home, env)
    try:
        yield airflow
    finally:
        airflow.stop_all()


def _polls(emu) -> int:
    """Reads of form submissions: the shared poll reads the recently-updated feed, a lone watcher its form."""
    return sum(1 for r in emu.requests if r.path.startswith(("/form-integrations/", FEED)))


def _routed(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.slow
def test_a_form_submission_starts_the_dag_through_a_real_triggerer(stack, hubspot_connection, tmp_path):
    emu = hubspot_connection
    routed = tmp_path / "routed.jsonl"
    stack.run("db", "migrate")
    stack.run("dags", "reserialize")
    stack.run("dags", "reserialize")  # the asset is active once its DAG is: the watcher's trigger is created now
    assert stack.query("SELECT count(*) FROM trigger WHERE classpath LIKE '%HubSpotFormSubmissionEventTrigger'") \
        == [(1,)], stack.logs()
    stack.start("api-server", "api-server")
    stack.start("scheduler", "scheduler")
    stack.start("triggerer", "triggerer")

    def position() -> dict | None:
        rows = stack.query("SELECT value FROM asset_state_store WHERE key LIKE 'airflow_provider_hubspot.form%'")
        return json.loads(rows[0][0]) if rows else None

    stack.wait(lambda: position() is not None, "the watcher's start position in the asset state store")
    first = emu.state.add_form_submission(FORM_ID, "ada@example.com", submitted_at=int(time.time() * 1000))
    stack.wait(lambda: len(_routed(routed)) >= 1, "the run started by the submission")
    assert [r["conversion_ids"] for r in _routed(routed)] == [[first]]
    runs = stack.query("SELECT run_type, state FROM dag_run WHERE dag_id = ?", DAG_ID)
    assert runs and runs[0][0] == "asset_triggered", runs

    stack.stop("triggerer")  # a restart: the submission made meanwhile starts one run; the first is not repeated
    stack.wait(lambda: all(r[1] == "success" for r in stack.query(
        "SELECT run_type, state FROM dag_run WHERE dag_id = ?", DAG_ID)), "the first run to finish")
    second = emu.state.add_form_submission(FORM_ID, "grace@example.com", submitted_at=int(time.time() * 1000))
    stack.start("triggerer", "triggerer")
    stack.wait(lambda: len(_routed(routed)) >= 2, "the run for the submission made while the triggerer was down")
    polls = _polls(emu)
    stack.wait(lambda: _polls(emu) >= polls + 3, "three more polls after the restart")
    assert [r["conversion_ids"] for r in _routed(routed)] == [[first], [second]]
    assert [r[0] for r in stack.query("SELECT run_type FROM dag_run WHERE dag_id = ?", DAG_ID)] == \
        ["asset_triggered"] * 2
