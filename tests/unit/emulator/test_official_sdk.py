"""HubSpot's official Python SDK (``hubspot-api-client``, v3 paths) against the strict emulator.

The SDK is generated from HubSpot's published OpenAPI documents: it builds the requests HubSpot
documents and validates the answers against the same documents (required fields, types). A call that
passes here is one the emulator serves as HubSpot publishes it, in both directions.
"""

from __future__ import annotations

import pytest
from hubspot import HubSpot  # hubspot-api-client, in the test extra
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicGdprDeleteInput,
    PublicMergeInput,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.contacts.exceptions import ApiException


@pytest.fixture
def sdk(emu):
    return HubSpot(access_token=emu.token, host=emu.url)


def test_contacts_basic(emu, sdk):
    api = sdk.crm.contacts.basic_api
    created = api.create(SimplePublicObjectInputForCreate(properties={"email": "ann@example.com", "firstname": "Ann"}))
    assert created.properties["email"] == "ann@example.com"
    got = api.get_by_id(created.id, properties=["firstname"])
    assert got.properties["firstname"] == "Ann"
    by_email = api.get_by_id("ann@example.com", id_property="email")
    assert by_email.id == created.id
    updated = api.update(created.id, SimplePublicObjectInput(properties={"lastname": "Lee"}))
    assert updated.properties["lastname"] == "Lee"
    page = api.get_page(limit=10)
    assert [c.id for c in page.results] == [created.id]
    api.archive(created.id)
    with pytest.raises(ApiException) as missing:
        api.get_by_id(created.id)
    assert missing.value.status == 404


def test_contacts_batch(emu, sdk):
    batch = sdk.crm.contacts.batch_api
    upsert = BatchInputSimplePublicObjectBatchInputUpsert(inputs=[
        SimplePublicObjectBatchInputUpsert(id=f"p{i}@example.com", id_property="email",
                                           properties={"firstname": f"P{i}"}) for i in range(3)])
    answer = batch.upsert(upsert)
    assert sorted(r.properties["firstname"] for r in answer.results) == ["P0", "P1", "P2"]
    assert all(r.new for r in answer.results)
    ids = [r.id for r in answer.results]
    read = batch.read(BatchReadInputSimplePublicObjectId(
        inputs=[{"id": i} for i in [*ids, "424242"]], properties=["firstname"], properties_with_history=[]))
    assert sorted(r.id for r in read.results) == sorted(ids)
    assert read.num_errors == 1 and read.errors[0].category == "OBJECT_NOT_FOUND"  # 207, read by the SDK
    batch.archive(BatchInputSimplePublicObjectId(inputs=[{"id": ids[0]}]))
    assert emu.state.count_contacts() == 2


def test_contacts_search(emu, sdk):
    for i in range(12):
        emu.state.add_contact({"email": f"s{i}@example.com", "firstname": "Even" if i % 2 == 0 else "Odd"})
    request = PublicObjectSearchRequest(
        filter_groups=[FilterGroup(filters=[Filter(property_name="firstname", operator="EQ", value="Even")])],
        properties=["email"], limit=4)
    page = sdk.crm.contacts.search_api.do_search(request)
    assert page.total == 6 and len(page.results) == 4 and page.paging.next.after == "4"


def test_contacts_merge(emu, sdk):
    a = emu.state.add_contact({"email": "a@example.com"})
    b = emu.state.add_contact({"email": "b@example.com"})
    survivor = sdk.crm.contacts.basic_api.merge(PublicMergeInput(primary_object_id=str(a), object_id_to_merge=str(b)))
    assert survivor.id == str(a) and emu.state.count_contacts() == 1


def test_contacts_gdpr_delete(emu, sdk):
    vid = emu.state.add_contact({"email": "forget@example.com"})
    sdk.crm.contacts.basic_api.purge(PublicGdprDeleteInput(object_id=str(vid)))
    assert emu.state.count_contacts() == 0 and "forget@example.com" in emu.state.gdpr_blocklist
    sdk.crm.contacts.basic_api.purge(PublicGdprDeleteInput(object_id="nobody@example.com", id_property="email"))
    assert "nobody@example.com" in emu.state.gdpr_blocklist


def test_lists(emu, sdk):
    from hubspot.crm.lists import ListCreateRequest, ListSearchRequest

    vids = [str(emu.state.add_contact({"email": f"m{i}@example.com"})) for i in range(3)]
    created = sdk.crm.lists.lists_api.create(ListCreateRequest(name="Newsletter", object_type_id="0-1",
                                                               processing_type="MANUAL"))
    list_id = created.list.list_id
    added = sdk.crm.lists.memberships_api.add(list_id, request_body=vids + ["999999"])
    assert sorted(added.records_ids_added) == sorted(vids) and added.record_ids_missing == ["999999"]
    page = sdk.crm.lists.memberships_api.get_page(list_id, limit=2)
    assert len(page.results) == 2
    found = sdk.crm.lists.lists_api.get_by_id(list_id)
    assert found.list.name == "Newsletter"
    searched = sdk.crm.lists.lists_api.do_search(ListSearchRequest(query="News", offset=0, count=10))
    assert [lst.list_id for lst in searched.lists] == [list_id]
    sdk.crm.lists.memberships_api.remove(list_id, request_body=vids[:1])
    assert len(emu.state.list_members(list_id)) == 2


def test_timeline(emu, sdk):
    from hubspot.crm.timeline import BatchInputTimelineEvent, TimelineEvent

    template = emu.state.create_event_type(77, "Webinar", ["topic"], edition="v3")
    vid = emu.state.add_contact({"email": "t@example.com"})
    events = sdk.crm.timeline.events_api
    one = events.create(TimelineEvent(event_template_id=template, id="ev-1", email="t@example.com",
                                      tokens={"topic": "Intro"}))
    assert one.id == "ev-1" and one.tokens == {"topic": "Intro"}
    _, status, _ = events.create_batch_with_http_info(BatchInputTimelineEvent(inputs=[
        TimelineEvent(event_template_id=template, id="ev-2", object_id=str(vid), tokens={"topic": "Deep dive"}),
        TimelineEvent(event_template_id=template, id="ev-3", email="u@example.com", tokens={}),
    ]))  # the SDK's document declares no body for this answer
    assert status == 201
    assert sorted(e["id"] for e in emu.state.timeline_events()) == ["ev-1", "ev-2", "ev-3"]
