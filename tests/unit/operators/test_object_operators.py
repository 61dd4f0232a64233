"""HubSpotCreateOrUpdateObjectsOperator (every object type, values checked, associations) and
HubSpotAssociateObjectsOperator, called directly against the emulator."""

from __future__ import annotations

import pytest

from airflow_provider_hubspot._compat import AirflowFailException
from airflow_provider_hubspot.operators.contacts import HubSpotCreateOrUpdateContactsOperator
from airflow_provider_hubspot.operators.objects import (
    HubSpotAssociateObjectsOperator,
    HubSpotCreateOrUpdateObjectsOperator,
)

from .conftest import read_jsonl

PRIMARY = {"to": "companies", "column": "company_ref", "to_id_property": "external_id", "type": "primary"}


@pytest.fixture
def emu(fast_emulator):
    for object_type in ("companies", "deals", "tickets", "products", "line_items"):
        fast_emulator.state.define_property("external_id", object_type=object_type, unique=True)
    return fast_emulator


def batch_writes(emu) -> list:
    return [r for r in emu.requests if "/batch/" in r.path and r.method == "POST"]


def companies(n: int, start: int = 0) -> list[dict]:
    return [{"external_id": f"A{i}", "name": f"Account {i}", "numberofemployees": i} for i in range(start, start + n)]


@pytest.mark.parametrize(("object_type", "row"), [
    ("companies", {"name": "Acme", "numberofemployees": "12"}),
    ("deals", {"dealname": "Big", "amount": 99.5, "dealstage": "CLOSEDWON", "closedate": "2026-12-02"}),
    ("tickets", {"subject": "Broken", "hs_pipeline_stage": "1", "hs_ticket_priority": "high"}),
    ("products", {"name": "Widget", "price": "9.99"}),
    ("line_items", {"name": "2 widgets", "quantity": 2, "price": "9.99"}),
    ("0-2", {"name": "By type id"}),
])
def test_each_object_kind(emu, context, object_type, row):
    rows = [{"external_id": f"k{i}", **row} for i in range(3)]
    op = HubSpotCreateOrUpdateObjectsOperator(task_id="objects", object_type=object_type, id_property="external_id",
                                              records=rows)
    result = op.execute(context)
    assert (result["received"], result["created"], result["rejected"]) == (3, 3, 0)
    again = HubSpotCreateOrUpdateObjectsOperator(task_id="objects", object_type=object_type,
                                                 id_property="external_id", records=rows).execute(context)
    assert again["updated"] == 3
    stored = emu.objects(object_type)
    assert len(stored) == 3
    if object_type == "deals":
        assert stored[0]["properties"]["dealstage"] == "closedwon"  # matched case-blind, sent as the value
        assert stored[0]["properties"]["closedate"] == "1796169600000"


def test_custom_object(emu, context):
    type_id = emu.state.define_custom_object("car", [{"name": "vin", "hasUniqueValue": True},
                                                     {"name": "year", "type": "number"}])
    op = HubSpotCreateOrUpdateObjectsOperator(task_id="cars", object_type=type_id, id_property="vin",
                                              records=[{"vin": "V1", "year": 2020}, {"vin": "V2", "year": "soon"}],
                                              max_rejected=1)
    result = op.execute(context)
    assert (result["created"], result["rejected"]) == (1, 1)
    assert [o["properties"]["vin"] for o in emu.objects(type_id)] == ["V1"]


def test_bad_values_are_rejected_records_with_the_reason(emu, context, tmp_path):
    emu.state.define_property("tier", "enumeration", ["gold", "silver"], object_type="companies")
    rows = [*companies(3), {"external_id": "B1", "numberofemployees": "12 kg"},
            {"external_id": "B2", "tier": "platinum"}, {"external_id": "B3", "is_public": "perhaps"}]
    op = HubSpotCreateOrUpdateObjectsOperator(task_id="companies", object_type="companies", id_property="external_id",
                                              records=rows, rejects_path=str(tmp_path / "r.jsonl"), max_rejected=3)
    result = op.execute(context)
    assert (result["received"], result["created"], result["rejected"]) == (6, 3, 3)
    rejects = {r["record"]["external_id"]: r for r in read_jsonl(tmp_path / "r.jsonl")}
    assert rejects["B1"]["code"] == "INVALID_VALUE"
    assert rejects["B1"]["reason"] == "numberofemployees: '12 kg' is not a number"
    assert rejects["B2"]["reason"] == "tier: 'platinum' is not one of its options (gold, silver)"
    assert rejects["B3"]["reason"].startswith("is_public: 'perhaps' is not a yes/no value")


def test_an_unknown_property_in_every_record_is_a_configuration_error(emu, context):
    rows = [{**row, "colour": "red"} for row in companies(3)]
    op = HubSpotCreateOrUpdateObjectsOperator(task_id="companies", object_type="companies", id_property="external_id",
                                              records=rows)
    with pytest.raises(AirflowFailException, match="'colour' is not a property of companies"):
        op.execute(context)
    assert batch_writes(emu) == [] and emu.objects("companies") == []


