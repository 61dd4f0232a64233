"""The four write operators called directly (execute) against the emulator."""

from __future__ import annotations

import pytest

from airflow_provider_hubspot._compat import AirflowException, AirflowFailException
from airflow_provider_hubspot.client import HubSpotConfigError
from airflow_provider_hubspot.operators.contacts import (
    HubSpotCreateOrUpdateContactsOperator,
    HubSpotMergeContactsOperator,
)
from airflow_provider_hubspot.operators.lists import HubSpotAddContactsToListOperator
from airflow_provider_hubspot.operators.timeline import HubSpotCreateTimelineEventsOperator

from .conftest import point_connection, read_jsonl


def _people(n, start=0):
    return [{"email": f"person{i}@example.com", "firstname": f"P{i}"} for i in range(start, start + n)]


# -- create or update ------------------------------------------------------------------------------


def test_upsert_summary_and_state(fast_emulator, context, tmp_path):
    rows = _people(120) + [{"email": "bad@example.comv", "firstname": "X"}, {"firstname": "no email"}]
    op = HubSpotCreateOrUpdateContactsOperator(task_id="upsert", records=rows, rejects_path=str(tmp_path / "r.jsonl"),
                                               max_rejected=2)
    result = op.execute(context)
    assert result["received"] == 122
    assert (result["created"], result["updated"], result["rejected"]) == (120, 0, 2)
    assert result["requests"] >= 2 and result["rejects_path"] == str(tmp_path / "r.jsonl")
    assert "records" not in result and len(str(result)) < 1000, "XCom gets a small summary, never the records"
    rejects = read_jsonl(tmp_path / "r.jsonl")
    assert sorted(r["index"] for r in rejects) == [120, 121]
    assert all(r["reason"] for r in rejects) and rejects[0]["record"]
    assert fast_emulator.state.count_contacts() == 120


def test_max_rejected_fails_after_writing_every_valid_record(fast_emulator, context, tmp_path):
    rows = _people(10) + [{"email": "bad@example.comv"}]
    op = HubSpotCreateOrUpdateContactsOperator(task_id="upsert", records=rows, rejects_path=str(tmp_path / "r.jsonl"))
    with pytest.raises(AirflowFailException, match=r"1 of 11 records were rejected.*r.jsonl"):
        op.execute(context)
    assert fast_emulator.state.count_contacts() == 10


def test_max_rejected_as_a_fraction(fast_emulator, context):
    rows = _people(10) + [{"email": "bad@example.comv"}]
    op = HubSpotCreateOrUpdateContactsOperator(task_id="upsert", records=rows, max_rejected=0.2)
    assert op.execute(context)["rejected"] == 1


def test_properties_map_and_csv_source(fast_emulator, context, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("E-mail,First\na@example.com,Ann\nb@example.com,\n")
    op = HubSpotCreateOrUpdateContactsOperator(task_id="upsert", source_path=str(path),
                                               properties_map={"E-mail": "email", "First": "firstname"})
    op.execute(context)
    ann = fast_emulator.state.contact_by_email("a@example.com")
    assert ann["properties"]["firstname"] == "Ann"
    assert "firstname" not in fast_emulator.state.contact_by_email("b@example.com")["properties"]


def test_dry_run_writes_nothing(fast_emulator, context):
    rows = _people(50) + [{"email": "nope"}]
    op = HubSpotCreateOrUpdateContactsOperator(task_id="upsert", records=rows, dry_run=True, max_rejected=1)
    result = op.execute(context)
    assert result["would_write"] == 50 and result["rejected"] == 1 and result["dry_run"] is True
    assert fast_emulator.state.count_contacts() == 0
    assert not [r for r in fast_emulator.requests if r.method == "POST"]


def test_unknown_property_fails_without_retry(fast_emulator, context):
    rows = [{**p, "favourite_colour": "blue"} for p in _people(3)]
    op = HubSpotCreateOrUpdateContactsOperator(task_id="upsert", records=rows)
    with pytest.raises(AirflowFailException, match="favourite_colour"):
        op.execute(context)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "No input given"),
        ({"records": [{}], "source_path": "x.csv"}, "Two inputs given"),
        ({"records": [], "max_rejected": -1}, "max_rejected"),
    ],
)
def test_bad_operator_arguments(kwargs, message):
    with pytest.raises(HubSpotConfigError, match=message):
        HubSpotCreateOrUpdateContactsOperator(task_id="upsert", **kwargs)


