"""The README's "Test your own DAGs" example: the DAG it shows runs, under ``dag.test()``, as its test expects."""

from __future__ import annotations

import os
import re
from pathlib import Path

from airflow_provider_hubspot._compat import AIRFLOW_V3

from .conftest import task_states

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_file(name: str) -> str:
    """The README's python block that starts with ``# <name>``."""
    for block in re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S):
        if block.startswith(f"# {name}\n"):
            return block
    raise LookupError(f"no `# {name}` block in the README")


def test_the_readme_dag_runs_with_rows_from_the_run_conf(airflow_db, hubspot_connection):
    source = _readme_file("dags/my_sync.py")
    assert "records=\"{{ dag_run.conf['rows'] | tojson }}\"" in source
    if not AIRFLOW_V3:  # as its comment says
        source = source.replace("from airflow.sdk import DAG", "from airflow import DAG")
    path = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"]) / "my_sync.py"
    path.write_text(source, encoding="utf-8")
    if AIRFLOW_V3:  # loaded as the README's test loads it
        from airflow.dag_processing.dagbag import DagBag
    else:
        from airflow.models.dagbag import DagBag

    rows = [{"email": f"user{i}@example.com", "firstname": f"User {i}"} for i in range(25)]
    run = DagBag(dag_folder=str(path)).dags["my_sync"].test(run_conf={"rows": rows})

    assert set(task_states(run).values()) == {"success"}, task_states(run)
    assert hubspot_connection.state.count_contacts() == 25
    assert hubspot_connection.state.contact_by_email("user7@example.com")["properties"]["firstname"] == "User 7"
