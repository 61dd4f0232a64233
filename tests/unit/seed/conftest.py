"""Fixtures of the seed-coverage tests: the emulator (rate window off) and a client factory whose waits use a
fake clock (the same pattern as ``tests/unit/client/conftest.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_hubspot.client import HubSpotClient


class FakeClock:
    """A monotonic clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)


@pytest.fixture
def emu(hubspot_emulator: Any) -> Any:
    """The session emulator, reset, with its ten-second window off (tests here page a lot)."""
    hubspot_emulator.rate_limit = 0
    return hubspot_emulator


@pytest.fixture
def make_client(emu: Any):
    """Build a client against the emulator: ``make_client(api_version="v1", developer=True)``."""
    clients: list[HubSpotClient] = []
    clock = FakeClock()

    def build(token: str | None = None, *, developer: bool = False, **options: Any) -> HubSpotClient:
        options.setdefault("base_url", emu.url)
        options.setdefault("sleep", clock.sleep)
        options.setdefault("clock", clock)
        options.setdefault("max_retries", 1)
        if developer:
            options.setdefault("developer_api_key", emu.developer_api_key)
        client = HubSpotClient(emu.token if token is None else token, **options)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()
