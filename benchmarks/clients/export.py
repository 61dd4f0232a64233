"""Benchmark client for exports, run in its own process by ``benchmarks/export.py``.

Runs ``HubSpotExportObjectsOperator`` once with the config's parameters against the emulator named by
``AIRFLOW_CONN_HUBSPOT_DEFAULT`` and reports wall time, CPU, peak RSS and the operator's summary.
"""

from __future__ import annotations

import sys
from typing import Any

from _common import Meter, load_config, write_result


def main() -> int:
    config, result_path = load_config()
    from airflow_provider_hubspot.operators.export import HubSpotExportObjectsOperator

    operator = HubSpotExportObjectsOperator(task_id="bench_export", progress_every=1000, **config["kwargs"])
    meter = Meter()
    meter.start()
    summary: dict[str, Any] = operator.execute(context={"run_id": "bench", "ti": None})
    write_result(result_path, {**meter.stop(), "summary": summary})
    return 0


if __name__ == "__main__":
    sys.exit(main())
