"""Event triggers for asset watchers: start a DAG when a HubSpot form is submitted, or when contacts enter a
lifecycle stage (Airflow 3 event-driven scheduling)::

    from airflow.sdk import Asset, AssetWatcher, DAG

    demo_requests = Asset("hubspot://62515/forms/<form guid>", watchers=[
        AssetWatcher(name="demo_request_form", trigger=HubSpotFormSubmissionEventTrigger(form_id="<form guid>"))])

    with DAG("route_demo_requests", schedule=[demo_requests]): ...

The started run reads the event's payload from its triggering asset event
(``triggering_asset_events[asset][-1].extra["payload"]``): ids and timestamps of the new submissions, no
personal values unless ``include_email`` / ``include_values`` ask for them.

**Where the watermark lives.** A watcher's trigger is created by the triggerer from the kwargs serialized
when the DAG was parsed, and re-created from the same kwargs after every triggerer restart: its kwargs
cannot carry a position that moves (and a changed kwarg would make it another trigger). So the position —
the :class:`~airflow_provider_hubspot.client.forms.SubmissionCursor` (newest ``submittedAt`` reported, the
overlap floor and the conversion ids already reported there), or the lifecycle window's end — is kept in the
**asset state store** of the watched asset (Airflow >= 3.3, AIP-103): the triggerer gives each watcher's
trigger accessors to it (``asset_state_store``), it lives in the metadata database, survives triggerer
restarts and DAG re-parses, is scoped to the asset (two DAGs watching different assets never share a
position) and is deleted with the asset. The key names the connection and the form (or stage), so watchers
of different forms on one asset keep their own position. A first start with nothing stored begins at
``since`` (default: the time the watcher first ran) and stores that position at once, so a restart before the
first submission skips nothing. The new position is stored right after the event was handed to the triggerer;
a restart therefore never re-reports a batch whose event was handed over, and submissions that arrived while
the triggerer was down are reported when it is back (the read reaches back to the stored position). Only a
crash in the instant between handing an event over and storing the position reports that batch again (at
least once): the payload's conversion ids identify it.

Without an asset state store (Airflow 3.0-3.2, or a trigger run outside a watcher) the position is kept in
memory and a restart begins at ``since`` again (or at the restart time without ``since``): the trigger says
so in its log.

**One poll for many watchers.** On Airflow >= 3.3 the form watchers of one connection (same API version and
poll interval) share one poll loop (``shared_stream_key``): one read of the recently-updated-contacts feed per
interval serves every watched form, from the oldest position among them; each watcher keeps its own position
and fires only for its form. Ten watched forms cost one poller's requests. ``include_values=True`` needs each
form's own submissions endpoint and polls on its own.

On Airflow 2.11 there is no event-driven scheduling: these triggers refuse to be created and say so; use
``HubSpotFormSubmissionSensor`` / ``HubSpotLifecycleStageSensor`` (``deferrable=True``) in a scheduled DAG.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Hashable
from typing import Any

from airflow_provider_hubspot._compat import AirflowException, BaseEventTrigger, BaseTrigger, TriggerEvent
from airflow_provider_hubspot.client import HubSpotClient, HubSpotError
from airflow_provider_hubspot.client.forms import DEFAULT_OVERLAP_MS, NewSubmissions, SubmissionCursor
from airflow_provider_hubspot.client.lifecycle import MAX_WINDOW_MS, stage_property
from airflow_provider_hubspot.triggers.base import HubSpotPollingTrigger, run_in_thread
from airflow_provider_hubspot.triggers.lifecycle import check_lifecycle_stage

log = logging.getLogger(__name__)

AIRFLOW_3_NEEDED = (
    "{name} starts DAGs from HubSpot events through an asset watcher (Asset(..., watchers=[AssetWatcher(...)])), "
    "which needs Airflow 3 (restart-safe positions need Airflow 3.3 or later). On Airflow 2 wait for HubSpot "
    "inside a scheduled DAG instead: HubSpotFormSubmissionSensor / HubSpotLifecycleStageSensor with "
    "deferrable=True."
)
#: Conversion ids a watcher's stored position carries at most (the asset state store keeps it as JSON).
MAX_SEEN_IDS = 500
#: Longest wait between two tries after HubSpot (or the connection) failed, seconds.
MAX_BACKOFF_SECONDS = 600.0
_now_ms = lambda: int(time.time() * 1000)  # noqa: E731 - module attribute: tests replace it
_EventBase: Any = BaseEventTrigger if BaseEventTrigger is not None else BaseTrigger


def _to_ms(value: Any, name: str) -> int | None:
    if value in (None, ""):
        return None
    from airflow_provider_hubspot.sensors.base import to_epoch_ms

    return to_epoch_ms(value, name)


class PositionStore:
    """A watcher's position in the asset state store of its watched assets (Airflow >= 3.3), else in memory.

    :param trigger: the event trigger (the triggerer sets its ``asset_state_store`` before running it).
    :param key: the state key, naming the connection and what is watched.
    """

    def __init__(self, trigger: Any, key: str) -> None:
        self.key = key
        self._accessors = _accessors(getattr(trigger, "asset_state_store", None))
        self._value: Any = None
        if not self._accessors:
            log.warning("No asset state store for %s (Airflow < 3.3, or not run by an asset watcher): its position "
                        "is kept in memory, so a restart begins at `since` again (or at the restart time).", key)

    @property
    def persistent(self) -> bool:
        return bool(self._accessors)

    async def load(self) -> Any:
        """The stored position (of the watched asset whose position is the furthest), or ``None``."""
        if not self._accessors:
            return self._value
        found = [v for v in [await a.aget(self.key, None) for a in self._accessors] if v is not None]
        return max(found, key=lambda v: v.get("watermark", 0) if isinstance(v, dict) else 0) if found else None

    async def save(self, value: Any) -> None:
        self._value = value
        for accessor in self._accessors:
            await accessor.aset(self.key, value)


def _accessors(store: Any) -> list[Any]:
    """The per-asset accessors of the triggerer's ``AssetStateStoreAccessors`` (one per watched asset)."""
    if store is None:
        return []
    found = [*getattr(store, "_by_name", {}).values(), *getattr(store, "_by_uri", {}).values()]
    if found:
        return found
    return [store] if hasattr(store, "aget") and hasattr(store, "aset") else []


