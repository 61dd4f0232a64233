"""Create timeline events on contacts."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from airflow_provider_hubspot._compat import Context
from airflow_provider_hubspot.client import BatchOutcome, HubSpotConfigError, HubSpotError, Record, Rejection
from airflow_provider_hubspot.client.editions import Edition
from airflow_provider_hubspot.operators.base import (
    SOURCE_FIELDS,
    Counted,
    HubSpotBaseOperator,
    Progress,
    RejectsFile,
    SourceMixin,
    check_max_rejected,
    default_rejects_name,
    summary,
    validate_max_rejected,
)
from airflow_provider_hubspot.sources import check_finite, check_property_name, to_hubspot_value

#: Event fields that are not custom properties / tokens.
STANDARD_FIELDS = ("id", "email", "objectId", "utk", "domain", "timestamp", "extraData", "timelineIFrame",
                   "objectTypeFullyQualifiedName")
TYPE_FIELDS = ("eventTypeId", "eventTemplateId", "eventTypeName")


class HubSpotCreateTimelineEventsOperator(SourceMixin, HubSpotBaseOperator):
    """Create timeline events, batched, each in its edition's shape.

    * ``v1``: ``eventTypeId``, ``id``, ``email``/``objectId``, custom properties at the top level
      (needs ``app_id``);
    * ``v3``: ``eventTemplateId``, ``id``, ``tokens``, ``email``/``objectId``;
    * ``2026-03`` and later: ``eventTypeName``, ``id``, ``properties``, ``email``/``objectId``.

    Rows may already be in that shape, or be flat: ``event_type`` gives the type for every row,
    ``id``/``email``/``objectId``/``timestamp``/``extraData`` columns are taken as they are and every
    other column becomes a custom property / token (renamed with ``properties_map``). An event
    without ``id`` gets a deterministic one derived from its content, so a retried task re-sends the
    same ids and HubSpot's "already exists" answers count as ``already_existed``, never duplicates.

    :param events: list of dicts (or an XComArg); or ``records`` / ``source_path`` / ``sql`` rows.
    :param event_type: event type id (v1), template id (v3) or type name (2026-03) for rows that
        carry none.
    :param app_id: the HubSpot app id (v1 only).
    :param id_prefix: prefix of derived event ids.
    :param properties_map: ``{"column": "property_or_token"}`` renames.
    :param object_id_column: column holding the contact id (sent as ``objectId``), e.g. ``vid``.
    :param max_concurrency: batches in flight at once.
    :param rejects_path: JSON Lines file for rejected events (default: a temp file).
    :param max_rejected: rejected events tolerated (count or fraction), default 0.
    :param hubspot_conn_id: the ``hubspot`` connection.
    :param api_version: overrides the connection's ``api_version``.
    """

    outcome_keys = ("created", "already_existed", "rejected")
    template_fields: Sequence[str] = ("events", *SOURCE_FIELDS, "event_type", "app_id", "properties_map",
                                      "rejects_path", "api_version", "hubspot_conn_id")
    template_fields_renderers = {"sql": "sql", "events": "json", "records": "json", "properties_map": "json"}

    def __init__(
        self,
        *,
        events: Any = None,
        records: Any = None,
        source_path: str | None = None,
        sql: str | None = None,
        sql_conn_id: str | None = None,
        file_format: str | None = None,
        event_type: str | int | None = None,
        app_id: str | int | None = None,
        id_prefix: str = "airflow-",
        properties_map: Mapping[str, str] | None = None,
        object_id_column: str | None = None,
        batch_size: int = 100,
        max_concurrency: int = 2,
        rejects_path: str | None = None,
        max_rejected: int | float = 0,
        progress_every: int = 10,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if events not in (None, "") and records not in (None, ""):
            raise HubSpotConfigError("Pass events= or records=, not both (they are the same input).")
        self.events = events
        self.init_source(records=events if events not in (None, "") else records, source_path=source_path,
                         sql=sql, sql_conn_id=sql_conn_id, file_format=file_format)
        self.event_type = event_type
        self.app_id = app_id
        self.id_prefix = id_prefix
        self.properties_map = properties_map
        self.object_id_column = object_id_column
        self.batch_size = batch_size
        self.max_concurrency = max_concurrency
        self.rejects_path = rejects_path
        self.max_rejected = validate_max_rejected(max_rejected)
        self.progress_every = progress_every

    def execute(self, context: Context) -> dict[str, Any]:
        if self.events not in (None, ""):
            self.records = self.events  # rendered templates land on `events`
        with self.failing_clearly("Creating timeline events"):
            client = self.client
        edition = client.edition
        if edition.is_v1 and self.app_id in (None, ""):
            raise self.fail(HubSpotConfigError("v1 timeline events need app_id= (the app that owns the event "
                                               "type)."), "Creating timeline events")
        rejects = RejectsFile(self.rejects_path, default_rejects_name(context, self.task_id))
        invalid = BatchOutcome(keep_rejections=False)  # events that could not be shaped, streamed to the file
        rows = Counted(self.source_rows())
        progress = Progress(self.log, "Events", self.progress_every)

        def events() -> Iterator[Record]:
            for index, row in enumerate(rows):
                try:
                    yield Record(index, self._shape(row, edition))
                except ValueError as exc:
                    invalid.reject(Record(index, row), str(exc), "INVALID_EVENT")
                    rejects.write([Rejection(index, row, str(exc), "INVALID_EVENT")])

        def on_batch(batch: list[Record], outcome: BatchOutcome) -> None:
            rejects.write(outcome.rejections)
            progress.advance(created=outcome.counts["created"], already_existed=outcome.counts["already_existed"],
                             rejected=outcome.rejected)

        try:
            outcome = client.timeline.create_events(events(), app_id=self.app_id, batch_size=self.batch_size,
                                                    max_concurrency=self.max_concurrency, on_batch=on_batch,
                                                    keep_rejections=False)
        except HubSpotError as exc:
            raise self.fail(exc, f"Creating timeline events (after {rows.count} rows)") from None
        finally:
            rejects.close()
        outcome.merge(invalid)
        result = summary(outcome, client, received=rows.count, rejected=outcome.rejected,
                         rejects_path=rejects.written_path, api_version=str(edition))
        self.finish(result)
        self.log.info("Timeline events: %s", result)
        self.log_rejections(rejects.samples, "Rejected event")
        check_max_rejected(self.max_rejected, outcome.rejected, rows.count, rejects.written_path, rejects.samples)
        return result

    def _shape(self, row: Any, edition: Edition) -> dict[str, Any]:
        """Turn one input row into an event of ``edition``'s shape; ValueError says what is missing."""
        if not isinstance(row, Mapping):
            raise ValueError(f"an event is a dict, got {type(row).__name__}")
        rename = self.properties_map or {}
        type_key = self.client.timeline.type_key
        event: dict[str, Any] = {}
        custom: dict[str, Any] = dict(row.get("tokens") or row.get("properties") or {})
        for column, value in row.items():
            check_property_name(column)
            if column in ("tokens", "properties") or value in (None, ""):
                continue
            check_finite(value)
            if column == self.object_id_column or column == "objectId":
                event["objectId"] = _object_id(value, edition)
            elif column in STANDARD_FIELDS:
                event[column] = value
            elif column in TYPE_FIELDS:
                event[type_key] = value
            else:
                custom[rename.get(column, column)] = to_hubspot_value(value)
        event.setdefault(type_key, self.event_type)
        if event[type_key] in (None, ""):
            raise ValueError(f"no event type: set event_type= or give each event a {type_key!r}")
        if not any(event.get(k) not in (None, "") for k in ("email", "objectId", "utk")):
            raise ValueError("an event needs the contact: an 'email', 'objectId' (or object_id_column) or 'utk'")
        if edition.is_v1:
            event.update(custom)
        else:  # v3 and date versions type token / property values, objectId and timestamp as strings
            event["tokens" if edition.modern == "v3" else "properties"] = {  # required, even when empty
                name: value if isinstance(value, str) else to_hubspot_value(value) for name, value in custom.items()}
            if event.get("timestamp") not in (None, "") and not isinstance(event["timestamp"], str):
                event["timestamp"] = _iso_timestamp(event["timestamp"])
        if event.get("id") in (None, ""):
            digest = hashlib.sha1(json.dumps(event, sort_keys=True, default=str).encode()).hexdigest()[:24]
            event["id"] = f"{self.id_prefix}{digest}"
        event["id"] = str(event["id"])
        return event


def _object_id(value: Any, edition: Edition) -> str | int:
    """A record id as HubSpot's timeline schema types it: a string in v3 and date versions (``12.0`` from a
    CSV/SQL float becomes ``"12"``), a number in v1 (kept as given when it is not one)."""
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value).strip()
    if edition.is_v1:
        return int(text) if text.isdigit() else value
    return text


def _iso_timestamp(value: Any) -> str:
    """An epoch-milliseconds number or a datetime as the ISO-8601 string HubSpot's modern timeline APIs take."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    else:
        try:
            moment = datetime.fromtimestamp(float(value) / 1000, tz=timezone.utc)
        except (TypeError, ValueError, OverflowError, OSError):
            raise ValueError(f"timestamp {value!r} is neither an ISO-8601 string nor epoch milliseconds") from None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
