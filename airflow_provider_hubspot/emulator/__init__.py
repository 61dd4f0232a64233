"""A local, stdlib-only emulator of the HubSpot API parts this provider uses.

Start it from Python (``with HubSpotEmulator() as emu: ...``), from the command line
(``python -m airflow_provider_hubspot.emulator``) or through the pytest fixtures in
:mod:`airflow_provider_hubspot.emulator.pytest_plugin`.
"""

from __future__ import annotations

from .server import FAULT_KINDS, HubSpotEmulator, RecordedRequest
from .state import EmulatorState, ListIds

__all__ = ["FAULT_KINDS", "EmulatorState", "HubSpotEmulator", "ListIds", "RecordedRequest"]
