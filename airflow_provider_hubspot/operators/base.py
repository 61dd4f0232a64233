"""What every HubSpot operator shares: the hook, the input source, the rejects file, progress lines,
error translation and the ``max_rejected`` decision."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from functools import cached_property
from typing import IO, Any

from airflow_provider_hubspot._compat import AirflowException, AirflowFailException, BaseOperator
from airflow_provider_hubspot.client import BatchOutcome, HubSpotClient, HubSpotError, Record, Rejection
from airflow_provider_hubspot.client.errors import (
    HubSpotAuthError,
    HubSpotConfigError,
    HubSpotDailyLimitError,
    HubSpotMissingScopesError,
    HubSpotNotFoundError,
    HubSpotValidationError,
)
from airflow_provider_hubspot.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot.sources import PropertyMapper, describe_source, iter_records, iter_source_rows

HUBSPOT_ORANGE = "#ff7a59"
#: Errors a task retry cannot fix: fail without retrying.
PERMANENT_ERRORS = (HubSpotConfigError, HubSpotAuthError, HubSpotMissingScopesError, HubSpotNotFoundError,
                    HubSpotValidationError, HubSpotDailyLimitError)
SOURCE_FIELDS = ("records", "source_path", "sql", "sql_conn_id")


class HubSpotBaseOperator(BaseOperator):
    """Base of the HubSpot operators.

    :param hubspot_conn_id: the ``hubspot`` connection to use.
    :param api_version: overrides the connection's ``api_version`` (``2026-03``, ``v3``, ``v1``...).
    """

    ui_color = HUBSPOT_ORANGE

    def __init__(self, *, hubspot_conn_id: str = HubSpotHook.default_conn_name, api_version: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hubspot_conn_id = hubspot_conn_id
        self.api_version = api_version

    @cached_property
    def hook(self) -> HubSpotHook:
        return HubSpotHook(hubspot_conn_id=self.hubspot_conn_id, api_version=self.api_version or None)

    @property
    def client(self) -> HubSpotClient:
        return self.hook.get_conn()

    def fail(self, exc: HubSpotError, doing: str) -> AirflowException:
        """Translate a client error: permanent ones fail the task without Airflow retries."""
        message = f"{doing} failed: {exc}"
        if isinstance(exc, PERMANENT_ERRORS):
            return AirflowFailException(message)
        return AirflowException(message)


class SourceMixin:
    """Parameters and reading of the shared record sources (records, source_path, sql)."""

    records: Any
    source_path: str | None
    sql: str | None
    sql_conn_id: str | None
    file_format: str | None
    fetch_size: int

    def init_source(self, *, records: Any = None, source_path: str | None = None, sql: str | None = None,
                    sql_conn_id: str | None = None, file_format: str | None = None, fetch_size: int = 1000,
                    required: bool = True) -> None:
        self.records = records
        self.source_path = source_path
        self.sql = sql
        self.sql_conn_id = sql_conn_id
        self.file_format = file_format
        self.fetch_size = fetch_size
        if required:
            describe_source(records, source_path, sql)

    def has_source(self) -> bool:
        return any(value not in (None, "") for value in (self.records, self.source_path, self.sql))

    def source_rows(self) -> Iterator[Any]:
        return iter_source_rows(records=self.records, source_path=self.source_path, sql=self.sql,
                                sql_conn_id=self.sql_conn_id, file_format=self.file_format,
                                fetch_size=self.fetch_size)

    def source_records(self, mapper: PropertyMapper | None = None) -> Iterator[Record]:
        return iter_records(self.source_rows(), mapper)


class Counted:
    """Wraps an iterator and counts what went through it."""

    def __init__(self, items: Iterator[Any]) -> None:
        self._items = items
        self.count = 0

    def __iter__(self) -> Iterator[Any]:
        for item in self._items:
            self.count += 1
            yield item


class RejectsFile:
    """JSON Lines of rejected records (``index``, ``record``, ``reason``, ``code``), opened on first use.

    :param path: local path or object-storage URI; ``None`` writes under the system temp directory.
    :param default_name: file name used when ``path`` is ``None``.
    """

    def __init__(self, path: str | None, default_name: str) -> None:
        self.path = path or os.path.join(tempfile.gettempdir(), "hubspot-rejects", default_name)
        self.count = 0
        self.samples: list[Rejection] = []
        self._handle: IO[str] | None = None

    def write(self, rejections: list[Rejection]) -> None:
        for rejection in rejections:
            if self._handle is None:
                self._handle = self._open()
            line = {"index": rejection.index, "record": rejection.record, "reason": rejection.reason,
                    "code": rejection.code}
            self._handle.write(json.dumps(line, default=str) + "\n")
            self.count += 1
            if len(self.samples) < 5:
                self.samples.append(rejection)

    def _open(self) -> IO[str]:
        if "://" in self.path:
            from airflow_provider_hubspot._compat import ObjectStoragePath

            return ObjectStoragePath(self.path).open("w")  # type: ignore[no-any-return]
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        return open(self.path, "w", encoding="utf-8")

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    @property
    def written_path(self) -> str | None:
        return self.path if self.count else None


def write_resume_file(path: str, records: Iterator[Any], *, csv_columns: list[str] | None = None) -> int:
    """Write records not yet sent to ``path`` (CSV with ``csv_columns``, else JSON Lines); return the count.

    The file is a valid input for the same operator (``source_path=``), so the next run finishes the job.
    """
    import csv

    count = 0
    if "://" in path:
        from airflow_provider_hubspot._compat import ObjectStoragePath

        handle: IO[str] = ObjectStoragePath(path).open("w")
    else:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        handle = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed below
    try:
        writer = csv.DictWriter(handle, fieldnames=csv_columns, extrasaction="ignore") if csv_columns else None
        if writer:
            writer.writeheader()
        for record in records:
            if writer:
                writer.writerow(record)
            else:
                handle.write(json.dumps(record, default=str) + "\n")
            count += 1
    finally:
        handle.close()
    return count


class Progress:
    """Logs one line every ``every`` batches: done/total, records per second, ETA."""

    def __init__(self, log: Any, what: str, every: int = 10, total: int | None = None) -> None:
        self.log = log
        self.what = what
        self.every = max(every, 1)
        self.total = total
        self.batches = 0
        self.done = 0
        self.started = time.monotonic()

    def advance(self, records: int) -> None:
        self.batches += 1
        self.done += records
        if self.batches % self.every == 0:
            self.log.info("%s", self.line())

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        text = f"{self.what}: {self.done:,}"
        if self.total:
            eta = (self.total - self.done) / rate if rate else 0
            text += f" of {self.total:,} ({self.done / self.total:.0%}), ETA {eta:.0f} s"
        return f"{text}, {rate:,.0f} records/s"


def check_max_rejected(max_rejected: int | float, rejected: int, received: int, rejects_path: str | None,
                       samples: list[Rejection]) -> None:
    """Fail (without Airflow retries) when more records were rejected than ``max_rejected`` allows.

    :param max_rejected: a count (``int`` >= 0) or a fraction of the input (``float`` in (0, 1)).
    """
    if isinstance(max_rejected, float) and 0 < max_rejected < 1:
        allowed = int(max_rejected * received)
    else:
        allowed = int(max_rejected)
    if rejected <= allowed:
        return
    reasons = "; ".join(f"#{r.index}: {r.reason}" for r in samples[:3])
    raise AirflowFailException(
        f"{rejected} of {received} records were rejected, more than max_rejected={max_rejected!r} allows. "
        f"Every valid record was written. Rejected records and HubSpot's reasons: {rejects_path}. "
        f"First reasons: {reasons}"
    )


def validate_max_rejected(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise HubSpotConfigError(f"max_rejected must be a count (>= 0) or a fraction between 0 and 1, got {value!r}.")
    if isinstance(value, float) and value >= 1 and not value.is_integer():
        raise HubSpotConfigError(f"max_rejected={value!r}: use a whole count or a fraction below 1.")
    return value


def summary(outcome: BatchOutcome, client: HubSpotClient, **extra: Any) -> dict[str, Any]:
    """The small JSON summary every operator returns to XCom (never the records)."""
    stats = client.stats
    return {**dict(outcome.counts), **extra, "requests": stats["requests"], "retries": stats["retries"],
            "rate_limited": stats["rate_limited"]}


def default_rejects_name(context: Any, task_id: str) -> str:
    """``<dag_id>/<task_id>/<run_id>.jsonl``: the default rejects file name under the temp directory."""
    dag = context.get("dag")
    run_id = str(context.get("run_id") or "manual").replace(":", "_").replace("+", "_")
    dag_id = getattr(dag, "dag_id", "dag")
    return f"{dag_id}/{task_id}/{run_id}.jsonl"
