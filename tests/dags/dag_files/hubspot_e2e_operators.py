"""End-to-end DAG for the test suite: every write operator, driven by dag_run.conf."""

from __future__ import annotations

import json
from datetime import datetime

from airflow_provider_hubspot._compat import AIRFLOW_V3
from airflow_provider_hubspot.operators.contacts import (
    HubSpotCreateOrUpdateContactsOperator,
    HubSpotMergeContactsOperator,
)
from airflow_provider_hubspot.operators.lists import HubSpotAddContactsToListOperator
from airflow_provider_hubspot.operators.timeline import HubSpotCreateTimelineEventsOperator

if AIRFLOW_V3:
    from airflow.sdk import DAG, task
else:  # pragma: no cover - Airflow 2.11
    from airflow import DAG
    from airflow.decorators import task

API_VERSION = "{{ dag_run.conf.get('api_version') or '' }}"


@task
def from_conf(key: str, **context):
    return context["dag_run"].conf.get(key)


@task
def collect(**context):
    ti = context["ti"]
    summaries = {name: ti.xcom_pull(task_ids=name) for name in ("upsert", "add_to_list", "merge", "events")}
    with open(context["dag_run"].conf["out"], "w") as handle:
        json.dump(summaries, handle)


with DAG("hubspot_e2e_operators", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    upsert = HubSpotCreateOrUpdateContactsOperator(
        task_id="upsert", records=from_conf.override(task_id="records")("records"), api_version=API_VERSION,
        max_rejected=10, rejects_path="{{ dag_run.conf['rejects'] }}",
    )
    add = HubSpotAddContactsToListOperator(
        task_id="add_to_list", list_id="{{ dag_run.conf['list_id'] }}",
        emails=from_conf.override(task_id="emails")("emails"), api_version=API_VERSION,
    )
    merge = HubSpotMergeContactsOperator(
        task_id="merge", pairs=from_conf.override(task_id="pairs")("pairs"), api_version=API_VERSION,
    )
    events = HubSpotCreateTimelineEventsOperator(
        task_id="events", events=from_conf.override(task_id="events_in")("events"),
        event_type="{{ dag_run.conf['event_type'] }}", app_id="{{ dag_run.conf.get('app_id') or '' }}",
        api_version=API_VERSION,
    )
    upsert >> add >> merge >> events >> collect()
