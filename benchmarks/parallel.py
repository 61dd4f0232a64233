"""Benchmark: several processes, one portal (issue 17). Part of ``make bench``.

One emulator at 190 requests / 10 s with 150 ms +- 20 ms per call; N client processes
(``clients/parallel.py``), each syncing its slice of 40,000 contacts with ``rate_limit=190`` (the
portal's budget) and ``max_concurrency=8``, all starting at the same moment: 1 process alone, 4 with the
shared Redis backend (a ``redis-server`` this script starts on a free loopback port; Debian's package,
installed when absent and this runs as root), 4 without. Reports the aggregate sustained rate
(as in ``run.py``: R / mean(t[k+R] - t[k]) over the accepted writes' arrival times) as a share of the
bound (1,900 contacts/s) and the emulator's 429 count. Writes ``results-parallel.json``.

Usage: ``python benchmarks/parallel.py [--quick]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
import harness  # noqa: E402
from run import make_csv  # noqa: E402

from airflow_provider_hubspot.emulator import HubSpotEmulator  # noqa: E402

RATE, WINDOW_S, BATCH = 190, 10.0, 100


def ensure_redis_server() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("redis-server is missing: sudo apt-get install -y redis-server")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "redis-server"], check=True,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return shutil.which("redis-server") or "redis-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_case(processes: int, rows: int, backend: bool, work: Path) -> dict[str, Any]:
    csv = make_csv(work / f"contacts-{rows}.csv", rows)
    redis_proc = None
    url = None
    emu = HubSpotEmulator(rate_limit=RATE, interval_ms=int(WINDOW_S * 1000), latency_ms=150, latency_jitter_ms=20,
                          seed=7)
    try:
        if backend:
            port = free_port()
            redis_proc = subprocess.Popen([ensure_redis_server(), "--port", str(port), "--bind", "127.0.0.1",
                                           "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
            url = f"redis://127.0.0.1:{port}/0"
            time.sleep(0.5)
        emu.start()
        start_at = time.time() + 5  # after every process imported and read its slice
        procs = []
        for index in range(processes):
            cfg = {"index": index, "processes": processes, "source_path": str(csv), "token": emu.token,
                   "url": emu.url, "client_rate_limit": RATE, "backend_url": url, "start_at": start_at,
                   "max_concurrency": 8}
            path = work / f"cfg-{processes}-{backend}-{index}.json"
            path.write_text(json.dumps(cfg), encoding="utf-8")
            procs.append(subprocess.Popen([sys.executable, str(HERE / "clients" / "parallel.py"), str(path),
                                           str(path.with_suffix(".result.json"))], cwd=HERE / "clients",
                                          env=harness.client_env(work), stderr=subprocess.DEVNULL))
        for proc in procs:
            if proc.wait(timeout=1800) != 0:
                raise RuntimeError(f"a client exited with {proc.returncode}")
        results = [json.loads((work / f"cfg-{processes}-{backend}-{i}.result.json").read_text())
                   for i in range(processes)]
        accepted = sorted(r.timestamp for r in emu.requests if r.method == "POST" and 200 <= r.status < 300)
        sustained = harness.sustained_rate(accepted, RATE, BATCH)
        bound = RATE * BATCH / WINDOW_S
        stats = dict(emu.stats)
        return {
            "id": f"{processes}-process{'es' if processes > 1 else ''}-{'backend' if backend else 'no-backend'}",
            "processes": processes, "backend": backend, "contacts": rows, "written": emu.state.count_contacts(),
            "requests": stats["requests"], "http_429": stats["429"],
            "per_1000_requests_429": round(1000 * stats["429"] / stats["requests"], 2),
            "sustained_contacts_per_s": round(sustained, 1) if sustained else None, "bound": bound,
            "share_of_bound": round(sustained / bound, 3) if sustained else None,
            "wall_s": round(max(r["wall_s"] for r in results), 1),
            "backend_failures": sum(r.get("backend_failures") or 0 for r in results),
        }
    finally:
        emu.stop()
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="8,000 contacts (prints only)")
    args = parser.parse_args(argv)
    rows = 8_000 if args.quick else 40_000
    with tempfile.TemporaryDirectory() as tmp:
        runs = [run_case(p, rows, b, Path(tmp)) for p, b in ((1, False), (4, True), (4, False))]
    print("| setup | contacts | share of the bound (1,900 contacts/s) | requests | 429s | per 1,000 requests |")
    print("|---|---|---|---|---|---|")
    for r in runs:
        setup = f"{r['processes']} process{'es' if r['processes'] > 1 else ''}" + (
            ", shared backend" if r["backend"] else (", no backend" if r["processes"] > 1 else ""))
        share = "—" if r["share_of_bound"] is None else f"{r['share_of_bound']:.3f}"  # None: window never filled
        print(f"| {setup} | {r['contacts']:,} | {share} | {r['requests']} | {r['http_429']} | "
              f"{r['per_1000_requests_429']:.1f} |")
    if not args.quick:
        (HERE / "results-parallel.json").write_text(json.dumps({"runs": runs}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
