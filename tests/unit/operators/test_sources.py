"""Record sources: files, SQL, inline rows; mapping and value conversion; bad input."""

from __future__ import annotations

import gzip
import json
import sqlite3
from datetime import date, datetime, timezone

import pytest

from airflow_provider_hubspot.sources import (
    PropertyMapper,
    SourceError,
    iter_file,
    iter_records,
    iter_source_rows,
    to_hubspot_value,
)


def test_csv_is_streamed_row_by_row(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("email,firstname\na@example.com,Ann\nb@example.com,Bob\n")
    rows = iter_file(str(path))
    assert next(rows) == {"email": "a@example.com", "firstname": "Ann"}
    assert list(rows) == [{"email": "b@example.com", "firstname": "Bob"}]


def test_jsonl_and_gzip_and_file_uri(tmp_path):
    path = tmp_path / "c.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        handle.write('{"email": "a@example.com"}\n\n{"email": "b@example.com"}\n')
    assert [r["email"] for r in iter_file(str(path))] == ["a@example.com", "b@example.com"]
    plain = tmp_path / "d.jsonl"
    plain.write_text('{"email": "c@example.com"}\n')
    assert list(iter_file(f"file://{plain}")) == [{"email": "c@example.com"}]


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.csv", "no header row"),
        (b"email,email\nx,y\n", "dup.csv", "repeats column"),
        (b"email,\nx,y\n", "blank.csv", "empty column name"),
        (b"email\na@example.com,extra\n", "wide.csv", "more values than header"),
        (b"email\n\xff\xfe\xfa\n", "latin.csv", "not UTF-8"),
        (b'{"email": "a"\n', "broken.jsonl", "not valid JSON"),
        (b"x", "data.parquet", "Cannot tell the format"),
    ],
)
def test_bad_files_are_clear_errors(tmp_path, content, name, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SourceError, match=message):
        list(iter_file(str(path)))


def test_missing_file(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        list(iter_file(str(tmp_path / "nope.csv")))


def test_exactly_one_source():
    with pytest.raises(SourceError, match="No input given"):
        list(iter_source_rows())
    with pytest.raises(SourceError, match="Two inputs given"):
        list(iter_source_rows(records=[{}], source_path="x.csv"))
    with pytest.raises(SourceError, match="needs sql_conn_id"):
        list(iter_source_rows(sql="select 1"))


def _sqlite_conn(monkeypatch, tmp_path):
    db = tmp_path / "crm.db"
    con = sqlite3.connect(db)
    con.execute("create table people (email text, firstname text, signup date)")
    con.executemany("insert into people values (?, ?, ?)",
                    [(f"p{i}@example.com", f"P{i}", "2026-01-02") for i in range(2500)])
    con.commit()
    con.close()
    monkeypatch.setenv("AIRFLOW_CONN_CRM_DB", json.dumps({"conn_type": "sqlite", "host": str(db)}))
    return "crm_db"


def test_sql_rows_are_fetched_in_chunks(monkeypatch, tmp_path):
    conn_id = _sqlite_conn(monkeypatch, tmp_path)
    rows = list(iter_source_rows(sql="select email, firstname from people", sql_conn_id=conn_id, fetch_size=1000))
    assert len(rows) == 2500
    assert rows[0] == {"email": "p0@example.com", "firstname": "P0"}


def test_sql_error_is_clear(monkeypatch, tmp_path):
    conn_id = _sqlite_conn(monkeypatch, tmp_path)
    with pytest.raises(SourceError, match="SQL query failed"):
        list(iter_source_rows(sql="select nope from people", sql_conn_id=conn_id))


def test_mapping_renames_skips_empty_and_stringifies():
    mapper = PropertyMapper({"first": "firstname"}, date_properties={"signup"})
    row = {"email": "a@example.com", "first": "Ann", "phone": "", "score": 5.0, "vip": True, "missing": None,
           "signup": date(2026, 1, 2)}
    assert mapper(row) == {"email": "a@example.com", "firstname": "Ann", "score": "5", "vip": "true",
                           "signup": "1767312000000"}
    assert PropertyMapper(include_empty=True)({"phone": ""}) == {"phone": ""}


def test_date_properties_become_utc_midnight_ms():
    assert to_hubspot_value("2026-01-02T15:30:00+00:00", is_date=True) == "1767312000000"
    assert to_hubspot_value(datetime(2026, 1, 2, 15, 30, tzinfo=timezone.utc), is_date=True) == "1767312000000"
    assert to_hubspot_value(datetime(2026, 1, 2, 0, 0, 1, tzinfo=timezone.utc)) == "1767312001000"


def test_records_are_numbered_from_zero():
    records = list(iter_records([{"a": 1}, {"a": 2}], PropertyMapper()))
    assert [(r.index, r.data) for r in records] == [(0, {"a": "1"}), (1, {"a": "2"})]
