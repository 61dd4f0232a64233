"""Hostile responses end in a retry or a clear error (naming the correlation id when HubSpot sent one),
never a raw traceback from our code and never a silent success."""

from __future__ import annotations

import pytest

from airflow_provider_hubspot._compat import AirflowException
from airflow_provider_hubspot.client import HubSpotClient, HubSpotError, Record
from airflow_provider_hubspot.operators.contacts import HubSpotCreateOrUpdateContactsOperator

from ..unit.operators.conftest import point_connection

FAST = {"backoff_base": 0.01, "backoff_max": 0.02}
# kind, whether the failure has an HTTP response (and so a correlation id)
HOSTILE = [("truncated_json", True), ("wrong_shape", True), ("502_html", True), ("524_html", True),
           ("reset_mid_body", False), ("drop_before", False), ("drop_after", False), ("slow", False), ("429", True)]


def _client(emu, **options):
    return HubSpotClient(emu.token, base_url=emu.url, timeout=0.5, rate_limit_interval=0.1, **FAST, **options)


def _records(n=5):
    return [Record(i, {"email": f"h{i}@example.com", "firstname": "x"}) for i in range(n)]


@pytest.mark.parametrize(("kind", "_"), HOSTILE)
def test_one_hostile_answer_is_retried_and_nothing_is_lost(hubspot_emulator, kind, _):
    options = {"seconds": 1.0} if kind == "slow" else {}
    hubspot_emulator.interval_ms = 100
    hubspot_emulator.inject_fault(kind, path="/crm/objects/2026-09/contacts/batch/upsert", **options)
    client = _client(hubspot_emulator)
    outcome = client.contacts.upsert(_records())
    assert outcome.counts["created"] + outcome.counts["updated"] == 5 and not outcome.rejections
    assert client.stats["retries"] == 1
    assert hubspot_emulator.state.count_contacts() == 5


@pytest.mark.parametrize(("kind", "has_response"), HOSTILE)
def test_persistent_hostile_answers_end_in_a_clear_error(hubspot_emulator, kind, has_response):
    options = {"seconds": 1.0} if kind == "slow" else {}
    hubspot_emulator.interval_ms = 100
    hubspot_emulator.inject_fault(kind, count=10, path="/crm/objects/2026-09/contacts/batch/upsert", **options)
    client = _client(hubspot_emulator, max_retries=2)
    with pytest.raises(HubSpotError) as info:
        client.contacts.upsert(_records())
    text = str(info.value)
    assert "POST /crm/objects/2026-09/contacts/batch/upsert" in text
    if has_response:
        assert info.value.correlation_id and info.value.correlation_id in text
    assert "Traceback" not in text and "<html" not in text.lower()


def test_operator_turns_a_persistent_failure_into_a_retryable_task_error(hubspot_connection, monkeypatch,
                                                                          tmp_path):
    point_connection(hubspot_connection, monkeypatch, max_retries=1, **FAST)
    hubspot_connection.inject_fault("wrong_shape", count=10)
    op = HubSpotCreateOrUpdateContactsOperator(task_id="t", records=[r.data for r in _records()],
                                               rejects_path=str(tmp_path / "rejects.jsonl"))
    with pytest.raises(AirflowException, match=r"unexpected shape.*correlation id") as info:
        op.execute({"run_id": "r", "ti": None})
    assert "resume" in str(info.value), "records not written are saved for the next run"


def test_wrong_shapes_on_reads_are_errors_not_empty_results(hubspot_emulator):
    client = _client(hubspot_emulator, max_retries=0)
    for kind_path, call in [
        ("/contacts/search/v1/external/lifecyclestages", lambda: client.lifecycle.stage_counts(0, 1000)),
        ("/form-integrations/v1/submissions/forms/f", lambda: list(client.forms.iter_submissions("f"))),
        ("/crm/objects/2026-09/contacts/search", lambda: list(client.contacts.search("x"))),
    ]:
        hubspot_emulator.state.create_form("f")
        hubspot_emulator.inject_fault("wrong_shape", path=kind_path)
        with pytest.raises(HubSpotError, match="unexpected shape"):
            call()
