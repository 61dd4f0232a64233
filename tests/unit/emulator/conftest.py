"""Shared fixtures of the emulator tests: one server per module, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from airflow_provider_hubspot.emulator import HubSpotEmulator


@pytest.fixture(scope="module")
def server() -> Iterator[HubSpotEmulator]:
    """An emulator without rate limits (modules testing limits override this fixture)."""
    with HubSpotEmulator(rate_limit=0, search_rate_per_second=1000) as emu:
        yield emu


@pytest.fixture
def emu(server: HubSpotEmulator) -> HubSpotEmulator:
    server.reset()
    return server


@pytest.fixture
def http(emu: HubSpotEmulator) -> Iterator[requests.Session]:
    """A session authenticated with the emulator's all-scopes token."""
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {emu.token}"
        yield session
