"""OpenLineage for the HubSpot operators, built in one place from what a task read and what it wrote.

Every operator inherits :class:`HubSpotLineageMixin` (through ``HubSpotBaseOperator``); it implements
``get_openlineage_facets_on_complete``, which ``apache-airflow-providers-openlineage`` calls when the
task succeeded. Without that provider nothing here is imported and nothing changes.

**Namespace.** HubSpot objects are datasets in the namespace ``hubspot://<portal id>`` (the account id
read once per task from ``GET /account-info/v3/details``; when it cannot be read, the API host of the
connection, e.g. ``hubspot://api.hubapi.com``), named after the object written:

===========================================  =============================
operator                                     dataset name
===========================================  =============================
contacts create-or-update, contact merges    ``contacts``
objects (``object_type=``)                    the object type (``companies``, ``2-1234567``)
list membership                               ``lists/<list id>``
timeline events                               ``timeline/<event type>``
===========================================  =============================

The matching Airflow asset URI is ``hubspot://<portal id>/<name>`` (:func:`hubspot_asset`), so a DAG can
be scheduled on "HubSpot contacts were synced" with the same name a catalogue shows.

**Inputs.** The SQL source's tables (through common-sql / OpenLineage's own lineage of the query when the
database hook provides it, else the tables the OpenLineage SQL parser finds in the query, in the namespace
``<connection type>://<host>``), the file (``file`` + path, or ``<scheme>://<bucket>`` + key for object
storage), or the upstream task's XCom (``xcom://<dag id>``, name ``<task id>/<key>``). Inline records have
no input dataset.

**Facets.** Input: ``inputStatistics`` (records read). Output: ``outputStatistics`` (records written),
``schema`` (the HubSpot properties sent, after ``properties_map``) and ``hubspotWrite`` (every outcome
count of the task's summary: written, rejected and each count such as created / updated / not_found).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

SCHEME = "hubspot"
#: Summary counts of records that changed HubSpot (written) and of records HubSpot or the operator refused.
WRITTEN_KEYS = ("created", "updated", "upserted", "added", "merged", "deleted")
REJECTED_KEYS = ("rejected", "not_found", "invalid", "failed")
#: Fields whose value may come from an upstream task's XCom.
XCOM_FIELDS = ("records", "events", "pairs", "vids", "record_ids", "emails")
#: Rows whose keys are collected for the schema facet (the first ones only: the cost stays flat).
SCHEMA_ROWS = 1000
MAX_FIELDS = 500
FACET_SCHEMA_URL = "https://pypi.org/project/airflow-provider-hubspot/#lineage"


def hubspot_namespace(portal: str | int) -> str:
    """``hubspot://<portal id>`` (or ``hubspot://<host>`` when the id is unknown)."""
    return f"{SCHEME}://{portal}"


def hubspot_asset_uri(portal: str | int, name: str) -> str:
    """The Airflow asset URI of a HubSpot object: ``hubspot://<portal id>/<name>`` (``contacts``, ``lists/7``)."""
    return f"{hubspot_namespace(portal)}/{name.strip('/')}"


def hubspot_asset(portal: str | int, name: str, **kwargs: Any) -> Any:
    """An Airflow ``Asset`` named like the lineage dataset (``hubspot://62515/contacts``), for ``outlets=``
    of a write operator and ``schedule=`` of the DAGs that follow it."""
    try:
        from airflow.sdk import Asset
    except ImportError:  # Airflow 2.11
        from airflow.datasets import Dataset as Asset  # type: ignore[no-redef,attr-defined,unused-ignore]
    return Asset(hubspot_asset_uri(portal, name), **kwargs)


def sanitize_hubspot_uri(parts: Any) -> Any:
    """Airflow's URI normaliser for ``hubspot://`` assets (provider info ``asset-uris``): a portal and a path."""
    if not parts.netloc:
        raise ValueError("A hubspot:// asset names the portal: hubspot://<portal id>/<object>, e.g. "
                         "hubspot://62515/contacts")
    if parts.path in ("", "/"):
        raise ValueError("A hubspot:// asset names the object after the portal: hubspot://<portal id>/contacts")
    return parts


