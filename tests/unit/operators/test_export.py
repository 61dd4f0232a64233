"""HubSpotExportObjectsOperator against the emulator: windows and watermarks, formats, atomic files."""

from __future__ import annotations

import csv
import gzip
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_hubspot._compat import AirflowException, AirflowFailException
from airflow_provider_hubspot.operators.export import HubSpotExportObjectsOperator

from .conftest import point_connection


class TI:
    """XCom of one task across runs (``include_prior_dates`` pulls the latest push of an earlier run)."""

    def __init__(self, store: dict[str, Any] | None = None) -> None:
        self.store = store if store is not None else {}
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value

    def xcom_pull(self, task_ids: Any = None, key: str = "return_value", include_prior_dates: bool = False, **_: Any):
        return self.store.get(key) if include_prior_dates else None


@pytest.fixture
def emu(hubspot_connection, monkeypatch):
    """The emulator behind ``hubspot_default`` with no pacing (search included)."""
    hubspot_connection.rate_limit = 0
    hubspot_connection.search_rate_per_second = 1_000_000
    point_connection(hubspot_connection, monkeypatch, search_rate_limit=1_000_000, rate_limit=1_000_000)
    return hubspot_connection


def _now_ms() -> int:
    return int(time.time() * 1000)


def _seed(emu: Any, count: int, modified_ms: int, *, start: int = 0) -> list[int]:
    with emu.state.lock:
        return [emu.state.add_contact({"email": f"p{i}@example.com", "firstname": f"F{i}"}, created_at=modified_ms,
                                      validate=False) for i in range(start, start + count)]


def _export(path: Path | str, ti: TI | None = None, context: dict[str, Any] | None = None, **kwargs: Any):
    kwargs.setdefault("object_type", "contacts")
    kwargs.setdefault("properties", ["email", "firstname"])
    kwargs.setdefault("search_lag_seconds", 0)
    op = HubSpotExportObjectsOperator(task_id="export", destination_path=str(path), **kwargs)
    ti = ti or TI()
    result = op.execute({"ti": ti, "run_id": "test", **(context or {})})
    return result, ti, op


def _jsonl(path: Path) -> list[dict[str, Any]]:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _csv(path: Path) -> list[dict[str, str]]:
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# -- the 10,000 cap, exactly once ------------------------------------------------------------------------


def test_25000_contacts_modified_in_one_window_export_completely_and_once(emu, tmp_path):
    modified = _now_ms() - 3_600_000
    ids = _seed(emu, 25_000, modified)
    result, ti, _ = _export(tmp_path / "contacts.jsonl", since=modified - 1000, max_concurrency=2)
    rows = _jsonl(tmp_path / "contacts.jsonl")
    assert [r["id"] for r in rows if r["email"] is None] == []
    assert sorted(int(r["id"]) for r in rows) == ids, "every contact once"
    assert result["received"] == result["exported"] == 25_000 and result["announced"] == 25_000
    searches = [r for r in emu.requests if r.path.endswith("/search")]
    assert max(int(r.json.get("after") or 0) for r in searches) == 0, "never an offset: the 10,000 cap never applies"
    assert result["pages"] <= 125 + 2 + 2 * 3, "about one request per 200 records"
    assert ti.pushed["watermark"] == result["watermark"] == result["until"]


# -- consecutive runs: no gap, no duplicate -------------------------------------------------------------


