#!/usr/bin/env python
"""``make demo``: a real CRM sync, end to end in Airflow, against a local HubSpot emulator.

What it does (no HubSpot account, no network):

1. starts the HubSpot emulator on a free loopback port (in this process, in a background thread);
2. creates a throw-away ``AIRFLOW_HOME`` whose DAGs folder is the repository's ``example_dags/``
   and migrates its metadata database;
3. writes a SQLite "CRM" database of a few thousand customers (some signed up in the last 30
   days, ~1 % e-mails that look valid but HubSpot rejects, some repeated e-mails, a handful of known
   duplicate people) and the accounts they work for (some with an open opportunity), and points the
   ``crm_db`` and ``hubspot_default`` connections at it and at the emulator, through
   ``AIRFLOW_CONN_*`` environment variables;
4. runs ``airflow dags test hubspot_contact_sync`` (companies keyed by a unique ``external_id``,
   contacts associated with their company, deals for the open opportunities, list, merges, timeline
   events);
5. runs ``airflow dags test hubspot_wait_for_leads`` while a background thread plays "HubSpot users":
   after the sensors' first pokes it turns a few contacts into customers and submits a form;
6. prints what changed in "HubSpot" — the DAGs' own summaries, each number checked against the
   emulator's state — and stops the emulator, also on failure or Ctrl-C.

Run it with ``make demo`` or ``.venv/bin/python scripts/demo.py [--rows N] [--verbose]``.
Stdlib and this package only. Exit status: 0 when both DAG runs succeed and every number matches,
1 when a DAG run (or a setup step) fails, 2 when a number does not match, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

try:
    from airflow_provider_hubspot.emulator import HubSpotEmulator
    from airflow_provider_hubspot.emulator.schema import is_valid_email
except ImportError as exc:  # pragma: no cover - run outside the project's venv
    raise SystemExit(f"{exc}: run `make demo` (it installs the package into .venv), or use .venv/bin/python.") from None

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DAGS = ROOT / "example_dags"

SYNC_DAG = "hubspot_contact_sync"
LEADS_DAG = "hubspot_wait_for_leads"
LIST_NAME = "New customers (last 30 days)"
EVENT_TYPE = "customer_synced"
FORM_ID = "6f1c3a52-8d0e-4b7a-9c21-3e5f0a7d9b10"
FORM_NAME = "Newsletter sign-up"
LIFECYCLE_PATH = "/contacts/search/v1/external/lifecyclestages"
FORMS_PATH = "/form-integrations/v1/submissions/forms/"
RATE_LIMIT = 190  # HubSpot Professional / Enterprise: 190 requests per 10 s
RECENT_DAYS = 30  # the sync DAG lists customers who signed up in the last 30 days
DUPLICATE_CODE = "DUPLICATE_KEY"  # rejects-file code of a repeated e-mail (last one wins, not an error)

# --------------------------------------------------------------------------------------- sample data

FIRST_NAMES = (
    "Jane", "John", "Maria", "Ahmed", "Wei", "Olga", "Carlos", "Aisha", "Liam", "Emma", "Noah", "Sofia",
    "Lucas", "Mia", "Ethan", "Zoe", "Mateo", "Chloe", "Omar", "Hannah", "Yuki", "Priya", "Diego", "Nora",
    "Felix", "Ingrid", "Kofi", "Lena", "Ravi", "Sara", "Tomas", "Amara", "Jonas", "Elena", "Hugo", "Leila",
    "Marco", "Anna", "Samuel", "Freya", "Ivan", "Grace", "Pablo", "Alice", "Kenji", "Rosa", "Adam", "Julia",
)
LAST_NAMES = (
    "Doe", "Smith", "Garcia", "Khan", "Chen", "Ivanova", "Silva", "Okafor", "Murphy", "Jensen", "Müller",
    "Rossi", "Dubois", "Novak", "Tanaka", "Patel", "Lopez", "Kowalski", "Nguyen", "Andersen", "Schmidt",
    "Costa", "Haddad", "Larsen", "Brown", "Wilson", "Moreau", "Fischer", "Santos", "Kim", "Berg", "Meyer",
    "Ali", "Romero", "Olsen", "Weber", "Martin", "Lind", "Russo", "Clark", "Hughes", "Popescu",
)
COMPANIES = (
    ("Northwind Traders", "northwind-traders.com"), ("Globex", "globex.io"), ("Initech", "initech.com"),
    ("Umbrella Logistics", "umbrella-logistics.co"), ("Acme Robotics", "acme-robotics.com"),
    ("Stark Fabrication", "stark-fab.com"), ("Wayne Analytics", "wayne-analytics.io"),
    ("Hooli", "hooli.xyz"), ("Vandelay Industries", "vandelay.com"), ("Soylent Foods", "soylent-foods.com"),
    ("Tyrell Systems", "tyrell.systems.co"), ("Cyberdyne Labs", "cyberdyne-labs.ai"),
    ("Wonka Confectionery", "wonka.co.uk"), ("Gringotts Finance", "gringotts-finance.com"),
    ("Oceanic Air", "oceanic-air.com"), ("Pied Piper", "piedpiper.io"), ("Dunder Paper", "dunder-paper.com"),
    ("Blue Harbor Health", "blueharbor.health.org"), ("Kestrel Energy", "kestrel-energy.de"),
    ("Lumen Studios", "lumen-studios.fr"), ("Fjord Outdoor", "fjord-outdoor.no"), ("Sakura Tech", "sakura-tech.jp"),
)
FREEMAIL = ("gmail.com", "outlook.com", "yahoo.com", "proton.me", "icloud.com", "gmx.de")
INDUSTRIES = ("Retail", "Logistics", "Software", "Manufacturing", "Finance", "Healthcare", "Energy", "Media")
#: Stages of the open opportunities (deals in HubSpot's default pipeline).
OPEN_STAGES = ("appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "contractsent")
CITIES = (
    "Boston", "Chicago", "Austin", "Seattle", "Denver", "Toronto", "London", "Dublin", "Berlin", "Munich",
    "Paris", "Lyon", "Madrid", "Lisbon", "Amsterdam", "Copenhagen", "Oslo", "Stockholm", "Warsaw", "Prague",
    "Vienna", "Zurich", "Milan", "Tokyo", "Singapore", "Sydney", "São Paulo", "Mexico City", "Cape Town",
)
#: Top-level-domain typos: syntactically valid addresses that HubSpot still rejects.
TLD_TYPOS = ("comv", "con", "cmo", "ocm", "coom", "nett", "orgg", "ioo")


def _ascii(text: str) -> str:
    table = str.maketrans({"ü": "ue", "ö": "oe", "ä": "ae", "ã": "a", "é": "e"})
    return re.sub(r"[^a-z0-9]", "", text.lower().translate(table))


def build_database(path: str | Path, rows: int = 3000, seed: int = 0, today: date | None = None) -> dict[str, Any]:
    """Write a SQLite CRM database at ``path`` (replacing it) and return what is in it.

    Tables: ``accounts(id, external_id, name, domain, industry, employees, opportunity_amount,
    opportunity_stage)`` — one per company, about half with an open opportunity (amount and stage
    set) —, ``customers(id, email, first_name, last_name, company, account_ref, phone, city,
    signed_up)`` — ``account_ref`` the ``external_id`` of the customer's account, ``signed_up`` an ISO
    date, about 12 % within the last 30 days — and
    ``known_duplicates(primary_email, duplicate_email)``: people who registered twice under two
    spellings of their address (``jane.doe@...`` / ``janedoe@...``); both rows are in ``customers``,
    the duplicate one older than 30 days. About 1 % of the e-mails have a top-level-domain typo
    (``x@y.comv``): they pass a syntax check but HubSpot rejects them. About 2 % of the rows repeat
    an earlier customer's e-mail (a second sign-up), sometimes in other letter case.

    The returned dict holds the counts the sync DAG's outcome follows from: ``rows``,
    ``valid_emails`` (distinct, case-insensitive: the contacts HubSpot will hold),
    ``invalid_rows``, ``repeated_rows``, ``recent_valid_emails`` (distinct valid e-mails signed up
    in the last 30 days), ``duplicate_pairs``, ``sample_recent`` (a few recent valid e-mails), ``accounts``
    and ``open_opportunities``.
    """
    if rows < 100:
        raise ValueError("rows must be at least 100")
    rng = random.Random(seed)
    today = today or datetime.now(timezone.utc).date()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()

    used: set[str] = set()

    def unique(local: str, domain: str) -> str:
        candidate, n = f"{local}@{domain}", 1
        while candidate.lower() in used:
            n += 1
            candidate = f"{local}{n}@{domain}"
        used.add(candidate.lower())
        return candidate

    def signup(recent: bool) -> str:
        days = rng.randint(0, RECENT_DAYS - 5) if recent else rng.randint(RECENT_DAYS + 5, 3 * 365)
        return (today - timedelta(days=days)).isoformat()

    def phone() -> str:
        return f"+1 {rng.randint(200, 989)}-555-{rng.randint(100, 199):04d}"

    n_pairs = max(3, min(12, rows // 400))
    n_invalid = max(1, rows // 100)
    n_repeat = max(2, rows // 50)
    n_plain = rows - 2 * n_pairs - n_invalid - n_repeat
    customers: list[dict[str, str]] = []
    pairs: list[tuple[str, str]] = []

    def person() -> dict[str, str]:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        company, domain = rng.choice(COMPANIES)
        return {"first_name": first, "last_name": last, "company": company, "domain": domain,
                "phone": phone() if rng.random() < 0.85 else "", "city": rng.choice(CITIES)}

    for _ in range(n_plain):
        p = person()
        f, lst = _ascii(p["first_name"]), _ascii(p["last_name"])
        style = rng.random()
        if style < 0.55:
            email = unique(f"{f}.{lst}", p["domain"])
        elif style < 0.8:
            email = unique(f"{f[0]}{lst}", p["domain"])
        else:
            email = unique(f"{f}.{lst}{rng.randint(1, 99)}", rng.choice(FREEMAIL))
        customers.append({**p, "email": email, "signed_up": signup(rng.random() < 0.12)})
    for _ in range(n_pairs):  # one person, two registrations: jane.doe@x and janedoe@x
        p = person()
        f, lst = _ascii(p["first_name"]), _ascii(p["last_name"])
        primary = unique(f"{f}.{lst}", p["domain"])
        duplicate = unique(f"{f}{lst}", p["domain"])
        customers.append({**p, "email": primary, "signed_up": signup(rng.random() < 0.5)})
        customers.append({**p, "email": duplicate, "phone": "", "signed_up": signup(False)})
        pairs.append((primary, duplicate))
    for i in range(n_invalid):  # a TLD typo that passes a syntax check
        p = person()
        domain = p["domain"].rsplit(".", 1)[0] + "." + TLD_TYPOS[i % len(TLD_TYPOS)]
        email = unique(f"{_ascii(p['first_name'])}.{_ascii(p['last_name'])}", domain)
        customers.append({**p, "email": email, "signed_up": signup(rng.random() < 0.12)})
    paired = {e for pair in pairs for e in pair}
    originals = [c for c in customers if c["email"] not in paired and is_valid_email(c["email"])]
    for _ in range(n_repeat):  # the same person signing up again (e-mail repeated, maybe in capitals)
        again = dict(rng.choice(originals))
        if rng.random() < 0.3:
            again["email"] = again["email"].capitalize()
        again["signed_up"] = signup(rng.random() < 0.12)
        again["city"] = rng.choice(CITIES)
        customers.append(again)
    rng.shuffle(customers)

    accounts = []
    for number, (name, domain) in enumerate(COMPANIES, start=1):
        open_deal = rng.random() < 0.5
        accounts.append((number, f"ACC-{number:04d}", name, domain, rng.choice(INDUSTRIES), rng.randint(5, 5000),
                         rng.randint(10, 500) * 100 if open_deal else None,
                         rng.choice(OPEN_STAGES) if open_deal else None))
    account_of = {name: external_id for _, external_id, name, *_ in accounts}
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, external_id TEXT NOT NULL UNIQUE, "
                   "name TEXT NOT NULL, domain TEXT, industry TEXT, employees INTEGER, opportunity_amount INTEGER, "
                   "opportunity_stage TEXT)")
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL, first_name TEXT, "
                   "last_name TEXT, company TEXT, account_ref TEXT, phone TEXT, city TEXT, signed_up TEXT NOT NULL)")
        db.execute("CREATE TABLE known_duplicates (primary_email TEXT NOT NULL, duplicate_email TEXT NOT NULL)")
        db.executemany("INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", accounts)
        db.executemany(
            "INSERT INTO customers (id, email, first_name, last_name, company, account_ref, phone, city, signed_up) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(i, c["email"], c["first_name"], c["last_name"], c["company"], account_of[c["company"]], c["phone"],
              c["city"], c["signed_up"]) for i, c in enumerate(customers, start=1)])
        db.executemany("INSERT INTO known_duplicates VALUES (?, ?)", pairs)
    db.close()

    cutoff = (today - timedelta(days=RECENT_DAYS)).isoformat()
    valid = {c["email"].lower() for c in customers if is_valid_email(c["email"])}
    recent = {c["email"].lower() for c in customers if is_valid_email(c["email"]) and c["signed_up"] >= cutoff}
    seen: set[str] = set()
    repeated = 0
    for c in customers:
        repeated += c["email"].lower() in seen
        seen.add(c["email"].lower())
    return {
        "path": str(path),
        "rows": len(customers),
        "valid_emails": len(valid),
        "invalid_rows": sum(1 for c in customers if not is_valid_email(c["email"])),
        "repeated_rows": repeated,
        "recent_valid_emails": len(recent),
        "duplicate_pairs": len(pairs),
        "sample_recent": sorted(recent - paired)[:10],
        "accounts": len(accounts),
        "open_opportunities": sum(1 for a in accounts if a[6] is not None),
    }


# --------------------------------------------------------------------------------------- emulator


def prepare_emulator(emulator: HubSpotEmulator) -> dict[str, Any]:
    """Create what an admin would have set up in the portal: a unique ``external_id`` property on
    companies and deals (HubSpot upserts only by properties with unique values; a company's ``domain``
    is not one), the static list, the timeline event type, and the sign-up form. Returns the ids the
    DAGs need."""
    state = emulator.state
    for object_type in ("companies", "deals"):
        state.define_property("external_id", object_type=object_type, unique=True, label="External ID")
    ids = state.create_list(LIST_NAME)
    state.register_event_type_name(EVENT_TYPE)
    state.create_form(FORM_ID, FORM_NAME)
    return {"list_id": ids.list_id, "legacy_list_id": ids.legacy_id, "event_type": EVENT_TYPE, "form_id": FORM_ID}


def hubspot_connection(emulator: HubSpotEmulator) -> dict[str, Any]:
    """``AIRFLOW_CONN_HUBSPOT_DEFAULT`` (JSON form) for the emulator; pace to its rate limit."""
    return {"conn_type": "hubspot", "host": emulator.url, "password": emulator.token,
            "extra": {"rate_limit": emulator.rate_limit, "api_version": "2026-09"}}


def _pokes(emulator: HubSpotEmulator, prefix: str) -> int:
    return sum(1 for r in list(emulator.requests) if r.path.startswith(prefix))


class LeadFeeder(threading.Thread):
    """Plays the people using HubSpot while ``hubspot_wait_for_leads`` waits.

    After the lifecycle sensor's first poke one contact becomes a customer (not enough yet); after
    a later poke the other ``customers - 1`` do, at once. After the form sensor's first poke,
    ``signups`` people submit the sign-up form (new contacts). Everything is stamped "now". The two
    sensors are watched independently: under ``dags test`` a deferred sensor's trigger runs inline
    and the other sensor only pokes once it is done.
    """

    def __init__(self, emulator: HubSpotEmulator, emails: list[str], customers: int, signups: int,
                 form_id: str = FORM_ID, timeout: float = 300.0) -> None:
        super().__init__(name="hubspot-demo-feeder", daemon=True)
        if customers < 1 or len(emails) < customers:
            raise ValueError(f"need {customers} (>= 1) e-mails to turn into customers, got {len(emails)}")
        self.emulator = emulator
        self.emails = emails[:customers]
        self.signups = signups
        self.form_id = form_id
        self.timeout = timeout
        self.stop_event = threading.Event()
        self.baseline = {prefix: _pokes(emulator, prefix) for prefix in (LIFECYCLE_PATH, FORMS_PATH)}
        self.customers_done: list[str] = []
        self.submissions_done: list[str] = []
        self.error: BaseException | None = None

    def _seen(self, prefix: str) -> int:
        return _pokes(self.emulator, prefix) - self.baseline[prefix]

    def _customers(self, emails: list[str]) -> None:
        state = self.emulator.state
        with state.lock:  # all at once: a poke sees none or all of them
            for email in emails:
                state.set_lifecycle_stage(email, "customer", int(time.time() * 1000))
                self.customers_done.append(email)

    def _submit(self) -> None:
        for i in range(self.signups):
            email = f"new.lead{i + 1}@{COMPANIES[i % len(COMPANIES)][1]}"
            self.emulator.state.add_form_submission(self.form_id, email,
                                                    {"firstname": FIRST_NAMES[i], "lastname": "Lead"})
            self.submissions_done.append(email)

    def run(self) -> None:
        deadline = time.monotonic() + self.timeout
        first_batch_at: int | None = None  # lifecycle pokes seen when the first customer appeared
        submitted = False
        try:
            while not self.stop_event.is_set() and time.monotonic() < deadline:
                lifecycle = self._seen(LIFECYCLE_PATH)
                if first_batch_at is None and lifecycle >= 1:
                    self._customers(self.emails[:1])
                    first_batch_at = lifecycle
                elif first_batch_at is not None and len(self.customers_done) < len(self.emails) \
                        and lifecycle > first_batch_at:
                    self._customers(self.emails[1:])
                if not submitted and self._seen(FORMS_PATH) >= 1:
                    self._submit()
                    submitted = True
                if submitted and len(self.customers_done) == len(self.emails):
                    return
                time.sleep(0.05)
        except BaseException as exc:  # reported by run_demo
            self.error = exc

    def stop(self) -> None:
        self.stop_event.set()
        if self.is_alive():
            self.join(timeout=5)


# --------------------------------------------------------------------------------------- Airflow


class DemoError(Exception):
    """A step of the demo failed; the message says which and where the full log is."""


def airflow_env(home: Path, connections: dict[str, dict[str, Any]], variables: dict[str, str],
                tmpdir: Path | None = None) -> dict[str, str]:
    """The environment of the ``airflow`` subprocesses: this process's, minus any Airflow settings of
    the caller's own (``AIRFLOW_HOME``, ``AIRFLOW__*``, ``AIRFLOW_CONN_*``, ``AIRFLOW_VAR_*``), plus ours.

    :param tmpdir: ``TMPDIR`` for the tasks (operators write default rejects files under it).
    """
    env = {k: v for k, v in os.environ.items()
           if not (k == "AIRFLOW_HOME" or k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_")))}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLE_DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "PYTHONDONTWRITEBYTECODE": "1",  # keep example_dags/ free of __pycache__
        "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::UserWarning",
        "NO_COLOR": "1",
    })
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    for conn_id, conn in connections.items():
        env[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)
    for name, value in variables.items():
        env[f"AIRFLOW_VAR_{name.upper()}"] = value
    return env


def airflow_bin() -> str:
    """The ``airflow`` entry point of the Python running this script (the project's ``.venv``)."""
    path = Path(sys.executable).parent / "airflow"
    if not path.exists():
        raise DemoError(f"{path} not found: install the project first (make demo does: make venv).")
    return str(path)


#: ``airflow dags test`` log lines: Airflow 3 (structlog) and Airflow 2 formats.
_LOG_LINE = re.compile(r"^\S+Z \[(?P<level>\w+)\s*\] (?P<msg>.*?)(?:\s+\[(?P<logger>[\w.]+)\](?P<rest>.*))?$")
_LOG_LINE_2X = re.compile(r"^\[[^\]]+\] \{(?P<logger>[^}]+)\} (?P<level>[A-Z]+) - (?P<msg>.*)$")
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Exception|Error|Timeout|Interrupt): ")
_OUR_FILES = ("contacts.py", "lists.py", "timeline.py", "forms.py", "lifecycle.py", "base.py", "transport.py",
              "python.py")


