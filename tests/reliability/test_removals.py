"""Removals: list mirrors, deletes and GDPR erasure, with the guard checked before the first removal.

Requests are counted at the emulator; memberships and contacts are read from its state.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_hubspot._compat import AirflowFailException
from airflow_provider_hubspot.client.editions import DEFAULT_API_VERSION, Edition
from airflow_provider_hubspot.operators.removals import HubSpotDeleteObjectsOperator, HubSpotSyncListMembersOperator

from ..unit.operators.conftest import read_jsonl

CONTEXT = {"run_id": "removals", "ti": None}
RUNNER = Path(__file__).with_name("_run_operator.py")
EDITION = Edition.parse(DEFAULT_API_VERSION)



def _contacts(emu, n: int, prefix: str = "p") -> list[int]:
    return [emu.state.add_contact({"email": f"{prefix}{i}@example.com"}) for i in range(n)]


def _membership_requests(emu, since: int) -> list[Any]:
    return [r for r in emu.requests[since:] if "/memberships" in r.path]


@pytest.fixture
def big_list(emu):
    """A 2,000-member list, a source that keeps 1,780 of them and adds 150 others."""
    vids = _contacts(emu, 2150)
    list_id = emu.state.create_list("Mirror")[1]
    emu.state.add_list_members(list_id, vids[:2000])
    source = vids[220:2150]
    return list_id, vids, source


def _mirror(list_id: Any, members: Any, **kwargs: Any) -> dict[str, Any]:
    return HubSpotSyncListMembersOperator(task_id="mirror", list_id=list_id, records=members, **kwargs).execute(CONTEXT)


def test_mirror_guard_stops_before_the_first_removal(emu, big_list):
    list_id, vids, source = big_list
    mark = len(emu.requests)
    with pytest.raises(AirflowFailException, match=r"220 members would be removed out of the 2,000 of list .* \(200\)"):
        _mirror(list_id, source)
    assert sorted(emu.state.list_members(list_id)) == sorted(vids[:2000]), "nothing removed, nothing added"
    assert not [r for r in emu.requests[mark:] if r.method == "PUT"], "no membership change was sent"


def test_mirror_dry_run_lists_what_would_go(emu, big_list, tmp_path):
    list_id, vids, source = big_list
    result = _mirror(list_id, source, dry_run=True, rejects_path=str(tmp_path / "r.jsonl"))
    assert (result["would_add"], result["would_remove"], result["already_members"]) == (150, 220, 1780)
    assert result["within_max_removed"] is False
    assert sorted(emu.state.list_members(list_id)) == sorted(vids[:2000])
    listed = [r for r in read_jsonl(tmp_path / "r.jsonl") if r["code"] == "WOULD_REMOVE"]
    assert sorted(int(r["record"]["record_id"]) for r in listed) == sorted(vids[:220])


def test_mirror_makes_the_list_exact_in_few_requests(emu, big_list):
    list_id, _, source = big_list
    members = [f"p{i}@example.com" for i in range(220, 400)] + source[180:]  # e-mails and ids mixed
    mark = len(emu.requests)
    result = _mirror(list_id, members, max_removed=0.2)
    assert sorted(emu.state.list_members(list_id)) == sorted(source)
    assert (result["added"], result["removed"], result["already_members"]) == (150, 220, 1780)
    assert result["received"] == len(members) == sum(result[k] for k in HubSpotSyncListMembersOperator.outcome_keys)
    changes = [r for r in emu.requests[mark:] if r.path.endswith("/memberships/add-and-remove")]
    pages = [r for r in emu.requests[mark:] if r.method == "GET" and r.path.endswith("/memberships")]
    assert len(changes) == 1, "150 adds and 220 removals fit one add-and-remove call (250 of each)"
    assert len(pages) == 2000 // 250, "the members are read 250 per page"
    again = _mirror(list_id, members)
    assert (again["added"], again["removed"]) == (0, 0), "a mirror run again changes nothing"


def test_mirror_reports_members_not_found_and_invalid(emu, tmp_path):
    vids = _contacts(emu, 5)
    list_id = emu.state.create_list("Small")[1]
    emu.state.add_list_members(list_id, vids[:3])
    members = [vids[0], vids[1], vids[3], "ghost@example.com", "??", "P0@EXAMPLE.COM", 999_999]
    result = _mirror(list_id, members, max_removed=1, rejects_path=str(tmp_path / "r.jsonl"))
    assert sorted(emu.state.list_members(list_id)) == sorted([vids[0], vids[1], vids[3]])
    assert (result["added"], result["removed"], result["not_found"], result["invalid"], result["duplicates"]) == (
        1, 1, 2, 1, 1), "a record id HubSpot has no contact for is not_found, not added"
    assert result["received"] == sum(result[k] for k in HubSpotSyncListMembersOperator.outcome_keys)
    listed = {r["code"]: r for r in read_jsonl(tmp_path / "r.jsonl")}
    assert listed["NOT_FOUND"]["record"] in ({"record_id": "999999"}, {"email": "ghost@example.com"})
    assert sorted(r["code"] for r in read_jsonl(tmp_path / "r.jsonl")) == ["INVALID_MEMBER", "NOT_FOUND", "NOT_FOUND"]
    with_state = _mirror(list_id, members, max_removed=1, state_path=str(tmp_path / "m.state"))
    assert (with_state["not_found"], with_state["state_keys"]) == (2, 3), "the state holds only real members"


def test_mirror_killed_part_way_then_rerun_is_exact(emu, big_list, tmp_path):
    list_id, _, source = big_list
    emu.latency_ms = 40
    spec = {"operator": "airflow_provider_hubspot.operators.removals.HubSpotSyncListMembersOperator",
            "kwargs": {"list_id": list_id, "records": source, "max_removed": 0.2}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    child = subprocess.Popen([sys.executable, str(RUNNER), str(tmp_path / "spec.json")], env=os.environ.copy(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not [r for r in emu.requests if r.path.endswith("/memberships")]:
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)  # while it reads the list's members
    child.wait(10)
    emu.latency_ms = 0
    _mirror(list_id, source, max_removed=0.2)
    assert sorted(emu.state.list_members(list_id)) == sorted(source)


def _membership_calls(emu, since: int) -> tuple[int, int]:
    """(member pages read, add-and-remove calls) since request ``since``."""
    pages = [r for r in emu.requests[since:] if r.method == "GET" and r.path.endswith("/memberships")]
    changes = [r for r in emu.requests[since:] if r.path.endswith("/memberships/add-and-remove")]
    return len(pages), len(changes)


def test_mirror_with_a_state_reads_the_list_only_the_first_time(emu, big_list, tmp_path):
    list_id, vids, source = big_list
    state = str(tmp_path / "mirror.state")
    mark = len(emu.requests)
    first = _mirror(list_id, vids[:2000], state_path=state)
    assert (first["members_read_from"], first["state_keys"], first["added"], first["removed"]) == ("list", 2000, 0, 0)
    assert _membership_calls(emu, mark) == (8, 0)
    mark = len(emu.requests)
    second = _mirror(list_id, source, state_path=state, max_removed=0.2)
    assert sorted(emu.state.list_members(list_id)) == sorted(source)
    assert (second["members_read_from"], second["added"], second["removed"]) == ("state", 150, 220)
    assert second["received"] == sum(second[k] for k in HubSpotSyncListMembersOperator.outcome_keys)
    assert _membership_calls(emu, mark) == (0, 1), "no member page is read: the state replaces the read"
    mark = len(emu.requests)
    third = _mirror(list_id, source, state_path=state)
    assert (third["added"], third["removed"], third["already_members"]) == (0, 0, len(source))
    assert _membership_calls(emu, mark) == (0, 0)
    refreshed = _mirror(list_id, source, state_path=state, full_refresh=True)
    assert refreshed["members_read_from"] == "list" and refreshed["state_keys"] == len(source)


def test_mirror_with_a_state_stopped_while_sending_converges_on_the_next_run(emu, big_list, tmp_path):
    """HubSpot applied the changes but the run failed before recording them: the next run, wanting the
    original members back, re-adds the 220 removed and removes the 150 added (the state marked them)."""
    list_id, vids, source = big_list
    state = str(tmp_path / "mirror.state")
    _mirror(list_id, vids[:2000], state_path=state)
    path = f"{EDITION.crm_lists}/{list_id}/memberships/add-and-remove"
    emu.inject_fault("drop_after", path=path, method="PUT")  # applied, answer lost
    emu.inject_fault("429", path=path, method="PUT", policy="DAILY")  # the retry meets the daily limit
    with pytest.raises(AirflowFailException, match="daily"):
        _mirror(list_id, source, state_path=state, max_removed=0.2)
    assert sorted(emu.state.list_members(list_id)) == sorted(source), "HubSpot applied the changes"
    again = _mirror(list_id, vids[:2000], state_path=state, max_removed=0.2)
    assert sorted(emu.state.list_members(list_id)) == sorted(vids[:2000])
    assert (again["members_read_from"], again["added"], again["removed"]) == ("state", 220, 150)
    assert _mirror(list_id, vids[:2000], state_path=state)["state_keys"] == 2000


def test_a_mirror_stopped_before_its_removals_passes_the_same_guard_when_retried(emu, big_list, tmp_path):
    """190 removals of 2,000 pass the default 10 % guard; HubSpot refuses the call (daily limit), and the
    retry with the same input still counts the 190 as members of a 2,000-member list, not of 1,810."""
    list_id, vids, _ = big_list
    state = str(tmp_path / "mirror.state")
    emu.inject_fault("429", path=f"{EDITION.crm_lists}/{list_id}/memberships/add-and-remove", method="PUT",
                     policy="DAILY")
    with pytest.raises(AirflowFailException, match="daily"):
        _mirror(list_id, vids[190:2000], state_path=state)  # first run: reads the list, builds the state
    assert sorted(emu.state.list_members(list_id)) == sorted(vids[:2000]), "nothing was changed"
    retried = _mirror(list_id, vids[190:2000], state_path=state)
    assert (retried["members_read_from"], retried["list_size"], retried["removed"]) == ("state", 2000, 190)
    assert sorted(emu.state.list_members(list_id)) == sorted(vids[190:2000])


def test_record_ids_are_read_as_numbers(emu):
    vids = _contacts(emu, 2)
    list_id = emu.state.create_list("Padded")[1]
    emu.state.add_list_members(list_id, vids)
    result = _mirror(list_id, [f"00{vids[0]}", str(vids[1])])
    assert (result["already_members"], result["added"], result["removed"]) == (2, 0, 0)
    assert sorted(emu.state.list_members(list_id)) == sorted(vids)


def _delete(**kwargs: Any) -> dict[str, Any]:
    return HubSpotDeleteObjectsOperator(task_id="delete", **kwargs).execute(CONTEXT)


def test_delete_by_email_counts_the_already_gone_and_a_retry_is_safe(emu):
    _contacts(emu, 100)
    emails = [f"p{i}@example.com" for i in range(5)] + ["gone@example.com", "P1@example.com"]
    result = _delete(id_property="email", records=[{"email": e} for e in emails])
    assert (result["deleted"], result["already_deleted"], result["duplicates"]) == (5, 1, 1)
    assert emu.state.count_contacts() == 95
    retried = _delete(id_property="email", records=[{"email": e} for e in emails])
    assert (retried["deleted"], retried["already_deleted"]) == (0, 6), "a retried delete deletes nothing twice"


def test_delete_guard_and_dry_run(emu, tmp_path):
    vids = _contacts(emu, 50)
    with pytest.raises(AirflowFailException, match=r"6 contacts would be removed out of the 50"):
        _delete(records=vids[:6])
    assert emu.state.count_contacts() == 50
    result = _delete(records=vids[:6], dry_run=True, rejects_path=str(tmp_path / "r.jsonl"))
    assert result["would_delete"] == 6 and emu.state.count_contacts() == 50
    assert sorted(int(r["record"]["hs_object_id"]) for r in read_jsonl(tmp_path / "r.jsonl")) == sorted(vids[:6])
    assert _delete(records=vids[:6], max_removed=6)["deleted"] == 6 and emu.state.count_contacts() == 44


def test_an_empty_source_deletes_nothing(emu):
    _contacts(emu, 10)
    assert _delete(records=[])["deleted"] == 0 and emu.state.count_contacts() == 10


def test_gdpr_delete_keeps_emails_out_of_logs_xcom_and_files(emu, tmp_path, capfd, caplog):
    _contacts(emu, 40, prefix="erase.me.")
    emails = [f"erase.me.{i}@example.com" for i in range(3)] + ["", "never.existed@example.com"]
    result = _delete(id_property="email", gdpr=True, records=[{"email": e} for e in emails],
                     rejects_path=str(tmp_path / "r.jsonl"))
    assert (result["deleted"], result["already_deleted"], result["invalid"]) == (3, 1, 1)
    gdpr_calls = [r for r in emu.requests if r.path.endswith("/gdpr-delete")]
    assert len(gdpr_calls) == 3 and all(r.json["idProperty"] == "email" for r in gdpr_calls)
    assert emu.state.contact_by_email("erase.me.0@example.com") is None
    out, err = capfd.readouterr()
    text = out + err + caplog.text + json.dumps(result) + (tmp_path / "r.jsonl").read_text()
    assert "erase.me" not in text and "never.existed" not in text
