"""Command line: ``python -m airflow_provider_hubspot.emulator [options]``.

Prints the URL, the token, the developer key and a ready-to-use ``AIRFLOW_CONN_HUBSPOT_DEFAULT``
line, then serves until SIGINT / SIGTERM. With ``--state FILE`` the data is loaded from FILE at
start (when it exists) and written back on exit.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from .server import DEFAULT_FAULT_KINDS, FAULT_KINDS, HubSpotEmulator


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_hubspot.emulator", description="Run a local HubSpot API emulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port (default 8765)")
    parser.add_argument("--rate-limit", type=int, default=100, help="requests per interval (default 100)")
    parser.add_argument("--interval-ms", type=int, default=10_000, help="rate-limit window (default 10000)")
    parser.add_argument("--daily-limit", type=int, default=None)
    parser.add_argument("--search-rate", type=int, default=4, help="search requests per second (default 4)")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--latency-jitter-ms", type=float, default=0.0)
    parser.add_argument("--fault-rate", type=float, default=0.0, help="probability of a random fault per request")
    parser.add_argument(
        "--fault-kinds",
        default=",".join(DEFAULT_FAULT_KINDS),
        help=f"comma-separated subset of {','.join(FAULT_KINDS)}",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--token", default="emulator-token")
    parser.add_argument("--developer-api-key", default="emulator-dev-key")
    parser.add_argument("--oauth-token-ttl", type=float, default=1800.0)
    parser.add_argument(
        "--oauth-client",
        action="append",
        default=[],
        metavar="ID:SECRET:REFRESH_TOKEN",
        help="register an OAuth client and refresh token (repeatable)",
    )
    parser.add_argument("--v1-lists-sunset", action="store_true", help="answer 404 on v1 list routes")
    parser.add_argument("--lenient", action="store_true",
                        help="serve any YYYY-MM version and skip request-body schema checks (default: strict, as "
                             "HubSpot's published schemas)")
    parser.add_argument("--state", default=None, metavar="FILE", help="load state from FILE, save it on exit")
    parser.add_argument("--print-url-file", default=None, metavar="PATH", help="write the URL to PATH once listening")
    parser.add_argument("--max-recorded-requests", type=int, default=1000)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    kinds = [k for k in args.fault_kinds.split(",") if k]
    emu = HubSpotEmulator(
        args.host,
        args.port,
        rate_limit=args.rate_limit,
        interval_ms=args.interval_ms,
        daily_limit=args.daily_limit,
        search_rate_per_second=args.search_rate,
        latency_ms=args.latency_ms,
        latency_jitter_ms=args.latency_jitter_ms,
        fault_rate=args.fault_rate,
        fault_kinds=kinds,
        seed=args.seed,
        token=args.token,
        developer_api_key=args.developer_api_key,
        oauth_token_ttl=args.oauth_token_ttl,
        v1_lists_sunset=args.v1_lists_sunset,
        state_file=args.state,
        max_recorded_requests=args.max_recorded_requests,
        strict=not args.lenient,
    )
    for spec in args.oauth_client:
        parts = spec.split(":", 2)
        if len(parts) != 3:
            print(f"--oauth-client expects ID:SECRET:REFRESH_TOKEN, got {spec!r}", file=sys.stderr)
            return 2
        emu.add_oauth_client(*parts)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    emu.start()
    conn = {"conn_type": "hubspot", "host": emu.url, "password": emu.token, "extra": {"rate_limit": emu.rate_limit}}
    print(f"HubSpot emulator listening on {emu.url}", flush=True)
    print(f"HUBSPOT_EMULATOR_URL={emu.url}", flush=True)
    print(f"HUBSPOT_EMULATOR_TOKEN={emu.token}", flush=True)
    print(f"HUBSPOT_EMULATOR_DEVELOPER_API_KEY={emu.developer_api_key}", flush=True)
    print(f"AIRFLOW_CONN_HUBSPOT_DEFAULT='{json.dumps(conn)}'", flush=True)
    if args.print_url_file:
        tmp = Path(f"{args.print_url_file}.tmp")
        tmp.write_text(emu.url + "\n", encoding="utf-8")
        tmp.replace(args.print_url_file)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        emu.stop()
        print("HubSpot emulator stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
