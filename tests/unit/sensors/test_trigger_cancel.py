"""Issue 20 (cancelled triggers leave their worker running) and issue 21 item 14 (the deferred sensor's
story in the task log).

The blocked request is held by an event inside the emulator (its ``slow`` fault sleeps through a gate the
test opens), so the tests control the interleaving instead of racing a clock.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import pytest

import airflow_provider_hubspot.emulator.server as emulator_server
import airflow_provider_hubspot.triggers.base as trigger_base
from airflow_provider_hubspot.client import HubSpotClient
from airflow_provider_hubspot.sensors.forms import HubSpotFormSubmissionSensor
from airflow_provider_hubspot.sensors.lifecycle import HubSpotLifecycleStageSensor
from airflow_provider_hubspot.triggers.forms import HubSpotFormSubmissionTrigger
from airflow_provider_hubspot.triggers.lifecycle import HubSpotLifecycleStageTrigger

NOW = int(time.time() * 1000)
DAY = 86_400_000
FORMS = "/form-integrations/v1/submissions/forms/"
LIFECYCLE = "/contacts/search/v1/external/lifecyclestages"
GATED_SECONDS = 4242.0  # a ``slow`` fault of this length waits for the test's gate instead of the clock


class _GatedTime:
    """Stands in for the emulator's ``time`` module: the gated ``slow`` fault blocks until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    def sleep(self, seconds: float) -> None:
        if seconds == GATED_SECONDS:
            self.entered.set()
            self.release.wait(60)
        else:
            time.sleep(seconds)


@pytest.fixture
def gate(monkeypatch):
    gated = _GatedTime()
    monkeypatch.setattr(emulator_server, "time", gated)
    yield gated
    gated.release.set()  # never leave an emulator thread blocked


