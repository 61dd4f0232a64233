"""Form submissions at the watermark: a second submission in the same millisecond, or one HubSpot makes
visible after a newer one, is reported by the next run exactly once, and nothing is reported twice
(per form and any form; poke and trigger)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from airflow_provider_hubspot.client import HubSpotClient
from airflow_provider_hubspot.client.forms import NewSubmissions, SubmissionCursor
from airflow_provider_hubspot.sensors.forms import HubSpotFormSubmissionSensor
from airflow_provider_hubspot.triggers.forms import HubSpotFormSubmissionTrigger, check_form_submissions

NOW = int(time.time() * 1000)
T = NOW + 100_000  # the newest submission of the first run
FORM = "form-guid-1"


class XComTI:
    """A task instance whose XComs outlive the run, like Airflow's (``include_prior_dates`` pulls the latest)."""

    def __init__(self, store: dict) -> None:
        self.store = store
        self.pushed: dict = {}

    def xcom_push(self, key, value):
        self.pushed[key] = value
        self.store[key] = json.loads(json.dumps(value))  # XCom values are JSON

    def xcom_pull(self, task_ids=None, key="return_value", include_prior_dates=False, **_):
        return self.store.get(key) if include_prior_dates else None


class Runs:
    """Consecutive DAG runs of one form sensor; each run's ``since`` is what the previous one pushed."""

    def __init__(self, form_id: str | None, chain: str) -> None:
        self.form_id = form_id
        self.chain = chain  # "cursor": since = the pushed cursor; "watermark": since = the pushed watermark
        self.store: dict = {}

    def run(self, since=None, **options):
        if since is None:
            since = self.store[self.chain]
        sensor = HubSpotFormSubmissionSensor(task_id="wait", form_id=self.form_id, since=since, deferrable=False,
                                             **options)
        context = {"ti": XComTI(self.store), "data_interval_start": None, "data_interval_end": None}
        result = sensor.poke(context)
        return (result.xcom_value if result.is_done else None), context["ti"].pushed


def _emails(value) -> list[str]:
    return sorted(s["email"] for s in value["submissions"])


def _add(state, form_id, email, submitted_at):
    return state.add_form_submission(form_id or "any-form", email, submitted_at=submitted_at)


CASES = [(FORM, "cursor"), (FORM, "watermark"), (None, "cursor"), (None, "watermark")]


@pytest.mark.parametrize(("form_id", "chain"), CASES)
def test_a_second_submission_in_the_same_millisecond_is_reported_by_the_next_run(hubspot_connection, form_id, chain):
    state = hubspot_connection.state
    runs = Runs(form_id, chain)
    _add(state, form_id, "a@example.com", T)
    first, pushed = runs.run(since=NOW)
    assert _emails(first) == ["a@example.com"] and pushed["watermark"] == T
    _add(state, form_id, "b@example.com", T)  # same millisecond, visible only now
    second, pushed = runs.run()
    assert second is not None and _emails(second) == ["b@example.com"]
    assert pushed["watermark"] == T
    third, _ = runs.run()
    assert third is None, "nothing new: nothing reported again"


@pytest.mark.parametrize(("form_id", "chain"), CASES)
def test_a_late_visible_older_submission_is_reported_once(hubspot_connection, form_id, chain):
    state = hubspot_connection.state
    runs = Runs(form_id, chain)
    _add(state, form_id, "a@example.com", T)
    first, _ = runs.run(since=NOW)
    assert _emails(first) == ["a@example.com"]
    _add(state, form_id, "late@example.com", T - 60_000)  # older than the watermark, within the overlap
    second, pushed = runs.run()
    assert second is not None and _emails(second) == ["late@example.com"] and second["count"] == 1
    assert pushed["watermark"] == T, "the watermark never goes back"
    third, _ = runs.run()
    assert third is None


@pytest.mark.parametrize(("form_id", "chain"), CASES)
def test_a_submission_reported_in_run_one_is_not_reported_in_run_two(hubspot_connection, form_id, chain):
    state = hubspot_connection.state
    runs = Runs(form_id, chain)
    _add(state, form_id, "a@example.com", T - 1)
    _add(state, form_id, "b@example.com", T)
    first, _ = runs.run(since=NOW)
    assert _emails(first) == ["a@example.com", "b@example.com"]
    _add(state, form_id, "c@example.com", T + 5)
    second, _ = runs.run()
    assert _emails(second) == ["c@example.com"] and second["count"] == 1


