"""The export's read side (client/exports.py) against the emulator: keyset windows past the 10,000 cap,
lanes, the list endpoint, association ids."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_hubspot.client import HubSpotClient
from airflow_provider_hubspot.client.errors import HubSpotPagingError
from airflow_provider_hubspot.client.exports import (
    ObjectReader,
    ReadStats,
    modified_property,
    read_all,
    read_modified,
    window_filters,
)

BASE_MS = 1_700_000_000_000


@pytest.fixture
def fast(hubspot_emulator):
    """The emulator without pacing (search included), and a client to match."""
    hubspot_emulator.rate_limit = 0
    hubspot_emulator.search_rate_per_second = 1_000_000
    client = HubSpotClient(hubspot_emulator.token, base_url=hubspot_emulator.url, rate_limit=1_000_000,
                           search_rate_limit=1_000_000)
    yield hubspot_emulator, client
    client.close()


def _seed(emu: Any, count: int, *, start: int = 0, spread_ms: int = 1000) -> None:
    with emu.state.lock:
        for i in range(start, start + count):
            emu.state.add_contact({"email": f"p{i}@example.com", "firstname": f"F{i}"},
                                  created_at=BASE_MS + i % spread_ms, validate=False)


def _ids(pages: Any) -> list[str]:
    return [str(item["id"]) for page in pages for item in page]


def test_modified_property_per_type():
    assert modified_property("contacts") == "lastmodifieddate"
    assert modified_property("0-1") == "lastmodifieddate"
    assert modified_property("companies") == "hs_lastmodifieddate"
    assert modified_property("2-1234567") == "hs_lastmodifieddate"


def test_window_filters_are_half_open():
    assert window_filters("lastmodifieddate", 10, 20) == [
        {"propertyName": "lastmodifieddate", "operator": "GTE", "value": "10"},
        {"propertyName": "lastmodifieddate", "operator": "LT", "value": "20"}]
    assert window_filters("x", None, None) == []


@pytest.mark.parametrize("lanes", [1, 3])
def test_a_window_of_more_than_10000_is_read_whole_and_once(fast, lanes):
    emu, client = fast
    _seed(emu, 12_500)
    stats = ReadStats()
    reader = ObjectReader.of(client, "contacts")
    pages = read_modified(reader.search, filters=window_filters("lastmodifieddate", BASE_MS, BASE_MS + 1000),
                          properties=["email"], lanes=lanes, stats=stats)
    ids = _ids(pages)
    assert len(ids) == len(set(ids)) == 12_500
    assert stats.announced == 12_500 and stats.records == 12_500
    searches = [r for r in emu.requests if r.path.endswith("/search")]
    assert all(int(r.json.get("after") or 0) == 0 for r in searches), "keyset pages: never an offset"
    if lanes == 1:
        assert stats.pages == len(searches) == 63  # ceil(12,500 / 200): no request wasted


def test_window_bounds_and_empty_window(fast):
    emu, client = fast
    _seed(emu, 300, spread_ms=300)  # contact i modified at BASE + i
    reader = ObjectReader.of(client, "contacts")
    got = _ids(read_modified(reader.search, filters=window_filters("lastmodifieddate", BASE_MS + 100, BASE_MS + 200),
                             properties=["email"]))
    emails = {emu.state.contact(i)["properties"]["email"] for i in got}
    assert emails == {f"p{i}@example.com" for i in range(100, 200)}, "since inclusive, until exclusive"
    stats = ReadStats()
    assert _ids(read_modified(reader.search, filters=window_filters("lastmodifieddate", BASE_MS + 5000, None),
                              properties=["email"], stats=stats)) == []
    assert stats.pages == 1


def test_records_leaving_the_window_while_it_is_read_do_not_shift_the_pages(fast):
    """The reason for keyset pages: with offsets, each record modified out of the window makes the next page
    skip a record that is still in it (lost for good: its time stays in this window)."""
    emu, client = fast
    _seed(emu, 1000, spread_ms=1)
    reader = ObjectReader.of(client, "contacts")
    seen_pages = 0
    first_ids: list[str] = []

    def search(body: dict[str, Any]) -> dict[str, Any]:
        nonlocal seen_pages
        answer = reader.search(body)
        seen_pages += 1
        if seen_pages == 2:  # 150 records already read leave the window (modified now)
            for record_id in first_ids[:150]:
                emu.state.update_contact(int(record_id), {"firstname": "changed"})
        first_ids.extend(str(r["id"]) for r in answer["results"])
        return answer

    ids = _ids(read_modified(search, filters=window_filters("lastmodifieddate", BASE_MS, BASE_MS + 1),
                             properties=["email"]))
    assert len(ids) == len(set(ids)) == 1000, "every record whose time was in the window when the read began"


def test_full_read_with_the_list_endpoint(fast):
    emu, client = fast
    _seed(emu, 1234)
    reader = ObjectReader.of(client, "contacts")
    stats = ReadStats()
    ids = _ids(read_all(reader, ["email"], stats=stats))
    assert len(ids) == len(set(ids)) == 1234
    assert stats.pages == 13 and stats.announced is None


def test_a_list_read_of_more_properties_than_fit_a_url_reads_them_in_the_body(fast):
    """properties="all" on a portal with hundreds of custom properties: the list URL would pass HubSpot's
    limit (414), so each page lists ids and one batch read per page brings the properties."""
    from airflow_provider_hubspot.client.exports import MAX_URL_PROPERTIES_CHARS

    emu, client = fast
    _seed(emu, 250)
    many = ["email", "firstname", *(f"custom_score_of_the_account_{i:04d}" for i in range(300))]
    assert len(",".join(many)) > MAX_URL_PROPERTIES_CHARS
    mark = len(emu.requests)
    pages = list(read_all(ObjectReader.of(client, "contacts"), many))
    records = [record for page in pages for record in page]
    assert [r["properties"]["email"] for r in records] == [f"p{i}@example.com" for i in range(250)]
    assert all(r["properties"]["firstname"] for r in records)
    sent = emu.requests[mark:]
    lists = [r for r in sent if r.method == "GET"]
    assert len(lists) == 3 and not any("custom_score" in str(r.query) for r in lists)
    reads = [r for r in sent if r.path.endswith("/batch/read")]
    assert len(reads) == 3 and all(r.json["properties"] == many for r in reads)


def test_a_url_past_hubspots_limit_is_refused_with_a_clear_error(fast, monkeypatch):
    """Without the batch-read detour, the same properties make a URL HubSpot's edge refuses (414, HTML):
    the emulator refuses it too, and the error says what to do (no retry: it cannot succeed)."""
    from airflow_provider_hubspot.client import exports
    from airflow_provider_hubspot.client.errors import HubSpotValidationError

    emu, client = fast
    _seed(emu, 3)
    monkeypatch.setattr(exports, "MAX_URL_PROPERTIES_CHARS", 1_000_000)
    many = [f"custom_score_of_the_account_{i:04d}" for i in range(300)]
    mark = len(emu.requests)
    with pytest.raises(HubSpotValidationError, match="URL is too long") as raised:
        list(read_all(ObjectReader.of(client, "contacts"), many))
    assert raised.value.status == 414
    assert [r.status for r in emu.requests[mark:]] == [414], "refused once, not retried"


def test_full_read_with_keyset_search_and_lanes(fast):
    emu, client = fast
    _seed(emu, 3000)
    reader = ObjectReader.of(client, "contacts")
    stats = ReadStats()
    ids = _ids(read_modified(reader.search, filters=[], properties=["email"], lanes=2, stats=stats))
    assert sorted(ids, key=int) == sorted({str(c["vid"]) for c in emu.state.contacts()}, key=int)
    assert stats.lanes_used == 2 and stats.id_ranges >= 2


def test_a_search_that_ignores_the_sort_stops_the_read():
    answers = iter([{"total": 400, "results": [{"id": "5"}, {"id": "9"}]},
                    {"total": 200, "results": [{"id": "7"}, {"id": "12"}]}])
    with pytest.raises(HubSpotPagingError, match="did not honour the sort"):
        _ids(read_modified(lambda body: next(answers), filters=[], properties=[], page_size=2))


class _Transport:
    """Answers association batch reads from a map, two targets per answer page."""

    def __init__(self, links: dict[str, list[str]]) -> None:
        self.links = links
        self.bodies: list[Any] = []

    def request(self, method: str, path: str, *, json_body: Any = None, **_: Any) -> Any:
        self.bodies.append(json_body)
        results = []
        for item in json_body["inputs"]:
            targets = self.links.get(item["id"], [])
            if not targets:
                continue
            start = int(item.get("after") or 0)
            result: dict[str, Any] = {"from": {"id": item["id"]},
                                      "to": [{"toObjectId": int(t), "associationTypes": []}
                                             for t in targets[start:start + 2]]}
            if start + 2 < len(targets):
                result["paging"] = {"next": {"after": str(start + 2)}}
            results.append(result)

        class Answer:
            body = {"results": results}

        return Answer()


def test_associated_ids_follow_each_records_pages():
    from airflow_provider_hubspot.client.associations import AssociationsAPI
    from airflow_provider_hubspot.client.editions import Edition
    from airflow_provider_hubspot.client.objects import ObjectsAPI

    transport, edition = _Transport({"1": ["10", "11", "12", "13", "14"], "2": ["20"]}), Edition.parse("2026-03")
    reader = ObjectReader(ObjectsAPI(transport, edition, "contacts"), AssociationsAPI(transport, edition))
    assert reader.associated_ids("companies", ["1", "2", "3"]) == {"1": ["10", "11", "12", "13", "14"],
                                                                   "2": ["20"], "3": []}
    assert [len(b["inputs"]) for b in transport.bodies] == [3, 1, 1]
    assert transport.bodies[1]["inputs"] == [{"id": "1", "after": "2"}]
