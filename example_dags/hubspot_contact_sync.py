"""
Reverse-ETL: sync customers from a SQL database into HubSpot.

What it shows:
  0. ``upsert_companies`` — the ``accounts`` table becomes HubSpot companies, created or updated by a
     unique ``external_id`` property (a company's ``domain`` is not unique, so HubSpot cannot key by it).
  1. ``upsert_contacts`` — streams rows from a SQL table (any common-sql connection) into HubSpot
     with batch create-or-update; invalid rows go to a rejects file with HubSpot's reason. Each
     contact is associated with its company (``account_ref``) as its primary company.
  1b. ``upsert_deals`` — a deal for each account with an open opportunity, associated with the company.
  2. ``add_new_to_list`` — adds the customers who signed up in the last 30 days to a static list.
  3. ``resolve_duplicates`` + ``merge_duplicates`` — merges known duplicate contacts (pairs of
     emails in the ``known_duplicates`` table, resolved to HubSpot ids first).
  4. ``log_sync_events`` — one timeline event per synced contact (event ids derived from the run,
     so a retried task creates no duplicates).
  5. ``summarize`` — reads the small XCom summaries and logs what changed.

Connections:
  * ``hubspot_default`` (type ``hubspot``): the access token in the password field; the host empty
    for HubSpot, or the emulator's URL (``make demo`` sets it up for you).
  * ``crm_db``: a database connection readable by common-sql (the demo uses SQLite).

Portal set-up: a property ``external_id`` with unique values on companies and on deals (HubSpot: Settings >
Properties > Create property > "Require unique values"; ``make demo`` creates them in the emulator).

Params: ``list_id`` (a static list's id), ``event_type`` (timeline event type name for the
date-based API), ``summary_path`` (optional file the summary is also written to), ``state_path``
(optional: with it, ``upsert_contacts`` sends only the rows that changed since its last run).
"""

from __future__ import annotations

import json
from datetime import datetime

from airflow_provider_hubspot._compat import AIRFLOW_V3
from airflow_provider_hubspot.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot.operators.contacts import (
    HubSpotCreateOrUpdateContactsOperator,
    HubSpotMergeContactsOperator,
)
from airflow_provider_hubspot.operators.lists import HubSpotAddContactsToListOperator
from airflow_provider_hubspot.operators.objects import HubSpotCreateOrUpdateObjectsOperator
from airflow_provider_hubspot.operators.timeline import HubSpotCreateTimelineEventsOperator

if AIRFLOW_V3:
    from airflow.sdk import DAG, Param, task
else:  # Airflow 2.11
    from airflow import DAG
    from airflow.decorators import task
    from airflow.models.param import Param

SQL_CONN_ID = "crm_db"
#: Each record's company, named by the company's unique external_id (the column is not sent as a property).
PRIMARY_COMPANY = {"to": "companies", "column": "account_ref", "to_id_property": "external_id", "type": "primary"}