def test_a_non_unique_id_property_is_refused_before_sending(emu, context):
    op = HubSpotCreateOrUpdateObjectsOperator(task_id="companies", object_type="companies", id_property="domain",
                                              records=[{"domain": "acme.com", "name": "Acme"}])
    with pytest.raises(AirflowFailException) as refused:
        op.execute(context)
    message = str(refused.value)
    assert "'domain' does not have unique values" in message and "hs_object_id, external_id" in message
    assert batch_writes(emu) == []


def test_hs_object_id_updates_existing_records(emu, context):
    ids = [emu.add_object("companies", {"name": f"C{i}"}) for i in range(2)]
    rows = [{"hs_object_id": str(ids[0]), "name": "Renamed"}, {"hs_object_id": "999999", "name": "Ghost"}]
    op = HubSpotCreateOrUpdateObjectsOperator(task_id="companies", object_type="companies", id_property="hs_object_id",
                                              records=rows, max_rejected=1)
    result = op.execute(context)
    assert (result["updated"], result["rejected"]) == (1, 1)
    assert emu.objects("companies")[0]["properties"]["name"] == "Renamed"


def test_associations_created_labelled_missing_and_rerun(emu, context, tmp_path):
    emu.state.store.associations.create_label("0-1", "0-2", "Billing contact", "Billed company")
    HubSpotCreateOrUpdateObjectsOperator(task_id="companies", object_type="companies", id_property="external_id",
                                         records=companies(2)).execute(context)
    people = [{"email": "a@example.com", "company_ref": "A0", "billing": "A1"},
              {"email": "b@example.com", "company_ref": "A1", "billing": ""},
              {"email": "c@example.com", "company_ref": "NOPE", "billing": None}]
    billing = {"to": "companies", "column": "billing", "to_id_property": "external_id", "type": "Billing contact"}

    def run() -> dict:
        op = HubSpotCreateOrUpdateContactsOperator(task_id="contacts", records=people, associations=[PRIMARY, billing],
                                                   rejects_path=str(tmp_path / "r.jsonl"), max_rejected=1)
        return op.execute(context)

    result = run()
    assert (result["created"], result["rejected"]) == (3, 0)
    assert (result["associated"], result["associations_failed"]) == (3, 1)
    rejects = read_jsonl(tmp_path / "r.jsonl")
    assert [r["code"] for r in rejects] == ["ASSOCIATION_FAILED"]
    assert rejects[0]["record"]["email"] == "c@example.com"
    assert "no companies record has external_id 'NOPE'" in rejects[0]["reason"]
    assert "company_ref" not in emu.state.contact_by_email("a@example.com")["properties"]
    contact_a = emu.state.contact_by_email("a@example.com")["vid"]
    links = {a["to"]: a["labels"] for a in emu.associations("contacts", "companies", contact_a)}
    company_ids = [c["id"] for c in emu.objects("companies")]
    assert links == {company_ids[0]: ["Primary"], company_ids[1]: ["Billing contact"]}
    before = emu.associations("contacts", "companies")
    again = run()
    assert (again["updated"], again["associated"], again["associations_failed"]) == (3, 3, 1)
    assert emu.associations("contacts", "companies") == before  # re-running is harmless
    without_billing = [{k: v for k, v in p.items() if k != "billing"} for p in people]
    with pytest.raises(AirflowFailException, match="more than max_rejected"):  # failed associations count
        HubSpotCreateOrUpdateContactsOperator(task_id="contacts", records=without_billing,
                                              associations=[PRIMARY]).execute(context)


def test_association_problems_found_before_sending(emu, context):
    bad_type = {**PRIMARY, "type": "Boss"}
    op = HubSpotCreateOrUpdateContactsOperator(task_id="contacts", records=[{"email": "a@example.com"}],
                                               associations=[bad_type])
    with pytest.raises(AirflowFailException, match="no association type 'Boss'"):
        op.execute(context)
    non_unique = {**PRIMARY, "to_id_property": "domain"}
    op = HubSpotCreateOrUpdateContactsOperator(task_id="contacts", records=[{"email": "a@example.com"}],
                                               associations=[non_unique])
    with pytest.raises(AirflowFailException, match="'domain' does not have unique values"):
        op.execute(context)
    with pytest.raises(AirflowFailException, match="needs column"):
        HubSpotCreateOrUpdateContactsOperator(task_id="c", records=[{"email": "a@example.com"}],
                                              associations=[{"to": "companies"}]).execute(context)
    assert batch_writes(emu) == []