class _Watch:
    """Records the check's worker thread, when the check returned, and what had happened at close()."""

    def __init__(self, trigger: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.worker: threading.Thread | None = None
        self.check_returned = threading.Event()
        self.closes: list[bool] = []  # per close(): had the check returned?
        original_check = trigger.check

        def check(client: HubSpotClient) -> Any:
            self.worker = threading.current_thread()
            try:
                return original_check(client)
            finally:
                self.check_returned.set()

        trigger.check = check
        original_close = HubSpotClient.close

        def close(client: HubSpotClient) -> None:
            self.closes.append(self.check_returned.is_set())
            original_close(client)

        monkeypatch.setattr(HubSpotClient, "close", close)


async def _first_event(trigger: Any) -> Any:
    async for event in trigger.run():
        return event.payload
    return None


async def _until(condition: Any) -> None:
    while not condition():
        await asyncio.sleep(0.01)


def test_a_cancelled_trigger_stops_its_worker_and_closes_the_client_after_it(hubspot_connection, gate,
                                                                             monkeypatch):
    emu = hubspot_connection
    for i in range(120):  # three pages of 50
        emu.state.add_form_submission("big-form", f"p{i}@example.com", submitted_at=NOW + i)
    emu.inject_fault("slow", path=FORMS, seconds=GATED_SECONDS)
    trigger = HubSpotFormSubmissionTrigger(hubspot_conn_id="hubspot_default", since_ms=NOW - 1, form_id="big-form",
                                           min_submissions=1000, poke_interval=60)
    watch = _Watch(trigger, monkeypatch)

    async def scenario() -> None:
        task = asyncio.create_task(_first_event(trigger))
        await _until(gate.entered.is_set)  # the worker's first page request is held inside the emulator
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(asyncio.wait_for(scenario(), 30))
    assert watch.worker is not None and watch.worker.is_alive(), "the worker is still blocked in its request"
    assert watch.closes == [], "the client is not closed under a check that still uses it"
    gate.release.set()
    watch.worker.join(30)
    assert not watch.worker.is_alive(), "the worker ends once its request returns"
    assert watch.closes == [True], "the client is closed once, after the check returned"
    pages = [r for r in emu.requests if r.path.startswith(FORMS)]
    assert len(pages) == 1, "no further page is requested after the cancellation"


def test_a_cancelled_trigger_does_not_sit_out_a_retry_wait(hubspot_connection, monkeypatch):
    emu = hubspot_connection
    emu.inject_fault("429", path=LIFECYCLE, retry_after=40)  # under the 300 s cap: the client would wait 40 s
    trigger = HubSpotLifecycleStageTrigger(hubspot_conn_id="hubspot_default", stage="lead", from_ms=NOW - DAY,
                                           to_ms=NOW, poke_interval=60)
    watch = _Watch(trigger, monkeypatch)

    async def scenario() -> None:
        task = asyncio.create_task(_first_event(trigger))
        await _until(lambda: any(r.status == 429 for r in emu.requests))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(asyncio.wait_for(scenario(), 30))
    assert watch.worker is not None
    watch.worker.join(30)
    assert not watch.worker.is_alive(), "the retry wait ends at the cancellation"
    assert watch.closes == [True]
    assert len([r for r in emu.requests if r.path == LIFECYCLE]) == 1, "the request is not retried after it"


def test_a_finished_trigger_closes_its_client_once(hubspot_connection, monkeypatch):
    hubspot_connection.state.add_form_submission("f1", "a@example.com", submitted_at=NOW + 1)
    trigger = HubSpotFormSubmissionTrigger(hubspot_conn_id="hubspot_default", since_ms=NOW, form_id="f1",
                                           poke_interval=0)
    watch = _Watch(trigger, monkeypatch)
    payload = asyncio.run(asyncio.wait_for(_first_event(trigger), 30))
    assert payload["status"] == "success" and payload["payload"]["count"] == 1
    assert watch.closes == [True]


# -- issue 21 item 14: the story in the log --------------------------------------------------------


def _messages(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger and r.levelno == logging.INFO]


def test_trigger_polls_are_logged_with_counts_first_each_then_every_tenth(hubspot_connection, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger=trigger_base.__name__)
    monkeypatch.setattr(trigger_base, "_monotonic", lambda: 5000.0, raising=False)  # time stands still: only the count rule
    state = hubspot_connection.state
    state.add_form_submission("f2", "alice.private@example.com", submitted_at=NOW + 1)
    trigger = HubSpotFormSubmissionTrigger(hubspot_conn_id="hubspot_default", since_ms=NOW, form_id="f2",
                                           min_submissions=2, poke_interval=0)
    real_check = trigger.check
    calls = []

    def check(client: HubSpotClient) -> Any:
        calls.append(1)
        if len(calls) == 25:
            state.add_form_submission("f2", "bob.private@example.com", submitted_at=NOW + 2)
        return real_check(client)

    trigger.check = check
    payload = asyncio.run(asyncio.wait_for(_first_event(trigger), 60))
    assert payload["status"] == "success"
    lines = _messages(caplog, trigger_base.__name__)
    logged = [int(line.split()[1].rstrip(":")) for line in lines]
    assert logged == [*range(1, 11), 20, 25], lines
    assert all("1 new submission(s)" in line and "2 needed" in line and "form f2" in line for line in lines[:-1])
    assert "condition met" in lines[-1] and "2 new submission(s)" in lines[-1]
    assert not any("@" in line for line in lines), "no e-mail address in the log"


def test_trigger_polls_are_logged_at_least_once_a_minute(hubspot_connection, monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger=trigger_base.__name__)
    ticks = iter(range(0, 10_000, 35))  # each poll 35 s later than the one before
    monkeypatch.setattr(trigger_base, "_monotonic", lambda: float(next(ticks)), raising=False)
    trigger = HubSpotLifecycleStageTrigger(hubspot_conn_id="hubspot_default", stage="customer", from_ms=NOW - DAY,
                                           to_ms=NOW, min_count=1, poke_interval=0)
    real_check = trigger.check
    calls = []

    def check(client: HubSpotClient) -> Any:
        calls.append(1)
        if len(calls) == 16:
            state = hubspot_connection.state
            state.set_lifecycle_stage(state.add_contact({"email": "carol@example.com"}), "customer", NOW - 1000)
        return real_check(client)

    trigger.check = check
    assert asyncio.run(asyncio.wait_for(_first_event(trigger), 60))["status"] == "success"
    lines = _messages(caplog, trigger_base.__name__)
    logged = [int(line.split()[1].rstrip(":")) for line in lines]
    assert logged == [*range(1, 11), 12, 14, 16], lines  # 12 and 14: a minute (70 s) since the last line
    assert "0 contact(s) entered hs_lifecyclestage_customer_date" in lines[0] and "1 needed" in lines[0]


def _context() -> dict[str, Any]:
    class TI:
        def xcom_push(self, key: str, value: Any) -> None:
            pass

    return {"ti": TI(), "data_interval_start": None, "data_interval_end": None}


def test_the_resumed_sensor_logs_the_condition_met_without_personal_data(caplog):
    import airflow_provider_hubspot.sensors.base as sensor_base

    caplog.set_level(logging.INFO, logger=sensor_base.__name__)
    sensor = HubSpotFormSubmissionSensor(task_id="wait_forms", form_id="f3", since=NOW, min_submissions=2,
                                         deferrable=True)
    payload = {"count": 2, "watermark": NOW + 2, "since": NOW, "form_id": "f3", "truncated": False,
               "submissions": [{"email": "dave.private@example.com", "submittedAt": NOW + 1},
                               {"email": "erin.private@example.com", "submittedAt": NOW + 2}]}
    assert sensor.execute_complete(_context(), {"status": "success", "payload": payload}) == payload
    lines = _messages(caplog, sensor_base.__name__)
    assert len(lines) == 1, lines
    assert "wait_forms" in lines[0] and "condition met" in lines[0]
    assert "2 new submission(s) of form f3" in lines[0] and "2 needed" in lines[0]
    assert "@" not in lines[0]

    caplog.clear()
    lifecycle = HubSpotLifecycleStageSensor(task_id="wait_customers", stage="customer", min_count=3,
                                            from_timestamp=NOW - DAY, to_timestamp=NOW, deferrable=True)
    lifecycle.execute_complete(_context(), {"status": "success", "payload": {
        "stage": "hs_lifecyclestage_customer_date", "count": 3, "min_count": 3, "from_timestamp": NOW - DAY,
        "to_timestamp": NOW, "counts": {}}})
    (line,) = _messages(caplog, sensor_base.__name__)
    assert "wait_customers" in line and "3 contact(s) entered hs_lifecyclestage_customer_date" in line
    assert "3 needed" in line


def test_a_poke_that_is_not_done_logs_counts_not_submissions(hubspot_connection, caplog):
    import airflow_provider_hubspot.sensors.base as sensor_base

    caplog.set_level(logging.INFO, logger=sensor_base.__name__)
    hubspot_connection.state.add_form_submission("f4", "frank.private@example.com", submitted_at=NOW + 1)
    sensor = HubSpotFormSubmissionSensor(task_id="poke_forms", form_id="f4", since=NOW, min_submissions=2,
                                         deferrable=False)
    assert not sensor.poke(_context()).is_done
    (line,) = _messages(caplog, sensor_base.__name__)
    assert "not yet" in line and "1 new submission(s)" in line and "@" not in line