def test_two_incremental_runs_with_writes_between_and_during_the_first(emu, tmp_path, monkeypatch):
    """Every change is in exactly one of two consecutive runs: a run holds the records whose last-modified
    time is in its window when it reads them; the second run starts at the first one's watermark."""
    old = _now_ms() - 3_600_000
    ids = _seed(emu, 3000, old)
    since = old - 1
    changed_during: list[int] = []
    created_during: list[int] = []
    from airflow_provider_hubspot.client import exports

    original = exports.ObjectReader.search
    calls = 0

    def search_with_writes(self, body):
        nonlocal calls
        calls += 1
        if calls == 4:  # while run 1 reads: change records already read, not yet read, create new ones
            for record_id in ids[:100] + ids[-100:]:
                emu.state.update_contact(record_id, {"firstname": "during"})
                changed_during.append(record_id)
            for i in range(50):
                created_during.append(emu.state.add_contact({"email": f"new{i}@example.com"}))
        return original(self, body)

    monkeypatch.setattr(exports.ObjectReader, "search", search_with_writes)
    first, ti1, _ = _export(tmp_path / "run1.jsonl", since=since, max_concurrency=2)
    monkeypatch.setattr(exports.ObjectReader, "search", original)
    between = [emu.state.add_contact({"email": f"between{i}@example.com"}) for i in range(30)]
    for record_id in ids[1000:1020]:
        emu.state.update_contact(record_id, {"firstname": "between"})
    time.sleep(0.01)
    second, _, _ = _export(tmp_path / "run2.jsonl", ti=TI({"watermark": ti1.pushed["watermark"]}),
                           since="previous_watermark", max_concurrency=2)
    assert second["since"] == first["watermark"], "run 2 starts where run 1 ended"
    run1, run2 = _jsonl(tmp_path / "run1.jsonl"), _jsonl(tmp_path / "run2.jsonl")
    one, two = [int(r["id"]) for r in run1], [int(r["id"]) for r in run2]
    assert len(one) == len(set(one)) and len(two) == len(set(two)), "no record twice in one file"
    # each version (id, last-modified) in exactly one run
    versions = [(r["id"], r["lastmodifieddate"]) for r in run1 + run2]
    assert len(versions) == len(set(versions)), "no duplicate across the runs"
    # every record's current version is in one of the runs
    latest = {c["vid"]: c for c in emu.state.contacts()}
    exported = {int(r["id"]): r for r in run1 + run2}
    assert set(exported) == set(latest), "no gap"
    for record_id in changed_during + between + created_during + ids[1000:1020]:
        assert record_id in two, f"{record_id} changed after run 1's window: in run 2"
        row = next(r for r in run2 if int(r["id"]) == record_id)
        assert row["firstname"] == latest[record_id]["properties"].get("firstname")
    untouched = set(ids) - set(changed_during) - set(ids[1000:1020])
    assert untouched <= set(one) and not untouched & set(two)


def test_the_data_interval_is_the_default_window(emu, tmp_path):
    start = datetime.now(timezone.utc) - timedelta(days=2)
    end = start + timedelta(days=1)
    start_ms = int(start.timestamp() * 1000)
    inside = _seed(emu, 5, start_ms + 1000)
    _seed(emu, 3, start_ms - 1, start=100)  # before
    _seed(emu, 4, int(end.timestamp() * 1000), start=200)  # at the end: the next interval's
    result, ti, _ = _export(tmp_path / "day.jsonl", context={"data_interval_start": start, "data_interval_end": end})
    assert sorted(int(r["id"]) for r in _jsonl(tmp_path / "day.jsonl")) == inside
    assert (result["since"], result["until"]) == (start_ms, int(end.timestamp() * 1000))
    assert ti.pushed["watermark"] == result["until"]


def test_a_window_that_ended_less_than_the_lag_ago_is_waited_for(emu, tmp_path):
    op = HubSpotExportObjectsOperator(task_id="x", object_type="contacts", properties="email",
                                      destination_path=str(tmp_path / "x.jsonl"), since=1000, until=50_000,
                                      search_lag_seconds=60)
    waits: list[float] = []
    op._clock = lambda: 80.0  # now = 80,000 ms: the window ended 30 s ago
    op._sleep = waits.append
    window = op._window({})
    assert (window.since_ms, window.until_ms, window.watermark_ms) == (1000, 50_000, 50_000)
    assert waits == [30.0]
    op.until = 200_000  # in the future: cut at now - lag
    waits.clear()
    window = op._window({})
    assert window.until_ms == 20_000 and waits == []


def test_since_forms_and_a_rendered_none_is_refused(emu, tmp_path):
    op = HubSpotExportObjectsOperator(task_id="x", object_type="contacts", properties="email",
                                      destination_path=str(tmp_path / "x.jsonl"), search_lag_seconds=5)
    op._clock = lambda: 1_800_000_000.0
    for since, expected in ((datetime(2026, 1, 1, tzinfo=timezone.utc), 1_767_225_600_000),
                            ("2026-01-01T00:00:00Z", 1_767_225_600_000), (5000, 5000), ("5000", 5000)):
        op.since = since
        window = op._window({})
        assert (window.since_ms, window.until_ms) == (expected, 1_799_999_995_000)
    op.since = 1_800_000_000_000  # after the end: an empty window, the watermark does not go back
    assert op._window({}).watermark_ms == 1_800_000_000_000
    op.since = None
    window = op._window({})
    assert window.since_ms is None and window.watermark_ms == 1_799_999_995_000
    op.since = "None"
    with pytest.raises(Exception, match="since=None"):
        op._window({})