class _HubSpotEventTrigger(HubSpotPollingTrigger, _EventBase):  # type: ignore[misc]
    """Shared part of the event triggers: Airflow 3 only, errors retried with a backoff (a watcher never ends)."""

    def __init__(self, *, hubspot_conn_id: str, api_version: str | None, poll_interval: float) -> None:
        if BaseEventTrigger is None:
            raise AirflowException(AIRFLOW_3_NEEDED.format(name=type(self).__name__))
        super().__init__(hubspot_conn_id=hubspot_conn_id, api_version=api_version, poke_interval=poll_interval)
        self.poll_interval = float(poll_interval)

    def state_key(self) -> str:
        raise NotImplementedError

    def serialize(self) -> tuple[str, dict[str, Any]]:
        kwargs = {"hubspot_conn_id": self.hubspot_conn_id, "api_version": self.api_version,
                  "poll_interval": self.poll_interval, **self.check_kwargs()}
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs

    async def _sleep_after_error(self, failures: int, exc: Exception) -> None:
        wait = min(self.poll_interval * 2 ** min(failures, 10), MAX_BACKOFF_SECONDS)
        log.warning("%s: %s: %s; trying again in %.0f s", self.state_key(), type(exc).__name__, exc, wait)
        await asyncio.sleep(wait)


# ---------------------------------------------------------------------------------------------- forms

#: Per-process registry of the positions of the form watchers sharing one poll: key -> {watcher: floor}.
_SHARED_FLOORS: dict[Hashable, dict[int, int]] = {}
#: How often the shared poll looks whether a watcher registered its position before its first read (seconds).
REGISTRATION_CHECK_SECONDS = 0.05


def _read_feed(client: HubSpotClient, *, since_ms: int) -> list[dict[str, Any]]:
    """Every submission (any form) after ``since_ms`` from the recently-updated-contacts feed."""
    return list(client.forms.iter_contact_submissions(since_ms=since_ms))


