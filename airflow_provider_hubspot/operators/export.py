"""Export CRM objects from HubSpot to a file: incremental by last-modified window, or in full."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import IO, Any

from airflow_provider_hubspot import storage
from airflow_provider_hubspot._compat import Context
from airflow_provider_hubspot.client import HubSpotClient, HubSpotConfigError
from airflow_provider_hubspot.client.exports import (
    ASSOCIATIONS_BATCH_SIZE,
    ObjectReader,
    ReadStats,
    modified_property,
    read_all,
    read_modified,
    window_filters,
)
from airflow_provider_hubspot.operators.base import HubSpotBaseOperator, Progress
from airflow_provider_hubspot.sensors.base import data_interval_ms, to_epoch_ms, to_int

#: ``since`` value (the default): the run's data interval start, with the interval's end as ``until``.
DATA_INTERVAL_START = "data_interval_start"
#: ``since`` value: the watermark this task pushed in its latest earlier run (else the data interval start).
PREVIOUS_WATERMARK = "previous_watermark"
#: Default seconds between a change in HubSpot and the moment the export relies on search showing it.
DEFAULT_SEARCH_LAG_SECONDS = 60
FORMATS = ("jsonl", "csv")
_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv"}
ASSOCIATED_PREFIX = "associated_"


@dataclass(frozen=True)
class Window:
    """What one run exports: records last modified in ``[since_ms, until_ms)`` (``since_ms`` ``None``: every
    record, read in full), and the watermark the next run starts from."""

    since_ms: int | None
    until_ms: int | None
    watermark_ms: int
    since_from: str

    @property
    def incremental(self) -> bool:
        return self.since_ms is not None


class HubSpotExportObjectsOperator(HubSpotBaseOperator):
    """Export HubSpot CRM records (contacts, companies, deals, custom objects...) to a file.

    Incremental (``since`` set, the default): the records whose last-modified time is in the window
    ``[since, until)``, read with the search endpoint keyset-paged by ``hs_object_id`` — no 10,000-result
    cap, and records modified while the export runs neither shift nor break the pages. Consecutive runs
    whose windows tile time (each ``since`` the previous run's watermark, or consecutive data intervals)
    export every change once: a record is in the run whose window holds its last-modified time when the
    run reads it. The window ends ``search_lag_seconds`` before the export starts at the latest (HubSpot's
    search shows changes after a delay), and the end is pushed to XCom under ``watermark`` (epoch ms)
    for the next run's ``since``.

    Full (``since=None``): every record, by default with the same keyset search without a window
    (``full_export_method="search"``: 200 per request under search's own limit, several requests in
    flight), or from the object list endpoint (``"list"``: 100 per request under the ten-secondly limit
    the writers share, one request at a time since each page's cursor comes from the one before; at
    HubSpot's usual answer times that is slower than search — see benchmarks/README.md). The watermark is
    the export's start minus the lag: a following incremental run misses nothing changed meanwhile.

    The file is written aside (``<destination>.partial``) and moved onto ``destination_path`` only when
    complete: a failed or killed export never leaves a half-written file there. Memory stays flat in the
    number of records (a page, or 1,000 records when associations are read, at a time).

    :param object_type: ``contacts``, ``companies``, ``deals``, ``tickets``..., or an object type id
        (``0-2``, ``2-1234567`` for a custom object).
    :param properties: the properties to export (a list, or a comma-separated string), or ``"all"``
        (every property the type defines). The last-modified property is always included.
    :param destination_path: local path or Airflow object-storage URI (``file://``, ``s3://``...); a
        name ending in ``.gz`` is gzip-compressed.
    :param file_format: ``jsonl`` (one JSON object per line) or ``csv``; by default from the file name
        (``.csv``, ``.jsonl``/``.ndjson``/``.json``, before any ``.gz``), else ``jsonl``.
    :param since: start of the window (inclusive): a datetime, ISO-8601 string or epoch ms;
        ``"data_interval_start"`` (default: the run's data interval, whose end is then the default
        ``until``); ``"previous_watermark"`` (the watermark this task pushed in its latest earlier run,
        else the data interval start); or ``None`` for a full export.
    :param until: end of the window (exclusive), same forms; default: the data interval end when
        ``since`` is the data interval, else now. Never later than ``search_lag_seconds`` ago: a window
        that ended less long ago is waited for (at most that lag), one that ends in the future is cut
        there (with a warning).
    :param associations: object types whose associated record ids become columns
        ``associated_<type>`` (e.g. ``["companies"]`` for a contact's company ids; a list in JSON Lines,
        ``;``-separated in CSV), read with the associations batch read, 1,000 records per request.
    :param search_lag_seconds: how long HubSpot's search may take to show a change (default 60).
    :param max_concurrency: search requests in flight at once (default 3; all under search's
        per-second limit). A search answer takes longer than the limit's spacing (250 ms), so one at a
        time cannot use the whole budget.
    :param full_export_method: how ``since=None`` reads: ``"search"`` (default) or ``"list"``.
    :param modified_property: the last-modified property (default ``lastmodifieddate`` for contacts,
        ``hs_lastmodifieddate`` for the other types).
    :param progress_every: log a progress line every this many pages.

    Returns (XCom) a summary: ``received`` (records read) = ``exported`` (rows written), the window
    (``since``, ``until``; ``mode`` ``incremental`` or ``full``), the ``watermark``, ``destination_path``,
    ``file_format``, ``pages``, ``requests``, ``records_per_second``.
    """

    required_params = ("object_type", "destination_path", "properties")
    outcome_keys = ("exported",)
    #: Lineage: HubSpot is this operator's input and the file its output (operators/lineage.py).
    lineage_reads_hubspot = True
    template_fields: Sequence[str] = ("object_type", "properties", "destination_path", "file_format", "since",
                                      "until", "associations", "search_lag_seconds", "api_version",
                                      "hubspot_conn_id")

    def __init__(
        self,
        *,
        object_type: str,
        properties: Sequence[str] | str,
        destination_path: str,
        file_format: str | None = None,
        since: Any = DATA_INTERVAL_START,
        until: Any = None,
        associations: Sequence[str] | str | None = None,
        search_lag_seconds: float | str = DEFAULT_SEARCH_LAG_SECONDS,
        max_concurrency: int = 3,
        full_export_method: str = "search",
        modified_property: str | None = None,
        progress_every: int = 50,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.object_type = object_type
        self.properties = properties
        self.destination_path = destination_path
        self.file_format = file_format
        self.since = since
        self.until = until
        self.associations = associations
        self.search_lag_seconds = search_lag_seconds
        self.max_concurrency = max_concurrency
        if full_export_method not in ("list", "search"):
            raise HubSpotConfigError(f"full_export_method must be 'list' or 'search', got {full_export_method!r}.")
        self.full_export_method = full_export_method
        self.modified_property = modified_property
        self.progress_every = progress_every
        self._clock = time.time
        self._sleep = time.sleep

    # ------------------------------------------------------------------ execute

    def execute(self, context: Context) -> dict[str, Any]:
        self.check_required()
        object_type = str(self.object_type).strip()
        destination = str(self.destination_path).strip()
        doing = f"Exporting HubSpot {object_type} to {destination}"
        with self.failing_clearly(doing):
            file_format, compressed = self._format(destination)
            associations = _names(self.associations, "associations")
            lanes = to_int(self.max_concurrency, "max_concurrency", 1)
            window = self._window(context)
            client = self.client
            reader = self._reader(client, object_type)
            modified = str(self.modified_property or modified_property(reader.object_type))
            properties = self._property_list(reader, modified)
            columns = ["id", *properties, *(ASSOCIATED_PREFIX + t for t in associations)]
            clash = sorted({c for c in columns if columns.count(c) > 1})
            if clash:
                raise HubSpotConfigError(f"Column name(s) {clash} appear twice in the export (a property named like "
                                         "the id column or an association column): rename or drop them.")
            self._lineage_columns = dict.fromkeys(columns)
            stats = ReadStats()
            self.log.info("%s: %s, %d properties%s, %s (%s)", doing, _describe(window, modified), len(properties),
                          f", associations {associations}" if associations else "", file_format,
                          client.edition.describe(("crm_objects", "associations")))
            started = time.monotonic()
            pages = self._pages(reader, window, modified, properties, lanes, stats)
            progress = Progress(self.log, f"{object_type.capitalize()} exported", every=self.progress_every)
            count = _write_atomically(destination, file_format, compressed, columns,
                                      self._rows(reader, pages, properties, associations, progress, stats))
            elapsed = max(time.monotonic() - started, 1e-6)
        traffic = client.stats
        result = {"object_type": object_type, "mode": "incremental" if window.incremental else "full",
                  "received": stats.records, "exported": count, "destination_path": destination,
                  "file_format": file_format, "compressed": compressed, "since": window.since_ms,
                  "until": window.until_ms, "watermark": window.watermark_ms,
                  "watermark_iso": _iso(window.watermark_ms), "pages": stats.pages, "announced": stats.announced,
                  "lanes": stats.lanes_used, "properties": len(properties), "associations": associations,
                  "api_version": str(client.edition), "seconds": round(elapsed, 3),
                  "records_per_second": round(count / elapsed, 1), "requests": traffic["requests"],
                  "retries": traffic["retries"], "rate_limited": traffic["rate_limited"]}
        self.finish(result)
        ti = context.get("ti")
        if ti is not None:
            ti.xcom_push(key="watermark", value=window.watermark_ms)
        self.log.info("Exported %d %s to %s in %.1f s (%.0f records/s, %d pages); next watermark %s (%d)", count,
                      object_type, destination, elapsed, count / elapsed, stats.pages, _iso(window.watermark_ms),
                      window.watermark_ms)
        return result

    # ------------------------------------------------------------------ the window

    def _window(self, context: Context) -> Window:
        """The window of this run (see the class docstring for the rule)."""
        now_ms = int(self._clock() * 1000)
        lag_ms = int(_seconds(self.search_lag_seconds, "search_lag_seconds") * 1000)
        settled_ms = now_ms - lag_ms
        if self.since is None:
            if self.until not in (None, ""):
                self.log.warning("until is ignored by a full export (since=None): every record is read.")
            return Window(None, None, settled_ms, "none (full export)")
        since = self.since.strip() if isinstance(self.since, str) else self.since
        if since in ("", "None", "null"):
            raise HubSpotConfigError(
                f"since rendered as {self.since!r}: give a datetime, ISO-8601 string or epoch ms, "
                f"'{DATA_INTERVAL_START}', '{PREVIOUS_WATERMARK}', or since=None (not a template) for a full export.")
        from_interval = since == DATA_INTERVAL_START
        if since == PREVIOUS_WATERMARK:
            previous = self._previous_watermark(context)
            since_ms = previous if previous is not None else data_interval_ms(context)[0]
            since_from = ("the previous watermark" if previous is not None
                          else "the data interval start (no watermark yet)")
        elif from_interval:
            since_ms, since_from = data_interval_ms(context)[0], "the data interval start"
        else:
            since_ms, since_from = to_epoch_ms(since, "since"), "since"
        if self.until not in (None, ""):
            until_ms, asked = to_epoch_ms(self.until, "until"), True
        elif from_interval:
            until_ms, asked = data_interval_ms(context)[1], True
        else:
            until_ms, asked = settled_ms, False
        if asked and until_ms > settled_ms:
            if until_ms <= now_ms:  # the window has ended, but HubSpot's search may not show its last changes yet
                wait = (until_ms - settled_ms) / 1000
                self.log.info("The window ends %s, less than search_lag_seconds ago: waiting %.1f s for HubSpot's "
                              "search to show its last changes.", _iso(until_ms), wait)
                self._sleep(wait)
            else:
                self.log.warning(
                    "The window's end %s is in the future: this run exports up to %s (search_lag_seconds before now) "
                    "and pushes that as the watermark; a next run from the watermark covers the rest.",
                    _iso(until_ms), _iso(settled_ms))
                until_ms = settled_ms
        if since_ms > until_ms:
            self.log.warning("since %s is after the window's end %s: nothing to export; the watermark stays at since.",
                             _iso(since_ms), _iso(until_ms))
            until_ms = since_ms
        return Window(since_ms, until_ms, until_ms, since_from)

    def _previous_watermark(self, context: Context) -> int | None:
        """The watermark this task pushed in its latest earlier run (``None`` when there is none)."""
        try:
            value = context["ti"].xcom_pull(task_ids=self.task_id, key="watermark", include_prior_dates=True)
        except Exception:  # no XCom backend (a direct execute), or an Airflow without prior-date pulls
            return None
        if value in (None, ""):
            return None
        return to_epoch_ms(value, "the previous watermark")

    # ------------------------------------------------------------------ reading

    def _reader(self, client: HubSpotClient, object_type: str) -> ObjectReader:
        return ObjectReader.of(client, object_type)

    def _property_list(self, reader: ObjectReader, modified: str) -> list[str]:
        wanted = self.properties
        if isinstance(wanted, str) and wanted.strip().lower() == "all":
            names = reader.property_names()
            self.log.info("properties='all': %d properties of %s", len(names), reader.object_type)
        else:
            names = _names(wanted, "properties")
            if not names:
                raise HubSpotConfigError("properties is empty: list the properties to export, or 'all'.")
        names = [n for n in names if n not in ("id", "hs_object_id")]
        return list(dict.fromkeys([*names, modified]))

    def _pages(self, reader: ObjectReader, window: Window, modified: str, properties: list[str], lanes: int,
               stats: ReadStats) -> Iterator[list[Any]]:
        if window.incremental:
            filters = window_filters(modified, window.since_ms, window.until_ms)
            return read_modified(reader.search, filters=filters, properties=properties, lanes=lanes, stats=stats)
        if self.full_export_method == "search":
            return read_modified(reader.search, filters=[], properties=properties, lanes=lanes, stats=stats)
        return read_all(reader, properties, stats=stats)

    def _rows(self, reader: ObjectReader, pages: Iterable[list[Any]], properties: list[str],
              associations: list[str], progress: Progress, stats: ReadStats) -> Iterator[dict[str, Any]]:
        for batch in _batches(pages, ASSOCIATIONS_BATCH_SIZE if associations else 0):
            ids = [str(item.get("id")) for item in batch]
            linked = {t: reader.associated_ids(t, ids) for t in associations}
            for item in batch:
                values = item.get("properties") or {}
                row: dict[str, Any] = {"id": str(item.get("id"))}
                for name in properties:
                    row[name] = values.get(name)
                for to_type in associations:
                    row[ASSOCIATED_PREFIX + to_type] = linked[to_type].get(row["id"], [])
                yield row
            progress.total = stats.announced
            progress.advance(exported=len(batch))

    def _format(self, destination: str) -> tuple[str, bool]:
        name = destination.rsplit("/", 1)[-1].lower()
        compressed = name.endswith(".gz")
        stem = name[:-3] if compressed else name
        if self.file_format not in (None, ""):
            chosen = str(self.file_format).strip().lower()
            if chosen not in FORMATS:
                raise HubSpotConfigError(f"file_format must be one of {FORMATS}, got {self.file_format!r}.")
            return chosen, compressed
        extension = "." + stem.rsplit(".", 1)[-1] if "." in stem else ""
        return _EXTENSIONS.get(extension, "jsonl"), compressed


def _batches(pages: Iterable[list[Any]], size: int) -> Iterator[list[Any]]:
    """Pages as they come (``size`` 0), or regrouped into batches of about ``size`` records."""
    if size <= 0:
        yield from pages
        return
    batch: list[Any] = []
    for page in pages:
        batch.extend(page)
        if len(batch) >= size:
            yield batch[:size]
            batch = batch[size:]
    if batch:
        yield batch


def _write_atomically(destination: str, file_format: str, compressed: bool, columns: list[str],
                      rows: Iterable[dict[str, Any]]) -> int:
    """Write ``rows`` to ``<destination>.partial`` and move it onto ``destination`` once complete; on any
    failure (or a task being stopped) the partial file is removed and ``destination`` is left as it was."""
    partial = f"{destination}.partial"
    storage.remove(partial)  # left by an export killed outright
    count = 0
    newline = "" if file_format == "csv" else None
    try:
        with storage.create_binary(partial) as raw:
            text: IO[str] = (gzip.open(raw, "wt", encoding="utf-8", newline=newline, compresslevel=6)  # noqa: SIM115
                             if compressed else io.TextIOWrapper(raw, encoding="utf-8", newline=newline))
            if file_format == "csv":
                writer = csv.writer(text)
                writer.writerow(columns)
                for row in rows:
                    writer.writerow([_csv_value(row.get(c)) for c in columns])
                    count += 1
            else:
                for row in rows:
                    text.write(json.dumps(row, separators=(",", ":"), ensure_ascii=False))
                    text.write("\n")
                    count += 1
            if compressed:
                text.close()  # writes the gzip trailer; ``raw`` stays open
            else:
                text.flush()
                text.detach()  # type: ignore[attr-defined]
            if not storage.is_remote(partial):
                raw.flush()
                os.fsync(raw.fileno())
    except BaseException:
        storage.remove(partial)
        raise
    storage.move(partial, destination)
    return count


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def _names(value: Any, name: str) -> list[str]:
    """A list of names from a list or a comma-separated string (``None``: empty)."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):  # a rendered list
            try:
                value = json.loads(text)
            except ValueError:
                raise HubSpotConfigError(f"{name} must be a list of names, got {value!r}.") from None
        else:
            value = text.split(",")
    if not isinstance(value, (list, tuple)):
        raise HubSpotConfigError(f"{name} must be a list of names, got {value!r}.")
    names = [str(v).strip() for v in value if str(v).strip()]
    return list(dict.fromkeys(names))


def _seconds(value: Any, name: str) -> float:
    try:
        seconds = float(str(value).strip())
    except ValueError:
        raise HubSpotConfigError(f"{name} must be a number of seconds, got {value!r}.") from None
    if seconds < 0:
        raise HubSpotConfigError(f"{name} must be >= 0, got {seconds}.")
    return seconds


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _describe(window: Window, modified: str) -> str:
    if not window.incremental:
        return "every record (full export)"
    return (f"records with {modified} in [{_iso(window.since_ms)}, {_iso(window.until_ms)}) "
            f"(since from {window.since_from})")