def test_deals_associated_by_record_id_and_dry_run(emu, context, tmp_path):
    company = emu.add_object("companies", {"name": "Acme", "external_id": "A0"})
    rows = [{"external_id": "D1", "dealname": "Renewal", "account": str(company)}]
    spec = {"to": "companies", "column": "account", "type": "primary"}
    dry = HubSpotCreateOrUpdateObjectsOperator(task_id="deals", object_type="deals", id_property="external_id",
                                               records=rows, associations=[spec], dry_run=True).execute(context)
    assert (dry["would_write"], dry["would_associate"]) == (1, 1) and emu.objects("deals") == []
    result = HubSpotCreateOrUpdateObjectsOperator(task_id="deals", object_type="deals", id_property="external_id",
                                                  records=rows, associations=[spec]).execute(context)
    assert result["associated"] == 1
    deal = emu.objects("deals")[0]["id"]
    assert emu.associations("deals", "companies", deal)[0]["types"] == [5, 341]


def test_csv_source_needs_the_association_column_and_change_only(emu, context, tmp_path):
    path = tmp_path / "accounts.csv"
    path.write_text("external_id,name\nA0,Acme\n")
    op = HubSpotCreateOrUpdateObjectsOperator(task_id="companies", object_type="companies", id_property="external_id",
                                              source_path=str(path), associations=[{"to": "contacts", "column": "owner",
                                                                                    "to_id_property": "email"}])
    with pytest.raises(AirflowFailException, match="no 'owner' column"):
        op.execute(context)
    state = str(tmp_path / "state.json")

    def run() -> dict:
        return HubSpotCreateOrUpdateObjectsOperator(task_id="companies", object_type="companies",
                                                    id_property="external_id", records=companies(5),
                                                    state_path=state).execute(context)

    assert run()["created"] == 5
    second = run()
    assert (second["unchanged"], second["created"], second["updated"]) == (5, 0, 0)


def test_resume_file_keeps_the_association_columns(emu, context, tmp_path):
    rows = [{"email": f"p{i}@example.com", "company_ref": f"A{i}"} for i in range(250)]
    emu.inject_fault("429", count=10, path="/crm/objects/2026-09/contacts/batch/upsert", policy="DAILY")
    op = HubSpotCreateOrUpdateContactsOperator(task_id="contacts", records=rows, associations=[PRIMARY],
                                               rejects_path=str(tmp_path / "r.jsonl"), max_concurrency=1)
    with pytest.raises(AirflowFailException, match="records not yet sent are in") as stopped:
        op.execute(context)
    resume = str(stopped.value).split("are in ")[1].split(" — ")[0]
    saved = read_jsonl(resume)
    assert len(saved) == 250
    assert all(row["company_ref"] == f"A{row['email'][1:].split('@')[0]}" for row in saved)


def test_associate_objects_operator(emu, context, tmp_path):
    contacts = [emu.add_object("contacts", {"email": f"c{i}@example.com"}) for i in range(3)]
    company = emu.add_object("companies", {"name": "Acme", "external_id": "A0"})
    pairs = [{"contact": f"c{i}@example.com", "account": "A0"} for i in range(3)] + [
        {"contact": "ghost@example.com", "account": "A0"}, {"contact": "c0@example.com", "account": ""}]

    def run(**options) -> dict:
        return HubSpotAssociateObjectsOperator(
            task_id="associate", from_object_type="contacts", to_object_type="companies", records=pairs,
            from_column="contact", to_column="account", from_id_property="email", to_id_property="external_id",
            association_type="primary", rejects_path=str(tmp_path / "r.jsonl"), max_rejected=2, **options,
        ).execute(context)

    dry = run(dry_run=True)
    assert (dry["received"], dry["would_associate"], dry["rejected"]) == (5, 3, 2)
    assert emu.associations("contacts", "companies") == []
    result = run()
    assert (result["received"], result["associated"], result["rejected"], result["association_type"]) == (5, 3, 2, 1)
    reasons = sorted(r["reason"] for r in read_jsonl(tmp_path / "r.jsonl"))
    assert reasons[0] == "no contacts record has email 'ghost@example.com'"
    assert "needs both" in reasons[1]
    assert sorted(a["from"] for a in emu.associations("contacts", "companies")) == sorted(map(str, contacts))
    assert run()["associated"] == 3 and len(emu.associations("companies", "contacts", company)) == 3
    by_ids = HubSpotAssociateObjectsOperator(task_id="ids", from_object_type="companies", to_object_type="contacts",
                                             records=[{"from_id": str(company), "to_id": str(contacts[0])}])
    assert by_ids.execute(context)["associated"] == 1


def test_partitions_split_by_the_id_property(emu, context):
    rows = companies(40)
    written = []
    for index in range(3):
        result = HubSpotCreateOrUpdateObjectsOperator(task_id=f"p{index}", object_type="companies",
                                                      id_property="external_id", records=rows, partitions=3,
                                                      partition_index=index).execute(context)
        written.append(result["created"])
    assert sum(written) == 40 and all(0 < n < 40 for n in written)
    assert len(emu.objects("companies")) == 40
