"""Record sources shared by the operators: inline/XCom rows, files (CSV, JSON Lines), SQL.

Every source is read lazily, one row at a time, so memory stays flat whatever the input size.
Rows become :class:`~airflow_provider_hubspot.client.Record` objects (0-based input index + a dict
of HubSpot property names to string values).
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import IO, Any

from airflow_provider_hubspot import storage
from airflow_provider_hubspot.client import HubSpotConfigError, Record

#: Rejection code of a record with a value or column name HubSpot cannot take.
INVALID_VALUE = "INVALID_VALUE"
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
    on_columns: Callable[[Sequence[str]], None] | None = None,
) -> Iterator[Any]:
    """Yield raw rows (dicts, or scalars for id lists) from the one source given.

    :param on_columns: called with the column names before the first row, for sources that have
        them (a CSV header, a query's columns), so a missing key column is found before anything
        is sent.
    """
    kind = describe_source(records, source_path, sql)
    if kind == "records":
        yield from _iter_records(records)
    elif kind == "source_path":
        assert source_path is not None
        yield from iter_file(source_path, file_format=file_format, on_columns=on_columns)
    else:
        if not sql_conn_id:
            raise SourceError("sql= needs sql_conn_id=: the Airflow connection of the database to read.")
        assert sql is not None
        yield from iter_sql(sql, sql_conn_id, fetch_size=fetch_size, on_columns=on_columns)


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


#: A CSV field may be as large as this (Python's default, 128 KiB, would end the file at a long
#: value instead of rejecting that one record as too long for HubSpot).
CSV_FIELD_LIMIT = 2**31 - 1
csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))


@contextmanager
def _open_binary(path: str) -> Iterator[IO[bytes]]:
    """Open a local path or any Airflow object-storage URI (``file://``, ``s3://``...), gunzipping ``.gz``."""
    try:
        raw: Any = storage.open_bytes(path)
    except FileNotFoundError:
        raise SourceError(f"Input file {path!r} does not exist.") from None
    except OSError as exc:
        raise SourceError(f"Cannot open input file {path!r}: {exc.strerror or exc}.") from None
    try:
        if path.lower().endswith(".gz"):
            import gzip

            raw = gzip.GzipFile(fileobj=raw)
        yield raw
    finally:
        raw.close()


class LineReader:
    """The text lines of a binary stream, decoded as UTF-8 one physical line at a time.

    Knows the number of the last line read (:attr:`line`, 1-based), so every error of the
    input — bytes that are not UTF-8, a truncated or corrupt ``.gz``, a failing read — names the
    file and the exact line.
    """

    def __init__(self, raw: IO[bytes], path: str) -> None:
        self.raw = raw
        self.path = path
        self.line = 0

    def __iter__(self) -> Iterator[str]:
        import zlib

        while True:
            try:
                data = self.raw.readline()
            except (EOFError, zlib.error) as exc:
                raise SourceError(f"{self.path}: the compressed data is truncated or corrupt after line {self.line} "
                                  f"({exc or type(exc).__name__}); the lines before it were read. Re-create the "
                                  "file and run again.") from None
            except OSError as exc:  # gzip.BadGzipFile is an OSError
                if self.path.lower().endswith(".gz") and self.line == 0:
                    raise SourceError(f"{self.path} is named .gz but is not gzip data ({exc}): compress it with "
                                      "gzip or drop the .gz from its name.") from None
                raise SourceError(f"{self.path}: reading failed after line {self.line}: {exc}") from None
            if not data:
                return
            self.line += 1
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise SourceError(f"{self.path}, line {self.line}: not UTF-8 text (byte {exc.start + 1} of the "
                                  "line); re-export the file as UTF-8.") from None
            if self.line == 1:
                text = text.removeprefix("\ufeff")
            yield text


def iter_file(path: str, *, file_format: str | None = None,
              on_columns: Callable[[Sequence[str]], None] | None = None) -> Iterator[dict[str, Any]]:
    """Yield the rows of a CSV (header row required) or JSON Lines file, streaming.

    Every malformed input ends the read with a :class:`SourceError` naming the file and the line:
    a quoted CSV field never closed (it would swallow the rows after it), stray quotes, more values
    than header columns, invalid JSON, bytes that are not UTF-8, truncated compressed data.

    :param on_columns: called with the CSV header before the first row is yielded.
    """
    fmt = _file_format(path, file_format)
    with _open_binary(path) as raw:
        lines = LineReader(raw, path)
        if fmt == "csv":
            yield from _iter_csv(lines, path, on_columns)
        else:
            for text in lines:
                if not text.strip():
                    continue
                try:
                    yield json.loads(text)
                except json.JSONDecodeError as exc:
                    raise SourceError(f"{path}, line {lines.line}: not valid JSON ({exc.msg}).") from None


def _iter_csv(lines: LineReader, path: str,
              on_columns: Callable[[Sequence[str]], None] | None) -> Iterator[dict[str, Any]]:
    reader = csv.reader(iter(lines), strict=True)
    header: list[str] | None = None
    while True:
        first_line = lines.line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise SourceError(_csv_error(path, first_line, lines.line, exc)) from None
        if not row:
            continue  # a blank line
        if header is None:
            _check_header(path, row)
            header = row
            if on_columns:
                on_columns(header)
            continue
        if len(row) > len(header):
            raise SourceError(f"{path}, line {first_line}: more values than header columns ({len(row)} values, "
                              f"{len(header)} columns; an unquoted comma in a value?).")
        yield dict(itertools.zip_longest(header, row))
    if header is None:
        _check_header(path, None)


def _csv_error(path: str, first_line: int, last_line: int, exc: csv.Error) -> str:
    text = str(exc)
    if "unexpected end of data" in text:
        return (f"{path}, line {first_line}: a quoted field opened on this line is never closed (it runs to the end "
                f"of the file, line {last_line}): close the quote, or double the quote character inside the value.")
    if "expected after" in text:
        return (f"{path}, line {last_line}: a quote in the middle of a field ({text}): quote the whole value and "
                "double each quote inside it (\"like \"\"this\"\"\").")
    return f"{path}, line {first_line}: malformed CSV ({text})."


def _check_header(path: str, header: Sequence[str] | None) -> None:
    if not header:
        raise SourceError(f"{path} is empty or has no header row: the first line must name the columns.")
    names = [h.strip() for h in header]
    if any(not name for name in names):
        raise SourceError(f"{path}: the header row has an empty column name: {list(header)!r}.")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise SourceError(f"{path}: the header row repeats column(s) {repeated}; each column needs a unique name.")


def iter_sql(sql: str, sql_conn_id: str, *, fetch_size: int = 1000,
             on_columns: Callable[[Sequence[str]], None] | None = None) -> Iterator[dict[str, Any]]:
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
        if on_columns:
            on_columns(columns)
        read = 0
        while True:
            try:
                rows = cursor.fetchmany(fetch_size)
            except Exception as exc:
                raise SourceError(f"Reading the rows of the SQL query on connection {sql_conn_id!r} failed after "
                                  f"row {read}: {exc}") from None
            if not rows:
                break
            for row in rows:
                read += 1
                yield dict(zip(columns, row, strict=False))
    finally:
        cursor.close()
        conn.close()


class InvalidValue(ValueError):
    """A value HubSpot cannot store faithfully (NaN, infinity): the record is rejected with this reason."""


def to_hubspot_value(value: Any, *, is_date: bool = False) -> str:
    """Stringify a value the way HubSpot expects (dates as UTC-midnight epoch ms).

    :raises InvalidValue: for NaN and infinities, which would otherwise be sent as ``"nan"`` / ``"inf"``.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        if is_date:
            moment = moment.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        return str(int(moment.timestamp() * 1000))
    if isinstance(value, date):
        return str(int(datetime(value.year, value.month, value.day, tzinfo=timezone.utc).timestamp() * 1000))
    check_finite(value)
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
        try:
            return json.dumps(value, allow_nan=False)
        except ValueError:
            raise InvalidValue("a nested value holds NaN or infinity, which JSON cannot carry") from None
    return str(value)


def check_finite(value: Any) -> None:
    """Raise :class:`InvalidValue` for a NaN or infinite number (``float`` or ``Decimal``)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidValue(f"the value is {value!r}, not a number HubSpot can store (NaN or infinity)")
    if isinstance(value, Decimal) and not value.is_finite():
        raise InvalidValue(f"the value is {value}, not a number HubSpot can store (NaN or infinity)")


def check_property_name(name: Any) -> None:
    """Raise :class:`InvalidValue` unless ``name`` can be a HubSpot property name (non-empty text)."""
    if not isinstance(name, str):
        raise InvalidValue(f"column name {name!r} is a {type(name).__name__}, not text: HubSpot property names "
                           "are strings")
    if not name.strip():
        raise InvalidValue(f"column name {name!r} is empty: every value needs a HubSpot property name")


def printable(row: Any) -> Any:
    """``row`` made safe for a JSON rejects file: text keys, NaN and infinities as their names."""
    if isinstance(row, Mapping):
        return {str(k): printable(v) for k, v in row.items()}
    if isinstance(row, (list, tuple)):
        return [printable(v) for v in row]
    if isinstance(row, float) and not math.isfinite(row):
        return repr(row)
    if isinstance(row, Decimal) and not row.is_finite():
        return str(row)
    return row


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
        bad = {column: name for column, name in self.properties_map.items()
               if not isinstance(name, str) or not name.strip()}
        if bad:
            raise SourceError(f"properties_map renames {sorted(map(str, bad))} to empty or non-text property names: "
                              "map each column to the name of a HubSpot property.")
        self.include_empty = include_empty
        self.date_properties = set(date_properties)
        self.exclude = set(exclude)
        #: Output property names in first-seen order (empty values included): a resume file's header.
        self.names: dict[str, None] = {}
        self._names_of: dict[str, str] = {}  # checked column -> property name

    def __call__(self, row: Any) -> Any:
        """Map one row; :class:`InvalidValue` names the column whose name or value HubSpot cannot take."""
        if type(row) is not dict and not isinstance(row, Mapping):
            return row  # the client reports the record as not a dict
        out: dict[str, str] = {}
        names = self._names_of
        for column, value in row.items():
            name = names.get(column) if type(column) is str else None
            if name is None:
                if column in self.exclude:
                    continue
                check_property_name(column)
                name = names[column] = self.properties_map.get(column) or str(column)
                self.names.setdefault(name, None)
            if type(value) is str and name not in self.date_properties:  # the common case: text as it is
                if value and not value.isspace():
                    out[name] = value
                elif self.include_empty:
                    out[name] = ""
                continue
            if value is None or (isinstance(value, str) and value.strip() == ""):
                if self.include_empty:
                    out[name] = ""
                continue
            try:
                out[name] = to_hubspot_value(value, is_date=name in self.date_properties)
            except InvalidValue as exc:
                raise InvalidValue(f"{name}: {exc}") from None
        return out


def iter_records(rows: Iterable[Any], mapper: PropertyMapper | None = None,
                 extra: Callable[[Any], Any] | None = None) -> Iterator[Record]:
    """Number rows from 0 and map them to HubSpot properties.

    A row the mapper cannot take (a NaN, an empty or non-text column name) becomes a record marked
    :attr:`~airflow_provider_hubspot.client.Record.invalid`, which the client rejects with the reason
    instead of sending it.

    :param extra: what of a row travels with its record without being sent (:attr:`Record.extra`).
    """
    for index, row in enumerate(rows):
        kept = extra(row) if extra is not None else None
        if mapper is None:
            yield Record(index, row, extra=kept)
            continue
        try:
            yield Record(index, mapper(row), extra=kept)
        except InvalidValue as exc:
            yield Record(index, printable(row), invalid=(str(exc), INVALID_VALUE), extra=kept)
