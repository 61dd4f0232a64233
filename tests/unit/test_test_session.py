"""The test session's throw-away AIRFLOW_HOME (tests/conftest.py) is removed when the session ends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_airflow_home_is_a_throwaway_temp_dir():
    home = Path(os.environ["AIRFLOW_HOME"])
    assert home.name.startswith("hubspot-airflow-home-") and home.is_dir()
    assert Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"]).parent == home
    print(f"AIRFLOW_HOME={home}")


def test_the_session_removes_its_airflow_home(tmp_path):
    # A child pytest session with its own temp dir: what it leaves there is what every run would leave.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__", "PYTEST_"))}
    env["TMPDIR"] = str(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
         f"{Path(__file__).relative_to(ROOT)}::test_airflow_home_is_a_throwaway_temp_dir"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"AIRFLOW_HOME={tmp_path}" in proc.stdout, "the child session made its home in our temp dir"
    assert sorted(p.name for p in tmp_path.glob("hubspot-airflow-home-*")) == []
