"""Benchmark client: HubSpot's official SDK (``hubspot-api-client``) in the loop its README shows.

Runs in the separate SDK venv (``benchmarks/.venv-sdk``), never in the project's venv. The loop is
written the way the SDK's README writes calls: ``api_client.crm.contacts.batch_api.upsert(...)``
inside ``try`` / ``except ApiException as e: print(...)``, batches of 100
``SimplePublicObjectBatchInputUpsert(id_property="email", ...)`` in a
``BatchInputSimplePublicObjectBatchInputUpsert``; with ``retry=True`` the client is built with the
README's "rate limit retry middleware" ``Retry(total=5, status_forcelist=(429,))``.
"""

from __future__ import annotations

import sys
from typing import Any

from _common import Meter, chunks, iter_csv, load_config, write_result


def main() -> int:
    config, result_path = load_config()
    from hubspot import HubSpot
    from hubspot.crm.contacts import (
        ApiException,
        BatchInputSimplePublicObjectBatchInputUpsert,
        SimplePublicObjectBatchInputUpsert,
    )
    from urllib3.util.retry import Retry

    options: dict[str, Any] = {"access_token": config["token"], "host": config["url"]}
    if config.get("retry"):
        options["retry"] = Retry(total=5, status_forcelist=(429,))
    api_client = HubSpot(**options)

    preload = bool(config.get("preload"))
    rows: Any = list(iter_csv(config["source_path"])) if preload else iter_csv(config["source_path"])
    counts = {"calls": 0, "failed_calls": 0, "created": 0, "updated": 0, "records_in": 0, "lost_in_failed_calls": 0}
    errors: dict[str, int] = {}
    meter = Meter()
    meter.start()
    for batch in chunks(rows, 100):
        counts["records_in"] += len(batch)
        inputs = [SimplePublicObjectBatchInputUpsert(id_property="email", id=row["email"], properties=row)
                  for row in batch]
        batch_input = BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs)
        counts["calls"] += 1
        try:
            api_response = api_client.crm.contacts.batch_api.upsert(
                batch_input_simple_public_object_batch_input_upsert=batch_input
            )
        except ApiException as e:
            print("Exception when calling batch_api->upsert: %s\n" % e)  # noqa: UP031 - as in the README
            counts["failed_calls"] += 1
            counts["lost_in_failed_calls"] += len(batch)
            errors[str(e.status)] = errors.get(str(e.status), 0) + 1
            continue
        for result in api_response.results:
            counts["created" if result.new else "updated"] += 1
    measured = meter.stop()
    write_result(result_path, {
        **measured,
        "records_in": counts["records_in"],
        "written": counts["created"] + counts["updated"],
        "client_requests": None,  # the SDK does not count; the runner takes the emulator's count
        "client_retries": None,
        "client_429s": errors.get("429", 0),
        "summary": {**counts, "errors_by_status": errors},
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
