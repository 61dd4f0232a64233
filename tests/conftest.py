"""Test-session setup: a throw-away AIRFLOW_HOME, a DAGs folder holding only our DAGs, no network.

Airflow reads these variables when it is first configured, so they are set before anything imports it.
The AIRFLOW_HOME is removed when the session ends (set HUBSPOT_TEST_KEEP_AIRFLOW_HOME=1 to keep it).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_HOME = Path(tempfile.mkdtemp(prefix="hubspot-airflow-home-"))
DAGS_FOLDER = _HOME / "dags"
DAGS_FOLDER.mkdir()
for source in [*(ROOT / "tests" / "dags" / "dag_files").glob("*.py"), *(ROOT / "example_dags").glob("*.py")]:
    shutil.copy(source, DAGS_FOLDER / source.name)

os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_FOLDER)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{_HOME / 'airflow.db'}")
# One Fernet key for every process of the session: in unit-test mode each process would draw its own, and a child
# process (airflow CLI, a dag.test() run in a subprocess) could not read what the session encrypted (the asset
# watchers' trigger kwargs of the example DAGs).
os.environ.setdefault("AIRFLOW__CORE__FERNET_KEY", "1vZZhvyvC4_XAal6DJQ_2yHRUShfxRaHZkbPoDotWy8=")
if version("apache-airflow").startswith("2."):
    os.environ["AIRFLOW__CORE__EXECUTOR"] = "SequentialExecutor"  # Airflow 2 refuses SQLite with others


def pytest_unconfigure(config) -> None:
    """Remove the session's AIRFLOW_HOME (database, logs, copied DAGs): each run left one behind in /tmp."""
    if os.environ.get("HUBSPOT_TEST_KEEP_AIRFLOW_HOME", "").lower() in ("1", "true", "yes"):
        print(f"\nAIRFLOW_HOME kept: {_HOME}")
        return
    shutil.rmtree(_HOME, ignore_errors=True)
