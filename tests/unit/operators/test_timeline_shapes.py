"""Timeline events in the types HubSpot's schemas declare, checked by the strict emulator."""

from __future__ import annotations

import pytest

from airflow_provider_hubspot.operators.timeline import HubSpotCreateTimelineEventsOperator


def _setup(emulator, api_version):
    if api_version == "v3":
        return {"event_type": emulator.state.create_event_type(77, "Webinar", edition="v3"), "app_id": 77}
    emulator.state.register_event_type_name("webinar_attended")
    return {"event_type": "webinar_attended"}


@pytest.mark.parametrize("api_version", ["v3", "2026-03", "2026-09"])
def test_object_id_column_is_sent_as_a_string(fast_emulator, context, api_version):
    vids = [fast_emulator.state.add_contact({"email": f"p{i}@example.com"}) for i in range(3)]
    rows = [{"vid": vid, "id": f"evt-{i}"} for i, vid in enumerate(vids)]
    rows.append({"vid": float(vids[0]), "id": "evt-float"})  # a SQL/CSV float id
    op = HubSpotCreateTimelineEventsOperator(task_id="events", events=rows, object_id_column="vid",
                                             api_version=api_version, **_setup(fast_emulator, api_version))
    result = op.execute(context)
    assert (result["created"], result["rejected"]) == (4, 0)
    sent = [e for r in fast_emulator.requests if r.method == "POST" for e in r.json["inputs"]]
    assert [e["objectId"] for e in sent] == [str(v) for v in vids] + [str(vids[0])]


@pytest.mark.parametrize("api_version", ["v3", "2026-03"])
def test_numbers_and_epoch_timestamps_are_sent_as_strings(fast_emulator, context, api_version):
    rows = [{"email": "a@example.com", "id": "e1", "timestamp": 1767225600000, "seats": 3},
            {"email": "b@example.com", "id": "e2", "properties": {"seats": 4}}]
    op = HubSpotCreateTimelineEventsOperator(task_id="events", events=rows, api_version=api_version,
                                             **_setup(fast_emulator, api_version))
    assert op.execute(context)["created"] == 2
    sent = [e for r in fast_emulator.requests if r.method == "POST" for e in r.json["inputs"]]
    key = "tokens" if api_version == "v3" else "properties"
    assert sent[0]["timestamp"] == "2026-01-01T00:00:00.000Z"
    assert [e[key] for e in sent] == [{"seats": "3"}, {"seats": "4"}]


def test_an_event_without_custom_fields_carries_the_required_empty_properties(fast_emulator, context):
    op = HubSpotCreateTimelineEventsOperator(task_id="events", events=[{"email": "a@example.com"}],
                                             api_version="2026-03", **_setup(fast_emulator, "2026-03"))
    assert op.execute(context)["created"] == 1
    (post,) = [r for r in fast_emulator.requests if r.method == "POST"]
    assert post.json["inputs"][0]["properties"] == {}
