"""A write whose answer was lost after HubSpot applied it, then retried by the client: the summary
counts it as the outcome of the first attempt (created / added / merged), never as updated /
already a member / already existed / already merged (issue 20, item 3). The emulator's
``drop_after`` fault applies the request and then drops the connection."""

from __future__ import annotations

import time

from airflow_provider_hubspot.client import DEFAULT_API_VERSION, Edition
from airflow_provider_hubspot.operators.contacts import (
    HubSpotCreateOrUpdateContactsOperator,
    HubSpotMergeContactsOperator,
)
from airflow_provider_hubspot.operators.lists import HubSpotAddContactsToListOperator
from airflow_provider_hubspot.operators.timeline import HubSpotCreateTimelineEventsOperator

CONTEXT = {"run_id": "retried", "ti": None}
EDITION = Edition.parse(DEFAULT_API_VERSION)  # the paths the operators use by default
CRM = EDITION.crm_objects("contacts")



def _dropped(emu) -> int:
    return emu.stats["dropped"]


def test_upsert_batch_applied_then_lost_counts_created(emu):
    rows = [{"email": f"r{i}@example.com", "firstname": "R"} for i in range(150)]
    yesterday = int(time.time() * 1000) - 86_400_000
    emu.state.add_contact({"email": "r0@example.com", "firstname": "old"}, created_at=yesterday)  # really updated
    emu.inject_fault("drop_after", path=f"{CRM}/batch/upsert", method="POST")
    result = HubSpotCreateOrUpdateContactsOperator(task_id="t", records=rows).execute(CONTEXT)
    assert _dropped(emu) == 1 and result["retries"] >= 1
    assert (result["created"], result["updated"]) == (149, 1)
    assert emu.state.count_contacts() == 150


def test_list_add_applied_then_lost_counts_added(emu):
    vids = [emu.state.add_contact({"email": f"l{i}@example.com"}) for i in range(30)]
    list_id = emu.state.create_list("Static")[1]
    emu.inject_fault("drop_after", path=f"{EDITION.crm_lists}/{list_id}/memberships/add", method="PUT")
    result = HubSpotAddContactsToListOperator(task_id="t", list_id=list_id, vids=vids).execute(CONTEXT)
    assert _dropped(emu) == 1
    assert (result["added"], result["already_members"]) == (30, 0)
    assert sorted(emu.state.list_members(list_id)) == sorted(vids)


def test_timeline_batch_applied_then_lost_counts_created(emu):
    emu.state.register_event_type_name("order_placed")
    events = [{"email": f"t{i}@example.com", "id": f"order-{i}"} for i in range(40)]
    emu.inject_fault("drop_after", path=f"{EDITION.timeline}/events/batch", method="POST")
    result = HubSpotCreateTimelineEventsOperator(task_id="t", events=events, event_type="order_placed").execute(CONTEXT)
    assert _dropped(emu) == 1
    assert (result["created"], result["already_existed"], result["rejected"]) == (40, 0, 0)
    assert len(emu.state.timeline_events()) == 40


def test_merge_applied_then_lost_counts_merged(emu):
    primary = emu.state.add_contact({"email": "p@example.com"})
    secondary = emu.state.add_contact({"email": "s@example.com"})
    emu.inject_fault("drop_after", path=f"{CRM}/merge", method="POST")
    result = HubSpotMergeContactsOperator(task_id="t", primary_id=primary, secondary_id=secondary).execute(CONTEXT)
    assert _dropped(emu) == 1
    assert (result["merged"], result["already_merged"], result["failed"]) == (1, 0, 0)