def asset_to_openlineage(asset: Any, lineage_context: Any = None) -> Any:
    """The OpenLineage dataset of a ``hubspot://<portal>/<name>`` asset (provider info ``asset-uris``)."""
    from openlineage.client.event_v2 import Dataset

    parts = urlsplit(asset.uri)
    return Dataset(namespace=hubspot_namespace(parts.netloc), name=parts.path.strip("/"))


def observe_columns(operator: Any, rows: Iterable[Any]) -> Iterator[Any]:
    """Pass ``rows`` through, remembering the column names of the first :data:`SCHEMA_ROWS` dict rows on
    ``operator`` (the schema facet's fields)."""
    columns: dict[str, None] = {}
    operator._lineage_columns = columns
    rows = iter(rows)
    for row in islice(rows, SCHEMA_ROWS):
        if isinstance(row, Mapping) and len(columns) < MAX_FIELDS:
            columns.update(dict.fromkeys(str(key) for key in row))
        yield row
    yield from rows


def _xcom_origin(value: Any) -> tuple[str, str] | None:
    """``(task_id, key)`` of an XComArg (Airflow 2 and 3), else ``None``."""
    operator = getattr(value, "operator", None)
    key = getattr(value, "key", None)
    task_id = getattr(operator, "task_id", None)
    if task_id is None or type(value).__name__ not in ("PlainXComArg", "XComArg"):
        return None
    return str(task_id), str(key or "return_value")


