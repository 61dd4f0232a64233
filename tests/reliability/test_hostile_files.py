"""Hostile files and first-hour mistakes (issue 21): no row silently lost, every error names its
file and line, counts that balance, no personal data in task logs, no retries that cannot help.

| #  | bad input                                          | expected                                               |
|----|----------------------------------------------------|--------------------------------------------------------|
| 45 | CSV quote never closed (swallows later rows)       | fails, "line 2 ... never closed", nothing sent         |
| 46 | CSV quote in the middle of a field                 | fails, names the line                                  |
| 47 | truncated .csv.gz / .jsonl.gz                      | rows before it written, fails naming file and line     |
| 48 | a file named .gz that is not gzip                  | fails "not gzip data"                                  |
| 49 | NaN, inf, -inf, Decimal NaN in records             | record rejected INVALID_VALUE, the rest written        |
| 50 | NaN literal in JSON Lines                          | record rejected INVALID_VALUE                          |
| 51 | property names "", 1, None                         | record rejected INVALID_VALUE                          |
| 52 | a 10 MB CSV field                                  | that record rejected VALUE_TOO_LONG, later rows written|
| 53 | non-UTF-8 bytes on line 3                          | fails "line 3"                                         |
| 54 | CSV without the id_property column                 | fails at the header, 0 requests                        |
| 55 | empty list_id (unset param)                        | fails before reading the source, 0 requests            |
"""

from __future__ import annotations

import gzip
import json
import logging
import math
from decimal import Decimal
from typing import Any

import pytest

from airflow_provider_hubspot._compat import AirflowException, AirflowFailException
from airflow_provider_hubspot.operators.contacts import (
    HubSpotCreateOrUpdateContactsOperator,
    HubSpotMergeContactsOperator,
)
from airflow_provider_hubspot.operators.lists import HubSpotAddContactsToListOperator
from airflow_provider_hubspot.operators.timeline import HubSpotCreateTimelineEventsOperator
from airflow_provider_hubspot.sensors.forms import HubSpotFormSubmissionSensor
from airflow_provider_hubspot.sensors.lifecycle import HubSpotLifecycleStageSensor

from ..unit.operators.conftest import point_connection, read_jsonl

CONTEXT = {"run_id": "hostile", "ti": None, "data_interval_start": None, "data_interval_end": None}



def _upsert(**kwargs: Any) -> HubSpotCreateOrUpdateContactsOperator:
    return HubSpotCreateOrUpdateContactsOperator(task_id="t", **kwargs)


def _writes(emu) -> int:
    return sum(1 for r in emu.requests if r.method in ("POST", "PUT", "PATCH"))


# -- records lost or mangled -------------------------------------------------------------------


def test_unterminated_quote_fails_with_its_line_and_sends_nothing(emu, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text('email,company\nuq1@example.com,"open\nuq2@example.com,x\n')
    with pytest.raises(AirflowFailException, match=r"people.csv, line 2: a quoted field .* never closed"):
        _upsert(source_path=str(path)).execute(CONTEXT)
    assert emu.state.count_contacts() == 0, "the row that swallowed the next one must not be sent"


def test_stray_quote_fails_with_its_line(emu, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text('email,company\na@example.com,fine\nb@example.com,"x"y\n')
    with pytest.raises(AirflowFailException, match=r"people.csv, line 3: a quote in the middle of a field"):
        _upsert(source_path=str(path)).execute(CONTEXT)
    assert emu.state.count_contacts() == 1, "the row before the bad line was written"


@pytest.mark.parametrize("name", ["people.csv.gz", "people.jsonl.gz"])
def test_truncated_gzip_writes_what_was_read_and_names_the_file(emu, tmp_path, name):
    rows = [{"email": f"g{i}@example.com", "firstname": f"G{i}"} for i in range(3000)]
    if name.startswith("people.csv"):
        text = "email,firstname\n" + "".join(f"{r['email']},{r['firstname']}\n" for r in rows)
    else:
        text = "".join(json.dumps(r) + "\n" for r in rows)
    data = gzip.compress(text.encode())
    path = tmp_path / name
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(AirflowFailException) as info:
        _upsert(source_path=str(path), batch_size=100).execute(CONTEXT)
    message = str(info.value)
    assert str(path) in message and "truncated or corrupt after line" in message
    written = emu.state.count_contacts()
    assert 0 < written < 3000
    line = int(message.split("after line ")[1].split(" ")[0])
    expected = line - 1 if name.startswith("people.csv") else line
    assert written in (expected, expected - 1), "every complete row read before the damage was written"
    assert f"The {written:,} records before it were processed" in message


def test_file_named_gz_that_is_not_gzip(emu, tmp_path):
    path = tmp_path / "people.csv.gz"
    path.write_text("email\na@example.com\n")
    with pytest.raises(AirflowFailException, match=r"is named \.gz but is not gzip data"):
        _upsert(source_path=str(path)).execute(CONTEXT)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, Decimal("NaN"), {"nested": [math.nan]}],
                         ids=["nan", "inf", "-inf", "decimal-nan", "nested-nan"])
