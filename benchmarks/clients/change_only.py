"""Benchmark client for change-only syncs (``state_path``), run in its own process by
``benchmarks/change_only.py``.

Modes (config ``mode``):

* ``sync``: ``HubSpotCreateOrUpdateContactsOperator(source_path=CSV, state_path=..., full_refresh=...)``
  against the emulator; wall, CPU and peak RSS of the run, the operator's summary.
* ``mirror``: ``HubSpotSyncListMembersOperator(source_path=CSV of record ids)`` against a list.
* ``fingerprint``: the CPU of reading and mapping the CSV alone, then of reading, mapping,
  fingerprinting and diffing it against the state (a dry run of the change filter, nothing sent):
  their difference is the cost of change detection.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from _common import Meter, load_config, write_result


def run_sync(config: dict[str, Any]) -> dict[str, Any]:
    from airflow_provider_hubspot.operators.contacts import HubSpotCreateOrUpdateContactsOperator

    operator = HubSpotCreateOrUpdateContactsOperator(
        task_id="bench_change_only",
        source_path=config["source_path"],
        state_path=config["state_path"],
        full_refresh=bool(config.get("full_refresh")),
        max_concurrency=config["max_concurrency"],
        progress_every=1000,
    )
    meter = Meter()
    meter.start()
    summary = operator.execute(context={"run_id": "bench", "ti": None})
    return {**meter.stop(), "summary": summary}


def run_fingerprint(config: dict[str, Any]) -> dict[str, Any]:
    from airflow_provider_hubspot.sources import PropertyMapper, iter_file, iter_records
    from airflow_provider_hubspot.sync_state import ChangeFilter, SyncState

    def records() -> Any:
        return iter_records(iter_file(config["source_path"]), PropertyMapper())

    started, cpu = time.perf_counter(), time.process_time()
    rows = sum(1 for _ in records())
    read_cpu, read_wall = time.process_time() - cpu, time.perf_counter() - started
    meter = Meter()
    meter.start()
    state = SyncState(config["state_path"], scope={"object_type": "contacts", "id_property": "email"}).open()
    try:
        changes = ChangeFilter(state, lambda r: r.data["email"].lower(), dry_run=True)
        changed = sum(1 for _ in changes(records()))
    finally:
        state.close()
    measured = meter.stop()
    return {**measured, "rows": rows, "changed": changed, "unchanged": changes.unchanged,
            "read_cpu_s": read_cpu, "read_wall_s": read_wall}


def run_mirror(config: dict[str, Any]) -> dict[str, Any]:
    from airflow_provider_hubspot.operators.removals import HubSpotSyncListMembersOperator

    operator = HubSpotSyncListMembersOperator(task_id="bench_mirror", list_id=config["list_id"],
                                              source_path=config["source_path"], max_removed=0.05,
                                              state_path=config.get("state_path"))
    meter = Meter()
    meter.start()
    summary = operator.execute(context={"run_id": "bench", "ti": None})
    return {**meter.stop(), "summary": summary}


MODES = {"sync": run_sync, "fingerprint": run_fingerprint, "mirror": run_mirror}


def main() -> int:
    config, result_path = load_config()
    result = MODES[config["mode"]](config)
    write_result(result_path, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
