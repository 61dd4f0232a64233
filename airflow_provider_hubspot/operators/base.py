"""What every HubSpot operator shares: the hook, the input source, the rejects file, progress lines,
error translation and the ``max_rejected`` decision."""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import cached_property
from typing import IO, Any

from airflow_provider_hubspot import storage
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
from airflow_provider_hubspot.operators.lineage import HubSpotLineageMixin, observe_columns
from airflow_provider_hubspot.partitions import partition_of
from airflow_provider_hubspot.sources import (
    PropertyMapper,
    describe_source,
    iter_records,
    iter_source_rows,
    printable,
)

HUBSPOT_ORANGE = "#ff7a59"
#: Errors a task retry cannot fix: fail without retrying.
PERMANENT_ERRORS = (HubSpotConfigError, HubSpotAuthError, HubSpotMissingScopesError, HubSpotNotFoundError,
                    HubSpotValidationError, HubSpotDailyLimitError)
SOURCE_FIELDS = ("records", "source_path", "sql", "sql_conn_id")


class HubSpotBaseOperator(HubSpotLineageMixin, BaseOperator):
    """Base of the HubSpot operators.

    :param hubspot_conn_id: the ``hubspot`` connection to use.
    :param api_version: overrides the connection's ``api_version`` (``2026-09``, ``2026-03``, ``v3``, ``v1``).
    :param log_rejected_values: write the values of rejected records (e-mails, names) into the task
        log. Off by default: the log names each rejected record by its input index, code and
        HubSpot's reason with personal values masked; the rejects file keeps the records.
    :param rate_limit_backend_conn_id: a Redis connection on which every task of the portal shares
        one rate budget (overrides the ``hubspot`` connection's extra of that name).
    :param partitions: split one sync over this many tasks (e.g. mapped with ``partition_index``):
        this task handles only the source rows whose key hashes to ``partition_index``, so no two
        tasks write the same record (see :mod:`airflow_provider_hubspot.partitions`).
    :param partition_index: this task's partition, ``0`` .. ``partitions - 1``.
    :param partition_key: the source column the rows are split by (default ``email``; rows that are
        plain values, such as ids, are split by the value).
    """

    ui_color = HUBSPOT_ORANGE
    #: Parameters that must not be empty once templates are rendered: checked before anything is
    #: read or sent.
    required_params: Sequence[str] = ()
    #: The outcome counts of the summary; every input record ends in exactly one of them.
    outcome_keys: Sequence[str] = ()

    def __init__(self, *, hubspot_conn_id: str = HubSpotHook.default_conn_name, api_version: str | None = None,
                 log_rejected_values: bool = False, rate_limit_backend_conn_id: str | None = None,
                 partitions: int | str | None = None, partition_index: int | str | None = None,
                 partition_key: str = "email", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hubspot_conn_id = hubspot_conn_id
        self.api_version = api_version
        self.log_rejected_values = log_rejected_values
        self.rate_limit_backend_conn_id = rate_limit_backend_conn_id
        self.partitions = partitions
        self.partition_index = partition_index
        self.partition_key = partition_key

    def check_required(self) -> None:
        """Fail (without retries) when a required parameter rendered empty, before anything is read or sent."""
        for name in self.required_params:
            value = getattr(self, name, None)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise AirflowFailException(
                    f"{type(self).__name__} {self.task_id}: {name} is empty. Give it a value (if it comes from a "
                    "template or a DAG param, check that the param is set for this run); nothing was read or sent.")

    @contextmanager
    def failing_clearly(self, doing: str) -> Iterator[None]:
        """Translate client errors raised inside the block (connection set-up included) with :meth:`fail`."""
        try:
            yield
        except HubSpotError as exc:
            raise self.fail(exc, doing) from None

    def finish(self, result: dict[str, Any]) -> dict[str, Any]:
        """Complete a summary: every outcome key present, and ``received`` equal to their sum.

        A summary that does not balance means a record is unaccounted for — a bug — so the task
        fails loudly instead of reporting success with a record missing.
        """
        for name in self.outcome_keys:
            result.setdefault(name, 0)
        accounted = sum(int(result[name]) for name in self.outcome_keys)
        if self.outcome_keys and accounted != result.get("received"):
            counts = ", ".join(f"{name} {result[name]}" for name in self.outcome_keys)
            raise AirflowFailException(
                f"{type(self).__name__} {self.task_id}: the counts do not add up: received {result.get('received')} "
                f"but {counts} make {accounted}. A record is unaccounted for; this is a bug in the provider — "
                f"please report it with this log. Summary: {result}")
        self.remember_summary(result)  # OpenLineage row counts (operators/lineage.py)
        return result

    def log_rejections(self, samples: Iterable[Rejection], what: str = "Rejected input record") -> None:
        """Log a few rejections: index, code and reason, personal values masked unless opted in."""
        for sample in samples:
            reason = sample.reason if self.log_rejected_values else mask_values(sample.reason, sample.record)
            self.log.warning("%s %d (%s): %s", what, sample.index, sample.code or "REJECTED", reason)

    @cached_property
    def hook(self) -> HubSpotHook:
        return HubSpotHook(hubspot_conn_id=self.hubspot_conn_id, api_version=self.api_version or None,
                           rate_limit_backend_conn_id=self.rate_limit_backend_conn_id or None)

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

    def source_rows(self, on_columns: Callable[[Sequence[str]], None] | None = None) -> Iterator[Any]:
        rows = observe_columns(self, iter_source_rows(  # observe_columns: the OpenLineage schema facet
            records=self.records, source_path=self.source_path, sql=self.sql, sql_conn_id=self.sql_conn_id,
            file_format=self.file_format, fetch_size=self.fetch_size, on_columns=on_columns))
        partitions = getattr(self, "partitions", None)
        if partitions in (None, ""):
            return rows
        return _one_partition(rows, partitions, getattr(self, "partition_index", None),
                              getattr(self, "partition_key", "email"))

    def source_records(self, mapper: PropertyMapper | None = None,
                       on_columns: Callable[[Sequence[str]], None] | None = None,
                       extra: Callable[[Any], Any] | None = None) -> Iterator[Record]:
        return iter_records(self.source_rows(on_columns), mapper, extra)


def _one_partition(rows: Iterator[Any], partitions: Any, index: Any, key: str) -> Iterator[Any]:
    """The rows of partition ``index`` of ``partitions`` (by the hash of ``key``, or of a plain row's value)."""
    try:
        count, number = int(str(partitions).strip()), int(str(index).strip())
    except ValueError:
        raise HubSpotConfigError(f"partitions and partition_index must be whole numbers, got {partitions!r} and "
                                 f"{index!r}.") from None
    if count < 1 or not 0 <= number < count:
        raise HubSpotConfigError(f"partition_index must be in 0..{count - 1} for partitions={count}, got {number}.")
    for row in rows:
        value = row.get(key) if isinstance(row, Mapping) else row
        if partition_of(value, count) == number:
            yield row


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
            line = {"index": rejection.index, "record": printable(rejection.record), "reason": rejection.reason,
                    "code": rejection.code}
            self._handle.write(json.dumps(line, default=str) + "\n")
            self.count += 1
            if len(self.samples) < 5:
                self.samples.append(rejection)

    def _open(self) -> IO[str]:
        return storage.create_text(self.path)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    @property
    def written_path(self) -> str | None:
        return self.path if self.count else None


def write_resume_file(path: str, records: Iterable[Any], *, as_csv: bool) -> int:
    """Write records not yet sent to ``path`` (CSV when ``as_csv``, else JSON Lines); return the count.

    The file is a valid input for the same operator (``source_path=``), so the next run finishes the
    job. It is written aside and moved into place only when complete, so a task killed while
    writing never leaves a partial file that looks whole. A CSV's header holds every column of every
    record (the records are spooled first, so columns first seen late are kept).
    """
    import csv

    partial = f"{path}.partial"
    count = 0
    try:
        if as_csv:
            columns: dict[str, None] = {}
            with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
                for record in records:
                    columns.update(dict.fromkeys(str(k) for k in record))
                    spool.write(json.dumps(printable(record)) + "\n")
                    count += 1
                spool.seek(0)
                with storage.open_write(partial, newline="") as handle:
                    writer = csv.DictWriter(handle, fieldnames=list(columns))
                    writer.writeheader()
                    for line in spool:
                        writer.writerow(json.loads(line))
        else:
            with storage.open_write(partial) as handle:
                for record in records:
                    handle.write(json.dumps(printable(record), default=str) + "\n")
                    count += 1
    except BaseException:
        storage.remove(partial)
        raise
    storage.move(partial, path)
    return count


def fresh_path(path: str, *, avoid: Iterable[str | None] = ()) -> str:
    """``path``, or ``<stem>-2<ext>``, ``-3``... so that it names no existing file and none in ``avoid``."""
    taken = {storage.normalize(p) for p in avoid if p}
    stem, ext = os.path.splitext(path)
    candidate, n = path, 1
    while storage.normalize(candidate) in taken or storage.exists(candidate):
        n += 1
        candidate = f"{stem}-{n}{ext}"
    return candidate


class Progress:
    """Logs one line every ``every`` batches: records processed and what became of them, rate, ETA.

    :param what: what the records are (``Contacts``, ``Events``...).
    """

    def __init__(self, log: Any, what: str, every: int = 10, total: int | None = None) -> None:
        self.log = log
        self.what = what
        self.every = max(every, 1)
        self.total = total
        self.batches = 0
        self.counts: Counter[str] = Counter()
        self.started = time.monotonic()

    @property
    def done(self) -> int:
        """Records processed so far, whatever their outcome."""
        return sum(self.counts.values())

    def advance(self, **counts: int) -> None:
        """Add one batch's outcome counts (``written=98, rejected=2``)."""
        self.batches += 1
        self.counts.update({name: n for name, n in counts.items() if n})
        if self.batches % self.every == 0:
            self.log.info("%s", self.line())

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        done = self.done
        rate = done / elapsed
        text = f"{self.what}: {done:,} processed"
        if self.counts:
            text += " (" + ", ".join(f"{n:,} {name}" for name, n in self.counts.items()) + ")"
        if self.total:
            eta = (self.total - done) / rate if rate else 0
            text += f" of {self.total:,} ({done / self.total:.0%}), ETA {eta:.0f} s"
        return f"{text}, {rate:,.0f} records/s"


_EMAIL_RE = re.compile(r"[^@\s'\"<>(),;:]+@[^@\s'\"<>(),;:]+")


def mask_values(text: str, record: Any) -> str:
    """``text`` with the record's values (and anything shaped like an e-mail) replaced by ``<value>``.

    HubSpot's reasons quote the values they refuse ("Email address a@b.comv is invalid"); task logs
    should say why without repeating personal data.
    """
    values: list[str] = []
    if isinstance(record, Mapping):
        values = [str(v) for v in record.values() if v not in (None, "") and len(str(v)) >= 3]
    elif isinstance(record, (str, int)) and len(str(record)) >= 3:
        values = [str(record)]
    for value in sorted(values, key=len, reverse=True):  # whole values only: "inf" stays in "infinity"
        text = re.sub(rf"(?<![\w.@-]){re.escape(value)}(?![\w.@-])", "<value>", text)
    return _EMAIL_RE.sub("<e-mail>", text)


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
    reasons = "; ".join(f"#{r.index} ({r.code or 'REJECTED'}): {mask_values(r.reason, r.record)}" for r in samples[:3])
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


def default_resume_path(rejects_path: str, task_id: str, *, as_csv: bool) -> str:
    """``<task_id>-resume-<UTC time>.csv|jsonl`` next to the rejects file: a new name for every stop."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return storage.sibling(rejects_path, f"{task_id}-resume-{stamp}.{'csv' if as_csv else 'jsonl'}")


def default_rejects_name(context: Any, task_id: str) -> str:
    """``<dag_id>/<task_id>/<run_id>.jsonl``: the default rejects file name under the temp directory."""
    dag = context.get("dag")
    run_id = str(context.get("run_id") or "manual").replace(":", "_").replace("+", "_")
    dag_id = getattr(dag, "dag_id", "dag")
    return f"{dag_id}/{task_id}/{run_id}.jsonl"
