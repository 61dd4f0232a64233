"""Event triggers for asset watchers, run the way the triggerer runs them: created from the kwargs stored in the
metadata database (encrypted, then decoded), given the watched assets' state-store accessors, iterated with
``async for`` and cancelled on a restart; re-created from the same kwargs afterwards.

The asset state store is Airflow's own accessor (``AssetStateStoreAccessors``) talking to a stand-in for the
triggerer's supervisor channel that keeps the values in a dict (the metadata database).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest

from airflow_provider_hubspot._compat import AIRFLOW_V3, AirflowException

NOW = int(time.time() * 1000)


@pytest.fixture(autouse=True)
def _fresh_now() -> None:
    """``NOW`` is the time each test starts, not the import's: a full suite reaches these tests minutes
    after collecting them, and a watcher reads back only ``overlap_ms`` before the time it polls, so an
    import-time ``NOW`` made "new" submissions look older than the window."""
    global NOW
    NOW = int(time.time() * 1000)
FORM = "demo-request-form"
FEED = "/contacts/v1/lists/recently_updated/contacts/recent"
FAST = 0.01  # poll interval (seconds): the tests wait for conditions, never for the clock

if not AIRFLOW_V3:
    def test_event_triggers_say_they_need_airflow_3():
        from airflow_provider_hubspot.triggers.events import (
            HubSpotFormSubmissionEventTrigger,
            HubSpotLifecycleStageEventTrigger,
        )

        with pytest.raises(AirflowException, match=r"needs Airflow 3.*HubSpotFormSubmissionSensor"):
            HubSpotFormSubmissionEventTrigger(form_id=FORM)
        with pytest.raises(AirflowException, match="needs Airflow 3"):
            HubSpotLifecycleStageEventTrigger(stage="customer")

else:
    from airflow.sdk import Asset
    from airflow.sdk.exceptions import ErrorType
    from airflow.sdk.execution_time.comms import (
        AssetStateStoreResult,
        ErrorResponse,
        GetAssetStateStoreByName,
        SetAssetStateStoreByName,
    )
    from airflow.sdk.execution_time.context import AssetStateStoreAccessors
    from airflow.triggers.base import BaseEventTrigger

    from airflow_provider_hubspot.triggers import events
    from airflow_provider_hubspot.triggers.events import (
        HubSpotFormSubmissionEventTrigger,
        HubSpotLifecycleStageEventTrigger,
    )

    class MetadataDB:
        """The triggerer's supervisor channel for asset state: values kept per (asset, key)."""

        def __init__(self) -> None:
            self.values: dict[tuple[str, str], Any] = {}

        async def asend(self, msg: Any) -> Any:
            if isinstance(msg, GetAssetStateStoreByName):
                if (msg.name, msg.key) not in self.values:
                    return ErrorResponse(error=ErrorType.ASSET_STORE_NOT_FOUND)
                return AssetStateStoreResult(value=self.values[(msg.name, msg.key)])
            if isinstance(msg, SetAssetStateStoreByName):
                self.values[(msg.name, msg.key)] = msg.value
                return None
            raise AssertionError(f"unexpected message {msg!r}")

    @pytest.fixture
    def db(monkeypatch):
        from airflow.sdk.execution_time import task_runner

        store = MetadataDB()
        monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", store, raising=False)
        return store

    def as_the_triggerer_creates_it(trigger: Any, assets: list[str] | None = None) -> Any:
        """Store the kwargs as the scheduler does (encrypted), decode them as the triggerer does, inflate the
        class from its path and give it the watched assets' state store."""
        from airflow.jobs.triggerer_job_runner import import_string
        from airflow.models.trigger import Trigger
        from airflow.serialization.decoders import smart_decode_trigger_kwargs

        classpath, kwargs = trigger.serialize()
        row = Trigger(classpath=classpath, kwargs=kwargs)
        decoded = {k: smart_decode_trigger_kwargs(v) for k, v in Trigger._decrypt_kwargs(row.encrypted_kwargs).items()}
        created = import_string(classpath)(**decoded)
        assert BaseEventTrigger.hash(classpath, kwargs) == BaseEventTrigger.hash(*created.serialize()), \
            "the same watcher after a re-parse (same hash: Airflow keeps the trigger)"
        created.asset_state_store = AssetStateStoreAccessors(
            inlets=[Asset(name=name, uri=f"hubspot://62515/{name}") for name in assets or ["demo_requests"]])
        return created

    class Running:
        """A trigger run as the triggerer runs it: ``async for`` in a task, cancelled at a restart."""

        def __init__(self, trigger: Any, stream: Any = None) -> None:
            self.events: list[Any] = []
            self.task = asyncio.ensure_future(self._consume(stream if stream is not None else trigger.run()))

        async def _consume(self, stream: Any) -> None:
            async for event in stream:
                self.events.append(event.payload)

        async def stop(self) -> None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def until(condition, what: str, limit: float = 60.0) -> None:
        """Wait for a condition (the limit only turns a hang into a failure; nothing is measured)."""
        deadline = time.monotonic() + limit
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"still waiting for {what}")
            await asyncio.sleep(0.005)

    def feed_reads(emu) -> int:
        return sum(1 for r in emu.requests if r.path == FEED)

    def form_reads(emu) -> int:
        return sum(1 for r in emu.requests if r.path.startswith("/form-integrations/"))

    def position(db: MetadataDB, asset: str = "demo_requests", form: str = FORM) -> Any:
        return db.values.get((asset, f"airflow_provider_hubspot.form_submissions.hubspot_default.{form}"))

    # ------------------------------------------------------------------------------------------ forms

    def test_fires_once_per_batch_and_not_again_after_a_restart(hubspot_connection, db):
        emu = hubspot_connection
        for i in range(3):  # before the watcher's start: never reported
            emu.state.add_form_submission(FORM, f"old{i}@example.com", submitted_at=NOW - 50_000 + i)
        watcher = HubSpotFormSubmissionEventTrigger(form_id=FORM, since=NOW, poll_interval=FAST)

        async def scenario():
            first = Running(as_the_triggerer_creates_it(watcher))
            await until(lambda: position(db) is not None, "the start position to be stored")
            assert position(db)["watermark"] == NOW
            for i in range(2):
                emu.state.add_form_submission(FORM, f"new{i}@example.com", submitted_at=NOW + 1 + i)
            await until(lambda: first.events, "the first event")
            await until(lambda: position(db)["watermark"] == NOW + 2, "the new position to be stored")
            reads = form_reads(emu)
            await until(lambda: form_reads(emu) >= reads + 3, "three more polls")
            await first.stop()  # triggerer restart / DAG re-parse
            assert len(first.events) == 1, "one event per batch, and nothing more while nothing is new"
            batch = first.events[0]
            assert batch["count"] == 2 and {s["submittedAt"] for s in batch["submissions"]} == {NOW + 1, NOW + 2}
            assert all(set(s) == {"conversionId", "submittedAt", "formId"} for s in batch["submissions"]), \
                "ids and timestamps only: no e-mail unless include_email"

            emu.state.add_form_submission(FORM, "while-down@example.com", submitted_at=NOW + 3)
            second = Running(as_the_triggerer_creates_it(watcher))
            await until(lambda: second.events, "the submission made while the watcher was down")
            reads = form_reads(emu)
            await until(lambda: form_reads(emu) >= reads + 3, "three more polls")
            await second.stop()
            assert [e["count"] for e in second.events] == [1]
            assert second.events[0]["submissions"][0]["submittedAt"] == NOW + 3

            third = Running(as_the_triggerer_creates_it(watcher))  # nothing new: no event at all
            reads = form_reads(emu)
            await until(lambda: form_reads(emu) >= reads + 3, "three polls")
            await third.stop()
            assert third.events == []

        asyncio.run(scenario())

    def test_same_millisecond_submission_after_a_restart_is_reported_once(hubspot_connection, db):
        emu = hubspot_connection
        watcher = HubSpotFormSubmissionEventTrigger(form_id=FORM, since=NOW, poll_interval=FAST)
        emu.state.add_form_submission(FORM, "a@example.com", submitted_at=NOW + 10)

        async def scenario():
            first = Running(as_the_triggerer_creates_it(watcher))
            await until(lambda: (position(db) or {}).get("watermark") == NOW + 10, "the position")
            await first.stop()
            emu.state.add_form_submission(FORM, "b@example.com", submitted_at=NOW + 10)  # same millisecond
            second = Running(as_the_triggerer_creates_it(watcher))
            await until(lambda: second.events, "the second submission")
            reads = form_reads(emu)
            await until(lambda: form_reads(emu) >= reads + 2, "two more polls")
            await second.stop()
            return first.events, second.events

        first, second = asyncio.run(scenario())
        assert [e["count"] for e in first] == [1] and [e["count"] for e in second] == [1]
        assert first[0]["submissions"][0]["conversionId"] != second[0]["submissions"][0]["conversionId"]

    def test_default_start_is_the_first_run_not_the_restart(hubspot_connection, db, monkeypatch):
        emu = hubspot_connection
        emu.state.add_form_submission(FORM, "before@example.com", submitted_at=NOW - 5)
        monkeypatch.setattr(events, "_now_ms", lambda: NOW)
        watcher = HubSpotFormSubmissionEventTrigger(form_id=FORM, poll_interval=FAST)
        assert watcher.serialize()[1]["since"] is None, "deterministic kwargs: the start is not a parse-time clock"

        async def scenario():
            first = Running(as_the_triggerer_creates_it(watcher))
            await until(lambda: position(db) is not None, "the start position")
            await first.stop()
            emu.state.add_form_submission(FORM, "down@example.com", submitted_at=NOW + 50)
            monkeypatch.setattr(events, "_now_ms", lambda: NOW + 100)  # restarted later
            second = Running(as_the_triggerer_creates_it(watcher))
            await until(lambda: second.events, "the submission made while down")
            await second.stop()
            return first.events, second.events

        first, second = asyncio.run(scenario())
        assert first == []
        assert [s["submittedAt"] for s in second[0]["submissions"]] == [NOW + 50]

    def test_include_email_and_values_when_asked(hubspot_connection, db):
        emu = hubspot_connection
        emu.state.add_form_submission(FORM, "lead@example.com", {"firstname": "Lee"}, submitted_at=NOW + 1)
        watcher = HubSpotFormSubmissionEventTrigger(form_id=FORM, since=NOW, poll_interval=FAST, include_email=True,
                                                    include_values=True)
        assert watcher.shared_stream_key() is None, "values need the form's own endpoint"

        async def scenario():
            running = Running(as_the_triggerer_creates_it(watcher))
            await until(lambda: running.events, "the event")
            await running.stop()
            return running.events[0]["submissions"][0]

        item = asyncio.run(scenario())
        assert item["email"] == "lead@example.com" and item["values"]["firstname"] == "Lee" and "pageUrl" in item

    def test_watchers_of_one_portal_share_one_poll(hubspot_connection, db):
        """Ten watched forms: one feed read per poll serves all ten; each watcher fires for its own form only."""
        from airflow.triggers.shared_stream import SharedStreamManager

        emu = hubspot_connection
        forms = [f"form-{i}" for i in range(10)]
        watchers = [as_the_triggerer_creates_it(HubSpotFormSubmissionEventTrigger(
            form_id=form, since=NOW, poll_interval=FAST), assets=[f"asset-{form}"]) for form in forms]
        keys = {w.shared_stream_key() for w in watchers}
        assert len(keys) == 1 and None not in keys
        received = [0] * len(watchers)  # raw poll results each watcher consumed

        async def counted(stream, index):
            async for raw in stream:
                received[index] += 1
                yield raw

        async def scenario():
            manager = SharedStreamManager()
            (key,) = keys
            running = []
            for trigger_id, watcher in enumerate(watchers):  # what run_trigger does for a shared key
                stream = counted(manager.subscribe(trigger_id=trigger_id, trigger=watcher, key=key), trigger_id)
                running.append(Running(watcher, watcher.filter_shared_stream(stream)))
            await until(lambda: all(position(db, f"asset-{f}", f) for f in forms), "every start position")
            emu.state.add_form_submission("form-3", "x@example.com", submitted_at=NOW + 1)
            emu.state.add_form_submission("form-7", "y@example.com", submitted_at=NOW + 2)
            emu.state.add_form_submission("form-7", "z@example.com", submitted_at=NOW + 3)
            await until(lambda: running[3].events and running[7].events, "the two forms' events")
            start = min(received)
            await until(lambda: min(received) >= start + 5, "five more polls seen by every watcher")
            for trigger_id, run in enumerate(running):
                await run.stop()
                await manager.unsubscribe(trigger_id, key)
            return [r.events for r in running]

        fired = asyncio.run(scenario())
        assert [len(e) for e in fired] == [0, 0, 0, 1, 0, 0, 0, 1, 0, 0]
        assert fired[3][0]["count"] == 1 and fired[7][0]["count"] == 2
        assert form_reads(emu) == 0, "no per-form requests: the shared poll reads the portal's feed"
        assert feed_reads(emu) <= max(received) + 1, "one feed read per poll, whatever the number of watchers"
        assert sum(received) >= 10 * 5

    def test_a_shared_watcher_restarted_behind_the_others_gets_what_it_missed(hubspot_connection, db):
        from airflow.triggers.shared_stream import SharedStreamManager

        emu = hubspot_connection
        a = as_the_triggerer_creates_it(HubSpotFormSubmissionEventTrigger(form_id="fa", since=NOW, poll_interval=FAST),
                                        assets=["a"])
        b_kwargs = {"form_id": "fb", "since": NOW, "poll_interval": FAST}
        key = a.shared_stream_key()

        async def scenario():
            manager = SharedStreamManager()
            run_a = Running(a, a.filter_shared_stream(manager.subscribe(trigger_id=1, trigger=a, key=key)))
            b = as_the_triggerer_creates_it(HubSpotFormSubmissionEventTrigger(**b_kwargs), assets=["b"])
            run_b = Running(b, b.filter_shared_stream(manager.subscribe(trigger_id=2, trigger=b, key=key)))
            await until(lambda: position(db, "b", "fb") is not None, "b's start")
            await run_b.stop()
            await manager.unsubscribe(2, key)  # b's triggerer went away; a keeps polling
            emu.state.add_form_submission("fb", "missed@example.com", submitted_at=NOW + 5)
            emu.state.add_form_submission("fa", "seen@example.com", submitted_at=NOW + 6)
            await until(lambda: run_a.events, "a's event")
            b = as_the_triggerer_creates_it(HubSpotFormSubmissionEventTrigger(**b_kwargs), assets=["b"])
            run_b = Running(b, b.filter_shared_stream(manager.subscribe(trigger_id=3, trigger=b, key=key)))
            await until(lambda: run_b.events, "b's missed submission")
            await run_a.stop()
            await run_b.stop()
            await manager.unsubscribe(1, key)
            await manager.unsubscribe(3, key)
            return run_a.events, run_b.events

        events_a, events_b = asyncio.run(scenario())
        assert [e["count"] for e in events_a] == [1] and [e["count"] for e in events_b] == [1]
        assert events_b[0]["submissions"][0]["submittedAt"] == NOW + 5

    def test_a_quiet_watcher_does_not_keep_reading_the_feed_back_to_its_start(hubspot_connection, db, monkeypatch):
        """The feed was read completely up to the poll: the next read reaches only overlap_ms before it, even
        when the watched form had nothing new (shared, and a lone any-form watcher)."""
        from airflow.triggers.shared_stream import SharedStreamManager

        later = NOW + 3_600_000
        clock = {"now": NOW}
        monkeypatch.setattr(events, "_now_ms", lambda: clock["now"])
        quiet = as_the_triggerer_creates_it(HubSpotFormSubmissionEventTrigger(form_id="quiet", poll_interval=FAST),
                                            assets=["quiet"])
        anyform = as_the_triggerer_creates_it(HubSpotFormSubmissionEventTrigger(poll_interval=FAST), assets=["any"])

        async def scenario():
            manager = SharedStreamManager()
            key = quiet.shared_stream_key()
            shared = Running(quiet, quiet.filter_shared_stream(manager.subscribe(trigger_id=1, trigger=quiet, key=key)))
            alone = Running(anyform)  # run() on its own
            await until(lambda: position(db, "quiet", "quiet") and position(db, "any", "any"), "the start positions")
            clock["now"] = later
            await until(lambda: position(db, "quiet", "quiet")["floor"] == later - quiet.overlap_ms
                        and position(db, "any", "any")["floor"] == later - anyform.overlap_ms, "the floors to follow")
            await shared.stop()
            await alone.stop()
            await manager.unsubscribe(1, key)
            return shared.events + alone.events

        assert asyncio.run(scenario()) == []
        reads = [r for r in hubspot_connection.requests if r.path == FEED]
        assert reads, "both read the feed"

    def test_errors_are_retried_and_the_watcher_goes_on(hubspot_connection, db, monkeypatch):
        emu = hubspot_connection
        monkeypatch.setattr(events, "MAX_BACKOFF_SECONDS", 0.01)
        emu.inject_fault("expired_token", count=2, path="/form-integrations/")  # a 401: not retried by the client
        watcher = HubSpotFormSubmissionEventTrigger(form_id=FORM, since=NOW, poll_interval=FAST)
        emu.state.add_form_submission(FORM, "a@example.com", submitted_at=NOW + 1)

        async def scenario():
            running = Running(as_the_triggerer_creates_it(watcher))
            await until(lambda: running.events, "the event after the errors")
            await running.stop()
            return running.events

        assert [e["count"] for e in asyncio.run(scenario())] == [1]
        statuses = [r.status for r in emu.requests if r.path.startswith("/form-integrations/")]
        assert statuses[:3] == [401, 401, 200], "the watcher went on after HubSpot refused twice"

    def test_position_falls_back_to_memory_without_a_state_store(hubspot_connection, caplog):
        emu = hubspot_connection
        emu.state.add_form_submission(FORM, "a@example.com", submitted_at=NOW + 1)
        watcher = HubSpotFormSubmissionEventTrigger(form_id=FORM, since=NOW, poll_interval=FAST)

        async def scenario():
            running = Running(watcher)  # not created by an asset watcher: no asset_state_store
            await until(lambda: running.events, "the event")
            await running.stop()
            return running.events

        assert [e["count"] for e in asyncio.run(scenario())] == [1]
        assert "kept in memory" in caplog.text

    # ------------------------------------------------------------------------------------------ lifecycle

    def test_lifecycle_watcher_fires_for_new_entries_and_resumes_after_a_restart(hubspot_connection, db,
                                                                                   monkeypatch):
        emu = hubspot_connection
        clock = {"now": NOW}
        monkeypatch.setattr(events, "_now_ms", lambda: clock["now"])
        emu.state.set_lifecycle_stage("old@example.com", "customer", NOW)  # before the watcher's start
        watcher = HubSpotLifecycleStageEventTrigger(stage="customer", since=NOW + 1_000, settle_ms=0,
                                                    poll_interval=FAST)
        key = ("customers", "airflow_provider_hubspot.lifecycle.hubspot_default.hs_lifecyclestage_customer_date")

        def became_customer(email: str, at: int) -> None:
            emu.state.set_lifecycle_stage(email, "customer", at)

        async def scenario():
            clock["now"] = NOW + 10_000
            became_customer("c1@example.com", NOW + 2_000)
            became_customer("c2@example.com", NOW + 3_000)
            first = Running(as_the_triggerer_creates_it(watcher, assets=["customers"]))
            await until(lambda: first.events, "the first event")
            await until(lambda: db.values[key]["watermark"] == NOW + 10_000, "the stored window end")
            await first.stop()
            became_customer("c3@example.com", NOW + 12_000)
            clock["now"] = NOW + 20_000
            second = Running(as_the_triggerer_creates_it(watcher, assets=["customers"]))
            await until(lambda: second.events, "the entry made while down")
            await second.stop()
            return first.events, second.events

        first, second = asyncio.run(scenario())
        assert [e["count"] for e in first] == [2] and [e["count"] for e in second] == [1]
        assert (second[0]["from_timestamp"], second[0]["to_timestamp"]) == (NOW + 10_001, NOW + 20_000)
        assert "email" not in str(first), "counts only"
