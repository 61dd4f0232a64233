"""Shared trigger loop: resolve the connection asynchronously, then poll the same client code the
sensor's ``poke`` runs, in a worker thread so the triggerer's event loop never blocks.

Cancellation (triggerer restart, deferral timeout, a cleared task) reaches the coroutine, not the
worker thread. So each run owns a :class:`threading.Event` the worker consults: between requests (a
``requests`` response hook) and in every wait of the client (retry backoff, ``Retry-After``, pacing),
so a cancelled check stops after the request in flight at most (bounded by the client's timeout). The
client is closed only once no check is running any more, by whichever side finishes last.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from airflow_provider_hubspot._compat import BaseTrigger, TriggerEvent, aget_connection, mask_secret_locally
from airflow_provider_hubspot.client import HubSpotClient, HubSpotError
from airflow_provider_hubspot.client.errors import HubSpotConfigError

log = logging.getLogger(__name__)

#: Polls logged one by one at the start; afterwards every ``LOG_EVERY_POLLS``-th poll, or one after
#: ``LOG_EVERY_SECONDS`` without a poll line, whichever comes first.
LOG_FIRST_POLLS = 10
LOG_EVERY_POLLS = 10
LOG_EVERY_SECONDS = 60.0
_monotonic = time.monotonic  # module attribute: tests replace it


class TriggerCancelledError(Exception):
    """Raised inside the worker thread of a cancelled trigger run to stop its check (never a HubSpotError,
    so the client neither retries it nor maps it)."""


class _ClientLease:
    """Closes the client when the run is over AND no check thread uses it any more."""

    def __init__(self, client: HubSpotClient, cancelled: threading.Event) -> None:
        self.client = client
        self.cancelled = cancelled
        self._lock = threading.Lock()
        self._busy = 0
        self._closing = False

    def acquire(self) -> None:
        with self._lock:
            self._busy += 1

    def release(self) -> None:
        with self._lock:
            self._busy -= 1
            close = self._closing and self._busy == 0
        if close:
            self.client.close()

    def close_when_idle(self) -> None:
        self.cancelled.set()
        with self._lock:
            self._closing = True
            close = self._busy == 0
        if close:
            self.client.close()


class HubSpotPollingTrigger(BaseTrigger):
    """Polls a HubSpot condition every ``poke_interval`` seconds until it holds.

    Subclasses implement :meth:`check` (blocking; it runs in a thread), :meth:`check_kwargs` and
    :meth:`describe`. Events: ``{"status": "success", "payload": ...}`` or
    ``{"status": "error", "message": ...}``.

    :param hubspot_conn_id: connection id (the trigger never carries a token).
    :param api_version: edition override.
    :param poke_interval: seconds between checks.
    """

    def __init__(self, hubspot_conn_id: str, api_version: str | None = None, poke_interval: float = 60.0) -> None:
        super().__init__()
        self.hubspot_conn_id = hubspot_conn_id
        self.api_version = api_version
        self.poke_interval = float(poke_interval)

    def check_kwargs(self) -> dict[str, Any]:
        raise NotImplementedError

    def check(self, client: HubSpotClient) -> tuple[bool, Any]:
        raise NotImplementedError

    def describe(self, payload: Any) -> str:
        """One line about a check's outcome for the logs: counts and the condition, never personal data."""
        count = payload.get("count") if isinstance(payload, dict) else None
        return f"count {count}" if count is not None else "condition not met"

    def serialize(self) -> tuple[str, dict[str, Any]]:
        kwargs = {"hubspot_conn_id": self.hubspot_conn_id, "api_version": self.api_version,
                  "poke_interval": self.poke_interval, **self.check_kwargs()}
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs

    @contextlib.asynccontextmanager
    async def polling_client(self) -> AsyncIterator[_ClientLease]:
        """The client of one trigger run, built from the connection resolved without blocking the event loop.

        Its waits (retry backoff, ``Retry-After``, pacing) and its requests stop when the run ends; the
        client is closed once no check thread uses it any more. Raises :class:`HubSpotConfigError` for a
        connection that cannot make a client.
        """
        from airflow_provider_hubspot.hooks.hubspot import HubSpotHook

        cancelled = threading.Event()

        def sleep(seconds: float) -> None:  # the client's retry and pacing waits end at cancellation
            if cancelled.wait(max(seconds, 0.0)):
                raise TriggerCancelledError("the trigger was cancelled while the check waited")

        conn = await aget_connection(self.hubspot_conn_id)
        client = HubSpotHook.client_from_connection(conn, self.api_version, mask=mask_secret_locally, sleep=sleep)
        lease = _ClientLease(client, cancelled)

        def stop_if_cancelled(response: Any, *args: Any, **kwargs: Any) -> None:  # between requests
            if cancelled.is_set():
                response.close()
                raise TriggerCancelledError("the trigger was cancelled; no further request is sent")

        client.transport.session.hooks["response"].append(stop_if_cancelled)
        try:
            yield lease
        finally:
            lease.close_when_idle()  # a check still running closes the client when it ends

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            session = self.polling_client()
            lease = await session.__aenter__()
        except HubSpotConfigError as exc:
            yield TriggerEvent({"status": "error", "message": str(exc)})
            return
        polls = 0
        last_logged = _monotonic()
        try:
            while True:
                try:
                    done, payload = await self._check_in_thread(lease)
                except HubSpotError as exc:
                    yield TriggerEvent({"status": "error", "message": str(exc),
                                        "error_type": type(exc).__name__})
                    return
                polls += 1
                if done:
                    log.info("Poll %d: condition met: %s", polls, self.describe(payload))
                    yield TriggerEvent({"status": "success", "payload": payload})
                    return
                now = _monotonic()
                if polls <= LOG_FIRST_POLLS or polls % LOG_EVERY_POLLS == 0 or now - last_logged >= LOG_EVERY_SECONDS:
                    log.info("Poll %d: condition not met yet: %s; checking again in %.0f s", polls,
                             self.describe(payload), self.poke_interval)
                    last_logged = now
                await asyncio.sleep(self.poke_interval)
        finally:
            await session.__aexit__(None, None, None)

    async def _check_in_thread(self, lease: _ClientLease) -> tuple[bool, Any]:
        """Run :meth:`check` in its own thread (see :func:`run_in_thread`)."""
        return await run_in_thread(lease, self.check, name=f"hubspot-trigger-{type(self).__name__}")


T = TypeVar("T")


async def run_in_thread(lease: _ClientLease, work: Callable[[HubSpotClient], T], *, name: str) -> T:
    """Run ``work(client)`` in its own thread; the thread outlives a cancellation only until the request in
    flight returns (the lease's cancellation stops its next request and its waits)."""
    loop = asyncio.get_running_loop()
    result: asyncio.Future[T] = loop.create_future()

    def deliver(outcome: Any, error: BaseException | None) -> None:
        if result.done():  # the run was cancelled meanwhile
            return
        if error is not None:
            result.set_exception(error)
        else:
            result.set_result(outcome)

    def target() -> None:
        outcome: Any = None
        error: BaseException | None = None
        try:
            outcome = work(lease.client)
        except BaseException as exc:  # handed to the event loop (or dropped when cancelled)
            error = exc
        finally:
            lease.release()
        if lease.cancelled.is_set():
            return
        with contextlib.suppress(RuntimeError):  # a closed event loop: nobody waits for this result
            loop.call_soon_threadsafe(deliver, outcome, error)

    lease.acquire()
    thread = threading.Thread(target=target, name=name, daemon=True)
    try:
        thread.start()
    except BaseException:
        lease.release()
        raise
    return await result
