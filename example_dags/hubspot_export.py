"""
ETL: export what changed in HubSpot since the last run, and load it into a SQL database.

What it shows:
  1. ``export_contacts`` / ``export_companies`` — the contacts and companies modified since the previous
     run's watermark (the first run: since its data interval start), written as CSV to object storage
     (``file://`` here; ``s3://``, ``gs://``... the same) with each contact's company ids. The window
     ends a minute before the export starts (HubSpot's search shows changes after a short delay); that
     end is the watermark the next run starts from, so consecutive runs export every change once.
  2. ``create_tables`` — the target tables (common-sql, any database; the demo uses SQLite).
  3. ``load_contacts`` / ``load_companies`` — each file streamed into its table, upserted by HubSpot id
     (a record changed again since an earlier run replaces its row).
  4. ``summarize`` — rows exported and loaded, and the new watermarks.

Connections:
  * ``hubspot_default`` (type ``hubspot``): the access token in the password field; the host empty
    for HubSpot, or the emulator's URL (``make demo`` sets it up for you).
  * ``crm_db``: a database connection writable by common-sql (the demo uses SQLite).

Params: ``export_dir`` (where the files go: a local folder or an object-storage URI),
``summary_path`` (optional file the summary is also written to).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from datetime import datetime
from typing import Any

from airflow_provider_hubspot._compat import AIRFLOW_V3
from airflow_provider_hubspot.operators.export import HubSpotExportObjectsOperator

if AIRFLOW_V3:
    from airflow.sdk import DAG, Param, task
else:  # Airflow 2.11
    from airflow import DAG
    from airflow.decorators import task
    from airflow.models.param import Param

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

SQL_CONN_ID = "crm_db"
CONTACT_PROPERTIES = ["email", "firstname", "lastname", "lifecyclestage", "city"]
COMPANY_PROPERTIES = ["name", "domain", "external_id"]
#: One file per run: the run id, made safe for file names.
RUN_FILE = "{{ run_id | replace(':', '-') | replace('+', '-') }}.csv"
TABLES = {
    "hubspot_contacts": ["id", *CONTACT_PROPERTIES, "lastmodifieddate", "associated_companies"],
    "hubspot_companies": ["id", *COMPANY_PROPERTIES, "hs_lastmodifieddate"],
}

with DAG(
    dag_id="hubspot_export",
    description="Export contacts and companies changed in HubSpot since the last run, load them into SQL",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,  # each run starts from the watermark of the one before
    tags=["hubspot", "example"],
    params={
        "export_dir": Param(f"file://{tempfile.gettempdir()}/hubspot-exports", type="string",
                            description="Folder or object-storage URI the exports are written to"),
        "summary_path": Param(None, type=["null", "string"], description="Also write the summary JSON here (optional)"),
    },
    doc_md=__doc__,
) as dag:
    export_contacts = HubSpotExportObjectsOperator(
        task_id="export_contacts",
        object_type="contacts",
        properties=CONTACT_PROPERTIES,
        associations=["companies"],
        since="previous_watermark",
        destination_path="{{ params.export_dir }}/contacts/" + RUN_FILE,
    )
    export_companies = HubSpotExportObjectsOperator(
        task_id="export_companies",
        object_type="companies",
        properties=COMPANY_PROPERTIES,
        since="previous_watermark",
        destination_path="{{ params.export_dir }}/companies/" + RUN_FILE,
    )
    create_tables = SQLExecuteQueryOperator(
        task_id="create_tables",
        conn_id=SQL_CONN_ID,
        sql=[f"CREATE TABLE IF NOT EXISTS {table} ({columns[0]} TEXT PRIMARY KEY, "
             + ", ".join(f"{c} TEXT" for c in columns[1:]) + ")" for table, columns in TABLES.items()],
    )

    @task
    def load(export: dict[str, Any], table: str) -> dict[str, Any]:
        """Stream an export's CSV into ``table``, replacing the rows of records exported before."""
        from airflow_provider_hubspot import storage
        from airflow_provider_hubspot._compat import BaseHook

        hook = BaseHook.get_connection(SQL_CONN_ID).get_hook()
        columns = TABLES[table]
        with storage.open_binary(export["destination_path"]) as raw:
            reader = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))
            rows = ([row.get(c) or None for c in columns] for row in reader)
            hook.insert_rows(table, rows, target_fields=columns, commit_every=1000, replace=True)
        total = hook.get_first(f"SELECT COUNT(*) FROM {table}")[0]
        return {"table": table, "loaded": export["exported"], "rows_in_table": total,
                "watermark": export["watermark_iso"], "file": export["destination_path"]}

    @task
    def summarize(contacts: dict[str, Any], companies: dict[str, Any], params: dict[str, Any] | None = None) -> dict:
        result = {"contacts": contacts, "companies": companies}
        print(json.dumps(result, indent=2))
        if params and params.get("summary_path"):
            with open(params["summary_path"], "w", encoding="utf-8") as handle:
                json.dump(result, handle, indent=2)
        return result

    loaded_contacts = load.override(task_id="load_contacts")(export_contacts.output, "hubspot_contacts")
    loaded_companies = load.override(task_id="load_companies")(export_companies.output, "hubspot_companies")
    create_tables >> [loaded_contacts, loaded_companies]
    summarize(loaded_contacts, loaded_companies)