with DAG(
    dag_id="hubspot_contact_sync",
    description="Sync accounts and customers from SQL into HubSpot: companies, contacts, deals, associations, list, "
                "merges, timeline events",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["hubspot", "example"],
    params={
        "list_id": Param("", type=["string", "integer"], description="Static list for new customers"),
        "event_type": Param("customer_synced", type="string", description="Timeline event type name"),
        # Optional params are nullable, so the trigger form accepts them empty.
        "summary_path": Param(None, type=["null", "string"], description="Also write the summary JSON here (optional)"),
        "state_path": Param(None, type=["null", "string"],
                            description="Change-only: where upsert_contacts keeps what it sent (optional)"),
    },
    doc_md=__doc__,
) as dag:
    upsert_companies = HubSpotCreateOrUpdateObjectsOperator(
        task_id="upsert_companies",
        object_type="companies",
        id_property="external_id",
        sql_conn_id=SQL_CONN_ID,
        sql="SELECT external_id, name, domain, industry, employees FROM accounts ORDER BY id",
        properties_map={"employees": "numberofemployees"},
    )

    upsert_contacts = HubSpotCreateOrUpdateContactsOperator(
        task_id="upsert_contacts",
        sql_conn_id=SQL_CONN_ID,
        sql="SELECT email, first_name, last_name, company, account_ref, phone, city FROM customers ORDER BY id",
        properties_map={"first_name": "firstname", "last_name": "lastname"},
        associations=[PRIMARY_COMPANY],
        max_concurrency=4,
        max_rejected=0.05,  # tolerate up to 5 % bad rows; they are all in the rejects file
        rejects_path="{{ var.value.get('hubspot_rejects_dir', '/tmp/hubspot-rejects') }}"
                     "/{{ run_id | replace(':', '_') }}.jsonl",
        state_path="{{ params.state_path or '' }}",  # empty: every run sends every row
    )

    upsert_deals = HubSpotCreateOrUpdateObjectsOperator(
        task_id="upsert_deals",
        object_type="deals",
        id_property="external_id",
        sql_conn_id=SQL_CONN_ID,
        sql="SELECT 'OPP-' || external_id AS external_id, name || ' renewal' AS dealname, opportunity_amount AS "
            "amount, opportunity_stage AS dealstage, 'default' AS pipeline, external_id AS account_ref FROM accounts "
            "WHERE opportunity_amount IS NOT NULL ORDER BY id",
        associations=[PRIMARY_COMPANY],
    )

    add_new_to_list = HubSpotAddContactsToListOperator(
        task_id="add_new_to_list",
        list_id="{{ params.list_id }}",
        sql_conn_id=SQL_CONN_ID,
        sql="SELECT email FROM customers WHERE signed_up >= date('{{ ds }}', '-30 days') ORDER BY id",
    )

    @task
    def resolve_duplicates() -> list[list[str]]:
        """Turn known duplicate email pairs into HubSpot id pairs (primary first)."""
        from airflow_provider_hubspot.sources import iter_sql

        pairs = list(iter_sql("SELECT primary_email, duplicate_email FROM known_duplicates", SQL_CONN_ID))
        client = HubSpotHook().get_conn()
        emails = [p[k] for p in pairs for k in ("primary_email", "duplicate_email")]
        ids = {str((c.get("properties") or {}).get("email", "")).lower(): str(c["id"])
               for c in client.contacts.batch_get(emails, by="email", properties=["email"])}
        return [[ids[p["primary_email"].lower()], ids[p["duplicate_email"].lower()]]
                for p in pairs if p["primary_email"].lower() in ids and p["duplicate_email"].lower() in ids]

    duplicate_pairs = resolve_duplicates()
    merge_duplicates = HubSpotMergeContactsOperator(task_id="merge_duplicates", pairs=duplicate_pairs)

    log_sync_events = HubSpotCreateTimelineEventsOperator(
        task_id="log_sync_events",
        event_type="{{ params.event_type }}",
        sql_conn_id=SQL_CONN_ID,
        sql="SELECT 'sync-{{ ds }}-' || id AS id, email, company AS account FROM customers ORDER BY id",
        max_rejected=0.05,  # rows whose email HubSpot rejected have no contact to attach to
    )

    @task
    def summarize(**context) -> dict:
        """Collect the operators' XCom summaries into one report."""
        ti = context["ti"]
        report = {name: ti.xcom_pull(task_ids=name)
                  for name in ("upsert_companies", "upsert_contacts", "upsert_deals", "add_new_to_list",
                               "merge_duplicates", "log_sync_events")}
        for name, summary in report.items():
            print(f"{name}: {json.dumps(summary)}")
        path = context["params"].get("summary_path")
        if path:
            with open(path, "w") as handle:
                json.dump(report, handle, indent=2)
        return report

    # The companies exist before the contacts and deals associated with them; resolve_duplicates looks the
    # contacts up in HubSpot: it must run after they were written.
    upsert_companies >> [upsert_contacts, upsert_deals]
    upsert_contacts >> add_new_to_list >> duplicate_pairs >> merge_duplicates >> log_sync_events
    [log_sync_events, upsert_deals] >> summarize()
