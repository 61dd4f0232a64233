"""The write operators in every edition they support, against the strict emulator.

2026-09 answers a partly failing batch with 200 + ``errors`` / ``numErrors`` where v3 and 2026-03 answer
207 Multi-Status: the summaries and rejects files must not tell the difference.
"""

from __future__ import annotations

import json

import pytest

from airflow_provider_hubspot.operators.contacts import (
    HubSpotCreateOrUpdateContactsOperator,
    HubSpotMergeContactsOperator,
)
from airflow_provider_hubspot.operators.lists import HubSpotAddContactsToListOperator
from airflow_provider_hubspot.operators.timeline import HubSpotCreateTimelineEventsOperator

from .conftest import read_jsonl

EDITIONS = ["v3", "2026-03", "2026-09"]


def _people(n, start=0):
    return [{"email": f"person{i}@example.com", "firstname": f"P{i}"} for i in range(start, start + n)]


def _comparable(summary):
    """A summary without what differs between runs (the version asked for, request counts, paths)."""
    return {k: v for k, v in summary.items() if k not in ("api_version", "requests", "rejects_path", "seconds",
                                                          "duration_s", "records_per_second", "retries")}


def _rejects(path):
    return sorted((r["index"], r["code"], r["reason"], json.dumps(r["record"])) for r in read_jsonl(path)) if path else []


def _vid_update_run(emulator, context, tmp_path, api_version):
    """Update by record id where some ids are unknown and one takes another contact's e-mail."""
    emulator.reset()
    emulator.rate_limit = 100_000
    vids = [emulator.state.add_contact(p) for p in _people(6)]
    rows = [{"vid": vid, "firstname": f"New{i}"} for i, vid in enumerate(vids[:4])]
    rows += [{"vid": 900_001, "firstname": "Ghost"}, {"vid": 900_002, "firstname": "Ghost2"}]
    rows.append({"vid": vids[4], "email": "person5@example.com"})  # taken by vids[5]
    op = HubSpotCreateOrUpdateContactsOperator(task_id="upsert", records=rows, id_property="vid",
                                               api_version=api_version, max_rejected=10,
                                               rejects_path=str(tmp_path / f"rejects-{api_version}.jsonl"))
    result = op.execute(context)
    statuses = {r.status for r in emulator.requests if r.path.endswith("/batch/update")}
    return result, _rejects(result["rejects_path"]), statuses


def test_partly_failing_updates_give_the_same_summary_and_rejects_on_2026_09_as_on_2026_03(
    fast_emulator, context, tmp_path
):
    before, rejects_before, statuses_before = _vid_update_run(fast_emulator, context, tmp_path, "2026-03")
    after, rejects_after, statuses_after = _vid_update_run(fast_emulator, context, tmp_path, "2026-09")
    assert statuses_before == {207} and statuses_after == {200}, "each version answers in its own shape"
    assert (before["updated"], before["rejected"]) == (4, 3)
    assert _comparable(after) == _comparable(before)
    assert rejects_after == rejects_before
    assert sorted(code for _, code, _, _ in rejects_after) == ["CONFLICT", "OBJECT_NOT_FOUND", "OBJECT_NOT_FOUND"]


def _email_upsert_run(emulator, context, tmp_path, api_version):
    emulator.reset()
    emulator.rate_limit = 100_000
    emulator.state.add_contact({"email": "person3@example.com"})
    rows = _people(130) + [{"email": "bad@example.comv", "firstname": "X"}, {"firstname": "no email"}]
    rows[60]["email"] = "wrong@example.con"
    op = HubSpotCreateOrUpdateContactsOperator(task_id="upsert", records=rows, api_version=api_version,
                                               max_rejected=3, rejects_path=str(tmp_path / f"r-{api_version}.jsonl"))
    result = op.execute(context)
    return result, _rejects(result["rejects_path"])