def test_non_finite_numbers_are_rejected_not_sent_as_text(emu, tmp_path, bad):
    rows = [{"email": "ok@example.com", "company": 1}, {"email": "bad@example.com", "company": bad}]
    result = _upsert(records=rows, rejects_path=str(tmp_path / "r.jsonl"), max_rejected=1).execute(CONTEXT)
    assert (result["created"], result["rejected"]) == (1, 1)
    (reject,) = read_jsonl(tmp_path / "r.jsonl")
    assert reject["index"] == 1 and reject["code"] == "INVALID_VALUE" and "company" in reject["reason"]
    assert emu.state.contact_by_email("bad@example.com") is None


def test_nan_literal_in_json_lines_is_rejected(emu, tmp_path):
    path = tmp_path / "people.jsonl"
    path.write_text('{"email": "a@example.com", "company": 3}\n{"email": "b@example.com", "company": NaN}\n'
                    '{"email": "c@example.com", "company": -Infinity}\n')
    result = _upsert(source_path=str(path), rejects_path=str(tmp_path / "r.jsonl"), max_rejected=2).execute(CONTEXT)
    assert (result["received"], result["created"], result["rejected"]) == (3, 1, 2)
    rejects = read_jsonl(tmp_path / "r.jsonl")
    assert {r["code"] for r in rejects} == {"INVALID_VALUE"}
    assert rejects[0]["record"]["company"] == "nan", "the rejects file stays valid JSON"


@pytest.mark.parametrize("key", ["", "  ", 1, None], ids=["empty", "blank", "int", "none"])
def test_bad_property_names_are_rejected(emu, tmp_path, key):
    rows = [{"email": "ok@example.com"}, {"email": "bad@example.com", key: "x"}]
    result = _upsert(records=rows, rejects_path=str(tmp_path / "r.jsonl"), max_rejected=1).execute(CONTEXT)
    assert (result["created"], result["rejected"]) == (1, 1)
    (reject,) = read_jsonl(tmp_path / "r.jsonl")
    assert reject["code"] == "INVALID_VALUE" and "column name" in reject["reason"]


def test_bad_values_in_timeline_events_are_rejected(emu, tmp_path):
    events = [{"email": "a@example.com", "plan": "pro"}, {"email": "b@example.com", "plan": math.inf},
              {"email": "c@example.com", 7: "x"}]
    emu.state.register_event_type_name("signup")
    op = HubSpotCreateTimelineEventsOperator(task_id="t", events=events, event_type="signup", max_rejected=2,
                                             rejects_path=str(tmp_path / "r.jsonl"))
    emu.state.add_contact({"email": "a@example.com"})
    result = op.execute(CONTEXT)
    assert (result["received"], result["created"], result["rejected"]) == (3, 1, 2)
    codes = {r["index"]: r["code"] for r in read_jsonl(tmp_path / "r.jsonl")}
    assert codes[1] == codes[2] == "INVALID_EVENT"


