"""Fixtures shared by the reliability suites."""

from __future__ import annotations

import pytest

from ..unit.operators.conftest import point_connection


@pytest.fixture
def emu(hubspot_connection, monkeypatch):
    """The emulator behind ``hubspot_default``, unpaced (a generous rate limit) and with quick retries."""
    hubspot_connection.rate_limit = 100_000
    point_connection(hubspot_connection, monkeypatch, backoff_base=0.01, backoff_max=0.02)
    return hubspot_connection
