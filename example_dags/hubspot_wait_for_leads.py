"""
Wait on HubSpot state: new customers and new form submissions, then act on them.

What it shows:
  * ``wait_for_customers`` — ``HubSpotLifecycleStageSensor`` in deferrable mode: frees its worker
    slot while the triggerer polls HubSpot's lifecycle-stage metrics until ``min_customers``
    contacts became customers in the window: from ``window_hours`` before the data interval end
    until the sensor gives up waiting.
  * ``wait_for_signups`` — ``HubSpotFormSubmissionSensor`` (reschedule mode) waiting for new
    submissions of one form since the watermark; pushes the submissions and the new watermark.
  * ``welcome_new_leads`` — a downstream task reading both sensors' XComs.

Connection: ``hubspot_default`` (type ``hubspot``). Params: ``form_id`` (a form GUID; empty = any
form), ``min_customers``, ``since`` (watermark; default the data interval start), ``window_hours``,
``summary_path`` (optional file the report is also written to). The optional ones may stay empty.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from airflow_provider_hubspot._compat import AIRFLOW_V3
from airflow_provider_hubspot.sensors.forms import HubSpotFormSubmissionSensor
from airflow_provider_hubspot.sensors.lifecycle import HubSpotLifecycleStageSensor

if AIRFLOW_V3:
    from airflow.sdk import DAG, Param, task
else:  # Airflow 2.11
    from airflow import DAG
    from airflow.decorators import task
    from airflow.models.param import Param

with DAG(
    dag_id="hubspot_wait_for_leads",
    description="Wait for new customers and form submissions in HubSpot",
    schedule="@hourly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["hubspot", "example"],
    params={
        # Optional params are nullable, so the trigger form accepts them empty.
        "form_id": Param(None, type=["null", "string"], description="Form GUID (empty: any form)"),
        "min_customers": Param(1, type="integer", minimum=1),
        "since": Param(None, type=["null", "string", "integer"],
                       description="Watermark: ISO-8601 time or epoch ms (empty: the data interval start)"),
        "window_hours": Param(24, type="integer", minimum=1),
        "summary_path": Param(None, type=["null", "string"], description="Also write the report JSON here (optional)"),
    },
    doc_md=__doc__,
) as dag:
    wait_for_customers = HubSpotLifecycleStageSensor(
        task_id="wait_for_customers",
        stage="customer",
        min_count="{{ params.min_customers }}",
        from_timestamp="{{ (data_interval_end - macros.timedelta(hours=params.window_hours)).isoformat() }}",
        # No to_timestamp: the window stays open up to each poke, so contacts that become customers
        # while the sensor waits count too.
        deferrable=True,
        poke_interval=2,
        timeout=timedelta(minutes=30).total_seconds(),
    )

    wait_for_signups = HubSpotFormSubmissionSensor(
        task_id="wait_for_signups",
        form_id="{{ params.form_id or '' }}",
        since="{{ params.since or data_interval_start.isoformat() }}",
        mode="reschedule",
        poke_interval=2,
        timeout=timedelta(minutes=30).total_seconds(),
    )

    @task
    def welcome_new_leads(**context) -> dict:
        """Act on what the sensors saw (here: report it)."""
        ti = context["ti"]
        customers = ti.xcom_pull(task_ids="wait_for_customers")
        signups = ti.xcom_pull(task_ids="wait_for_signups")
        report = {"new_customers": customers["count"], "submissions": signups["count"],
                  "watermark": ti.xcom_pull(task_ids="wait_for_signups", key="watermark")}
        print(json.dumps(report))  # counts only: e-mails stay out of the task log and XCom
        if context["params"].get("summary_path"):  # a file the user places may name the people
            with open(context["params"]["summary_path"], "w") as handle:
                json.dump({**report, "emails": [s.get("email") for s in signups["submissions"]][:20]}, handle)
        return report

    [wait_for_customers, wait_for_signups] >> welcome_new_leads()
