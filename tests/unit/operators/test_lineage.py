"""OpenLineage facets of the write operators: inputs (SQL tables, files, XCom), the HubSpot object written in
the ``hubspot://<portal id>`` namespace, row counts and the schema of the properties sent."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from airflow_provider_hubspot.client.account import portal_id
from airflow_provider_hubspot.emulator._util import PORTAL_ID
from airflow_provider_hubspot.operators.contacts import (
    HubSpotCreateOrUpdateContactsOperator,
    HubSpotMergeContactsOperator,
)
from airflow_provider_hubspot.operators.lineage import (
    asset_to_openlineage,
    file_dataset,
    hubspot_asset,
    hubspot_asset_uri,
    sanitize_hubspot_uri,
)
from airflow_provider_hubspot.operators.lists import HubSpotAddContactsToListOperator
from airflow_provider_hubspot.operators.timeline import HubSpotCreateTimelineEventsOperator

pytest.importorskip("airflow.providers.openlineage", reason="apache-airflow-providers-openlineage is not installed")

NAMESPACE = f"hubspot://{PORTAL_ID}"


class _TI:
    dag_id = "lineage_dag"
    task_id = "t"


def _facets(dataset, kind):
    from openlineage.client.serde import Serde

    return json.loads(Serde.to_json(dataset)).get(kind) or {}


@pytest.fixture
def crm_db(tmp_path, monkeypatch):
    path = tmp_path / "crm.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, first_name TEXT, city TEXT)")
        rows = [(i, f"c{i}@example.com", f"F{i}", "Paris") for i in range(30)] + [(30, "bad@example.comv", "X", "")]
        db.executemany("INSERT INTO customers VALUES (?, ?, ?, ?)", rows)
    monkeypatch.setenv("AIRFLOW_CONN_CRM_DB", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    return path


def test_portal_id_is_read_from_the_account_details(fast_emulator):
    from airflow_provider_hubspot.hooks.hubspot import HubSpotHook

    assert portal_id(HubSpotHook().get_conn()) == str(PORTAL_ID)


def test_sql_sync_reports_the_table_read_and_the_contacts_written(fast_emulator, context, crm_db):
    op = HubSpotCreateOrUpdateContactsOperator(
        task_id="upsert", sql_conn_id="crm_db", sql="SELECT email, first_name, city FROM customers ORDER BY id",
        properties_map={"first_name": "firstname"}, max_rejected=1)
    result = op.execute(context)
    lineage = op.get_openlineage_facets_on_complete(_TI())

    [source] = lineage.inputs
    assert (source.namespace, source.name) == (f"sqlite://{crm_db}", "customers")
    assert _facets(source, "inputFacets")["inputStatistics"]["rowCount"] == result["received"] == 31
    [target] = lineage.outputs
    assert (target.namespace, target.name) == (NAMESPACE, "contacts")
    out = _facets(target, "outputFacets")
    assert out["outputStatistics"]["rowCount"] == result["created"] == 30
    assert (out["hubspotWrite"]["written"], out["hubspotWrite"]["rejected"]) == (30, 1)
    assert out["hubspotWrite"]["counts"]["created"] == 30
    fields = [f["name"] for f in _facets(target, "facets")["schema"]["fields"]]
    assert fields == ["email", "firstname", "city"], "the properties sent, after properties_map"
    assert "customers" in lineage.job_facets["sql"].query


def test_portal_id_is_read_once_per_task(fast_emulator, context):
    op = HubSpotCreateOrUpdateContactsOperator(task_id="upsert", records=[{"email": "a@example.com"}])
    op.execute(context)
    op.get_openlineage_facets_on_complete(_TI())
    op.get_openlineage_facets_on_complete(_TI())
    calls = [r for r in fast_emulator.requests if r.path.startswith("/account-info/")]
    assert len(calls) == 1


def test_namespace_falls_back_to_the_api_host(fast_emulator, context, monkeypatch):
    from airflow_provider_hubspot.client import account

    monkeypatch.setattr(account.AccountAPI, "portal_id", lambda self: None)
    op = HubSpotCreateOrUpdateContactsOperator(task_id="upsert", records=[{"email": "a@example.com"}])
    op.execute(context)
    [target] = op.get_openlineage_facets_on_complete(_TI()).outputs
    host = fast_emulator.url.split("://", 1)[1]
    assert target.namespace == f"hubspot://{host}"


def test_file_source_and_list_output(fast_emulator, context, tmp_path):
    vids = [fast_emulator.state.add_contact({"email": f"p{i}@example.com"}) for i in range(3)]
    list_id = fast_emulator.state.create_list("Newsletter")[1]
    path = tmp_path / "members.csv"
    path.write_text("email\np0@example.com\np1@example.com\nghost@example.com\n")
    op = HubSpotAddContactsToListOperator(task_id="add", list_id=list_id, source_path=str(path))
    op.execute(context)
    lineage = op.get_openlineage_facets_on_complete(_TI())
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("file", str(path))]
    [target] = lineage.outputs
    assert (target.namespace, target.name) == (NAMESPACE, f"lists/{list_id}")
    out = _facets(target, "outputFacets")
    assert out["outputStatistics"]["rowCount"] == 2
    assert out["hubspotWrite"]["rejected"] == 1 and out["hubspotWrite"]["counts"]["not_found"] == 1
    assert vids


def test_timeline_output_is_named_by_event_type(fast_emulator, context):
    fast_emulator.state.register_event_type_name("webinar_attended")
    events = [{"email": f"person{i}@example.com", "webinar": "Intro", "id": f"evt-{i}"} for i in range(5)]
    op = HubSpotCreateTimelineEventsOperator(task_id="events", events=events, event_type="webinar_attended")
    op.execute(context)
    lineage = op.get_openlineage_facets_on_complete(_TI())
    assert lineage.inputs == [], "inline events have no input dataset"
    [target] = lineage.outputs
    assert (target.namespace, target.name) == (NAMESPACE, "timeline/webinar_attended")
    assert _facets(target, "outputFacets")["outputStatistics"]["rowCount"] == 5


def test_xcom_input_is_named_after_the_upstream_task(fast_emulator, context):
    from airflow_provider_hubspot._compat import AIRFLOW_V3

    if AIRFLOW_V3:
        from airflow.sdk import DAG, task
    else:
        from airflow import DAG
        from airflow.decorators import task

    a = fast_emulator.state.add_contact({"email": "a@example.com"})
    b = fast_emulator.state.add_contact({"email": "b@example.com"})
    with DAG("lineage_dag", schedule=None):
        @task
        def pairs():
            return [[a, b]]

        op = HubSpotMergeContactsOperator(task_id="merge", pairs=pairs())
    context["ti"].xcom_pull = lambda *args, **kw: [[a, b]]
    context["ti"].get_relevant_upstream_map_indexes = lambda *args, **kw: None  # Airflow 2.11 asks
    context["task_instance"] = context["ti"]
    context["expanded_ti_count"] = None  # Airflow 2.11 asks
    op.render_template_fields(context)
    assert op.pairs == [[a, b]]
    op.execute(context)
    lineage = op.get_openlineage_facets_on_complete(_TI())
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("xcom://lineage_dag", "pairs/return_value")]
    [target] = lineage.outputs
    assert (target.name, _facets(target, "outputFacets")["outputStatistics"]["rowCount"]) == ("contacts", 1)


def test_dry_run_reports_no_output(fast_emulator, context):
    op = HubSpotCreateOrUpdateContactsOperator(task_id="upsert", records=[{"email": "a@example.com"}], dry_run=True)
    op.execute(context)
    assert op.get_openlineage_facets_on_complete(_TI()).outputs == []


def test_object_storage_and_local_file_names():
    assert (file_dataset("s3://bucket/in/people.csv").namespace, file_dataset("s3://bucket/in/people.csv").name) == (
        "s3://bucket", "in/people.csv")
    assert file_dataset("file:///data/x.csv").namespace == "file"
    assert file_dataset("relative.csv").name.endswith("/relative.csv")


def test_assets_share_the_lineage_names():
    from urllib.parse import urlsplit

    assert hubspot_asset_uri(62515, "contacts") == "hubspot://62515/contacts"
    asset = hubspot_asset(62515, "lists/7")
    assert asset.uri == "hubspot://62515/lists/7"
    dataset = asset_to_openlineage(asset)
    assert (dataset.namespace, dataset.name) == ("hubspot://62515", "lists/7")
    with pytest.raises(ValueError, match="names the object"):
        sanitize_hubspot_uri(urlsplit("hubspot://62515"))


def test_export_reports_hubspot_as_input_and_the_file_as_output(hubspot_connection, monkeypatch, tmp_path):
    from airflow_provider_hubspot.operators.export import HubSpotExportObjectsOperator

    from .conftest import point_connection

    hubspot_connection.rate_limit = 0
    hubspot_connection.search_rate_per_second = 1_000_000
    point_connection(hubspot_connection, monkeypatch, search_rate_limit=1_000_000, rate_limit=1_000_000)
    modified = int(time.time() * 1000) - 60_000  # inside the default window (the last day)
    with hubspot_connection.state.lock:
        for i in range(7):
            hubspot_connection.state.add_contact({"email": f"p{i}@example.com", "firstname": f"F{i}"},
                                                 created_at=modified, validate=False)
    path = tmp_path / "contacts.jsonl"
    op = HubSpotExportObjectsOperator(task_id="export", object_type="contacts", properties=["email", "firstname"],
                                      destination_path=str(path), search_lag_seconds=0)
    result = op.execute({"ti": type("TI", (), {"xcom_push": lambda *a, **k: None,
                                               "xcom_pull": lambda *a, **k: None})(), "run_id": "t"})
    lineage = op.get_openlineage_facets_on_complete(_TI())
    [source] = lineage.inputs
    assert (source.namespace, source.name) == (NAMESPACE, "contacts")
    assert _facets(source, "inputFacets")["inputStatistics"]["rowCount"] == result["received"] == 7
    [target] = lineage.outputs
    assert (target.namespace, target.name) == ("file", str(path))
    assert _facets(target, "outputFacets")["outputStatistics"]["rowCount"] == 7
    assert [f["name"] for f in _facets(target, "facets")["schema"]["fields"]][:3] == ["id", "email", "firstname"]
