"""Bad input catalogue: each bad input ends in its own specific, actionable error (never a raw traceback).

| #  | where    | bad input                                    | expected error                                              |
|----|----------|----------------------------------------------|-------------------------------------------------------------|
| 1  | hook     | empty access token                           | HubSpotConfigError "empty access token"                     |
| 2  | hook     | host with a non-HTTP scheme                  | HubSpotConfigError "not a valid URL"                         |
| 3  | hook     | host with a malformed port                   | HubSpotConfigError "invalid port"                            |
| 4  | hook     | unknown api_version                          | HubSpotConfigError "Unknown api_version"                     |
| 5  | hook     | rate_limit not a number                      | HubSpotConfigError "rate_limit ... whole number"             |
| 6  | hook     | rate_limit zero                              | HubSpotConfigError "rate_limit ... >= 1"                     |
| 7  | hook     | OAuth extras incomplete                      | HubSpotConfigError "client_id, client_secret and refresh_token" |
| 8  | hook     | account hapikey without the legacy flag      | HubSpotConfigError "2022-11-30"                              |
| 9  | hook     | timeout negative                             | HubSpotConfigError "timeout ... >= 1"                        |
| 10 | client   | developer call without a developer key       | HubSpotConfigError "developer API key"                       |
| 11 | upsert   | no source                                    | SourceError "No input given"                                 |
| 12 | upsert   | two sources                                  | SourceError "Two inputs given"                               |
| 13 | upsert   | records is not a list                        | AirflowFailException "must be a list of dicts"               |
| 14 | upsert   | a record that is not a dict                  | AirflowFailException "record 1 is a str"                     |
| 15 | upsert   | missing file                                 | AirflowFailException "does not exist"                        |
| 16 | upsert   | CSV header repeats a column                  | AirflowFailException "repeats column"                        |
| 17 | upsert   | non-UTF-8 file                               | AirflowFailException "not UTF-8"                             |
| 18 | upsert   | file of unknown format                       | AirflowFailException "Cannot tell the format"                |
| 19 | upsert   | SQL error                                    | AirflowFailException "SQL query failed"                      |
| 20 | upsert   | sql without sql_conn_id                      | AirflowFailException "needs sql_conn_id"                     |
| 21 | upsert   | unknown property in every record             | AirflowFailException "does not exist in HubSpot ... properties_map" |
| 22 | upsert   | record without email                         | rejected "missing 'email'" (rejects file)                    |
| 23 | upsert   | invalid email (syntax)                       | rejected INVALID_EMAIL (rejects file)                        |
| 24 | upsert   | invalid email HubSpot refuses (x@y.comv)     | rejected with HubSpot's reason (rejects file)                |
| 25 | upsert   | oversized property value                     | rejected VALUE_TOO_LONG (rejects file)                       |
| 26 | upsert   | max_rejected negative                        | HubSpotConfigError "max_rejected"                            |
| 27 | upsert   | batch_size zero                              | AirflowFailException "batch_size"                            |
| 28 | upsert   | id_property unique prop on v1                | AirflowFailException "email or vid only"                     |
| 29 | list     | list id not found                            | AirflowFailException "does not exist"                        |
| 30 | list     | dynamic list                                 | AirflowFailException "dynamic"                               |
| 31 | list     | legacy id sent to the ILS API                | AirflowFailException "legacy ... Use list_id="               |
| 32 | list     | no members given                             | SourceError "No members given"                               |
| 33 | list     | member that is neither id nor email          | reported INVALID_MEMBER (rejects file)                       |
| 34 | merge    | self-merge                                   | AirflowFailException "into itself"                           |
| 35 | merge    | unknown contact id                           | AirflowFailException "merging ..."                            |
| 36 | merge    | non-numeric ids                              | AirflowFailException "numeric"                               |
| 37 | timeline | event without type                           | AirflowFailException "no event type"                         |
| 38 | timeline | event without contact                        | AirflowFailException "needs the contact"                     |
| 39 | timeline | v1 without app_id                            | AirflowFailException "app_id"                                |
| 40 | sensor   | inverted window                              | AirflowFailException "inverted"                              |
| 41 | sensor   | window over two years                        | AirflowFailException "two years"                             |
| 42 | sensor   | unparseable timestamp                        | AirflowFailException "ISO-8601"                              |
| 43 | sensor   | empty stage                                  | HubSpotConfigError "stage is empty"                          |
| 44 | sensor   | min_count not a number                       | AirflowFailException "min_count"                             |
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from airflow_provider_hubspot._compat import AirflowFailException
from airflow_provider_hubspot.client import HubSpotClient, HubSpotConfigError
from airflow_provider_hubspot.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot.operators.contacts import (
    HubSpotCreateOrUpdateContactsOperator,
    HubSpotMergeContactsOperator,
)
from airflow_provider_hubspot.operators.lists import HubSpotAddContactsToListOperator
from airflow_provider_hubspot.operators.timeline import HubSpotCreateTimelineEventsOperator
from airflow_provider_hubspot.sensors.lifecycle import HubSpotLifecycleStageSensor
from airflow_provider_hubspot.sources import SourceError

from ..unit.operators.conftest import point_connection, read_jsonl

NOW = int(time.time() * 1000)
DAY = 86_400_000
CONTEXT = {"run_id": "bad-input", "ti": None, "data_interval_start": None, "data_interval_end": None}


@pytest.fixture
def emu(hubspot_connection, monkeypatch):
    hubspot_connection.rate_limit = 100_000
    point_connection(hubspot_connection, monkeypatch)
    return hubspot_connection


def _conn(monkeypatch, **fields: Any) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps({"conn_type": "hubspot", **fields}))


HOOK_CASES = [
    ({"password": ""}, "empty access token"),
    ({"password": "t", "host": "ftp://example.com"}, "not a valid URL"),
    ({"password": "t", "host": "http://127.0.0.1:notaport"}, "invalid port"),
    ({"password": "t", "extra": {"api_version": "v2"}}, "Unknown api_version"),
    ({"password": "t", "extra": {"rate_limit": "lots"}}, "rate_limit.*whole number"),
    ({"password": "t", "extra": {"rate_limit": 0}}, "rate_limit.*>= 1"),
    ({"password": "t", "extra": {"client_id": "x"}}, "client_id, client_secret and refresh_token"),
    ({"extra": {"legacy_hapikey": "k"}}, "2022-11-30"),
    ({"password": "t", "extra": {"timeout": -5}}, "timeout.*>= 1"),
]


@pytest.mark.parametrize(("fields", "message"), HOOK_CASES, ids=[f"hook-{i + 1}" for i in range(len(HOOK_CASES))])
def test_bad_connections(monkeypatch, fields, message):
    _conn(monkeypatch, **fields)
    with pytest.raises(HubSpotConfigError, match=message):
        HubSpotHook().get_conn()


def test_developer_call_without_developer_key(emu):
    client = HubSpotClient(emu.token, base_url=emu.url)
    with pytest.raises(HubSpotConfigError, match="developer API key"):
        client.timeline.list_event_types(1)


def test_operator_arguments_checked_at_parse_time():
    with pytest.raises(SourceError, match="No input given"):
        HubSpotCreateOrUpdateContactsOperator(task_id="t")
    with pytest.raises(SourceError, match="Two inputs given"):
        HubSpotCreateOrUpdateContactsOperator(task_id="t", records=[{}], sql="select 1")
    with pytest.raises(HubSpotConfigError, match="max_rejected"):
        HubSpotCreateOrUpdateContactsOperator(task_id="t", records=[{}], max_rejected=-1)
    with pytest.raises(SourceError, match="No members given"):
        HubSpotAddContactsToListOperator(task_id="t", list_id=1)
    with pytest.raises(HubSpotConfigError, match="stage is empty"):
        HubSpotLifecycleStageSensor(task_id="t", stage=" ")


def _files(tmp_path):
    (tmp_path / "dup.csv").write_text("email,email\na@example.com,b@example.com\n")
    (tmp_path / "latin1.csv").write_bytes("email,city\na@example.com,K\xf6ln\n".encode("latin-1"))
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    return tmp_path


UPSERT_CASES = [
    ({"records": 42}, "must be a list of dicts"),
    ({"records": [{"email": "a@example.com"}, "b@example.com"]}, "record 1 is a str"),
    ({"source_path": "{tmp}/missing.csv"}, "does not exist"),
    ({"source_path": "{tmp}/dup.csv"}, "repeats column"),
    ({"source_path": "{tmp}/latin1.csv"}, "not UTF-8"),
    ({"source_path": "{tmp}/data.xlsx"}, "Cannot tell the format"),
    ({"sql": "select nope from nothing", "sql_conn_id": "crm_db"}, "SQL query failed"),
    ({"sql": "select 1"}, "needs sql_conn_id"),
    ({"records": [{"email": "a@example.com", "shoe_size": "42"}]}, "does not exist in HubSpot.*properties_map"),
    ({"records": [{"email": "a@example.com"}], "batch_size": 0}, "batch_size"),
    ({"records": [{"email": "a@example.com", "external_id": "1"}], "id_property": "external_id",
      "api_version": "v1"}, "email or vid only"),
]


@pytest.mark.parametrize(("kwargs", "message"), UPSERT_CASES, ids=[f"upsert-{i}" for i in range(len(UPSERT_CASES))])
def test_bad_upsert_inputs_fail_clearly(emu, monkeypatch, tmp_path, kwargs, message):
    _files(tmp_path)
    monkeypatch.setenv("AIRFLOW_CONN_CRM_DB", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "db.sqlite")}))
    kwargs = {k: v.replace("{tmp}", str(tmp_path)) if isinstance(v, str) else v for k, v in kwargs.items()}
    with pytest.raises(AirflowFailException, match=message):
        HubSpotCreateOrUpdateContactsOperator(task_id="t", **kwargs).execute(CONTEXT)


def test_bad_records_are_rejected_with_reasons(emu, tmp_path):
    rows = [{"firstname": "no email"}, {"email": "not-an-email"}, {"email": "x@y.comv"},
            {"email": "big@example.com", "company": "x" * 70_000}, {"email": "ok@example.com"}]
    op = HubSpotCreateOrUpdateContactsOperator(task_id="t", records=rows, rejects_path=str(tmp_path / "r.jsonl"),
                                               max_rejected=4)
    assert op.execute(CONTEXT)["rejected"] == 4
    codes = {r["index"]: (r["code"], r["reason"]) for r in read_jsonl(tmp_path / "r.jsonl")}
    assert codes[0][0] == "MISSING_ID" and "email" in codes[0][1]
    assert codes[1][0] == "INVALID_EMAIL"
    assert "x@y.comv" in codes[2][1]
    assert codes[3][0] == "VALUE_TOO_LONG" and "company" in codes[3][1]
    assert emu.state.count_contacts() == 1


def test_bad_list_inputs(emu):
    _, dynamic = emu.state.create_list("Smart", dynamic=True)
    legacy, ils = emu.state.create_list("Old")
    cases = [(424242, "does not exist"), (dynamic, "dynamic"), (legacy, f"legacy.*Use list_id={ils}")]
    for list_id, message in cases:
        with pytest.raises(AirflowFailException, match=message):
            HubSpotAddContactsToListOperator(task_id="t", list_id=list_id, emails=["a@example.com"]).execute(CONTEXT)
    result = HubSpotAddContactsToListOperator(task_id="t", list_id=ils, records=["not a member"]).execute(CONTEXT)
    assert (result["invalid"], result["not_found"]) == (1, 0)
    assert read_jsonl(result["rejects_path"])[0]["code"] == "INVALID_MEMBER"


@pytest.mark.parametrize(("pair", "message"), [((5, 5), "into itself"), ((None, 999999), "merging"),
                                               (("abc", "def"), "numeric")])
def test_bad_merges(emu, pair, message):
    vid = emu.state.add_contact({"email": "p@example.com"})
    primary = vid if pair[0] is None else pair[0]
    with pytest.raises(AirflowFailException, match=message):
        HubSpotMergeContactsOperator(task_id="t", primary_id=primary, secondary_id=pair[1]).execute(CONTEXT)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"events": [{"email": "a@example.com"}]}, "no event type"),
    ({"events": [{"topic": "x"}], "event_type": "t"}, "needs the contact"),
    ({"events": [{"email": "a@example.com"}], "event_type": 1, "api_version": "v1"}, "app_id"),
])
def test_bad_timeline_events(emu, kwargs, message):
    with pytest.raises(AirflowFailException, match=message):
        HubSpotCreateTimelineEventsOperator(task_id="t", **kwargs).execute(CONTEXT)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"from_timestamp": NOW, "to_timestamp": NOW - DAY}, "inverted"),
    ({"from_timestamp": NOW - 800 * DAY, "to_timestamp": NOW}, "two years"),
    ({"from_timestamp": "last tuesday", "to_timestamp": NOW}, "ISO-8601"),
    ({"from_timestamp": NOW - DAY, "to_timestamp": NOW, "min_count": "many"}, "min_count"),
])
def test_bad_sensor_inputs(emu, kwargs, message):
    sensor = HubSpotLifecycleStageSensor(task_id="s", stage="lead", deferrable=False, **kwargs)
    with pytest.raises(AirflowFailException, match=message):
        sensor.poke(dict(CONTEXT))
    assert not emu.requests, "nothing is sent for input that cannot work"