def _interesting(line: str) -> str | None:
    """The short form of an ``airflow dags test`` log line worth showing, or ``None``."""
    if _EXCEPTION_LINE.match(line):  # the last line of a traceback: what went wrong
        return "  ✗ " + line
    match = _LOG_LINE.match(line) or _LOG_LINE_2X.match(line)
    if not match:
        return None
    msg, logger, level = match["msg"].strip(), match["logger"] or "", match["level"].lower()
    if msg.startswith("[DAG TEST] starting task_id="):
        return "▶ " + msg.split("task_id=", 1)[1].split()[0]
    if msg.startswith("[DAG TEST] running trigger in line"):
        return "  deferred: the trigger polls HubSpot (inline under `dags test`)"
    if msg.startswith("No tasks to run"):  # dags test waiting out a rescheduled sensor's poke interval
        return None
    if "airflow_provider_hubspot" in logger or logger.startswith(("airflow.task.operators", "task.stdout")) \
            or logger.split(":")[0] in _OUR_FILES:
        return "  " + msg
    if any(text in msg for text in ("Marking task as", "Rescheduling task", "Pausing task as DEFERRED")):
        return "  " + msg
    if level in ("error", "critical") or (level == "warning" and "hubspot" in (logger + msg).lower()):
        return f"  {level.upper()}: {msg}"
    return None