@pytest.mark.parametrize("api_version", EDITIONS)
def test_upsert_by_email_in_every_edition(fast_emulator, context, tmp_path, api_version):
    result, rejects = _email_upsert_run(fast_emulator, context, tmp_path, api_version)
    assert (result["received"], result["created"], result["updated"], result["rejected"]) == (132, 128, 1, 3)
    assert [index for index, *_ in rejects] == [60, 130, 131]
    assert fast_emulator.state.count_contacts() == 129
    baseline, baseline_rejects = _email_upsert_run(fast_emulator, context, tmp_path, "2026-03")
    assert _comparable(result) == _comparable(baseline) and rejects == baseline_rejects


@pytest.mark.parametrize("api_version", EDITIONS)
def test_add_to_list_in_every_edition(fast_emulator, context, api_version):
    vids = [fast_emulator.state.add_contact(p) for p in _people(5)]
    _, ils = fast_emulator.state.create_list("Newsletter")
    op = HubSpotAddContactsToListOperator(task_id="add", list_id=ils, api_version=api_version,
                                          vids=vids[:3], emails=["person3@example.com", "ghost@example.com"])
    result = op.execute(context)
    assert (result["added"], result["already_members"], result["not_found"]) == (4, 0, 1)
    again = op.execute(context)
    assert (again["added"], again["already_members"]) == (0, 4)
    prefix = "/crm/v3/lists" if api_version == "v3" else f"/crm/lists/{api_version}"
    assert any(r.path.startswith(prefix) for r in fast_emulator.requests)


@pytest.mark.parametrize("api_version", EDITIONS)
def test_merge_in_every_edition(fast_emulator, context, api_version):
    vids = [fast_emulator.state.add_contact(p) for p in _people(4)]
    op = HubSpotMergeContactsOperator(task_id="merge", pairs=[[vids[0], vids[1]], [vids[2], vids[3]]],
                                      api_version=api_version)
    assert op.execute(context)["merged"] == 2
    assert op.execute(context)["already_merged"] == 2
    assert fast_emulator.state.count_contacts() == 2


@pytest.mark.parametrize("api_version", EDITIONS)
def test_timeline_in_every_edition(fast_emulator, context, tmp_path, api_version):
    if api_version == "v3":
        setup = {"event_type": fast_emulator.state.create_event_type(77, "Webinar", edition="v3"), "app_id": 77}
    else:
        fast_emulator.state.register_event_type_name("webinar_attended")
        setup = {"event_type": "webinar_attended"}
    vid = fast_emulator.state.add_contact({"email": "known@example.com"})
    events = [{"email": f"person{i}@example.com", "webinar": "Intro", "id": f"evt-{i}"} for i in range(120)]
    events[7]["email"] = "person7@example.comv"
    events.append({"vid": vid, "id": "evt-vid", "seats": 2})
    op = HubSpotCreateTimelineEventsOperator(task_id="events", events=events, api_version=api_version,
                                             object_id_column="vid", max_rejected=1,
                                             rejects_path=str(tmp_path / "events.jsonl"), **setup)
    first = op.execute(context)
    assert (first["received"], first["created"], first["already_existed"], first["rejected"]) == (121, 120, 0, 1)
    assert [index for index, *_ in _rejects(first["rejects_path"])] == [7]
    second = op.execute(context)
    assert (second["created"], second["already_existed"]) == (0, 120)
    timeline = "v3" if api_version == "v3" else "2026-03"  # Timeline has no 2026-09
    posts = [r.path for r in fast_emulator.requests if r.method == "POST"]
    assert posts and all(p.startswith(f"/integrators/timeline/{timeline}/") for p in posts)


def test_summaries_name_the_version_asked_for(fast_emulator, context):
    op = HubSpotCreateOrUpdateContactsOperator(task_id="upsert", records=_people(2), api_version="2026-09")
    assert op.execute(context)["api_version"] == "2026-09"
    paths = {r.path for r in fast_emulator.requests}
    assert paths == {"/crm/objects/2026-09/contacts/batch/upsert"}, json.dumps(sorted(paths))
