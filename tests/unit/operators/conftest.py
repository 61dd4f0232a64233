from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


class FakeTI:
    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


@pytest.fixture
def context(tmp_path: Path) -> dict[str, Any]:
    """A minimal task context for calling execute() directly."""
    return {"run_id": "manual__test", "ti": FakeTI(), "data_interval_start": None, "data_interval_end": None}


def point_connection(emulator, monkeypatch, conn_id: str = "hubspot_default", **extra: Any) -> None:
    """(Re)point an Airflow connection at the emulator with the given extras."""
    conn = {"conn_type": "hubspot", "host": emulator.url, "password": emulator.token,
            "extra": {"rate_limit": emulator.rate_limit, **extra}}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


@pytest.fixture
def fast_emulator(hubspot_connection, monkeypatch):
    """The emulator and ``hubspot_default`` with a generous rate limit, so tests are not paced for seconds."""
    hubspot_connection.rate_limit = 100_000
    point_connection(hubspot_connection, monkeypatch)
    return hubspot_connection


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
