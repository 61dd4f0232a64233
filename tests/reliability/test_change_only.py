"""Change-only syncs (``state_path``): what is sent is counted at the emulator, not by our counters."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_hubspot._compat import AirflowException, AirflowFailException
from airflow_provider_hubspot.operators.contacts import HubSpotCreateOrUpdateContactsOperator
from airflow_provider_hubspot.sync_state import SyncState

from ..unit.operators.conftest import read_jsonl

CONTEXT = {"run_id": "change-only", "ti": None}
UPSERT = "/contacts/batch/upsert"
RUNNER = Path(__file__).with_name("_run_operator.py")



def _rows(n: int, *, changed: set[int] = frozenset(), start: int = 0) -> list[dict[str, Any]]:
    return [{"email": f"c{i}@example.com", "firstname": f"C{i}" + ("-new" if i in changed else "")}
            for i in range(start, start + n)]


def _sync(rows: Any, state: str, **kwargs: Any) -> dict[str, Any]:
    op = HubSpotCreateOrUpdateContactsOperator(task_id="sync", records=rows, state_path=state, **kwargs)
    return op.execute(CONTEXT)


def _sent_emails(emu, since: int = 0) -> list[str]:
    """E-mails in the write requests the emulator received (from request ``since`` on)."""
    return [item["id"] for r in emu.requests[since:] if r.method == "POST" and r.path.endswith(UPSERT)
            for item in r.json["inputs"]]


def _writes(emu, since: int = 0) -> int:
    return sum(1 for r in emu.requests[since:] if r.method == "POST" and r.path.endswith(UPSERT))


def _state_keys(path: str) -> dict[str, str | None]:
    state = SyncState(path, scope={"object_type": "contacts", "id_property": "email"}).open()
    try:
        return dict(state.db.execute("SELECT key, object_id FROM state").fetchall())
    finally:
        state.close()


def test_unchanged_second_run_sends_nothing_and_one_percent_sends_exactly_those(emu, tmp_path):
    state = str(tmp_path / "contacts.state")
    first = _sync(_rows(1000), state)
    assert (first["created"], first["unchanged"], first["state_keys"]) == (1000, 0, 1000)
    mark = len(emu.requests)
    second = _sync(_rows(1000), state)
    assert _writes(emu, mark) == 0, "an unchanged source sends no write request"
    assert (second["received"], second["unchanged"], second["created"] + second["updated"]) == (1000, 1000, 0)
    changed = set(range(0, 1000, 100))
    mark = len(emu.requests)
    third = _sync(_rows(1000, changed=changed), state)
    assert sorted(_sent_emails(emu, mark)) == sorted(f"c{i}@example.com" for i in changed)
    assert _writes(emu, mark) == 1 and (third["updated"], third["unchanged"]) == (10, 990)
    assert emu.state.contact_by_email("c100@example.com")["properties"]["firstname"] == "C100-new"
    ids = _state_keys(state)
    assert len(ids) == 1000 and ids["c5@example.com"] == str(emu.state.contact_by_email("c5@example.com")["vid"])


def test_a_record_rejected_on_one_run_is_sent_again_on_the_next(emu, tmp_path):
    state = str(tmp_path / "s.state")
    rows = _rows(20) + [{"email": "bad@example.comv", "firstname": "B"}]
    assert _sync(rows, state, max_rejected=1)["rejected"] == 1
    mark = len(emu.requests)
    again = _sync(rows, state, max_rejected=1)
    assert _sent_emails(emu, mark) == ["bad@example.comv"], "only the rejected record is tried again"
    assert (again["unchanged"], again["rejected"]) == (20, 1)


def test_properties_map_change_resends_and_full_refresh_sends_everything(emu, tmp_path):
    state = str(tmp_path / "s.state")
    _sync(_rows(50), state)
    mark = len(emu.requests)
    _sync(_rows(50), state, full_refresh="{{ 'true' }}".replace("{{ 'true' }}", "true"))
    assert len(_sent_emails(emu, mark)) == 50
    mark = len(emu.requests)
    renamed = [{"email": r["email"], "first": r["firstname"], "lastname": "L"} for r in _rows(50)]
    _sync(renamed, state, properties_map={"first": "firstname"})
    assert len(_sent_emails(emu, mark)) == 50, "a new column changes every fingerprint once"


def test_dry_run_reports_and_writes_no_state(emu, tmp_path):
    state = str(tmp_path / "s.state")
    _sync(_rows(30), state)
    pointer = Path(state).read_text()
    rows = _rows(25, changed={0, 1}) + _rows(5, start=100)
    result = _sync(rows, state, dry_run=True, on_removed="archive", max_removed=10)
    assert (result["unchanged"], result["would_update"], result["would_create"], result["removed"]) == (23, 2, 5, 5)
    assert result["would_archive"] == 5 and result["within_max_removed"] and emu.state.count_contacts() == 30
    assert Path(state).read_text() == pointer, "a dry run writes no state"
    codes = [r["code"] for r in read_jsonl(result["rejects_path"])]
    assert codes.count("WOULD_REMOVE") == 5


def test_removed_keys_are_listed_and_archived_only_within_max_removed(emu, tmp_path):
    state = str(tmp_path / "s.state")
    _sync(_rows(100), state)
    kept = _rows(100)[:80]
    listed = _sync(kept, state)
    assert listed["removed"] == 20 and emu.state.count_contacts() == 100, "on_removed='ignore' archives nothing"
    mark = len(emu.requests)
    with pytest.raises(AirflowFailException, match=r"20 records would be removed out of the 100 of the state, more than max_removed=0.1 allows \(10\)"):
        _sync(kept, state, on_removed="archive")
    assert emu.state.count_contacts() == 100, "the guard fails before the first archive"
    assert not any(r.path.endswith("/batch/archive") for r in emu.requests[mark:])
    archived = _sync(kept, state, on_removed="archive", max_removed=20)
    assert (archived["removed"], archived["archived"]) == (20, 20)
    assert emu.state.count_contacts() == 80 and len(_state_keys(state)) == 80
    assert _sync(kept, state, on_removed="archive")["removed"] == 0


def test_an_empty_source_never_empties_the_crm(emu, tmp_path):
    state = str(tmp_path / "s.state")
    _sync(_rows(40), state)
    with pytest.raises(AirflowFailException, match="40 records would be removed out of the 40"):
        _sync([], state, on_removed="archive")
    assert emu.state.count_contacts() == 40


def test_two_tasks_cannot_use_one_state_at_once(emu, tmp_path):
    state = str(tmp_path / "s.state")
    holder = SyncState(state, scope={"object_type": "contacts", "id_property": "email"}).open()
    try:
        with pytest.raises(AirflowFailException, match="in use by another task"):
            _sync(_rows(5), state)
        assert _writes(emu) == 0
    finally:
        holder.close()
    assert _sync(_rows(5), state)["created"] == 5, "free again once the other task ended"


def test_a_state_of_another_sync_is_refused(emu, tmp_path):
    state = str(tmp_path / "s.state")
    _sync(_rows(5), state)
    with pytest.raises(AirflowFailException, match="belongs to another sync"):
        _sync([{"vid": 1, "firstname": "x"}], state, id_property="vid")


def _attach_memory_storage() -> None:
    """Register fsspec's in-memory file system for ``memory://`` (as a user attaches theirs)."""
    from fsspec.implementations.memory import MemoryFileSystem

    try:
        from airflow.sdk.io import attach
    except ImportError:  # Airflow 2.11
        from airflow.io.store import attach  # type: ignore[no-redef]
    attach("memory", fs=MemoryFileSystem())


