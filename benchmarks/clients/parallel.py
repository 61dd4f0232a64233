"""Benchmark client: one of N processes syncing its own slice of contacts into one portal at once.

Each process builds a :class:`HubSpotClient` whose ``rate_limit`` is the portal's whole budget (the
issue-17 meaning: never a per-task share), optionally with the shared Redis backend
(``backend_url``), reads its slice of the CSV (rows ``i`` with ``i % processes == index``: the
partition recipe's key hash would do the same), waits for the common start time, then upserts with
``max_concurrency`` threads. The runner starts the processes and reads the emulator's counters.
"""

from __future__ import annotations

import sys
import time
from itertools import islice
from typing import Any

from _common import iter_csv, load_config, measured_upsert, write_result


def run(config: dict[str, Any]) -> dict[str, Any]:
    from airflow_provider_hubspot.client import HubSpotClient, Record
    from airflow_provider_hubspot.client.ratelimit import RedisWindowBackend

    index, processes = config["index"], config["processes"]
    rows = islice(iter_csv(config["source_path"]), index, None, processes)
    records = [Record(i, row) for i, row in enumerate(rows)]
    backend = RedisWindowBackend.from_url(config["backend_url"]) if config.get("backend_url") else None
    client = HubSpotClient(config["token"], base_url=config["url"], rate_limit=config["client_rate_limit"],
                           rate_limit_backend=backend)
    delay = config["start_at"] - time.time()
    if delay > 0:
        time.sleep(delay)
    result = measured_upsert(client, records, max_concurrency=config["max_concurrency"])
    return {**result, "backend_failures": client.transport.limiter.backend_failures}


def main() -> int:
    config, result_path = load_config()
    write_result(result_path, run(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