def test_huge_csv_field_rejects_that_record_and_keeps_reading(emu, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("email,company\na@example.com,short\nbig@example.com," + "x" * 10_000_000
                    + "\nc@example.com,after\n")
    result = _upsert(source_path=str(path), rejects_path=str(tmp_path / "r.jsonl"), max_rejected=1).execute(CONTEXT)
    assert (result["received"], result["created"], result["rejected"]) == (3, 2, 1)
    assert read_jsonl(tmp_path / "r.jsonl")[0]["code"] == "VALUE_TOO_LONG"
    assert emu.state.contact_by_email("c@example.com") is not None, "rows after the long field are written"


def test_non_utf8_names_the_right_line(emu, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(b"email,city\na@example.com,Paris\nb@example.com,K\xf6ln\n")
    with pytest.raises(AirflowFailException, match=r"people.csv, line 3: not UTF-8"):
        _upsert(source_path=str(path)).execute(CONTEXT)
    assert emu.state.count_contacts() == 1


# -- configuration found before anything is sent -------------------------------------------------


@pytest.mark.parametrize("as_sql", [False, True], ids=["csv", "sql"])
def test_missing_key_column_is_found_at_the_header(emu, tmp_path, monkeypatch, as_sql):
    kwargs: dict[str, Any]
    if as_sql:
        import sqlite3

        db = tmp_path / "crm.db"
        with sqlite3.connect(db) as conn:
            conn.execute("create table people (mail text, firstname text)")
            conn.executemany("insert into people values (?, ?)", [(f"m{i}@example.com", "x") for i in range(5)])
        monkeypatch.setenv("AIRFLOW_CONN_CRM_DB", json.dumps({"conn_type": "sqlite", "host": str(db)}))
        kwargs = {"sql": "select mail, firstname from people", "sql_conn_id": "crm_db"}
    else:
        path = tmp_path / "people.csv"
        path.write_text("mail,firstname\n" + "".join(f"m{i}@example.com,x\n" for i in range(5)))
        kwargs = {"source_path": str(path)}
    with pytest.raises(AirflowFailException, match=r"no 'email' column \(columns: mail, firstname\)"):
        _upsert(**kwargs).execute(CONTEXT)
    assert emu.requests == [], "nothing was sent"
    assert _upsert(properties_map={"mail": "email"}, **kwargs).execute(CONTEXT)["created"] == 5


def test_empty_list_id_fails_before_the_source_is_read(emu, tmp_path):
    missing = tmp_path / "never-read.csv"
    op = HubSpotAddContactsToListOperator(task_id="t", list_id="", source_path=str(missing))
    with pytest.raises(AirflowFailException, match=r"list_id is empty.*nothing was read or sent"):
        op.execute(CONTEXT)
    assert emu.requests == []


def test_empty_id_property_fails_before_anything_is_sent(emu):
    with pytest.raises(AirflowFailException, match="id_property is empty"):
        _upsert(records=[{"email": "a@example.com"}], id_property=" ").execute(CONTEXT)
    assert emu.requests == []


# -- errors a retry cannot fix fail without Airflow retries ---------------------------------------


def _every_task(emu, tmp_path) -> list[Any]:
    list_id = emu.state.create_list("Static")[1]
    return [
        _upsert(records=[{"email": "a@example.com"}]),
        HubSpotAddContactsToListOperator(task_id="t", list_id=list_id, emails=["a@example.com"]),
        HubSpotMergeContactsOperator(task_id="t", primary_id=1, secondary_id=2),
        HubSpotCreateTimelineEventsOperator(task_id="t", events=[{"email": "a@example.com"}], event_type="e"),
        HubSpotLifecycleStageSensor(task_id="t", stage="customer", deferrable=False, mode="poke"),
        HubSpotFormSubmissionSensor(task_id="t", deferrable=False, mode="poke"),
    ]


@pytest.mark.parametrize("position", range(6), ids=["upsert", "list", "merge", "timeline", "lifecycle", "forms"])
def test_bad_credentials_fail_without_retries_in_every_task(emu, tmp_path, monkeypatch, position):
    task = _every_task(emu, tmp_path)[position]
    conn = {"conn_type": "hubspot", "host": emu.url, "password": "pat-na1-wrong-token",
            "extra": {"rate_limit": 100_000}}
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(conn))
    run = task.poke if hasattr(task, "poke") else task.execute
    with pytest.raises(AirflowFailException, match=r"401|authenticat|token"):
        run(dict(CONTEXT))


def test_a_server_outage_is_retried_by_airflow(emu, monkeypatch):
    point_connection(emu, monkeypatch, max_retries=0)
    emu.inject_fault("503", count=10)
    with pytest.raises(AirflowException) as info:
        _upsert(records=[{"email": "a@example.com"}]).execute(CONTEXT)
    assert not isinstance(info.value, AirflowFailException), "an outage may pass: Airflow retries the task"


# -- counts that add up, progress that says what it counts, logs without personal data -----------


def test_list_members_differing_only_in_case_balance(emu):
    emu.state.add_contact({"email": "ann@example.com"})
    vid = emu.state.add_contact({"email": "bob@example.com"})
    list_id = emu.state.create_list("Static")[1]
    members = ["ann@example.com", "ANN@example.com", vid, str(vid), "bob@example.com", "nobody@example.com", "??"]
    result = HubSpotAddContactsToListOperator(task_id="t", list_id=list_id, records=members).execute(CONTEXT)
    assert result["received"] == 7
    assert (result["added"], result["duplicates"], result["not_found"], result["invalid"]) == (2, 3, 1, 1)
    assert sum(result[k] for k in ("added", "already_members", "duplicates", "not_found", "invalid")) == 7


def _task_log(capfd, caplog) -> str:
    """What the task logged: Airflow 3 writes task logs through structlog to stdout, Airflow 2 through logging."""
    out, err = capfd.readouterr()
    return "\n".join([out, err, caplog.text])


def test_progress_line_says_what_it_counts(emu, caplog, capfd):
    rows = [{"email": f"p{i}@example.com"} for i in range(20)] + [{"email": "bad@example.comv"}]
    caplog.set_level(logging.INFO)
    _upsert(records=rows, batch_size=7, progress_every=1, max_rejected=1).execute(CONTEXT)
    assert "Contacts: 21 processed (20 written, 1 rejected)" in _task_log(capfd, caplog)


def test_rejected_records_are_logged_without_personal_values(emu, caplog, capfd, tmp_path):
    rows = [{"email": "jane.doe@example.comv", "firstname": "Jane"}, {"email": "ok@example.com"}]
    caplog.set_level(logging.INFO)
    _upsert(records=rows, max_rejected=1, rejects_path=str(tmp_path / "r.jsonl")).execute(CONTEXT)
    text = _task_log(capfd, caplog)
    assert "Rejected input record 0 (INVALID_EMAIL)" in text and "jane.doe" not in text
    assert "jane.doe@example.comv" in (tmp_path / "r.jsonl").read_text(), "the rejects file keeps the record"
    caplog.clear()
    with pytest.raises(AirflowFailException) as info:
        _upsert(records=rows, rejects_path=str(tmp_path / "r2.jsonl")).execute(CONTEXT)
    assert "jane.doe" not in str(info.value) and "jane.doe" not in _task_log(capfd, caplog)
    caplog.clear()
    _upsert(records=rows, max_rejected=1, log_rejected_values=True).execute(CONTEXT)
    assert "jane.doe@example.comv" in _task_log(capfd, caplog), "the opt-in shows the values"


def test_list_members_not_found_are_logged_without_emails(emu, caplog, capfd):
    list_id = emu.state.create_list("Static")[1]
    caplog.set_level(logging.INFO)
    HubSpotAddContactsToListOperator(task_id="t", list_id=list_id, emails=["ghost@example.com"]).execute(CONTEXT)
    text = _task_log(capfd, caplog)
    assert "ghost@" not in text and "NOT_FOUND" in text


@pytest.mark.parametrize("task", [
    HubSpotCreateOrUpdateContactsOperator(task_id="t", records=[]),
    HubSpotAddContactsToListOperator(task_id="t", list_id=1, vids=[1]),
    HubSpotMergeContactsOperator(task_id="t", pairs=[]),
    HubSpotCreateTimelineEventsOperator(task_id="t", events=[{}]),
], ids=["upsert", "list", "merge", "timeline"])
def test_every_operator_refuses_a_summary_that_does_not_balance(task):
    """Every operator's execute() ends in finish(): the e2e DAG runs fail if a record goes unaccounted."""
    assert task.outcome_keys, "the operator declares its outcome counts"
    balanced = {"received": 3, task.outcome_keys[0]: 2, task.outcome_keys[-1]: 1}
    assert task.finish(dict(balanced))["received"] == 3
    with pytest.raises(AirflowFailException, match="do not add up: received 4"):
        task.finish({**balanced, "received": 4})