def run_airflow(args: list[str], env: dict[str, str], log_path: Path, *, label: str, verbose: bool = False,
                timeout: float = 600.0, echo: Callable[[str], None] = print, width: int = 160) -> None:
    """Run ``airflow <args>``, log everything to ``log_path``, echo the interesting lines with a prefix
    (all lines with ``verbose``); raise :class:`DemoError` (with the log's tail) when it fails."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f"  {label} │ "
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen([airflow_bin(), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, encoding="utf-8", errors="replace", bufsize=1,
                                start_new_session=True)  # Ctrl-C reaches us, and we stop it
        timer = threading.Timer(timeout, _kill, args=(proc,))
        timer.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                log.write(line)
                text = line.rstrip("\n") if verbose else _interesting(line.rstrip("\n"))
                if text is not None:
                    echo((prefix + text)[:width] if not verbose else prefix + text)
            code = proc.wait()
        except BaseException:
            _kill(proc)
            raise
        finally:
            timer.cancel()
    if code != 0:
        lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        causes = [line for line in lines if _EXCEPTION_LINE.match(line)]
        reason = f"timed out after {timeout:.0f} s" if code in (-signal.SIGKILL, -signal.SIGTERM) else f"exit {code}"
        raise DemoError(f"`airflow {' '.join(args[:3])}` failed ({reason}).\n"
                        + "".join(f"  {cause}\n" for cause in causes[-3:])
                        + f"Last lines of {log_path}:\n" + "\n".join("    " + t for t in lines[-25:]))


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, PermissionError):
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


# --------------------------------------------------------------------------------------- checks


def _check(checks: list[dict[str, Any]], name: str, reported: Any, actual: Any) -> None:
    checks.append({"name": name, "reported": reported, "emulator": actual, "ok": reported == actual})


def _read_jsonl(path: str | None) -> list[dict[str, Any]]:
    if not path or not Path(path).exists():
        return []
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def check_sync(summary: dict[str, Any], emulator: HubSpotEmulator, ids: dict[str, Any],
               db: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Compare the sync DAG's summary with the emulator's state (and, when given, with the database)."""
    state = emulator.state
    upsert, listed = summary["upsert_contacts"], summary["add_new_to_list"]
    merges, events = summary["merge_duplicates"], summary["log_sync_events"]
    companies, deals = summary["upsert_companies"], summary["upsert_deals"]
    checks: list[dict[str, Any]] = []
    _check(checks, "companies created + updated = companies in HubSpot", companies["created"] + companies["updated"],
           len(state.objects("companies")))
    _check(checks, "deals created + updated = deals in HubSpot", deals["created"] + deals["updated"],
           len(state.objects("deals")))
    live_contacts = [c["vid"] for c in state.contacts()]
    with_primary = {a["from"] for a in state.associations("contacts", "companies") if 1 in a["types"]}
    _check(checks, "contacts with a primary company = contacts in HubSpot", len(with_primary), len(live_contacts))
    _check(checks, "contact associations made = contacts written (created + updated)", upsert["associated"],
           upsert["created"] + upsert["updated"])
    _check(checks, "deals associated = deals with a primary company in HubSpot", deals["associated"],
           sum(1 for a in state.associations("deals", "companies") if 5 in a["types"]))
    live = state.count_contacts()
    merged_away = sum(len(c["merged_vids"]) for c in state.contacts())
    _check(checks, "contacts created = contacts in HubSpot + merged away", upsert["created"], live + merged_away)
    rejects = _read_jsonl(upsert.get("rejects_path"))
    _check(checks, "rejected = rejects-file lines (not counting repeated e-mails)", upsert["rejected"],
           sum(1 for r in rejects if r.get("code") != DUPLICATE_CODE))
    _check(checks, "records read = created + updated + rejected + repeated in a batch + unchanged", upsert["received"],
           upsert["created"] + upsert["updated"] + upsert["rejected"] + upsert["duplicates"]
           + upsert.get("unchanged", 0))
    _check(checks, "list members = list size in HubSpot", listed["added"] + listed["already_members"],
           len(state.list_members(ids["list_id"])))
    _check(checks, "list rows = added + already there + repeated + not found + invalid", listed["received"],
           sum(listed[k] for k in ("added", "already_members", "duplicates", "not_found", "invalid")))
    _check(checks, "merges = merged contacts in HubSpot", merges["merged"] + merges["already_merged"], merged_away)
    _check(checks, "timeline events = events in HubSpot", events["created"] + events["already_existed"],
           len(state.timeline_events()))
    if db is not None:
        _check(checks, "contacts created = distinct valid e-mails in the database", upsert["created"],
               db["valid_emails"])
        _check(checks, "rejected = invalid e-mails in the database", upsert["rejected"], db["invalid_rows"])
        _check(checks, "records read = database rows", upsert["received"], db["rows"])
        _check(checks, "list members = recent valid e-mails in the database", listed["added"],
               db["recent_valid_emails"])
        _check(checks, "merges = known duplicate pairs", merges["merged"], db["duplicate_pairs"])
        _check(checks, "companies created = accounts in the database", companies["created"], db["accounts"])
        _check(checks, "deals created = open opportunities in the database", deals["created"],
               db["open_opportunities"])
    return checks