class HubSpotFormSubmissionEventTrigger(_HubSpotEventTrigger):
    """Fires once per batch of new submissions of a form (or of any form), for an asset watcher.

    :param form_id: a form GUID; ``None`` for any form (read from recently updated contacts, 30 days).
    :param since: where a watcher with no stored position begins: epoch ms or ISO-8601 (default: when it
        first runs). Later starts resume from the stored position.
    :param include_email: put the submitter's e-mail in the event (off: ids and timestamps only).
    :param include_values: put the submitted form values and page URL in the event (reads the form's own
        submissions endpoint, so the watcher polls on its own; needs ``form_id``).
    :param max_per_event: submissions listed in one event (the count covers all).
    :param overlap_ms: how far back each read reaches for submissions HubSpot makes visible late.
    :param share_poll: share one poll loop with the other form watchers of the connection (Airflow >= 3.3).
    :param poll_interval: seconds between polls.
    :param hubspot_conn_id: connection id (never a token in the kwargs).
    :param api_version: edition override.
    """

    def __init__(self, *, form_id: str | None = None, since: Any = None, include_email: bool = False,
                 include_values: bool = False, max_per_event: int = 100, overlap_ms: int = DEFAULT_OVERLAP_MS,
                 share_poll: bool = True, poll_interval: float = 60.0, hubspot_conn_id: str = "hubspot_default",
                 api_version: str | None = None) -> None:
        super().__init__(hubspot_conn_id=hubspot_conn_id, api_version=api_version, poll_interval=poll_interval)
        self.form_id = str(form_id).strip() if form_id not in (None, "") else None
        self.since = _to_ms(since, "since")
        self.include_email = bool(include_email)
        self.include_values = bool(include_values)
        if self.include_values and not self.form_id:
            raise AirflowException("include_values=True needs form_id=: the values come from one form's "
                                   "submissions (the any-form feed has none).")
        self.max_per_event = int(max_per_event)
        self.overlap_ms = int(overlap_ms)
        self.share_poll = bool(share_poll)

    def check_kwargs(self) -> dict[str, Any]:
        return {"form_id": self.form_id, "since": self.since, "include_email": self.include_email,
                "include_values": self.include_values, "max_per_event": self.max_per_event,
                "overlap_ms": self.overlap_ms, "share_poll": self.share_poll}

    def state_key(self) -> str:
        return f"airflow_provider_hubspot.form_submissions.{self.hubspot_conn_id}.{self.form_id or 'any'}"

    def describe(self, payload: Any) -> str:
        where = f"form {self.form_id}" if self.form_id else "any form"
        return f"{payload.get('count')} new submission(s) of {where}; newest at {payload.get('watermark')} (epoch ms)"

    # -- position

    async def _start(self, store: PositionStore) -> SubmissionCursor:
        cursor = SubmissionCursor.parse(await store.load())
        if cursor is not None:
            log.info("%s: resuming after %d (epoch ms), %d id(s) already reported", self.state_key(),
                     cursor.watermark, len(cursor.seen))
            return cursor
        cursor = SubmissionCursor.after(self.since if self.since is not None else _now_ms())
        await store.save(cursor.to_dict())  # a restart before the first submission skips nothing
        log.info("%s: starting after %d (epoch ms)", self.state_key(), cursor.watermark)
        return cursor

    def _advance(self, cursor: SubmissionCursor, stream: Any, *, read_at: int | None = None,
                 ) -> tuple[list[dict[str, Any]], SubmissionCursor]:
        """The new submissions in ``stream`` and the next position.

        :param read_at: when a read of the recently-updated feed began (epoch ms): the feed was then read
            completely, so the next read need not reach further back than ``overlap_ms`` before it even
            when this watcher's form had nothing new (else a quiet form would keep every poll reading the
            feed back to its last submission).
        """
        new = NewSubmissions(stream, cursor, overlap_ms=self.overlap_ms, max_seen=MAX_SEEN_IDS)
        batch = list(new)
        after = new.cursor
        if read_at is not None and read_at - self.overlap_ms > after.floor:
            floor = read_at - self.overlap_ms
            after = SubmissionCursor(max(after.watermark, floor - 1), floor,
                                     frozenset(after.seen) if after.watermark >= floor else frozenset())
        return batch, after

    def _event(self, batch: list[dict[str, Any]], before: SubmissionCursor, after: SubmissionCursor) -> TriggerEvent:
        """The event's payload: ids and timestamps (e-mail and values only when asked), newest first."""
        items = []
        for submission in batch[: self.max_per_event]:
            item = {"conversionId": submission.get("conversionId"), "submittedAt": submission.get("submittedAt"),
                    "formId": submission.get("formId")}
            if self.include_email:
                item["email"] = submission.get("email")
            if self.include_values:
                item["values"] = submission.get("values") or {}
                item["pageUrl"] = submission.get("pageUrl")
            items.append(item)
        payload = {"source": "hubspot", "kind": "form_submission", "form_id": self.form_id, "count": len(batch),
                   "submissions": items, "truncated": len(batch) > len(items), "since": before.watermark,
                   "watermark": after.watermark, "conn_id": self.hubspot_conn_id}
        log.info("%s: %s", self.state_key(), self.describe(payload))
        return TriggerEvent(payload)

    # -- its own poll loop

    def _read(self, client: HubSpotClient, cursor: SubmissionCursor) -> tuple[list[dict[str, Any]], SubmissionCursor]:
        since = cursor.floor - 1
        if self.form_id:  # the form's own submissions (full history, values); same conversion ids as the feed
            return self._advance(cursor, client.forms.iter_submissions(self.form_id, since_ms=since))
        read_at = _now_ms()
        return self._advance(cursor, client.forms.iter_contact_submissions(since_ms=since), read_at=read_at)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        store = PositionStore(self, self.state_key())
        cursor = await self._start(store)
        failures = 0
        while True:
            try:
                async with self.polling_client() as lease:
                    while True:
                        batch, after = await run_in_thread(lease, functools.partial(self._read, cursor=cursor),
                                                           name=f"hubspot-watch-{self.form_id or 'any'}")
                        failures = 0
                        if batch:
                            yield self._event(batch, cursor, after)
                        if after != cursor:
                            cursor = after
                            await store.save(cursor.to_dict())
                        await asyncio.sleep(self.poll_interval)
            except HubSpotError as exc:  # incl. a connection that cannot make a client: the user may fix it
                failures += 1
                await self._sleep_after_error(failures, exc)

    # -- one poll shared by the watchers of a connection (Airflow >= 3.3)

    def shared_stream_key(self) -> Hashable | None:
        if not self.share_poll or self.include_values:
            return None
        return ("airflow_provider_hubspot.form_submissions", self.hubspot_conn_id, self.api_version or "",
                self.poll_interval)

    @classmethod
    async def open_shared_stream(cls, kwargs: dict[str, Any]) -> AsyncIterator[Any]:
        """Poll the recently-updated-contacts feed once per interval for every watcher sharing the key, from the
        oldest position among them; yields ``{"floor", "read_at", "submissions"}`` (every form; ``read_at``: when
        the read began)."""
        poller = cls(**kwargs)
        key = poller.shared_stream_key()
        floors = _SHARED_FLOORS.setdefault(key, {})
        failures = 0
        while True:
            try:
                async with poller.polling_client() as lease:
                    while True:
                        while not floors:  # the watchers register their positions when they start
                            await asyncio.sleep(REGISTRATION_CHECK_SECONDS)
                        floor = min(floors.values())
                        read_at = _now_ms()
                        submissions = await run_in_thread(lease, functools.partial(_read_feed, since_ms=floor - 1),
                                                          name="hubspot-watch-shared")
                        failures = 0
                        yield {"floor": floor, "read_at": read_at, "submissions": submissions}
                        await asyncio.sleep(poller.poll_interval)
            except HubSpotError as exc:
                failures += 1
                await poller._sleep_after_error(failures, exc)

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        store = PositionStore(self, self.state_key())
        cursor = await self._start(store)
        key = self.shared_stream_key()
        floors = _SHARED_FLOORS.setdefault(key, {})
        me = id(self)
        floors[me] = cursor.floor
        try:
            async for raw in shared_stream:
                if raw["floor"] > cursor.floor:  # polled before this watcher joined: the next poll reaches back
                    continue
                mine = [s for s in raw["submissions"] if not self.form_id or s.get("formId") == self.form_id]
                batch, after = self._advance(cursor, mine, read_at=raw.get("read_at"))
                if batch:
                    yield self._event(batch, cursor, after)
                if after != cursor:
                    cursor = after
                    await store.save(cursor.to_dict())
                    floors[me] = cursor.floor
        finally:
            floors.pop(me, None)