def test_unreadable_file_fails_clearly(fast_emulator, context, tmp_path):
    op = HubSpotCreateOrUpdateContactsOperator(task_id="upsert", source_path=str(tmp_path / "missing.csv"))
    with pytest.raises(AirflowFailException, match="does not exist"):
        op.execute(context)


def test_rerun_creates_no_duplicates(fast_emulator, context):
    for _ in range(2):
        HubSpotCreateOrUpdateContactsOperator(task_id="upsert", records=_people(30)).execute(context)
    assert fast_emulator.state.count_contacts() == 30


def test_transient_failure_exhausting_retries_is_retryable_by_airflow(fast_emulator, context, monkeypatch):
    fast_emulator.inject_fault("503", count=50)
    point_connection(fast_emulator, monkeypatch, "hubspot_flaky", max_retries=1)
    op = HubSpotCreateOrUpdateContactsOperator(task_id="upsert", records=_people(3), hubspot_conn_id="hubspot_flaky")
    with pytest.raises(AirflowException) as info:
        op.execute(context)
    assert not isinstance(info.value, AirflowFailException)


# -- lists -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("api_version", ["v1", "2026-03"])
def test_add_to_list_reports_added_already_and_not_found(fast_emulator, context, api_version):
    vids = [fast_emulator.state.add_contact(p) for p in _people(5)]
    ids = fast_emulator.state.create_list("Newsletter")
    list_id = ids[0] if api_version == "v1" else ids[1]
    op = HubSpotAddContactsToListOperator(task_id="add", list_id=list_id, api_version=api_version,
                                          vids=vids[:3], emails=["person3@example.com", "ghost@example.com"])
    result = op.execute(context)
    assert (result["added"], result["already_members"], result["not_found"]) == (4, 0, 1)
    again = op.execute(context)
    assert (again["added"], again["already_members"]) == (0, 4)
    members = fast_emulator.state.list_members(list_id)
    assert len(members) == 4


def test_dynamic_list_is_refused_before_sending_members(fast_emulator, context):
    ids = fast_emulator.state.create_list("Smart", dynamic=True)
    op = HubSpotAddContactsToListOperator(task_id="add", list_id=ids[1], emails=["a@example.com"])
    with pytest.raises(AirflowFailException, match="dynamic"):
        op.execute(context)
    assert not [r for r in fast_emulator.requests if "memberships" in r.path]


def test_legacy_list_id_on_the_modern_api_is_explained(fast_emulator, context):
    legacy, ils = fast_emulator.state.create_list("Old list")
    op = HubSpotAddContactsToListOperator(task_id="add", list_id=legacy, emails=["a@example.com"])
    with pytest.raises(AirflowFailException, match=f"legacy.*{ils}"):
        op.execute(context)


def test_v1_lists_sunset_is_explained(fast_emulator, context):
    fast_emulator.v1_lists_sunset = True
    op = HubSpotAddContactsToListOperator(task_id="add", list_id=1, emails=["a@example.com"], api_version="v1")
    with pytest.raises(AirflowFailException, match="2026-04-30"):
        op.execute(context)


def test_unknown_list(fast_emulator, context):
    op = HubSpotAddContactsToListOperator(task_id="add", list_id=987654, emails=["a@example.com"])
    with pytest.raises(AirflowFailException, match="does not exist"):
        op.execute(context)


# -- merge -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("api_version", ["v1", "2026-03"])
def test_merge_pairs_and_retry_safety(fast_emulator, context, api_version):
    vids = [fast_emulator.state.add_contact(p) for p in _people(4)]
    pairs = [[vids[0], vids[1]], {"primary_id": vids[2], "secondary_id": vids[3]}]
    op = HubSpotMergeContactsOperator(task_id="merge", pairs=pairs, api_version=api_version)
    first = op.execute(context)
    assert (first["merged"], first["already_merged"], first["failed"]) == (2, 0, 0)
    second = op.execute(context)
    assert (second["merged"], second["already_merged"], second["failed"]) == (0, 2, 0)
    assert fast_emulator.state.count_contacts() == 2


