"""End-to-end DAGs for the test suite: both sensors in poke, reschedule and deferrable mode."""

from __future__ import annotations

import json
from datetime import datetime

from airflow_provider_hubspot._compat import AIRFLOW_V3
from airflow_provider_hubspot.sensors.forms import HubSpotFormSubmissionSensor
from airflow_provider_hubspot.sensors.lifecycle import HubSpotLifecycleStageSensor

if AIRFLOW_V3:
    from airflow.sdk import DAG, task
else:  # pragma: no cover - Airflow 2.11
    from airflow import DAG
    from airflow.decorators import task


@task
def record(sensor_task_id: str, **context):
    ti = context["ti"]
    value = {"result": ti.xcom_pull(task_ids=sensor_task_id),
             "watermark": ti.xcom_pull(task_ids=sensor_task_id, key="watermark")}
    with open(context["dag_run"].conf["out"], "w") as handle:
        json.dump(value, handle)


for mode in ("poke", "reschedule", "deferrable"):
    sensor_mode = {"mode": "reschedule"} if mode == "reschedule" else {"mode": "poke"}
    with DAG(f"hubspot_e2e_lifecycle_{mode}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
        lifecycle = HubSpotLifecycleStageSensor(
            task_id="wait_for_customers", stage="{{ dag_run.conf['stage'] }}",
            min_count="{{ dag_run.conf['min_count'] }}", from_timestamp="{{ dag_run.conf['from_ms'] }}",
            to_timestamp="{{ dag_run.conf['to_ms'] }}", poke_interval=1, timeout=120,
            deferrable=mode == "deferrable", **sensor_mode,
        )
        lifecycle >> record("wait_for_customers")
    globals()[dag.dag_id] = dag

    with DAG(f"hubspot_e2e_forms_{mode}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
        forms = HubSpotFormSubmissionSensor(
            task_id="wait_for_submissions", form_id="{{ dag_run.conf.get('form_id') or '' }}",
            since="{{ dag_run.conf['since'] }}", min_submissions="{{ dag_run.conf['min_submissions'] }}",
            poke_interval=1, timeout=120, deferrable=mode == "deferrable", **sensor_mode,
        )
        forms >> record("wait_for_submissions")
    globals()[dag.dag_id] = dag
