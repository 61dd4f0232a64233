"""Benchmark: CRM objects and associations (issue 14). Part of ``make bench``.

One emulator at 190 requests / 10 s with 150 ms +- 20 ms per call (as ``run.py``'s throughput runs),
clients in their own process (``clients/objects.py``):

1. **companies at the bound**: 40,000 companies from a CSV through ``HubSpotCreateOrUpdateObjectsOperator``
   (upserts by a unique ``external_id``, every value checked against the property definitions,
   ``max_concurrency=8``). Sustained rate as in ``run.py``: R / mean(t[k+R] - t[k]) x records per request
   over the accepted batch upserts' arrival times, as a share of the bound (1,900 companies/s).
2. **associations of 10,000 contact-company pairs** (record ids, primary): the time of the association
   batches against the issue's limit 1.05 x (pairs / association batch size / the bound in requests per
   second), i.e. no slower than pacing allows.
3. **associations at the bound**: 300,000 pairs (300 batches of 1,000: more than a window's 190, so
   pacing binds); the sustained rate of the association batches as a share of the bound (19 batches/s).

Writes ``results-objects.json``. Usage: ``python benchmarks/objects.py [--quick]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import harness  # noqa: E402

from airflow_provider_hubspot.emulator import HubSpotEmulator  # noqa: E402

RATE, WINDOW_S, BATCH, ASSOCIATION_BATCH = 190, 10.0, 100, 1_000
INDUSTRIES = ("Retail", "Logistics", "Software", "Manufacturing", "Finance", "Healthcare")


def emulator() -> HubSpotEmulator:
    emu = HubSpotEmulator(rate_limit=RATE, interval_ms=int(WINDOW_S * 1000), latency_ms=150, latency_jitter_ms=20,
                          seed=7)
    emu.state.define_property("external_id", object_type="companies", unique=True)
    return emu


def run_client(config: dict[str, Any], work: Path, name: str) -> dict[str, Any]:
    run_dir = work / name
    return harness.run_client(HERE / "clients" / "objects.py", config, run_dir, timeout=1800, env=harness.client_env(
        run_dir, url=config["url"], token=config["token"], conn_extra={"rate_limit": RATE}))


def companies_at_the_bound(rows: int, work: Path) -> dict[str, Any]:
    csv = work / f"companies-{rows}.csv"
    with open(csv, "w", encoding="utf-8") as handle:
        handle.write("external_id,name,domain,industry,numberofemployees\n")
        for i in range(rows):
            handle.write(f"ACC-{i:07d},Company {i},company{i}.example.com,{INDUSTRIES[i % 6]},{10 + i % 990}\n")
    emu = emulator()
    try:
        emu.start()
        result = run_client({"mode": "companies", "url": emu.url, "token": emu.token, "source_path": str(csv),
                             "max_concurrency": 8}, work, "companies")
        accepted = [r.timestamp for r in emu.requests
                    if r.path.endswith("/companies/batch/upsert") and 200 <= r.status < 300]
        rate = harness.sustained_rate(accepted, RATE, BATCH)
        bound = RATE * BATCH / WINDOW_S
        stats = dict(emu.stats)
        return {"id": "companies-at-the-bound", "companies": rows, "written": len(emu.state.objects("companies")),
                "requests": stats["requests"], "http_429": stats["429"],
                "sustained_companies_per_s": round(rate, 1) if rate else None, "bound_companies_per_s": bound,
                "share_of_bound": round(rate / bound, 3) if rate else None, "wall_s": round(result["wall_s"], 1),
                "rejected": result["summary"]["rejected"]}
    finally:
        emu.stop()


def associations(pairs: int, work: Path, name: str) -> dict[str, Any]:
    emu = emulator()
    contacts = max(1, min(pairs, 10_000))
    companies = max(1, pairs // contacts)
    contact_ids = [emu.state.add_contact({"email": f"c{i}@example.com"}) for i in range(contacts)]
    company_ids = [emu.state.add_object("companies", {"name": f"Co{i}"}) for i in range(companies)]
    chosen = [[contact_ids[i % contacts], company_ids[(i // contacts) % companies]] for i in range(pairs)]
    pairs_path = work / f"{name}-pairs.json"
    pairs_path.write_text(json.dumps(chosen), encoding="utf-8")
    try:
        emu.start()
        result = run_client({"mode": "associate", "url": emu.url, "token": emu.token, "pairs_path": str(pairs_path),
                             "max_concurrency": 8, "client_rate_limit": RATE}, work, name)
        batches = [r for r in emu.requests if r.path.endswith("/batch/create") and 200 <= r.status < 300]
        requests_needed = pairs / ASSOCIATION_BATCH
        limit_s = 1.05 * requests_needed / (RATE / WINDOW_S)
        rate = harness.sustained_rate([r.timestamp for r in batches], RATE, ASSOCIATION_BATCH)
        bound = RATE * ASSOCIATION_BATCH / WINDOW_S
        stored = sum(len(targets) for targets in emu.state.store.associations.edges.get(("0-1", "0-2"), {}).values())
        return {"id": name, "pairs": pairs, "associated": result["summary"].get("associated"),
                "stored_pairs": stored, "batches": len(batches), "http_429": emu.stats["429"],
                "associate_s": round(result["associate_s"], 3), "limit_s": round(limit_s, 3),
                "within_limit": result["associate_s"] <= limit_s,
                "sustained_pairs_per_s": round(rate, 1) if rate else None,
                "share_of_bound": round(rate / bound, 3) if rate else None}
    finally:
        emu.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (prints only)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        runs = [companies_at_the_bound(8_000 if args.quick else 40_000, work),
                associations(10_000, work, "associations-10000"),
                associations(60_000 if args.quick else 300_000, work, "associations-at-the-bound")]
    company, small, large = runs
    print(f"companies: {company['companies']:,} upserted by external_id, {company['sustained_companies_per_s']} "
          f"companies/s sustained = {company['share_of_bound']} of the bound "
          f"({company['bound_companies_per_s']:,.0f}/s), {company['http_429']} 429s, {company['rejected']} rejected")
    print(f"associations: {small['pairs']:,} contact-company pairs in {small['associate_s']} s "
          f"({small['batches']} batches of {ASSOCIATION_BATCH:,}; limit 1.05 x pairs / batch / bound = "
          f"{small['limit_s']} s: {'met' if small['within_limit'] else 'MISSED'})")
    print(f"associations at the bound: {large['pairs']:,} pairs, {large['sustained_pairs_per_s']} pairs/s sustained "
          f"= {large['share_of_bound']} of the bound, {large['http_429']} 429s, {large['associate_s']} s")
    if not args.quick:
        report = {"runs": runs, "wall_s": round(time.monotonic() - started)}
        (HERE / "results-objects.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