@pytest.mark.parametrize("scheme", ["file", "memory"])
def test_state_on_object_storage(emu, tmp_path, scheme):
    if scheme == "memory":
        _attach_memory_storage()
    state = f"file://{tmp_path}/remote/contacts.state" if scheme == "file" else "memory://hubspot-test/contacts.state"
    _sync(_rows(60), state)
    mark = len(emu.requests)
    result = _sync(_rows(60, changed={3}), state)
    assert _sent_emails(emu, mark) == ["c3@example.com"] and result["unchanged"] == 59


def test_daily_limit_stop_keeps_what_was_written_and_a_rerun_finishes(emu, tmp_path):
    state = str(tmp_path / "s.state")
    emu.daily_limit = 3
    with pytest.raises(AirflowFailException, match="saved in the state") as info:
        _sync(_rows(1000), state, batch_size=100, max_concurrency=1)
    assert "resume" not in str(info.value)
    written = emu.state.count_contacts()
    assert 0 < written < 1000 and len(_state_keys(state)) == written
    emu.daily_limit = None
    mark = len(emu.requests)
    result = _sync(_rows(1000), state, batch_size=100)
    assert len(_sent_emails(emu, mark)) == 1000 - written and result["unchanged"] == written
    assert emu.state.count_contacts() == 1000


