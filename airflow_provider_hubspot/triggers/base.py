"""Shared trigger loop: resolve the connection asynchronously, then poll the same client code the
sensor's ``poke`` runs, in a worker thread so the triggerer's event loop never blocks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow_provider_hubspot._compat import BaseTrigger, TriggerEvent, aget_connection, mask_secret_locally
from airflow_provider_hubspot.client import HubSpotClient, HubSpotError
from airflow_provider_hubspot.client.errors import HubSpotConfigError


class HubSpotPollingTrigger(BaseTrigger):
    """Polls a HubSpot condition every ``poke_interval`` seconds until it holds.

    Subclasses implement :meth:`check` (blocking; it runs in a thread) and :meth:`check_kwargs`.
    Events: ``{"status": "success", "payload": ...}`` or ``{"status": "error", "message": ...}``.

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

    def serialize(self) -> tuple[str, dict[str, Any]]:
        kwargs = {"hubspot_conn_id": self.hubspot_conn_id, "api_version": self.api_version,
                  "poke_interval": self.poke_interval, **self.check_kwargs()}
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_provider_hubspot.hooks.hubspot import HubSpotHook

        try:
            conn = await aget_connection(self.hubspot_conn_id)
            client = HubSpotHook.client_from_connection(conn, self.api_version, mask=mask_secret_locally)
        except HubSpotConfigError as exc:
            yield TriggerEvent({"status": "error", "message": str(exc)})
            return
        try:
            while True:
                try:
                    done, payload = await asyncio.to_thread(self.check, client)
                except HubSpotError as exc:
                    yield TriggerEvent({"status": "error", "message": str(exc),
                                        "error_type": type(exc).__name__})
                    return
                if done:
                    yield TriggerEvent({"status": "success", "payload": payload})
                    return
                self.log.info("Condition not met yet: %s; checking again in %.0f s", _short(payload),
                              self.poke_interval)
                await asyncio.sleep(self.poke_interval)
        finally:
            client.close()


def _short(payload: Any) -> str:
    text = str(payload)
    return text if len(text) < 300 else text[:300] + "..."
