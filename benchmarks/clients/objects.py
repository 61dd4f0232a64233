"""Benchmark client: CRM objects other than contacts, and associations (issue 14).

Modes (config ``mode``):

* ``companies``: ``HubSpotCreateOrUpdateObjectsOperator(object_type="companies", id_property="external_id",
  source_path=CSV)`` — the user-facing path: CSV streaming, property definitions read and every value
  checked, upserts by a unique property;
* ``associate``: ``client.associations.associate("contacts", "companies", pairs, kind="primary")`` on
  ``(contact id, company id)`` pairs in memory; the association type is resolved (one labels read)
  before the clock starts, so the measured time is the association batches' alone.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from _common import Meter, load_config, write_result


def run_companies(config: dict[str, Any]) -> dict[str, Any]:
    from airflow_provider_hubspot.operators.objects import HubSpotCreateOrUpdateObjectsOperator

    operator = HubSpotCreateOrUpdateObjectsOperator(
        task_id="bench_companies", object_type="companies", id_property="external_id",
        source_path=config["source_path"], max_concurrency=config["max_concurrency"], progress_every=50,
    )
    meter = Meter()
    meter.start()
    summary = operator.execute(context={"run_id": "bench", "ti": None})
    return {**meter.stop(), "records_in": summary.get("received"), "summary": summary}


def run_associate(config: dict[str, Any]) -> dict[str, Any]:
    from airflow_provider_hubspot.client import HubSpotClient, Record

    with open(config["pairs_path"], encoding="utf-8") as handle:
        pairs = [Record(i, tuple(pair)) for i, pair in enumerate(json.load(handle))]
    client = HubSpotClient(config["token"], base_url=config["url"], rate_limit=config["client_rate_limit"])
    client.associations.resolve_type("contacts", "companies", "primary")  # the labels read, before the clock
    meter = Meter()
    meter.start()
    started = time.perf_counter()
    outcome = client.associations.associate("contacts", "companies", pairs, kind="primary",
                                            max_concurrency=config["max_concurrency"])
    seconds = time.perf_counter() - started
    return {**meter.stop(), "records_in": len(pairs), "associate_s": seconds,
            "summary": {**dict(outcome.counts), "rejected": outcome.rejected, **client.stats}}


def main() -> int:
    config, result_path = load_config()
    result = run_companies(config) if config["mode"] == "companies" else run_associate(config)
    write_result(result_path, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
