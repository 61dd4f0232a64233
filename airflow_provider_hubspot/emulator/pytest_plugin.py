"""pytest fixtures for testing DAGs and clients against the emulator (no Airflow import here).

* ``hubspot_emulator`` — a running :class:`HubSpotEmulator`, reset before each test (one server
  per test session, for speed). Seed and inspect data with ``hubspot_emulator.add_object("companies",
  {...})``, ``.objects("companies")``, ``.associate(...)``, ``.associations("contacts", "companies")``
  (and everything on ``hubspot_emulator.state``: ``add_contact``, ``define_property(..., object_type=,
  unique=)``, ``define_custom_object``...).
* ``hubspot_connection`` — the same emulator, with ``AIRFLOW_CONN_HUBSPOT_DEFAULT`` set to it (JSON
  form) for the duration of the test.

The emulator is strict by default: it serves each API family only in the versions HubSpot publishes and
checks request bodies against HubSpot's published schemas, so what passes here is what HubSpot accepts.
``pytest --hubspot-emulator-lenient`` (or ``hubspot_emulator.strict = False`` in one test) serves any
``YYYY-MM`` and skips the body checks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from .server import HubSpotEmulator


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--hubspot-emulator-lenient", action="store_true", default=False,
                     help="HubSpot emulator fixtures: serve any YYYY-MM and skip request-body schema checks")


@pytest.fixture(scope="session")
def hubspot_emulator_session(pytestconfig: pytest.Config) -> Iterator[HubSpotEmulator]:
    """One emulator for the whole session (use ``hubspot_emulator`` in tests)."""
    emu = HubSpotEmulator(strict=not pytestconfig.getoption("hubspot_emulator_lenient", False)).start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def hubspot_emulator(hubspot_emulator_session: HubSpotEmulator) -> Iterator[HubSpotEmulator]:
    """A running emulator with fresh data, knobs and counters."""
    if not hubspot_emulator_session.running:  # a test stopped it
        hubspot_emulator_session.start()
    hubspot_emulator_session.reset()
    yield hubspot_emulator_session


@pytest.fixture
def hubspot_connection(hubspot_emulator: HubSpotEmulator, monkeypatch: pytest.MonkeyPatch) -> HubSpotEmulator:
    """Point the ``hubspot_default`` Airflow connection at the emulator; returns the emulator."""
    conn = {
        "conn_type": "hubspot",
        "host": hubspot_emulator.url,
        "password": hubspot_emulator.token,
        "extra": {"rate_limit": hubspot_emulator.rate_limit},
    }
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_DEFAULT", json.dumps(conn))
    return hubspot_emulator