def test_self_merge_and_unknown_ids_fail_clearly(fast_emulator, context):
    vid = fast_emulator.state.add_contact({"email": "a@example.com"})
    op = HubSpotMergeContactsOperator(task_id="merge", pairs=[[vid, vid], [vid, 424242]], max_rejected=2)
    result = op.execute(context)
    assert result["failed"] == 2
    rejects = read_jsonl(result["rejects_path"])
    assert "itself" in rejects[0]["reason"]
    single = HubSpotMergeContactsOperator(task_id="merge1", primary_id=vid, secondary_id=vid)
    with pytest.raises(AirflowFailException, match="itself"):
        single.execute(context)


def test_merge_arguments_are_checked():
    with pytest.raises(HubSpotConfigError, match="both primary_id"):
        HubSpotMergeContactsOperator(task_id="m", primary_id=1)
    with pytest.raises(HubSpotConfigError, match="one way"):
        HubSpotMergeContactsOperator(task_id="m", primary_id=1, secondary_id=2, pairs=[[3, 4]])


# -- timeline ----------------------------------------------------------------------------------------


def _timeline_setup(emulator, api_version):
    if api_version == "v1":
        return {"event_type": emulator.state.create_event_type(77, "Webinar", edition="v1"), "app_id": 77}
    if api_version == "v3":
        return {"event_type": emulator.state.create_event_type(77, "Webinar", edition="v3"), "app_id": 77}
    emulator.state.register_event_type_name("webinar_attended")
    return {"event_type": "webinar_attended"}


@pytest.mark.parametrize("api_version", ["v1", "v3", "2026-03"])
def test_timeline_events_are_created_once(fast_emulator, context, api_version):
    setup = _timeline_setup(fast_emulator, api_version)
    events = [{"email": f"person{i}@example.com", "webinar": "Intro", "id": f"evt-{i}"} for i in range(150)]
    op = HubSpotCreateTimelineEventsOperator(task_id="events", events=events, api_version=api_version, **setup)
    first = op.execute(context)
    assert (first["created"], first["already_existed"], first["rejected"]) == (150, 0, 0)
    second = op.execute(context)
    assert (second["created"], second["already_existed"]) == (0, 150)
    assert len(fast_emulator.state.timeline_events()) == 150


def test_timeline_event_shapes(fast_emulator, context):
    fast_emulator.state.register_event_type_name("webinar_attended")
    op = HubSpotCreateTimelineEventsOperator(task_id="events", events=[{"email": "a@example.com", "topic": "x"}],
                                             event_type="webinar_attended")
    op.execute(context)
    (post,) = [r for r in fast_emulator.requests if r.path.startswith("/integrators/timeline/2026-03/events")]
    (event,) = post.json["inputs"]
    assert event["eventTypeName"] == "webinar_attended" and event["properties"] == {"topic": "x"}
    assert event["id"].startswith("airflow-"), "ids are derived deterministically when missing"


def test_timeline_event_without_type_is_rejected_with_a_reason(fast_emulator, context):
    op = HubSpotCreateTimelineEventsOperator(task_id="events", events=[{"email": "a@example.com"}])
    with pytest.raises(AirflowFailException, match="no event type"):
        op.execute(context)


def test_v1_timeline_needs_an_app_id(fast_emulator, context):
    op = HubSpotCreateTimelineEventsOperator(task_id="events", events=[{"email": "a@example.com"}], event_type=1,
                                             api_version="v1")
    with pytest.raises(AirflowFailException, match="app_id"):
        op.execute(context)


def test_a_bad_event_in_a_batch_is_rejected_without_resending_events_one_by_one(fast_emulator, context):
    fast_emulator.state.register_event_type_name("visit")
    events = [{"email": f"v{i}@example.com", "id": f"visit-{i}"} for i in range(150)]
    events[40]["email"] = "v40@example.comv"
    events[120]["email"] = "v120@example.comv"
    op = HubSpotCreateTimelineEventsOperator(task_id="events", events=events, event_type="visit", max_rejected=2)
    result = op.execute(context)
    assert (result["created"], result["rejected"]) == (148, 2)
    posts = [r for r in fast_emulator.requests if r.method == "POST"]
    assert all(r.path.endswith("/events/batch") for r in posts) and len(posts) == 4
    assert len(fast_emulator.state.timeline_events()) == 148
