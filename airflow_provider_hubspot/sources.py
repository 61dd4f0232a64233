"""Record sources shared by the operators: inline/XCom rows, files (CSV, JSON Lines), SQL.

Every source is read lazily, one row at a time, so memory stays flat whatever the input size.
Rows become :class:`~airflow_provider_hubspot.client.Record` objects (0-based input index + a dict
of HubSpot property names to string values).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import IO, Any

from airflow_provider_hubspot.client import HubSpotConfigError, Record

FILE_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}


class SourceError(HubSpotConfigError):
    """The input could not be read: say which input and what to do."""


def describe_source(records: Any, source_path: Any, sql: Any) -> str:
    """Check exactly one source is given; return its kind (``records``, ``source_path`` or ``sql``)."""
    given = [name for name, value in (("records", records), ("source_path", source_path), ("sql", sql))
             if value not in (None, "")]
    if not given:
        raise SourceError("No input given: pass exactly one of records=, source_path= or sql= (with sql_conn_id=).")
    if len(given) > 1:
        raise SourceError(f"Two inputs given ({' and '.join(given)}): pass exactly one of records=, source_path= "
                          "or sql=.")
    return given[0]


def iter_source_rows(
    *,
    records: Any = None,
    source_path: str | None = None,
    sql: str | None = None,
    sql_conn_id: str | None = None,
    file_format: str | None = None,
    fetch_size: int = 1000,
) -> Iterator[Any]:
    """Yield raw rows (dicts, or scalars for id lists) from the one source given."""
    kind = describe_source(records, source_path, sql)
    if kind == "records":
        yield from _iter_records(records)
    elif kind == "source_path":
        assert source_path is not None
        yield from iter_file(source_path, file_format=file_format)
    else:
        if not sql_conn_id:
            raise SourceError("sql= needs sql_conn_id=: the Airflow connection of the database to read.")
        assert sql is not None
        yield from iter_sql(sql, sql_conn_id, fetch_size=fetch_size)


def _iter_records(records: Any) -> Iterator[Any]:
    if isinstance(records, str):
        try:
            records = json.loads(records)
        except ValueError:
            raise SourceError("records= is a string that is not JSON: pass a list of dicts (or an XComArg that "
                              "resolves to one).") from None
    if isinstance(records, Mapping):
        records = [records]
    if not isinstance(records, Iterable):
        raise SourceError(f"records= must be a list of dicts, got {type(records).__name__}.")
    yield from records


def _file_format(path: str, file_format: str | None) -> str:
    if file_format:
        if file_format not in ("csv", "jsonl"):
            raise SourceError(f"file_format must be 'csv' or 'jsonl', got {file_format!r}.")
        return file_format
    name = path.lower().removesuffix(".gz")
    for suffix, fmt in FILE_FORMATS.items():
        if name.endswith(suffix):
            return fmt
    raise SourceError(f"Cannot tell the format of {path!r} from its name: use a .csv or .jsonl file, or pass "
                      "file_format='csv' / 'jsonl'.")


@contextmanager
def _open_text(path: str) -> Iterator[IO[str]]:
    """Open a local path or any Airflow object-storage URI (``file://``, ``s3://``...) as UTF-8 text."""
    try:
        if "://" in path:
            from airflow_provider_hubspot._compat import ObjectStoragePath

            raw: Any = ObjectStoragePath(path).open("rb")
        else:
            raw = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise SourceError(f"Input file {path!r} does not exist.") from None
    except OSError as exc:
        raise SourceError(f"Cannot open input file {path!r}: {exc.strerror or exc}.") from None
    try:
        if path.lower().endswith(".gz"):
            import gzip

            raw = gzip.GzipFile(fileobj=raw)
        yield io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    finally:
        raw.close()


def iter_file(path: str, *, file_format: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield the rows of a CSV (header row required) or JSON Lines file, streaming."""
    fmt = _file_format(path, file_format)
    with _open_text(path) as handle:
        line = 0
        try:
            if fmt == "csv":
                reader = csv.DictReader(handle)
                _check_header(path, reader.fieldnames)
                for line, row in enumerate(reader, start=2):
                    if None in row:
                        raise SourceError(f"{path}, line {line}: more values than header columns.")
                    yield row
            else:
                for line, text in enumerate(handle, start=1):
                    if not text.strip():
                        continue
                    try:
                        yield json.loads(text)
                    except json.JSONDecodeError as exc:
                        raise SourceError(f"{path}, line {line}: not valid JSON ({exc.msg}).") from None
        except UnicodeDecodeError as exc:
            raise SourceError(f"{path} is not UTF-8 text (byte {exc.start} after line {line}): re-export it as "
                              "UTF-8.") from None
        except csv.Error as exc:
            raise SourceError(f"{path}, line {line}: malformed CSV ({exc}).") from None


def _check_header(path: str, header: Sequence[str] | None) -> None:
    if not header:
        raise SourceError(f"{path} is empty or has no header row: the first line must name the columns.")
    names = [h.strip() for h in header]
    if any(not name for name in names):
        raise SourceError(f"{path}: the header row has an empty column name: {list(header)!r}.")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise SourceError(f"{path}: the header row repeats column(s) {repeated}; each column needs a unique name.")


def iter_sql(sql: str, sql_conn_id: str, *, fetch_size: int = 1000) -> Iterator[dict[str, Any]]:
    """Yield rows of a query through the connection's common-sql DB-API hook, ``fetchmany`` at a time."""
    from airflow_provider_hubspot._compat import BaseHook

    hook = BaseHook.get_connection(sql_conn_id).get_hook()
    if not hasattr(hook, "get_conn"):
        raise SourceError(f"Connection {sql_conn_id!r} has no DB-API hook: use a database connection.")
    conn = hook.get_conn()
    cursor = conn.cursor()
    try:
        try:
            cursor.execute(sql)
        except Exception as exc:
            raise SourceError(f"The SQL query failed on connection {sql_conn_id!r}: {exc}") from None
        columns = [column[0] for column in cursor.description or []]
        if not columns:
            raise SourceError("The SQL statement returned no columns: use a SELECT.")
        while rows := cursor.fetchmany(fetch_size):
            for row in rows:
                yield dict(zip(columns, row, strict=False))
    finally:
        cursor.close()
        conn.close()


def to_hubspot_value(value: Any, *, is_date: bool = False) -> str:
    """Stringify a value the way HubSpot expects (dates as UTC-midnight epoch ms)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        if is_date:
            moment = moment.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        return str(int(moment.timestamp() * 1000))
    if isinstance(value, date):
        return str(int(datetime(value.year, value.month, value.day, tzinfo=timezone.utc).timestamp() * 1000))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if is_date and isinstance(value, str) and not value.isdigit():
        try:
            return to_hubspot_value(datetime.fromisoformat(value.strip()), is_date=True)
        except ValueError:
            return value
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


class PropertyMapper:
    """Rename columns to HubSpot property names and stringify values.

    :param properties_map: ``{"column": "hubspot_property"}``; unmapped columns keep their name.
    :param include_empty: send empty values (clearing the property in HubSpot) instead of skipping them.
    :param date_properties: HubSpot properties of type date (values sent as UTC-midnight ms).
    :param exclude: columns never sent (e.g. helper columns).
    """

    def __init__(
        self,
        properties_map: Mapping[str, str] | None = None,
        *,
        include_empty: bool = False,
        date_properties: Iterable[str] = (),
        exclude: Iterable[str] = (),
    ) -> None:
        if properties_map is not None and not isinstance(properties_map, Mapping):
            raise SourceError(f"properties_map must be a dict of column -> HubSpot property, got "
                              f"{type(properties_map).__name__}.")
        self.properties_map = dict(properties_map or {})
        self.include_empty = include_empty
        self.date_properties = set(date_properties)
        self.exclude = set(exclude)
        #: Output property names in first-seen order (empty values included): a resume file's header.
        self.names: dict[str, None] = {}

    def __call__(self, row: Any) -> Any:
        if not isinstance(row, Mapping):
            return row  # the client reports the record as not a dict
        out: dict[str, str] = {}
        for column, value in row.items():
            if column in self.exclude:
                continue
            name = self.properties_map.get(column, column) if isinstance(column, str) else str(column)
            if name not in self.names:
                self.names[name] = None
            if value is None or (isinstance(value, str) and value.strip() == ""):
                if self.include_empty:
                    out[name] = ""
                continue
            out[name] = to_hubspot_value(value, is_date=name in self.date_properties)
        return out


def iter_records(rows: Iterable[Any], mapper: PropertyMapper | None = None) -> Iterator[Record]:
    """Number rows from 0 and map them to HubSpot properties."""
    for index, row in enumerate(rows):
        yield Record(index, mapper(row) if mapper else row)
