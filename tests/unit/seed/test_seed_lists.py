"""Lists seed operations against the emulator: v1 (and its sunset), v3 and date-based, legacy-id mapping."""

from __future__ import annotations

import inspect

import pytest

from airflow_provider_hubspot.client import HubSpotConfigError, HubSpotNotFoundError, HubSpotValidationError

MODERN = ["v3", "2026-03"]


def _people(emu, n):
    return [emu.state.add_contact({"email": f"p{i}@example.com", "firstname": f"P{i}"}) for i in range(n)]


def _requests(emu, method, part):
    return [r for r in emu.requests if r.method == method and part in r.path]


def test_v1_list_lifecycle(emu, make_client):
    lists = make_client(api_version="v1").lists
    static = lists.create("Static one")
    dynamic = lists.create("Dynamic one", dynamic=True, filters=[[{"operator": "EQ", "property": "city",
                                                                    "type": "string", "value": "Paris"}]])
    assert static["listType"] == "STATIC" and dynamic["dynamic"] is True
    assert lists.get(static["listId"])["name"] == "Static one"
    assert lists.update(static["listId"], {"name": "Static renamed"})["name"] == "Static renamed"
    many = list(lists.get_many([static["listId"], 999, dynamic["listId"]]))
    assert [m["listId"] for m in many] == [static["listId"], dynamic["listId"]]  # unknown ids are ignored
    for i in range(3):
        lists.create(f"Extra {i}")
    assert len(list(lists.iter_lists(page_size=2))) == 5
    assert len(_requests(emu, "GET", "/contacts/v1/lists")) >= 3  # paged, two per page
    assert {x["name"] for x in lists.iter_dynamic_lists()} == {"Dynamic one"}
    assert "Dynamic one" not in {x["name"] for x in lists.iter_static_lists(page_size=1)}
    lists.delete(dynamic["listId"])
    with pytest.raises(HubSpotNotFoundError, match="Couldn't find a List"):
        lists.get(dynamic["listId"])


def test_v1_members_all_recent_and_remove(emu, make_client):
    lists = make_client(api_version="v1").lists
    vids = _people(emu, 5)
    list_id = lists.create("Members")["listId"]
    added = lists.add_members(list_id, vids=vids[:3], emails=["p3@example.com", "nobody@example.com"])
    assert sorted(added["updated"]) == sorted(vids[:4]) and added["invalidEmails"] == ["nobody@example.com"]
    members = list(lists.iter_member_contacts(list_id, page_size=2, properties=["email"]))
    assert [c["vid"] for c in members] == sorted(vids[:4])
    assert all("addedAt" in c for c in members)
    recent = list(lists.iter_member_contacts(list_id, recent=True, page_size=3))
    assert [c["vid"] for c in recent] == sorted(vids[:4], reverse=True)  # same add time: newest vid first
    removed = lists.remove_members(list_id, [vids[0], vids[4]])
    assert removed == {"updated": [vids[0]], "discarded": [vids[4]]}
    assert [c["vid"] for c in lists.iter_members(list_id)] == sorted(vids[1:4])


def test_v1_dynamic_list_refuses_manual_members(emu, make_client):
    lists = make_client(api_version="v1").lists
    vid = _people(emu, 1)[0]
    list_id = lists.create("Dyn", dynamic=True)["listId"]
    with pytest.raises(HubSpotValidationError, match="Can not operate manually on a dynamic list") as info:
        lists.add_members(list_id, vids=[vid])
    assert info.value.status == 400
    with pytest.raises(HubSpotValidationError, match="dynamic list"):
        lists.remove_members(list_id, [vid])


def test_v1_unknown_list_is_404(emu, make_client):
    lists = make_client(api_version="v1").lists
    with pytest.raises(HubSpotNotFoundError) as info:
        lists.get(4242)
    assert info.value.status == 404
    with pytest.raises(HubSpotNotFoundError):
        list(lists.iter_member_contacts(4242))


def test_v1_lists_sunset_answers_404_but_mapping_still_works(emu, make_client):
    ids = emu.state.create_list("Old list")
    emu.v1_lists_sunset = True
    client = make_client(api_version="v1")
    calls = [
        lambda: client.lists.get(ids.legacy_id),
        lambda: client.lists.create("New"),
        lambda: client.lists.update(ids.legacy_id, {"name": "x"}),
        lambda: client.lists.delete(ids.legacy_id),
        lambda: list(client.lists.get_many([ids.legacy_id])),
        lambda: list(client.lists.iter_lists()),
        lambda: list(client.lists.iter_static_lists()),
        lambda: list(client.lists.iter_dynamic_lists()),
        lambda: list(client.lists.iter_member_contacts(ids.legacy_id, recent=True)),
        lambda: client.lists.add_members(ids.legacy_id, vids=[1]),
        lambda: client.lists.remove_members(ids.legacy_id, [1]),
    ]
    for call in calls:
        with pytest.raises(HubSpotNotFoundError):
            call()
    assert client.lists.legacy_id_mapping([ids.legacy_id]) == {str(ids.legacy_id): str(ids.list_id)}
    assert client.lists.get_legacy_id_mapping(ids.legacy_id)["listId"] == str(ids.list_id)