class HubSpotLineageMixin:
    """``get_openlineage_facets_on_complete`` for every HubSpot operator (see the module docstring).

    The operator keeps what lineage needs while it runs: the XCom its inputs come from (seen before the
    templates are rendered), the columns of the rows it read (:func:`observe_columns`) and its summary
    (:meth:`remember_summary`, called by ``finish``).
    """

    #: True for an operator that reads HubSpot and writes a file (the export): HubSpot is then its input
    #: and the file its output.
    lineage_reads_hubspot = False
    _lineage_summary: dict[str, Any] | None = None
    _lineage_columns: dict[str, None] | None = None
    _lineage_xcom: dict[str, tuple[str, str]] | None = None
    _hubspot_portal: str | None = None

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        self._lineage_xcom = {name: origin for name in XCOM_FIELDS
                              if (origin := _xcom_origin(getattr(self, name, None))) is not None}
        super().render_template_fields(context, jinja_env)  # type: ignore[misc]

    def remember_summary(self, summary: dict[str, Any]) -> None:
        """Keep the task's summary: its counts become the output's row counts."""
        self._lineage_summary = summary

    # ------------------------------------------------------------------ OpenLineage entry point

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Inputs (SQL tables, file, XCom) and the HubSpot object written, with row counts and schema."""
        try:
            from airflow.providers.openlineage.extractors import OperatorLineage
        except ImportError:  # the OpenLineage provider is not installed
            return None
        try:
            return self._build_lineage(OperatorLineage, task_instance)
        except Exception:  # lineage never fails a task that succeeded
            log.warning("Building the OpenLineage facets of %s failed", getattr(self, "task_id", "?"), exc_info=True)
            return OperatorLineage()

    def _build_lineage(self, operator_lineage: Any, task_instance: Any) -> Any:
        from openlineage.client.event_v2 import InputDataset, OutputDataset
        from openlineage.client.generated.input_statistics_input_dataset import InputStatisticsInputDatasetFacet
        from openlineage.client.generated.output_statistics_output_dataset import OutputStatisticsOutputDatasetFacet

        summary = self._lineage_summary or {}
        if self.lineage_reads_hubspot:
            return self._export_lineage(operator_lineage, summary)
        received = summary.get("received")
        inputs, job_facets = self._lineage_inputs(task_instance)
        input_facets: dict[str, Any] = {}
        if isinstance(received, int):
            input_facets["inputStatistics"] = InputStatisticsInputDatasetFacet(rowCount=received)
        lineage_inputs = [InputDataset(namespace=d.namespace, name=d.name, facets=getattr(d, "facets", None) or {},
                                       inputFacets=input_facets) for d in inputs]
        outputs = []
        if summary and not summary.get("dry_run"):
            written = sum(int(summary.get(k) or 0) for k in WRITTEN_KEYS)
            rejected = sum(int(summary.get(k) or 0) for k in REJECTED_KEYS)
            facets: dict[str, Any] = {}
            schema = self._lineage_schema()
            if schema is not None:
                facets["schema"] = schema
            outputs.append(OutputDataset(
                namespace=hubspot_namespace(self._portal()), name=self.lineage_object_name(), facets=facets,
                outputFacets={"outputStatistics": OutputStatisticsOutputDatasetFacet(rowCount=written),
                              "hubspotWrite": _write_facet(summary, written, rejected)}))
        return operator_lineage(inputs=lineage_inputs, outputs=outputs, job_facets=job_facets)

    def _export_lineage(self, operator_lineage: Any, summary: Mapping[str, Any]) -> Any:
        """An export: the HubSpot object type read (``inputStatistics``: records read) and the file written
        (``outputStatistics``: rows written; ``schema``: its columns)."""
        from openlineage.client.event_v2 import InputDataset, OutputDataset
        from openlineage.client.generated.input_statistics_input_dataset import InputStatisticsInputDatasetFacet
        from openlineage.client.generated.output_statistics_output_dataset import OutputStatisticsOutputDatasetFacet

        received, exported = summary.get("received"), summary.get("exported")
        input_facets: dict[str, Any] = ({"inputStatistics": InputStatisticsInputDatasetFacet(rowCount=received)}
                                        if isinstance(received, int) else {})
        inputs = [InputDataset(namespace=hubspot_namespace(self._portal()), name=self.lineage_object_name(),
                               inputFacets=input_facets)]
        destination = summary.get("destination_path") or getattr(self, "destination_path", None)
        outputs = []
        if destination not in (None, "") and summary:
            target = file_dataset(str(destination))
            facets: dict[str, Any] = {}
            schema = self._lineage_schema()
            if schema is not None:
                facets["schema"] = schema
            output_facets: dict[str, Any] = (
                {"outputStatistics": OutputStatisticsOutputDatasetFacet(rowCount=exported)}
                if isinstance(exported, int) else {})
            outputs.append(OutputDataset(namespace=target.namespace, name=target.name, facets=facets,
                                         outputFacets=output_facets))
        return operator_lineage(inputs=inputs, outputs=outputs)

    # ------------------------------------------------------------------ outputs

    def lineage_object_name(self) -> str:
        """The dataset name of what this operator writes (``contacts``, ``lists/<id>``, ``timeline/<type>``)."""
        summary = self._lineage_summary or {}
        list_id = summary.get("list_id") or getattr(self, "list_id", None)
        if list_id not in (None, ""):
            return f"lists/{str(list_id).strip()}"
        if hasattr(self, "event_type") and hasattr(self, "events"):
            event_type = getattr(self, "event_type", None)
            return f"timeline/{event_type}" if event_type not in (None, "") else "timeline"
        object_type = getattr(self, "object_type", None)
        if object_type not in (None, ""):
            return str(object_type).strip()
        return "contacts"

    def _portal(self) -> str:
        """The portal id, read once per task; the connection's API host when HubSpot does not say."""
        if self._hubspot_portal is None:
            client = self.client  # type: ignore[attr-defined]
            from airflow_provider_hubspot.client.account import portal_id

            self._hubspot_portal = portal_id(client) or urlsplit(client.base_url).netloc or "api.hubapi.com"
        return self._hubspot_portal

    def _lineage_schema(self) -> Any:
        from openlineage.client.generated.schema_dataset import SchemaDatasetFacet, SchemaDatasetFacetFields

        unsent = set(getattr(self, "unsent_columns", ()) or ())  # e.g. the columns naming records to associate
        columns = [c for c in self._lineage_columns or () if c not in unsent]
        if not columns:
            return None
        rename = getattr(self, "properties_map", None) or {}
        names = list(dict.fromkeys(str(rename.get(c, c)) for c in columns))
        return SchemaDatasetFacet(fields=[SchemaDatasetFacetFields(name=n, type="string") for n in names])

    # ------------------------------------------------------------------ inputs

    def _lineage_inputs(self, task_instance: Any) -> tuple[list[Any], dict[str, Any]]:
        from openlineage.client.event_v2 import Dataset

        sql = getattr(self, "sql", None)
        if sql not in (None, "") and getattr(self, "sql_conn_id", None):
            return sql_inputs(str(sql), str(self.sql_conn_id))  # type: ignore[attr-defined]
        path = getattr(self, "source_path", None)
        if path not in (None, ""):
            return [file_dataset(str(path))], {}
        dag_id = getattr(task_instance, "dag_id", None) or getattr(getattr(self, "dag", None), "dag_id", "dag")
        datasets = [Dataset(namespace=f"xcom://{dag_id}", name=f"{task_id}/{key}")
                    for task_id, key in dict.fromkeys((self._lineage_xcom or {}).values())]
        return datasets, {}