#: Every this many customers, one changes between the two contact syncs (about 1 %).
CHANGE_EVERY = 100
UPSERT_PATH = "/contacts/batch/upsert"
_SUMMARY_LINE = re.compile(r"Summary: (\{[^{}]*\})")


def change_rows(path: str, *, every: int) -> dict[str, str]:
    """Move every ``every``-th customer with a valid e-mail used by no other row to another city;
    return ``{email: new city}``."""
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT id, email, city FROM customers c WHERE id % ? = 7 AND (SELECT COUNT(*) FROM customers o "
            "WHERE lower(o.email) = lower(c.email)) = 1 AND email NOT IN (SELECT duplicate_email FROM "
            "known_duplicates) AND email NOT IN (SELECT primary_email FROM known_duplicates)", (every,)).fetchall()
        changed = {email: f"{city} (moved)" for _, email, city in rows if is_valid_email(email)}
        db.executemany("UPDATE customers SET city = ? WHERE email = ?", [(c, e) for e, c in changed.items()])
    db.close()
    return changed


def _logged_summary(log_path: Path) -> dict[str, Any]:
    """The summary dict an operator logged (``... Summary: {...}``) in an ``airflow tasks test`` log."""
    import ast

    matches = _SUMMARY_LINE.findall(log_path.read_text(encoding="utf-8", errors="replace"))
    if not matches:
        raise DemoError(f"no summary line in {log_path}")
    return dict(ast.literal_eval(matches[-1]))