def test_previous_watermark_falls_back_to_the_data_interval(emu, tmp_path):
    op = HubSpotExportObjectsOperator(task_id="x", object_type="contacts", properties="email",
                                      destination_path=str(tmp_path / "x.jsonl"), since="previous_watermark",
                                      search_lag_seconds=0)
    op._clock = lambda: 2_000_000.0
    start = datetime.fromtimestamp(1000, tz=timezone.utc)
    assert op._window({"ti": TI(), "data_interval_start": start,
                       "data_interval_end": start + timedelta(hours=1)}).since_ms == 1_000_000
    assert op._window({"ti": TI({"watermark": 1_500_000})}).since_ms == 1_500_000


# -- formats ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["out.jsonl", "out.jsonl.gz", "out.csv", "out.csv.gz"])
def test_formats_round_trip(emu, tmp_path, name):
    old = _now_ms() - 60_000
    emu.state.add_contact({"email": "a@example.com", "firstname": "Zoë, \"quoted\"\nline"}, created_at=old)
    emu.state.add_contact({"email": "b@example.com"}, created_at=old)
    result, _, _ = _export(tmp_path / name, since=old)
    path = tmp_path / name
    if name.endswith(".gz"):
        assert path.read_bytes()[:2] == b"\x1f\x8b"
    rows = _csv(path) if ".csv" in name else _jsonl(path)
    assert result["file_format"] == ("csv" if ".csv" in name else "jsonl")
    assert [r["email"] for r in rows] == ["a@example.com", "b@example.com"]
    assert rows[0]["firstname"] == "Zoë, \"quoted\"\nline"
    assert rows[1]["firstname"] in (None, "")
    assert list(rows[0]) == ["id", "email", "firstname", "lastmodifieddate"]


def test_object_storage_destination(emu, tmp_path):
    old = _now_ms() - 60_000
    _seed(emu, 250, old)
    result, _, _ = _export(f"file://{tmp_path}/deep/folder/c.csv", since=old)
    assert result["exported"] == 250 and len(_csv(tmp_path / "deep" / "folder" / "c.csv")) == 250


def test_full_export_with_the_list_endpoint_and_with_search(emu, tmp_path):
    _seed(emu, 450, _now_ms() - 60_000)
    listed, ti, _ = _export(tmp_path / "all.csv", since=None, full_export_method="list")
    assert listed["mode"] == "full" and listed["exported"] == 450 and listed["since"] is None
    assert ti.pushed["watermark"] == listed["watermark"] and listed["watermark"] <= _now_ms()
    assert not [r for r in emu.requests if r.path.endswith("/search")]
    emu.requests.clear()
    searched, _, _ = _export(tmp_path / "all2.csv", since=None)  # the default: keyset search
    assert searched["exported"] == 450
    assert [r for r in emu.requests if r.path.endswith("/search")]
    assert _csv(tmp_path / "all.csv") == sorted(_csv(tmp_path / "all2.csv"), key=lambda r: int(r["id"]))


def test_properties_all(emu, tmp_path):
    emu.state.add_contact({"email": "a@example.com", "city": "Oslo"}, created_at=_now_ms() - 60_000)
    result, _, _ = _export(tmp_path / "all.jsonl", since=0, properties="all")
    row = _jsonl(tmp_path / "all.jsonl")[0]
    assert row["city"] == "Oslo" and result["properties"] == len(row) - 1 > 10


# -- failures leave no file ------------------------------------------------------------------------------


def test_a_failed_export_leaves_the_destination_as_it_was(emu, tmp_path):
    _seed(emu, 1000, _now_ms() - 60_000)
    target = tmp_path / "contacts.jsonl"
    target.write_text("yesterday's export\n")
    from airflow_provider_hubspot.client import exports

    original = exports.ObjectReader.search
    calls = 0

    def failing(self, body):
        nonlocal calls
        calls += 1
        if calls == 3:
            from airflow_provider_hubspot.client.errors import HubSpotValidationError

            raise HubSpotValidationError("boom")
        return original(self, body)

    exports.ObjectReader.search = failing  # type: ignore[method-assign]
    try:
        with pytest.raises(AirflowFailException, match="boom"):
            _export(target, since=0, max_concurrency=1)
    finally:
        exports.ObjectReader.search = original  # type: ignore[method-assign]
    assert target.read_text() == "yesterday's export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["contacts.jsonl"], "no partial file left"


