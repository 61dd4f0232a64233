"""Every list-returning seed method is a lazy generator: no request before the first item, one page at a time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

APP = 77


def _seed(emu):
    state = emu.state
    for i in range(3):
        state.add_contact({"email": f"p{i}@example.com"})
        campaign = state.add_email_campaign(f"C{i}")
        state.add_email_event(f"p{i}@example.com", "SENT", campaign_id=campaign)
        state.create_list(f"L{i}")
        state.create_list(f"D{i}", dynamic=True)
        state.add_subscription_type(f"S{i}")
    ids = state.create_list("Members")
    state.add_list_members(ids.legacy_id, [c["vid"] for c in state.contacts()])
    type_id = state.create_event_type(APP, "T", ["a", "b", "c"], edition="v1")
    state.create_event_type(APP, "Tpl", ["x"], edition="v3")
    return ids, type_id


CALLS = {
    "lists.iter_lists": lambda c, ids, t: c.lists.iter_lists(page_size=1),
    "lists.iter_static_lists": lambda c, ids, t: c.lists.iter_static_lists(page_size=1),
    "lists.iter_dynamic_lists": lambda c, ids, t: c.lists.iter_dynamic_lists(page_size=1),
    "lists.get_many": lambda c, ids, t: c.lists.get_many([ids.legacy_id if c.edition.is_v1 else ids.list_id] * 3,
                                                         chunk_size=1),
    "lists.iter_member_contacts": lambda c, ids, t: c.lists.iter_member_contacts(
        ids.legacy_id if c.edition.is_v1 else ids.list_id, page_size=1),
    "email.iter_subscription_types": lambda c, ids, t: c.email.iter_subscription_types(),
    "email.iter_subscription_timeline": lambda c, ids, t: c.email.iter_subscription_timeline(page_size=1),
    "email.iter_events": lambda c, ids, t: c.email.iter_events(page_size=1),
    "email.iter_recent_campaigns": lambda c, ids, t: c.email.iter_recent_campaigns(page_size=1),
    "email.iter_campaigns": lambda c, ids, t: c.email.iter_campaigns(page_size=1),
    "email.iter_smtp_tokens": lambda c, ids, t: c.email.iter_smtp_tokens(),
    "email.iter_transactional_smtp_tokens": lambda c, ids, t: c.email.iter_transactional_smtp_tokens(page_size=1),
    "email.iter_communication_definitions": lambda c, ids, t: c.email.iter_communication_definitions(),
    "properties.iter_contact_properties": lambda c, ids, t: c.properties.iter_contact_properties(),
    "timeline.iter_event_type_properties": lambda c, ids, t: c.timeline.iter_event_type_properties(APP, t),
    "timeline.iter_event_templates": lambda c, ids, t: c.timeline.iter_event_templates(APP),
    "timeline.iter_event_types": lambda c, ids, t: c.timeline.iter_event_types(APP, user_id=1),
}


@pytest.mark.parametrize("api_version", ["v1", "2026-03"])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_list_methods_are_lazy_generators(emu, make_client, name, api_version):
    ids, type_id = _seed(emu)
    client = make_client(api_version=api_version, developer=True)
    if name in ("email.iter_smtp_tokens", "email.iter_transactional_smtp_tokens"):
        for campaign in ("A", "B"):
            client.email.create_smtp_token(campaign)
    if name == "email.iter_subscription_timeline":
        for address in ("a@example.com", "b@example.com"):
            client.email.update_subscription(address, [{"id": 1, "subscribed": False}])
    before = len(emu.requests)
    result = CALLS[name](client, ids, type_id)
    assert isinstance(result, Iterator) and not isinstance(result, list)
    assert len(emu.requests) == before, "nothing is sent before the first item is asked for"
    first = next(result)
    assert first is not None
    assert len(emu.requests) - before <= 2, "only the first page (plus its batch read) was fetched"
    rest = list(result)
    if name not in ("email.iter_subscription_types", "email.iter_communication_definitions",
                    "properties.iter_contact_properties", "email.iter_smtp_tokens",
                    "timeline.iter_event_type_properties", "timeline.iter_event_templates",
                    "timeline.iter_event_types"):
        assert rest, f"{name} paged on to further pages"