def test_the_overlap_never_reaches_before_the_first_runs_since(hubspot_connection):
    state = hubspot_connection.state
    runs = Runs(FORM, "cursor")
    _add(state, FORM, "a@example.com", NOW + 10)
    runs.run(since=NOW)
    _add(state, FORM, "before@example.com", NOW - 10)  # before what the first run was asked for
    assert runs.run()[0] is None


def test_a_late_submission_beyond_the_overlap_is_not_reported(hubspot_connection):
    state = hubspot_connection.state
    runs = Runs(FORM, "cursor")
    _add(state, FORM, "a@example.com", T)
    runs.run(since=NOW, overlap_ms=1000)
    _add(state, FORM, "very-late@example.com", T - 5000)
    assert runs.run(overlap_ms=1000)[0] is None


def test_a_plain_since_without_a_matching_cursor_means_after_since(hubspot_connection):
    """Another run's cursor (different watermark) is not used: since keeps its meaning."""
    state = hubspot_connection.state
    runs = Runs(FORM, "watermark")
    _add(state, FORM, "a@example.com", T)
    runs.run(since=NOW)
    value, _ = runs.run(since=NOW)  # the same since again: everything after it, as before
    assert _emails(value) == ["a@example.com"]


def test_the_cursor_also_arrives_as_rendered_template_text(hubspot_connection):
    state = hubspot_connection.state
    runs = Runs(FORM, "cursor")
    _add(state, FORM, "a@example.com", T)
    runs.run(since=NOW)
    _add(state, FORM, "b@example.com", T)
    for text in (str(runs.store["cursor"]), json.dumps(runs.store["cursor"])):  # Jinja repr / | tojson
        value, _ = runs.run(since=text)
        assert _emails(value) == ["b@example.com"]


def test_the_trigger_event_carries_the_cursor_and_the_trigger_applies_it(hubspot_connection):
    state = hubspot_connection.state
    _add(state, FORM, "a@example.com", T)
    store: dict = {}
    sensor = HubSpotFormSubmissionSensor(task_id="wait", form_id=FORM, since=NOW, deferrable=True)
    context = {"ti": XComTI(store), "data_interval_start": None, "data_interval_end": None}

    async def first_event(trigger):
        async for event in trigger.run():
            return event.payload

    event = asyncio.run(asyncio.wait_for(first_event(sensor.make_trigger(context)), 30))
    sensor.execute_complete(context, event)
    assert store["cursor"]["watermark"] == T and store["cursor"]["seen"] == [event["payload"]["submissions"][0][
        "conversionId"]]
    _add(state, FORM, "b@example.com", T)
    trigger = HubSpotFormSubmissionSensor(task_id="wait", form_id=FORM, since=T, deferrable=True).make_trigger(
        {"ti": XComTI(store)})
    path, kwargs = trigger.serialize()
    assert json.loads(json.dumps(kwargs)) == kwargs and HubSpotFormSubmissionTrigger(**kwargs).serialize() == (
        path, kwargs)
    event = asyncio.run(asyncio.wait_for(first_event(HubSpotFormSubmissionTrigger(**kwargs)), 30))
    assert [s["email"] for s in event["payload"]["submissions"]] == ["b@example.com"]


def test_the_carried_ids_are_bounded(hubspot_emulator):
    state = hubspot_emulator.state
    for i in range(6):
        _add(state, FORM, f"u{i}@example.com", T - i)
    client = HubSpotClient(hubspot_emulator.token, base_url=hubspot_emulator.url)
    try:
        new = client.forms.iter_new_submissions(SubmissionCursor.after(NOW), form_id=FORM, max_seen=2)
        assert isinstance(new, NewSubmissions) and len(list(new)) == 6
        cursor = new.cursor
        assert len(cursor.seen) <= 2 and cursor.floor == T - 1 and cursor.watermark == T
        _add(state, FORM, "same-ms@example.com", T)
        done, payload = check_form_submissions(client, since_ms=cursor.watermark, form_id=FORM,
                                               floor_ms=cursor.floor, seen_ids=sorted(cursor.seen))
        assert done and [s["email"] for s in payload["submissions"]] == ["same-ms@example.com"]
    finally:
        client.close()


def test_cursor_text_that_is_not_a_cursor_is_not_one():
    assert SubmissionCursor.parse("2026-01-01T00:00:00Z") is None
    assert SubmissionCursor.parse("{not a dict") is None
    assert SubmissionCursor.parse({"watermark": 5}) is None
    assert SubmissionCursor.parse({"watermark": 5, "floor": 3, "seen": ["x"]}) == SubmissionCursor(5, 3, frozenset({"x"}))
