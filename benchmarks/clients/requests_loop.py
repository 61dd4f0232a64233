"""Benchmark client: the "write it yourself" baseline with plain ``requests``.

One ``requests.Session``, batch upsert of 100 contacts by email to
``/crm/v3/objects/contacts/batch/upsert``, and on a 429 sleep 10 s and send the same batch again.
Any other error stops the loop (``raise_for_status``).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import requests
from _common import Meter, chunks, iter_csv, load_config, write_result


def main() -> int:
    config, result_path = load_config()
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {config['token']}"})
    url = config["url"].rstrip("/") + "/crm/v3/objects/contacts/batch/upsert"

    preload = bool(config.get("preload"))
    rows: Any = list(iter_csv(config["source_path"])) if preload else iter_csv(config["source_path"])
    counts = {"calls": 0, "retries": 0, "rate_limited": 0, "created": 0, "updated": 0, "records_in": 0}
    meter = Meter()
    meter.start()
    for batch in chunks(rows, 100):
        counts["records_in"] += len(batch)
        payload = {"inputs": [{"id": row["email"], "idProperty": "email", "properties": row} for row in batch]}
        while True:
            counts["calls"] += 1
            response = session.post(url, json=payload, timeout=60)
            if response.status_code == 429:
                counts["rate_limited"] += 1
                counts["retries"] += 1
                time.sleep(10)
                continue
            response.raise_for_status()
            break
        for result in response.json()["results"]:
            counts["created" if result.get("new") else "updated"] += 1
    measured = meter.stop()
    write_result(result_path, {
        **measured,
        "records_in": counts["records_in"],
        "written": counts["created"] + counts["updated"],
        "client_requests": counts["calls"],
        "client_retries": counts["retries"],
        "client_429s": counts["rate_limited"],
        "summary": counts,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