# ---------------------------------------------------------------------------------------------- lifecycle


class HubSpotLifecycleStageEventTrigger(_HubSpotEventTrigger):
    """Fires when at least ``min_count`` contacts entered ``stage`` since the last event, for an asset watcher.

    Each poll counts the contacts that entered the stage between the stored position and ``settle_ms``
    before now (HubSpot's lifecycle-stage metrics: counts only, no personal values); an event carries the
    count and the window, and the next window starts where it ended.

    :param stage: lifecycle stage (``customer``) or its date property.
    :param min_count: contacts needed for an event (fewer: the window grows until they are there).
    :param since: where a watcher with no stored position begins (default: when it first runs).
    :param settle_ms: how long before now a window ends, so entries HubSpot counts late are not missed.
    :param aggregation_property: optional enumeration property to count by.
    :param aggregation_value: the value of ``aggregation_property`` to count.
    :param poll_interval: seconds between polls.
    :param hubspot_conn_id: connection id.
    :param api_version: edition override.
    """

    def __init__(self, *, stage: str, min_count: int = 1, since: Any = None, settle_ms: int = 60_000,
                 aggregation_property: str | None = None, aggregation_value: str | None = None,
                 poll_interval: float = 300.0, hubspot_conn_id: str = "hubspot_default",
                 api_version: str | None = None) -> None:
        super().__init__(hubspot_conn_id=hubspot_conn_id, api_version=api_version, poll_interval=poll_interval)
        self.stage = stage_property(stage)
        self.min_count = int(min_count)
        self.since = _to_ms(since, "since")
        self.settle_ms = int(settle_ms)
        self.aggregation_property = aggregation_property
        self.aggregation_value = aggregation_value

    def check_kwargs(self) -> dict[str, Any]:
        return {"stage": self.stage, "min_count": self.min_count, "since": self.since, "settle_ms": self.settle_ms,
                "aggregation_property": self.aggregation_property, "aggregation_value": self.aggregation_value}

    def state_key(self) -> str:
        scope = self.stage + (f".{self.aggregation_property}={self.aggregation_value}"
                              if self.aggregation_property else "")
        return f"airflow_provider_hubspot.lifecycle.{self.hubspot_conn_id}.{scope}"

    def _count(self, client: HubSpotClient, *, from_ms: int, to_ms: int) -> dict[str, Any]:
        return check_lifecycle_stage(client, stage=self.stage, from_ms=from_ms, to_ms=to_ms, min_count=self.min_count,
                                     aggregation_property=self.aggregation_property,
                                     aggregation_value=self.aggregation_value)[1]

    async def run(self) -> AsyncIterator[TriggerEvent]:
        store = PositionStore(self, self.state_key())
        stored = await store.load()
        if isinstance(stored, dict) and "watermark" in stored:
            watermark = int(stored["watermark"])
        else:
            watermark = self.since if self.since is not None else _now_ms() - self.settle_ms
            await store.save({"watermark": watermark})
        failures = 0
        while True:
            try:
                async with self.polling_client() as lease:
                    while True:
                        end = min(_now_ms() - self.settle_ms, watermark + MAX_WINDOW_MS)
                        if end > watermark:
                            start = watermark + 1
                            count = functools.partial(self._count, from_ms=start, to_ms=end)
                            counts = await run_in_thread(lease, count, name=f"hubspot-watch-{self.stage}")
                            failures = 0
                            if counts["count"] >= self.min_count:
                                payload = {"source": "hubspot", "kind": "lifecycle_stage", **counts,
                                           "conn_id": self.hubspot_conn_id}
                                log.info("%s: %d contact(s) entered %s between %d and %d (epoch ms)", self.state_key(),
                                         counts["count"], self.stage, start, end)
                                yield TriggerEvent(payload)
                                watermark = end
                                await store.save({"watermark": watermark})
                        await asyncio.sleep(self.poll_interval)
            except HubSpotError as exc:
                failures += 1
                await self._sleep_after_error(failures, exc)