def test_killed_mid_run_then_rerun_leaves_hubspot_and_state_consistent(emu, tmp_path):
    state = str(tmp_path / "s.state")
    _sync(_rows(2000), state, batch_size=50)
    changed = set(range(0, 2000, 2))
    rows = _rows(2000, changed=changed)
    emu.latency_ms = 20
    spec = {"operator": "airflow_provider_hubspot.operators.contacts.HubSpotCreateOrUpdateContactsOperator",
            "kwargs": {"records": rows, "state_path": state, "batch_size": 50, "max_concurrency": 2}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    mark = len(emu.requests)
    child = subprocess.Popen([sys.executable, str(RUNNER), str(tmp_path / "spec.json")], env=os.environ.copy(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while _writes(emu, mark) < 6:
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    assert _writes(emu, mark) < 20, "killed before the end"
    emu.latency_ms = 0
    result = _sync(rows, state, batch_size=50)
    assert result["updated"] + result["unchanged"] == 2000
    live = {c["properties"]["email"]: c["properties"]["firstname"] for c in emu.state.contacts()}
    assert all(live[f"c{i}@example.com"] == f"C{i}" + ("-new" if i in changed else "") for i in range(2000))
    keys = _state_keys(state)
    assert len(keys) == 2000 and all(keys[e] == str(emu.state.contact_by_email(e)["vid"]) for e in list(keys)[:50])
    mark = len(emu.requests)
    assert _sync(rows, state, batch_size=50)["unchanged"] == 2000 and _writes(emu, mark) == 0


def test_state_storage_is_sqlite_on_disk(tmp_path):
    """The state is a pointer plus a SQLite file of key, fingerprint, object id (not a JSON dict in memory)."""
    path = str(tmp_path / "s.state")
    with SyncState(path, scope={"x": 1}) as state:
        state.lookup(["a"])
        state.record([("a", b"12345678", "9")])
        state.commit()
    pointer = json.loads(Path(path).read_text())
    assert pointer["generation"] == 1 and pointer["keys"] == 1
    with sqlite3.connect(tmp_path / pointer["data"]) as db:
        assert db.execute("SELECT key, object_id FROM state").fetchall() == [("a", "9")]
    assert not (tmp_path / "s.state.lease").exists(), "the lease is released"


def test_an_unreadable_state_is_a_clear_error(emu, tmp_path):
    state = tmp_path / "s.state"
    state.write_text("not json")
    with pytest.raises(AirflowException, match="is not a sync state"):
        _sync(_rows(1), str(state))


def test_keys_added_by_a_run_are_never_reported_removed(tmp_path):
    path = str(tmp_path / "s.state")
    scope = {"x": 1}
    with SyncState(path, scope=scope) as state:
        state.record([(k, b"fp", None) for k in ("a", "b", "c")])
        state.commit()
    with SyncState(path, scope=scope) as state:
        assert state.lookup(["a", "b", "c", "d"]) == [b"fp", b"fp", b"fp", None]
        state.record([("d", b"fp", None), ("e", b"fp", None)])  # rowids 4 and 5 share the bitmap's first byte
        assert list(state.unseen()) == []
        assert state.lookup(["a"]) == [b"fp"] and list(state.unseen()) == []
    with SyncState(path, scope=scope) as state:
        state.lookup(["a"])
        assert [key for key, _ in state.unseen()] == ["b", "c"]


def test_fingerprints_tell_records_apart_whatever_their_text():
    """Values holding the separator, non-text values, and moved boundaries never share a fingerprint;
    the order of properties does not matter."""
    from airflow_provider_hubspot.sync_state import fingerprint

    records = [{"firstname": "Ann\x1fB", "lastname": "C"}, {"firstname": "Ann", "lastname": "B\x1fC"},
               {"a": "x", "b": "y"}, {"a": "b\x1fx\x1fy"}, {"a": "1"}, {"a": 1}, {"a": "x\x1f"}, {"a\x1f": "x"},
               {"a": "x", "b": ""}, {"a": "x"}]
    assert len({fingerprint(r) for r in records}) == len(records)
    assert fingerprint({"a": "1", "b": "2"}) == fingerprint({"b": "2", "a": "1"})
    assert len(fingerprint({"a": "1"})) == 8


def test_lookups_answer_in_the_order_asked_with_repeats_and_misses(tmp_path):
    """Each key looked up gets its own stored fingerprint, whatever the order, repeats and missing keys."""
    import random

    path = str(tmp_path / "s.state")
    stored = {f"k{i:04d}": i.to_bytes(8, "big") for i in range(1200)}
    with SyncState(path, scope={"x": 1}) as state:
        state.record([(key, fp, None) for key, fp in stored.items()])
        state.commit()
    asked = [*random.Random(7).sample(sorted(stored), 900), "missing-1", "k0005", "k0005", "missing-2"]
    random.Random(8).shuffle(asked)
    with SyncState(path, scope={"x": 1}) as state:
        assert state.lookup(asked) == [stored.get(key) for key in asked]
        assert len(list(state.unseen())) == 1200 - len(set(asked) & set(stored))


def test_list_adds_with_a_state_send_only_new_members(emu, tmp_path):
    from airflow_provider_hubspot.operators.lists import HubSpotAddContactsToListOperator

    vids = [emu.state.add_contact({"email": f"m{i}@example.com"}) for i in range(300)]
    list_id = emu.state.create_list("Members")[1]
    state = str(tmp_path / "list.state")

    def add(members: list[Any]) -> dict[str, Any]:
        op = HubSpotAddContactsToListOperator(task_id="t", list_id=list_id, records=members, state_path=state)
        return op.execute(CONTEXT)

    assert add(vids[:200] + ["ghost@example.com"])["added"] == 200
    mark = len(emu.requests)
    second = add(vids + ["ghost@example.com"])
    sent = [i for r in emu.requests[mark:] if r.path.endswith("/memberships/add") for i in r.json]
    assert sorted(sent) == sorted(str(v) for v in vids[200:]), "only members not added before are sent"
    assert (second["added"], second["unchanged"], second["not_found"], second["received"]) == (100, 200, 1, 301)
    assert sorted(emu.state.list_members(list_id)) == sorted(vids)


def test_a_key_repeated_in_one_run_keeps_last_wins_with_a_state(emu, tmp_path):
    """The earlier record of a repeated key is sent when it changed; the later one must then be sent
    too, even though it equals the state, or HubSpot would keep the earlier value."""
    state = str(tmp_path / "s.state")
    rows = _rows(1200)
    _sync(rows, state, batch_size=100)
    rows[1100] = {"email": "c5@example.com", "firstname": "C5"}  # c5 again later, with its stored value
    rows[5] = {"email": "c5@example.com", "firstname": "C5-changed-then-back"}
    mark = len(emu.requests)
    result = _sync(rows, state, batch_size=100)
    assert emu.state.contact_by_email("c5@example.com")["properties"]["firstname"] == "C5", "the last record wins"
    # both c5 records are sent (in one batch, where the later one wins); c1100 left the input
    assert _sent_emails(emu, mark) == ["c5@example.com"]
    assert (result["received"], result["updated"], result["duplicates"], result["removed"]) == (1200, 1, 1, 1)
    mark = len(emu.requests)
    again = _sync(rows, state, batch_size=100)
    assert _sent_emails(emu, mark) == ["c5@example.com"], "repeated keys stay last-wins"
    assert emu.state.contact_by_email("c5@example.com")["properties"]["firstname"] == "C5"
    assert again["unchanged"] == 1198


def test_partitioned_sync_splits_the_source_without_overlap(emu, tmp_path):
    """Three mapped tasks with partitions=3 write every row exactly once between them."""
    path = tmp_path / "people.csv"
    path.write_text("email,firstname\n" + "".join(f"Part{i}@Example.com,P{i}\n" for i in range(300)))
    results = [HubSpotCreateOrUpdateContactsOperator(task_id=f"sync_{i}", source_path=str(path), partitions=3,
                                                     partition_index=str(i)).execute(CONTEXT) for i in range(3)]
    assert sum(r["received"] for r in results) == 300 and all(40 < r["received"] < 160 for r in results)
    assert emu.state.count_contacts() == 300
    sent = _sent_emails(emu)
    assert len(sent) == len(set(sent)) == 300, "no row is sent by two tasks"
    with pytest.raises(AirflowFailException, match=r"partition_index must be in 0\.\.2"):
        HubSpotCreateOrUpdateContactsOperator(task_id="bad", source_path=str(path), partitions=3,
                                              partition_index=3).execute(CONTEXT)
