"""Whole-DAG tests: one migrated metadata DB per session, DAGs loaded from the session's DAGs folder."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def airflow_db() -> None:
    airflow = Path(sys.executable).parent / "airflow"
    result = subprocess.run([str(airflow), "db", "migrate"], env=os.environ.copy(), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


def load_dag(dag_id: str, file_name: str) -> Any:
    """Import a DAG from the session's DAGs folder (dag.test() needs it to live there)."""
    path = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"]) / file_name
    spec = importlib.util.spec_from_file_location(f"dagfile_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for value in vars(module).values():
        if getattr(value, "dag_id", None) == dag_id and hasattr(value, "test"):
            return value
    raise LookupError(f"{dag_id} not found in {path}")


def task_states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in dag_run.get_task_instances()}


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "slow: starts Airflow's own processes (about a minute); "
                            "deselect with -m 'not slow'")