def check_rerun(rerun: dict[str, Any], emulator: HubSpotEmulator, changed: dict[str, str],
                db: dict[str, Any]) -> list[dict[str, Any]]:
    """Compare the change-only re-run with the emulator: the changed rows are in HubSpot, the rest was skipped."""
    checks: list[dict[str, Any]] = []
    moved = sum(1 for email, city in changed.items()
                if ((emulator.state.contact_by_email(email) or {}).get("properties") or {}).get("city") == city)
    _check(checks, "re-run: changed rows now in HubSpot", len(changed), moved)
    _check(checks, "re-run: records read = database rows", rerun["received"], db["rows"])
    sent = sum(rerun[k] for k in ("created", "updated", "duplicates", "rejected"))
    _check(checks, "re-run: records sent + unchanged = records read", sent + rerun["unchanged"], rerun["received"])
    return checks


def check_leads(summary: dict[str, Any], emulator: HubSpotEmulator, feeder: LeadFeeder | None,
                window: tuple[int, int] | None = None) -> list[dict[str, Any]]:
    """Compare the sensor DAG's report with the emulator's state (and what the feeder did)."""
    state = emulator.state
    checks: list[dict[str, Any]] = []
    subs = state.form_submissions(FORM_ID)
    customers = [c for c in state.contacts() if c["properties"].get("lifecyclestage") == "customer"]
    if window is not None:
        customers = [c for c in customers
                     if window[0] <= int(c["properties"].get("hs_lifecyclestage_customer_date", 0)) <= window[1]]
    _check(checks, "new customers seen = customers in HubSpot", summary["new_customers"], len(customers))
    _check(checks, "form submissions seen = submissions in HubSpot", summary["submissions"], len(subs))
    _check(checks, "watermark = newest submission", summary["watermark"],
           max((int(s["submittedAt"]) for s in subs), default=None))
    if feeder is not None:
        _check(checks, "new customers seen = contacts turned into customers", summary["new_customers"],
               len(feeder.customers_done))
        _check(checks, "submitters seen = people who submitted the form", sorted(summary["emails"]),
               sorted(feeder.submissions_done))
    return checks