@pytest.mark.parametrize("api_version", MODERN)
def test_modern_list_lifecycle(emu, make_client, api_version):
    lists = make_client(api_version=api_version).lists
    manual = lists.create("Manual")
    dynamic = lists.create("Dyn", dynamic=True)
    snapshot = lists.create("Snap", processing_type="SNAPSHOT")
    assert manual["processingType"] == "MANUAL" and dynamic["processingType"] == "DYNAMIC"
    assert lists.get(manual["listId"])["name"] == "Manual"
    renamed = lists.update(manual["listId"], {"name": "Manual renamed"})
    assert renamed["name"] == "Manual renamed"
    assert [x["listId"] for x in lists.get_many([manual["listId"], "999999", dynamic["listId"]])] == [
        manual["listId"], dynamic["listId"]]
    assert len(list(lists.iter_lists(page_size=1))) == 3
    assert {x["name"] for x in lists.iter_static_lists(page_size=1)} == {"Manual renamed", "Snap"}
    assert {x["name"] for x in lists.iter_dynamic_lists()} == {"Dyn"}
    assert [x["name"] for x in lists.search_lists("renamed")] == ["Manual renamed"]
    lists.delete(snapshot["listId"])
    with pytest.raises(HubSpotNotFoundError, match="List does not exist"):
        lists.get(snapshot["listId"])
    with pytest.raises(HubSpotValidationError, match="already exists"):
        lists.update(dynamic["listId"], {"name": "Manual renamed"})
    path = "/crm/v3/lists" if api_version == "v3" else f"/crm/lists/{api_version}"
    assert _requests(emu, "PUT", f"{path}/{manual['listId']}/update-list-name")


@pytest.mark.parametrize("api_version", MODERN)
def test_modern_members_as_contacts(emu, make_client, api_version):
    lists = make_client(api_version=api_version).lists
    vids = _people(emu, 5)
    list_id = lists.create("Members")["listId"]
    outcome = lists.add_records(list_id, [vids[3], vids[1], vids[0], 999999])
    assert outcome["missing"] == ["999999"]
    contacts = list(lists.iter_member_contacts(list_id, properties=["email", "firstname"], page_size=2))
    assert [c["id"] for c in contacts] == [str(v) for v in sorted([vids[0], vids[1], vids[3]])]
    assert contacts[0]["properties"]["email"] == "p0@example.com" and contacts[0]["membershipTimestamp"]
    joined = list(lists.iter_member_contacts(list_id, recent=True, page_size=2))
    assert [c["id"] for c in joined] == [str(vids[3]), str(vids[1]), str(vids[0])]  # join order
    assert len(_requests(emu, "POST", "/batch/read")) == 4  # one batch read per page of two
    assert lists.remove_members(list_id, [vids[1]])["removed"] == [str(vids[1])]


@pytest.mark.parametrize("api_version", MODERN)
def test_modern_errors(emu, make_client, api_version):
    lists = make_client(api_version=api_version).lists
    vid = _people(emu, 1)[0]
    dynamic = lists.create("Dyn", dynamic=True)["listId"]
    with pytest.raises(HubSpotValidationError, match="DYNAMIC") as info:
        lists.add_records(dynamic, [vid])
    assert info.value.status == 400
    with pytest.raises(HubSpotNotFoundError):
        lists.get("777777")
    with pytest.raises(HubSpotConfigError, match="renamed"):
        lists.update(dynamic, {"filters": []})


def test_legacy_id_mapping_in_every_edition(emu, make_client):
    ids = emu.state.create_list("Mapped")
    for version in ("v1", "v3", "2026-03"):
        lists = make_client(api_version=version).lists
        assert lists.legacy_id_mapping([ids.legacy_id, 31337]) == {str(ids.legacy_id): str(ids.list_id)}
        assert lists.get_legacy_id_mapping(ids.legacy_id) == {"legacyListId": str(ids.legacy_id),
                                                              "listId": str(ids.list_id)}
        with pytest.raises(HubSpotNotFoundError):
            lists.get_legacy_id_mapping(31337)


def test_search_lists_is_modern_only(make_client):
    with pytest.raises(HubSpotConfigError, match="no search"):
        make_client(api_version="v1").lists.search_lists("x")


@pytest.mark.parametrize("api_version", ["v1", "2026-03"])
def test_list_reads_are_lazy_generators(emu, make_client, api_version):
    lists = make_client(api_version=api_version).lists
    for i in range(4):
        emu.state.create_list(f"L{i}")
    before = len(emu.requests)
    ids = [lst["legacy_id" if api_version == "v1" else "list_id"] for lst in emu.state.lists()]
    many = lists.get_many(ids, chunk_size=2)
    assert inspect.isgenerator(many)
    pages = lists.iter_lists(page_size=2)
    assert len(emu.requests) == before  # nothing sent until consumed
    next(many)
    next(pages)
    assert len(emu.requests) == before + 2  # one page each, not everything
