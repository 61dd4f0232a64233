"""Shared helpers of the benchmark clients: config/result files, CSV reading, CPU/RSS/wall metering.

Stdlib only: it is imported by clients running in the project's venv (ours, plain requests) and in
the separate SDK venv (``hubspot-api-client``), so it must not import anything else.
"""

from __future__ import annotations

import csv
import json
import os
import resource
import sys
import time
from collections.abc import Iterator
from itertools import islice
from typing import Any


def load_config() -> tuple[dict[str, Any], str]:
    """``client.py CONFIG_JSON RESULT_JSON``: return the config and where to write the result."""
    if len(sys.argv) != 3:
        raise SystemExit(f"usage: {sys.argv[0]} CONFIG_JSON RESULT_JSON")
    with open(sys.argv[1], encoding="utf-8") as handle:
        return json.load(handle), sys.argv[2]


def iter_csv(path: str) -> Iterator[dict[str, str]]:
    """Stream the rows of a CSV file (header row first) as dicts."""
    with open(path, encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def chunks(rows: Iterator[dict[str, str]] | list[dict[str, str]], size: int) -> Iterator[list[dict[str, str]]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def current_rss_kb() -> int:
    """Resident set size right now (Linux ``/proc/self/statm``), in KiB."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, ValueError, IndexError):
        return 0


def peak_rss_kb() -> int:
    """Peak RSS of this process so far, in KiB: ``VmHWM`` of ``/proc/self/status``.

    ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is *not* used as the peak: Linux carries the
    high-water mark of the pre-``exec`` image (a fork of the parent) into the child's ``ru_maxrss``, so a
    client started by the runner would report the runner's RSS (emulator state included) whenever that
    is larger than its own. ``VmHWM`` belongs to the client's own address space. ``ru_maxrss`` is still
    recorded (:func:`ru_maxrss_kb`) for comparison; it falls back to it where ``/proc`` is missing.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return ru_maxrss_kb()


def ru_maxrss_kb() -> int:
    """``ru_maxrss`` of this process (KiB on Linux), inherited high-water mark included."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class Meter:
    """Wall time, CPU time and RSS around the measured part of a client run.

    ``start()`` is called after imports and data loading that are not part of the measurement;
    the result still reports the process's total CPU and its peak RSS over its whole life.
    """

    def __init__(self) -> None:
        self.started = False

    def start(self) -> None:
        self.rss_before_kb = current_rss_kb()
        self.peak_before_kb = peak_rss_kb()
        self.wall_start = time.time()
        self.perf_start = time.perf_counter()
        self.cpu_start = time.process_time()
        self.started = True

    def stop(self) -> dict[str, Any]:
        wall = time.perf_counter() - self.perf_start
        cpu = time.process_time() - self.cpu_start
        return {
            "wall_s": wall,
            "work_cpu_s": cpu,
            "process_cpu_s": time.process_time(),
            "peak_rss_kb": peak_rss_kb(),
            "ru_maxrss_kb": ru_maxrss_kb(),
            "peak_rss_before_work_kb": self.peak_before_kb,
            "rss_before_work_kb": self.rss_before_kb,
            "rss_after_work_kb": current_rss_kb(),
            "work_started_at": self.wall_start,
            "work_ended_at": self.wall_start + wall,
        }


def write_result(path: str, result: dict[str, Any]) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1, default=str)
    os.replace(tmp, path)


def measured_upsert(client: Any, records: list[Any], **options: Any) -> dict[str, Any]:
    """``client.contacts.upsert(records, **options)`` metered: wall, CPU, RSS, what was written, the
    client's request counters and the outcome's counts (clients of our provider only)."""
    meter = Meter()
    meter.start()
    outcome = client.contacts.upsert(records, **options)
    measured = meter.stop()
    counts = dict(outcome.counts)
    stats = client.stats
    return {
        **measured,
        "records_in": len(records),
        "written": counts.get("created", 0) + counts.get("updated", 0) + counts.get("upserted", 0),
        "client_requests": stats["requests"],
        "client_retries": stats["retries"],
        "client_429s": stats["rate_limited"],
        "summary": {**counts, "rejected": len(outcome.rejections)},
    }
