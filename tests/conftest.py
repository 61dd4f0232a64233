"""Test-session setup: a throw-away AIRFLOW_HOME, no example DAGs, no network."""

from __future__ import annotations

import os
import tempfile

_HOME = tempfile.mkdtemp(prefix="hubspot-airflow-home-")
os.environ.setdefault("AIRFLOW_HOME", _HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
