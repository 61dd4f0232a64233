from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_hubspot.client import HubSpotClient


class FakeClock:
    """A monotonic clock that only moves when someone sleeps: pacing and backoff without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(hubspot_emulator: Any, clock: FakeClock):
    """Build a client against the emulator whose waits use the fake clock."""
    clients: list[HubSpotClient] = []

    def build(token: str | None = None, **options: Any) -> HubSpotClient:
        options.setdefault("base_url", hubspot_emulator.url)
        options.setdefault("sleep", clock.sleep)
        options.setdefault("clock", clock)
        client = HubSpotClient(hubspot_emulator.token if token is None else token, **options)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()