def _write_facet(summary: Mapping[str, Any], written: int, rejected: int) -> Any:
    """The ``hubspotWrite`` output facet: written, rejected and every outcome count of the summary."""
    from openlineage.client.generated.base import OutputDatasetFacet

    counts = {k: int(v) for k, v in summary.items() if isinstance(v, int) and not isinstance(v, bool)
              and k not in ("requests", "retries", "rate_limited")}
    facet = OutputDatasetFacet().with_additional_properties(
        written=written, rejected=rejected, counts=counts, apiVersion=summary.get("api_version"))
    facet._schemaURL = FACET_SCHEMA_URL
    return facet


def file_dataset(path: str) -> Any:
    """``file`` + absolute path for a local file; ``<scheme>://<bucket>`` + key for object storage."""
    from openlineage.client.event_v2 import Dataset

    if "://" not in path:
        return Dataset(namespace="file", name=os.path.abspath(path))
    parts = urlsplit(path)
    if parts.scheme == "file":
        return Dataset(namespace=f"file://{parts.netloc}" if parts.netloc else "file", name=parts.path)
    return Dataset(namespace=f"{parts.scheme}://{parts.netloc}", name=parts.path.lstrip("/") or "/")


def sql_inputs(sql: str, conn_id: str) -> tuple[list[Any], dict[str, Any]]:
    """The tables ``sql`` reads, and the ``sql`` job facet.

    Uses common-sql's lineage of the query (the database hook's ``get_openlineage_database_info``:
    Postgres, MySQL, Snowflake, ... with the namespaces their providers define) and falls back to the
    tables the OpenLineage SQL parser finds, in the namespace ``<connection type>://<host>``
    (e.g. ``sqlite:///data/crm.db``) for hooks without it, such as SQLite.
    """
    from openlineage.client.event_v2 import Dataset
    from openlineage.client.generated.sql_job import SQLJobFacet

    from airflow_provider_hubspot._compat import BaseHook

    conn = BaseHook.get_connection(conn_id)
    hook = conn.get_hook()
    job_facets: dict[str, Any] = {"sql": SQLJobFacet(query=sql)}
    try:
        from airflow.providers.openlineage.sqlparser import get_openlineage_facets_with_sql

        found = get_openlineage_facets_with_sql(hook=hook, sql=sql, conn_id=conn_id, database=None,
                                                connection=conn)
    except Exception:  # a hook without lineage support, or a parser error
        log.debug("common-sql lineage of the query is not available", exc_info=True)
        found = None
    if found is not None and found.inputs:
        return list(found.inputs), {**job_facets, **(found.job_facets or {})}
    from airflow.providers.openlineage.sqlparser import SQLParser

    try:
        dialect = hook.get_openlineage_database_dialect(conn)
    except AttributeError:
        dialect = "generic"
    if dialect == "generic" and conn.conn_type:
        dialect = str(conn.conn_type)
    meta = SQLParser(dialect=dialect, default_schema=None).parse(sql)
    if meta is None:  # the parser could not read the query
        meta = SQLParser(dialect="generic", default_schema=None).parse(sql)
    namespace = _database_namespace(conn)
    tables = list(dict.fromkeys(t.qualified_name for t in (meta.in_tables if meta else [])))
    return [Dataset(namespace=namespace, name=name) for name in tables], job_facets


def _database_namespace(conn: Any) -> str:
    """``<connection type>://<host>[:<port>]``; for SQLite the host is the database file's path."""
    kind = str(conn.conn_type or "db")
    host = str(conn.host or "")
    if kind == "sqlite":
        return f"sqlite://{os.path.abspath(host) if host and host != ':memory:' else host}"
    return f"{kind}://{host}:{conn.port}" if conn.port else f"{kind}://{host}"