# --------------------------------------------------------------------------------------- the demo


@contextmanager
def _phase(timings: dict[str, float], name: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        timings[name] = round(time.monotonic() - started, 1)


def run_demo(
    *,
    rows: int = 3000,
    seed: int = 0,
    workdir: str | Path | None = None,
    emulator: HubSpotEmulator | None = None,
    rate_limit: int = RATE_LIMIT,
    state_file: str | None = None,
    customers: int = 3,
    signups: int = 2,
    verbose: bool = False,
    keep_airflow_home: bool = False,
    timeout: float = 600.0,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the whole demo; return the summaries, the checks and the timings.

    :param rows: customers in the SQLite database.
    :param seed: seeds the sample data.
    :param workdir: where the database, summaries, rejects and logs go (default: a new temp dir, kept).
    :param emulator: a running emulator to use (default: start one here and stop it at the end).
    :param rate_limit: requests per 10 s of the emulator the demo starts (the connection paces to it).
    :param state_file: save the emulator's final state (JSON) here, also when a step failed.
    :param customers: contacts the feeder turns into customers (the sensor waits for all of them).
    :param signups: form submissions the feeder makes.
    :param verbose: echo every line of the ``airflow`` subprocesses (default: the interesting ones).
    :param keep_airflow_home: keep the throw-away ``AIRFLOW_HOME`` (default: removed at the end).
    :param timeout: seconds allowed per ``airflow`` command.
    :param echo: where progress lines go.
    :raises DemoError: when a DAG run or a setup step fails.
    """
    started = time.monotonic()
    timings: dict[str, float] = {}
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="hubspot-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    home = work / "airflow-home"
    own = emulator is None
    emu = emulator or HubSpotEmulator(rate_limit=rate_limit)
    feeder: LeadFeeder | None = None
    try:
        if own:
            emu.start()
        echo(f"HubSpot emulator serving on {emu.url} (rate limit {emu.rate_limit} requests / 10 s)")
        with _phase(timings, "database"):
            db = build_database(work / "crm.db", rows=rows, seed=seed)
        echo(f"CRM database {db['path']}: {db['rows']:,} customers, {db['invalid_rows']} with e-mails HubSpot "
             f"will reject, {db['repeated_rows']} repeated e-mails, {db['duplicate_pairs']} known duplicate people")
        ids = prepare_emulator(emu)
        echo(f"HubSpot portal: static list {ids['list_id']} ({LIST_NAME!r}), timeline event type "
             f"{EVENT_TYPE!r}, form {FORM_ID} ({FORM_NAME!r})")
        env = airflow_env(
            home,
            {"hubspot_default": hubspot_connection(emu), "crm_db": {"conn_type": "sqlite", "host": db["path"]}},
            {"hubspot_rejects_dir": str(work / "rejects")},
            tmpdir=work / "tmp",  # the other tasks' rejects files: <tmp>/hubspot-rejects/<dag>/<task>/<run>.jsonl
        )
        echo(f"Throw-away AIRFLOW_HOME {home}; DAGs folder {EXAMPLE_DAGS}")
        echo("Migrating the Airflow metadata database ...")
        with _phase(timings, "airflow db migrate"):
            home.mkdir(parents=True, exist_ok=True)
            (work / "tmp").mkdir(exist_ok=True)
            run_airflow(["db", "migrate"], env, work / "logs" / "db-migrate.log", label="migrate",
                        verbose=verbose, timeout=timeout, echo=echo)

        sync_path = work / "sync-summary.json"
        state_path = work / "contacts.state"
        sync_conf = {"list_id": str(ids["list_id"]), "event_type": EVENT_TYPE, "summary_path": str(sync_path),
                     "state_path": str(state_path)}
        echo(f"\n$ airflow dags test {SYNC_DAG} -c '{json.dumps(sync_conf)}'")
        with _phase(timings, SYNC_DAG):
            run_airflow(["dags", "test", SYNC_DAG, "-c", json.dumps(sync_conf)], env,
                        work / "logs" / f"{SYNC_DAG}.log", label="sync", verbose=verbose, timeout=timeout, echo=echo)
        if not sync_path.exists():
            raise DemoError(f"{SYNC_DAG} succeeded but wrote no summary at {sync_path}")
        sync = json.loads(sync_path.read_text(encoding="utf-8"))
        sync_checks = check_sync(sync, emu, ids, db)

        changed = change_rows(db["path"], every=CHANGE_EVERY)
        echo(f"\nChanged the city of {len(changed)} customers (about 1 %) in the database; the contact sync runs again "
             "with the same state_path, so it sends only what changed:")
        rerun_params = {"state_path": str(state_path)}
        echo(f"$ airflow tasks test {SYNC_DAG} upsert_contacts -t '{json.dumps(rerun_params)}'")
        mark = len(emu.requests)
        rerun_log = work / "logs" / f"{SYNC_DAG}-rerun.log"
        with _phase(timings, "change-only rerun"):
            run_airflow(["tasks", "test", SYNC_DAG, "upsert_contacts", "-t", json.dumps(rerun_params)], env,
                        rerun_log, label="rerun", verbose=verbose, timeout=timeout, echo=echo)
        rerun = _logged_summary(rerun_log)
        rerun["write_requests"] = sum(1 for r in emu.requests[mark:] if r.path.endswith(UPSERT_PATH))
        sync_checks += check_rerun(rerun, emu, changed, db)

        leads_path = work / "leads-summary.json"
        leads_conf = {"form_id": FORM_ID, "min_customers": customers, "summary_path": str(leads_path)}
        feeder = LeadFeeder(emu, db["sample_recent"], customers, signups, timeout=timeout)
        window_from = int(time.time() * 1000) - 24 * 3600 * 1000
        echo(f"\n$ airflow dags test {LEADS_DAG} -c '{json.dumps(leads_conf)}'")
        echo(f"  (meanwhile, in HubSpot: {customers} contacts will become customers and {signups} people will "
             "submit the form, a few seconds after the sensors start poking)")
        before = {p: _pokes(emu, p) for p in (LIFECYCLE_PATH, FORMS_PATH)}
        feeder.start()
        with _phase(timings, LEADS_DAG):
            run_airflow(["dags", "test", LEADS_DAG, "-c", json.dumps(leads_conf)], env,
                        work / "logs" / f"{LEADS_DAG}.log", label="leads", verbose=verbose, timeout=timeout,
                        echo=echo)
        feeder.stop()
        if feeder.error is not None:
            raise DemoError(f"the lead feeder failed: {feeder.error!r}")
        if not leads_path.exists():
            raise DemoError(f"{LEADS_DAG} succeeded but wrote no summary at {leads_path}")
        leads = json.loads(leads_path.read_text(encoding="utf-8"))
        pokes = {"lifecycle": _pokes(emu, LIFECYCLE_PATH) - before[LIFECYCLE_PATH],
                 "forms": _pokes(emu, FORMS_PATH) - before[FORMS_PATH]}
        leads_checks = check_leads(leads, emu, feeder, (window_from, int(time.time() * 1000)))
        state = emu.state
        result = {
            "workdir": str(work),
            "database": db,
            "portal": ids,
            "sync": sync,
            "rerun": {**rerun, "changed_rows": len(changed)},
            "leads": leads,
            "sensor_pokes": pokes,
            "emulator": {"contacts": state.count_contacts(), "list_size": len(state.list_members(ids["list_id"])),
                         "timeline_events": len(state.timeline_events()), "requests": emu.stats["requests"],
                         "rate_limited": emu.stats["429"]},
            "checks": sync_checks + leads_checks,
            "timings": timings,
        }
        result["wall_time"] = round(time.monotonic() - started, 1)
        return result
    finally:
        if feeder is not None:
            feeder.stop()
        if state_file:
            emu.save_state(state_file)
        if own:
            emu.stop()
            echo("HubSpot emulator stopped")
        if not keep_airflow_home:
            shutil.rmtree(home, ignore_errors=True)


def format_report(result: dict[str, Any]) -> str:
    """The human summary printed at the end of the demo."""
    sync, leads, emu, rr = result["sync"], result["leads"], result["emulator"], result["rerun"]
    up, lst, mrg, ev = (sync[k] for k in ("upsert_contacts", "add_new_to_list", "merge_duplicates", "log_sync_events"))
    co, de = sync["upsert_companies"], sync["upsert_deals"]
    repeated = up["duplicates"]
    resent = up.get("batches_resent", 0)
    batches = up["requests"] - resent - up["retries"] - up.get("association_requests", 0)
    lines = [
        "",
        "What changed in HubSpot",
        "=======================",
        f"hubspot_contact_sync  (api_version {up['api_version']}, {up['requests']} requests for the contacts, "
        f"{up['rate_limited']} answered 429)",
        f"  companies           {co['created'] + co['updated']:>6,}   (accounts table, upserted by the unique "
        f"external_id: {co['created']} created, {co['updated']} updated)",
        f"  deals               {de['created'] + de['updated']:>6,}   (accounts with an open opportunity; "
        f"{de['associated']} associated with their company as primary)",
        f"  requests            {up['requests']:>6,}   for the contacts = {batches} batches + {resent} resent "
        f"without the record HubSpot refused in a whole batch + {up['retries']} retries + "
        f"{up.get('association_requests', 0)} for their companies",
        f"  records read        {up['received']:>6,}   rows of customers in {result['database']['path']}",
        f"  contacts created    {up['created']:>6,}",
        f"  contacts updated    {up['updated']:>6,}   (an e-mail seen again in a later batch)",
        *([f"  unchanged           {up['unchanged']:>6,}   (an e-mail seen again with the same values: not sent twice)"]
          if up.get("unchanged") else []),
        f"  repeated e-mails    {repeated:>6,}   (twice in one batch: the last row wins; code DUPLICATE_KEY)",
        f"  rejected            {up['rejected']:>6,}   (HubSpot's reason for each in the rejects file)",
        f"  associated          {up['associated']:>6,}   contacts with their company (primary; "
        f"{up['associations_failed']} failed)",
    ]
    if up.get("rejects_path"):
        lines.append(f"  rejects file        {up['rejects_path']}")
        lines.append("                      JSON Lines: index, record, reason, code (e.g. INVALID_EMAIL)")
    lines += [
        f"  list members        {emu['list_size']:>6,}   (list {result['portal']['list_id']}: signed up in the last "
        f"30 days; of {lst['received']} rows: {lst['added']} added, {lst['already_members']} already there, "
        f"{lst['duplicates']} repeated, {lst['not_found']} not in HubSpot, {lst['invalid']} not an e-mail or id)",
        f"  contacts merged     {mrg['merged']:>6,}   (known duplicates; {mrg['already_merged']} were already merged)",
        f"  timeline events     {ev['created']:>6,}   ({ev['rejected']} rejected: rows whose e-mail HubSpot refused)",
        *([f"  their rejects file  {ev['rejects_path']}"] if ev.get("rejects_path") else []),
        f"  contacts in HubSpot {emu['contacts']:>6,}   (after the merges and the new leads)",
        "",
        f"upsert_contacts again, change-only (state_path; {rr['changed_rows']} rows changed in the database)",
        f"  requests            {rr['write_requests']:>6,}   write requests (the first run needed "
        f"{up['requests'] - up.get('association_requests', 0)}): "
        f"{rr['write_requests'] - rr.get('batches_resent', 0)} batches + {rr.get('batches_resent', 0)} resent",
        f"  unchanged           {rr['unchanged']:>6,}   (same as last time: not sent)",
        f"  updated             {rr['updated']:>6,}   (the changed rows, and earlier rows of an e-mail repeated in the "
        "table, sent again so the last row still wins)",
        f"  rejected again      {rr['rejected']:>6,}   (a refused row is not remembered: fix it and it goes through)",
        "",
        "hubspot_wait_for_leads",
        f"  wait_for_customers  saw {leads['new_customers']} new customers after "
        f"{result['sensor_pokes']['lifecycle']} lifecycle-stage checks (deferrable: the trigger polled)",
        f"  wait_for_signups    saw {leads['submissions']} form submissions after "
        f"{result['sensor_pokes']['forms']} checks (reschedule mode): {', '.join(leads['emails'])}",
        f"  new watermark       {leads['watermark']}   (pass it as `since` to the next run)",
        "",
    ]
    failed = [c for c in result["checks"] if not c["ok"]]
    lines.append(f"Cross-checked against the emulator's state: {len(result['checks']) - len(failed)} of "
                 f"{len(result['checks'])} numbers match.")
    for c in failed:
        lines.append(f"  MISMATCH {c['name']}: the DAG reported {c['reported']!r}, HubSpot holds {c['emulator']!r}")
    t = result["timings"]
    lines.append(f"Wall time {result['wall_time']:.0f} s (database {t.get('database', 0):.0f} s, airflow db migrate "
                 f"{t.get('airflow db migrate', 0):.0f} s, {SYNC_DAG} {t.get(SYNC_DAG, 0):.0f} s, change-only "
                 f"re-run {t.get('change-only rerun', 0):.0f} s, "
                 f"{LEADS_DAG} {t.get(LEADS_DAG, 0):.0f} s).")
    lines.append(f"Files (database, summaries, rejects, full logs): {result['workdir']}")
    lines.append("Next: point the same DAGs at your own portal — see README.md, 'Connect to your HubSpot portal'.")
    return "\n".join(lines)


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM (e.g. from a CI runner) ends the demo like Ctrl-C: the emulator is stopped either way."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=3000, help="customers in the SQLite database (default 3000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample data (default 0)")
    parser.add_argument("--workdir", default=None, help="where outputs go (default: a new temp dir)")
    parser.add_argument("--verbose", "-v", action="store_true", help="show every line of the airflow commands")
    parser.add_argument("--keep-airflow-home", action="store_true", help="keep the throw-away AIRFLOW_HOME")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds allowed per airflow command")
    parser.add_argument("--rate-limit", type=int, default=RATE_LIMIT,
                        help=f"the emulator's requests per 10 s, paced to by the connection (default {RATE_LIMIT})")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the full result as JSON here")
    parser.add_argument("--save-state", default=None, metavar="FILE",
                        help="write the emulator's final state here (load it with "
                             "python -m airflow_provider_hubspot.emulator --state FILE)")
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        result = run_demo(rows=args.rows, seed=args.seed, workdir=args.workdir, verbose=args.verbose,
                          keep_airflow_home=args.keep_airflow_home, timeout=args.timeout, rate_limit=args.rate_limit,
                          state_file=args.save_state, echo=lambda line: print(line, flush=True))
    except KeyboardInterrupt:
        print("\nInterrupted; the emulator was stopped.", file=sys.stderr)
        return 130
    except DemoError as exc:
        print(f"\nDemo failed: {exc}", file=sys.stderr)
        return 1
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    print(format_report(result), flush=True)
    return 0 if all(c["ok"] for c in result["checks"]) else 2


if __name__ == "__main__":
    sys.exit(main())
