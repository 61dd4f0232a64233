"""
Event-driven: start a DAG run when someone submits the demo-request form in HubSpot (Airflow >= 3.3).

What it shows:
  * ``demo_requests`` — an asset watched by ``HubSpotFormSubmissionEventTrigger``: the triggerer polls
    HubSpot (one shared poll for every form watched through the same connection) and each batch of new
    submissions becomes an asset event that starts this DAG. No scheduled sensor, no worker slot waiting.
  * ``route_leads`` — reads the submissions from the triggering asset event's payload (conversion ids,
    times, and here the e-mails, because the watcher asks for them with ``include_email=True``), looks the
    contacts up and decides who gets a sales call.
  * ``after_contacts_sync`` — a second DAG scheduled on the ``hubspot://<portal>/contacts`` asset, which
    ``hubspot_contact_sync``'s upsert task can name in its ``outlets``: "HubSpot contacts were synced".

Needs: ``airflow triggerer`` running; Airflow >= 3.3 (the watcher's position is kept in the asset's state
store, so a triggerer restart neither repeats nor skips submissions). On Airflow 2.11 use the deferrable
``HubSpotFormSubmissionSensor`` in a scheduled DAG (see ``hubspot_wait_for_leads``).

Settings (environment, read when the DAG is parsed): ``HUBSPOT_DEMO_FORM_ID`` (the form's GUID) and
``HUBSPOT_PORTAL_ID`` (the account id, which names the assets like the lineage namespace).
"""

from __future__ import annotations

import json
import os
from datetime import datetime

from airflow_provider_hubspot._compat import AIRFLOW_V3

if AIRFLOW_V3:
    from airflow.sdk import DAG, Asset, AssetWatcher, task

    from airflow_provider_hubspot.hooks.hubspot import HubSpotHook
    from airflow_provider_hubspot.operators.lineage import hubspot_asset, hubspot_asset_uri
    from airflow_provider_hubspot.triggers.events import HubSpotFormSubmissionEventTrigger

    PORTAL_ID = os.environ.get("HUBSPOT_PORTAL_ID", "62515")
    FORM_ID = os.environ.get("HUBSPOT_DEMO_FORM_ID", "6f1c3a52-8d0e-4b7a-9c21-3e5f0a7d9b10")
    POLL_SECONDS = float(os.environ.get("HUBSPOT_WATCH_POLL_SECONDS", "60"))

    demo_requests = Asset(
        name="hubspot_demo_requests",
        uri=hubspot_asset_uri(PORTAL_ID, f"forms/{FORM_ID}"),
        watchers=[
            AssetWatcher(
                name="hubspot_demo_request_form",
                trigger=HubSpotFormSubmissionEventTrigger(
                    form_id=FORM_ID,
                    poll_interval=POLL_SECONDS,
                    include_email=True,  # the run looks the contacts up by e-mail (kept in the asset event)
                ),
            )
        ],
    )

    with DAG(
        dag_id="hubspot_demo_request_watcher",
        description="Route demo requests as soon as the HubSpot form is submitted",
        schedule=[demo_requests],
        start_date=datetime(2026, 1, 1),
        catchup=False,
        tags=["hubspot", "example", "event-driven"],
        doc_md=__doc__,
    ):

        @task
        def route_leads(triggering_asset_events=None) -> dict:
            """Read the new submissions from the asset event(s) that started this run and route them."""
            submissions = [s for event in triggering_asset_events[demo_requests]
                           for s in event.extra["payload"]["submissions"]]
            emails = sorted({s["email"] for s in submissions if s.get("email")})
            client = HubSpotHook().get_conn()
            contacts = list(client.contacts.batch_get(emails, by="email", properties=["email", "company"]))
            routed = {"submissions": len(submissions), "contacts": len(contacts),
                      "sales_calls": sum(1 for c in contacts if (c.get("properties") or {}).get("company")),
                      "conversion_ids": [s["conversionId"] for s in submissions]}
            print(json.dumps(routed))
            path = os.environ.get("HUBSPOT_DEMO_ROUTED_PATH")  # lets the end-to-end test read the outcome
            if path:
                with open(path, "a") as handle:
                    handle.write(json.dumps(routed) + "\n")
            return routed

        route_leads()

    with DAG(
        dag_id="hubspot_after_contacts_sync",
        description="Runs after a task that declared the HubSpot contacts asset in its outlets succeeded",
        schedule=[hubspot_asset(PORTAL_ID, "contacts")],
        start_date=datetime(2026, 1, 1),
        catchup=False,
        tags=["hubspot", "example", "event-driven"],
        doc_md=__doc__,
    ):

        @task
        def report(triggering_asset_events=None) -> int:
            """Count the syncs that produced the asset events of this run."""
            return sum(len(events) for events in triggering_asset_events.values())

        report()
