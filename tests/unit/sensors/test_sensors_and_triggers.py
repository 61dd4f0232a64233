"""Sensor pokes and trigger runs against the emulator (without a DAG run)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from airflow_provider_hubspot._compat import AirflowException, AirflowFailException
from airflow_provider_hubspot.sensors.forms import HubSpotFormSubmissionSensor
from airflow_provider_hubspot.sensors.lifecycle import HubSpotLifecycleStageSensor
from airflow_provider_hubspot.triggers.forms import HubSpotFormSubmissionTrigger
from airflow_provider_hubspot.triggers.lifecycle import HubSpotLifecycleStageTrigger

NOW = int(time.time() * 1000)
DAY = 86_400_000


class FakeTI:
    def __init__(self):
        self.pushed = {}

    def xcom_push(self, key, value):
        self.pushed[key] = value


def _context(**extra):
    return {"ti": FakeTI(), "data_interval_start": None, "data_interval_end": None, **extra}


def _run_trigger(trigger):
    async def first_event():
        async for event in trigger.run():
            return event.payload
    return asyncio.run(asyncio.wait_for(first_event(), 30))


def test_lifecycle_poke_counts_entries_in_the_window(hubspot_connection):
    state = hubspot_connection.state
    for i in range(3):
        state.set_lifecycle_stage(state.add_contact({"email": f"c{i}@example.com"}), "customer", NOW - DAY // 2)
    state.set_lifecycle_stage(state.add_contact({"email": "old@example.com"}), "customer", NOW - 3 * DAY)
    sensor = HubSpotLifecycleStageSensor(task_id="s", stage="customer", min_count=4, from_timestamp=NOW - DAY,
                                         to_timestamp=NOW, deferrable=False)
    assert not sensor.poke(_context()).is_done
    sensor.min_count = 3
    result = sensor.poke(_context())
    assert result.is_done and result.xcom_value["count"] == 3
    (poke,) = [r for r in hubspot_connection.requests if r.path.endswith("lifecyclestages")][-1:]
    assert poke.query["fromTimestamp"] == [str(NOW - DAY)] and poke.query["toTimestamp"] == [str(NOW)]


def test_lifecycle_accepts_the_date_property_form_and_datetimes(hubspot_connection):
    from datetime import datetime, timezone

    sensor = HubSpotLifecycleStageSensor(task_id="s", stage="hs_lifecyclestage_lead_date", deferrable=False,
                                         from_timestamp=datetime(2026, 1, 1, tzinfo=timezone.utc),
                                         to_timestamp="2026-02-01T00:00:00+00:00")
    trigger = sensor.make_trigger(_context())
    assert (trigger.from_ms, trigger.to_ms) == (1767225600000, 1769904000000)


@pytest.mark.parametrize(
    ("window", "message"),
    [((NOW, NOW - DAY), "inverted"), ((NOW - 800 * DAY, NOW), "two years"), (("yesterday", NOW), "ISO-8601")],
)
def test_bad_windows_fail_clearly_without_calling_hubspot(hubspot_connection, window, message):
    sensor = HubSpotLifecycleStageSensor(task_id="s", stage="lead", from_timestamp=window[0],
                                         to_timestamp=window[1], deferrable=False)
    with pytest.raises(AirflowFailException, match=message):
        sensor.poke(_context())
    assert not hubspot_connection.requests


def test_auth_errors_fail_the_sensor_at_once(hubspot_emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(
        {"conn_type": "hubspot", "host": hubspot_emulator.url, "password": "bad"}))
    sensor = HubSpotLifecycleStageSensor(task_id="s", stage="lead", from_timestamp=NOW - DAY, to_timestamp=NOW,
                                         deferrable=False)
    with pytest.raises(AirflowFailException, match="401"):
        sensor.poke(_context())


def test_lifecycle_aggregation_value(hubspot_connection):
    state = hubspot_connection.state
    vid = state.add_contact({"email": "a@example.com", "lifecyclestage": "lead"})
    state.set_lifecycle_stage(vid, "customer", NOW - 1000)
    sensor = HubSpotLifecycleStageSensor(task_id="s", stage="customer", from_timestamp=NOW - DAY, to_timestamp=NOW,
                                         aggregation_property="lifecyclestage", aggregation_value="customer",
                                         deferrable=False)
    result = sensor.poke(_context())
    assert result.is_done and result.xcom_value["count"] == 1


def test_form_poke_dedupes_and_stops_at_the_watermark(hubspot_connection):
    state = hubspot_connection.state
    form = "form-guid-1"
    for i in range(60):
        state.add_form_submission(form, f"old{i}@example.com", submitted_at=NOW - 100_000 + i)
    for i in range(3):
        state.add_form_submission(form, f"new{i}@example.com", submitted_at=NOW + i)
    sensor = HubSpotFormSubmissionSensor(task_id="f", form_id=form, since=NOW - 1, min_submissions=3,
                                         deferrable=False)
    context = _context()
    result = sensor.poke(context)
    assert result.is_done and result.xcom_value["count"] == 3
    assert context["ti"].pushed["watermark"] == NOW + 2
    pages = [r for r in hubspot_connection.requests if r.path.startswith("/form-integrations/")]
    assert len(pages) == 1, "only pages holding new submissions are read"


def test_form_sensor_without_form_id_reads_recent_contacts(hubspot_connection):
    state = hubspot_connection.state
    state.add_form_submission("form-a", "x@example.com", submitted_at=NOW + 5)
    state.add_form_submission("form-b", "y@example.com", submitted_at=NOW + 6)
    sensor = HubSpotFormSubmissionSensor(task_id="f", since=NOW, min_submissions=2, deferrable=False)
    result = sensor.poke(_context())
    assert result.is_done
    assert {s["formId"] for s in result.xcom_value["submissions"]} == {"form-a", "form-b"}
    feed = [r for r in hubspot_connection.requests if "recently_updated" in r.path]
    assert feed and feed[0].query["formSubmissionMode"] == ["all"]


def test_form_payload_is_capped(hubspot_connection):
    for i in range(10):
        hubspot_connection.state.add_form_submission("f1", f"n{i}@example.com", submitted_at=NOW + i)
    sensor = HubSpotFormSubmissionSensor(task_id="f", form_id="f1", since=NOW - 1, max_pushed=4, deferrable=False)
    value = sensor.poke(_context()).xcom_value
    assert value["count"] == 10 and len(value["submissions"]) == 4 and value["truncated"]


def test_triggers_serialize_to_json_safe_kwargs_without_secrets():
    trigger = HubSpotLifecycleStageTrigger(hubspot_conn_id="hubspot_default", stage="lead", from_ms=1, to_ms=2,
                                           min_count=3, poke_interval=5)
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_hubspot.triggers.lifecycle.HubSpotLifecycleStageTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert HubSpotLifecycleStageTrigger(**kwargs).serialize() == (path, kwargs)
    forms = HubSpotFormSubmissionTrigger(hubspot_conn_id="c", since_ms=5, form_id="g")
    path, kwargs = forms.serialize()
    assert HubSpotFormSubmissionTrigger(**kwargs).serialize() == (path, kwargs)
    assert not any("token" in str(k).lower() for k in kwargs)


def test_trigger_polls_until_the_condition_holds(hubspot_connection):
    state = hubspot_connection.state
    state.add_form_submission("f2", "a@example.com", submitted_at=NOW + 1)
    trigger = HubSpotFormSubmissionTrigger(hubspot_conn_id="hubspot_default", since_ms=NOW, form_id="f2",
                                           min_submissions=2, poke_interval=0.2)

    async def scenario():
        async def add_later():
            while len([r for r in hubspot_connection.requests if "form-integrations" in r.path]) < 2:
                await asyncio.sleep(0.05)
            state.add_form_submission("f2", "b@example.com", submitted_at=NOW + 2)

        adder = asyncio.create_task(add_later())
        async for event in trigger.run():
            await adder
            return event.payload

    payload = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert payload["status"] == "success" and payload["payload"]["count"] == 2


def test_trigger_reports_errors_as_an_error_event(hubspot_emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(
        {"conn_type": "hubspot", "host": hubspot_emulator.url, "password": "bad-token"}))
    trigger = HubSpotLifecycleStageTrigger(hubspot_conn_id="hubspot_default", stage="lead", from_ms=NOW - DAY,
                                           to_ms=NOW, poke_interval=0.1)
    payload = _run_trigger(trigger)
    assert payload["status"] == "error" and "401" in payload["message"]
    assert "bad-token" not in payload["message"]
    sensor = HubSpotLifecycleStageSensor(task_id="s", stage="lead", deferrable=True)
    with pytest.raises(AirflowFailException, match="401"):
        sensor.execute_complete(_context(), payload)
    with pytest.raises(AirflowException):
        sensor.execute_complete(_context(), {"status": "error", "message": "boom", "error_type": "HubSpotServerError"})
