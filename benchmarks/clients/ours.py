"""Benchmark client: airflow-provider-hubspot, as the operator or as the bare client.

Modes (config ``mode``):

* ``operator``: ``HubSpotCreateOrUpdateContactsOperator(source_path=CSV, ...).execute(...)`` with the
  connection from ``AIRFLOW_CONN_HUBSPOT_DEFAULT`` (set by the runner) and ``AIRFLOW_HOME`` in a temp
  dir: the user-facing path, CSV streaming and property mapping included.
* ``client``: ``HubSpotClient(...).contacts.upsert(records)`` on records already in memory: the
  client's own CPU per record, without reading a file.
"""

from __future__ import annotations

import sys
from typing import Any

from _common import Meter, iter_csv, load_config, measured_upsert, write_result


def run_operator(config: dict[str, Any]) -> dict[str, Any]:
    from airflow_provider_hubspot.operators.contacts import HubSpotCreateOrUpdateContactsOperator

    operator = HubSpotCreateOrUpdateContactsOperator(
        task_id="bench_upsert",
        source_path=config["source_path"],
        api_version=config.get("api_version"),
        batch_size=config.get("batch_size"),
        max_concurrency=config["max_concurrency"],
        dry_run=bool(config.get("dry_run")),
        progress_every=config.get("progress_every", 50),
    )
    meter = Meter()
    meter.start()
    summary = operator.execute(context={"run_id": "bench", "ti": None})
    measured = meter.stop()
    return {
        **measured,
        "records_in": summary.get("received"),
        "written": summary.get("created", 0) + summary.get("updated", 0) + summary.get("upserted", 0),
        "client_requests": summary.get("requests"),
        "client_retries": summary.get("retries"),
        "client_429s": summary.get("rate_limited"),
        "summary": summary,
    }


def run_client(config: dict[str, Any]) -> dict[str, Any]:
    from airflow_provider_hubspot.client import HubSpotClient, Record

    records = [Record(index, row) for index, row in enumerate(iter_csv(config["source_path"]))]
    client = HubSpotClient(
        config["token"],
        base_url=config["url"],
        api_version=config.get("api_version"),
        rate_limit=config["client_rate_limit"],
    )
    return measured_upsert(client, records, batch_size=config.get("batch_size"),
                           max_concurrency=config["max_concurrency"])


def main() -> int:
    config, result_path = load_config()
    result = run_operator(config) if config["mode"] == "operator" else run_client(config)
    write_result(result_path, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