def test_required_and_invalid_parameters(emu, tmp_path):
    with pytest.raises(AirflowFailException, match="properties is empty"):
        _export(tmp_path / "x.jsonl", properties="")
    with pytest.raises(AirflowFailException, match="file_format"):
        _export(tmp_path / "x.parquet", file_format="parquet")
    with pytest.raises(Exception, match="full_export_method"):
        HubSpotExportObjectsOperator(task_id="x", object_type="contacts", properties="email",
                                     destination_path="x", full_export_method="exports-api")
    with pytest.raises(AirflowException, match="twice"):
        _export(tmp_path / "x.jsonl", since=0, properties=["email"], associations=["email"],
                modified_property="associated_email")


def test_summary_is_small_and_balanced(emu, tmp_path):
    _seed(emu, 10, _now_ms() - 60_000)
    result, _, _ = _export(tmp_path / "x.csv", since=0)
    assert len(json.dumps(result)) < 1500
    assert result["received"] == result["exported"] == 10


# -- lineage ---------------------------------------------------------------------------------------------


def test_lineage_reads_hubspot_and_writes_the_file(emu, tmp_path):
    pytest.importorskip("airflow.providers.openlineage", reason="apache-airflow-providers-openlineage is not installed")
    from openlineage.client.serde import Serde

    from airflow_provider_hubspot.emulator._util import PORTAL_ID

    _seed(emu, 12, _now_ms() - 60_000)
    _, _, op = _export(tmp_path / "c.csv", since=0)
    lineage = op.get_openlineage_facets_on_complete(None)
    [source], [target] = lineage.inputs, lineage.outputs
    assert (source.namespace, source.name) == (f"hubspot://{PORTAL_ID}", "contacts")
    assert json.loads(Serde.to_json(source))["inputFacets"]["inputStatistics"]["rowCount"] == 12
    assert (target.namespace, target.name) == ("file", str(tmp_path / "c.csv"))
    facets = json.loads(Serde.to_json(target))
    assert facets["outputFacets"]["outputStatistics"]["rowCount"] == 12
    assert [f["name"] for f in facets["facets"]["schema"]["fields"]] == ["id", "email", "firstname",
                                                                          "lastmodifieddate"]


# -- other object types, associations ---------------------------------------------------------------------


def test_companies_with_their_contacts_and_contacts_with_their_companies(emu, tmp_path):
    old = _now_ms() - 60_000
    companies = [emu.add_object("companies", {"name": f"Co {i}", "domain": f"co{i}.example"}, created_at=old)
                 for i in range(3)]
    contacts = _seed(emu, 1205, old)  # more than one associations batch (1,000)
    for n, contact in enumerate(contacts):
        if n % 3:
            emu.associate("contacts", contact, "companies", companies[n % 3])
    emu.associate("contacts", contacts[0], "companies", companies[1])
    emu.associate("contacts", contacts[0], "companies", companies[2])
    result, _, _ = _export(tmp_path / "contacts.csv", since=old, associations=["companies"])
    rows = {int(r["id"]): r for r in _csv(tmp_path / "contacts.csv")}
    assert len(rows) == 1205 and result["associations"] == ["companies"]
    assert sorted(rows[contacts[0]]["associated_companies"].split(";")) == [str(companies[1]), str(companies[2])]
    assert rows[contacts[3]]["associated_companies"] == ""
    assert rows[contacts[4]]["associated_companies"] == str(companies[1])
    reads = [r for r in emu.requests if r.path.endswith("/batch/read") and "/associations/" in r.path]
    assert [len(r.json["inputs"]) for r in reads] == [1000, 205]

    emu.requests.clear()
    result, _, _ = _export(tmp_path / "companies.jsonl", object_type="companies", properties=["name", "domain"],
                           since=old, associations=["contacts"])
    rows = {int(r["id"]): r for r in _jsonl(tmp_path / "companies.jsonl")}
    assert set(rows) == set(companies) and result["exported"] == 3
    assert list(rows[companies[0]]) == ["id", "name", "domain", "hs_lastmodifieddate", "associated_contacts"]
    assert len(rows[companies[1]]["associated_contacts"]) == len([n for n in range(1205) if n % 3 == 1]) + 1
    assert rows[companies[0]]["associated_contacts"] == []
    searches = [r for r in emu.requests if r.path.endswith("/search")]
    assert searches and all("/companies/search" in r.path for r in searches)
    assert {f["propertyName"] for r in searches for g in r.json["filterGroups"] for f in g["filters"]} >= {
        "hs_lastmodifieddate"}
