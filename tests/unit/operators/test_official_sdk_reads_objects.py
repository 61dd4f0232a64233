"""HubSpot's official SDK (``hubspot-api-client``, test extra) reads back, through the strict emulator, what our
operators wrote: companies keyed by a unique property, contacts associated with them, deals.

The SDK builds requests from HubSpot's published documents and validates the answers against them, so
this checks that the emulator speaks HubSpot's wire shapes — not our client's own.
"""

from __future__ import annotations

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.companies import BatchReadInputSimplePublicObjectId, Filter, FilterGroup, PublicObjectSearchRequest

from airflow_provider_hubspot.operators.contacts import HubSpotCreateOrUpdateContactsOperator
from airflow_provider_hubspot.operators.objects import HubSpotCreateOrUpdateObjectsOperator

PRIMARY = {"to": "companies", "column": "account_ref", "to_id_property": "external_id", "type": "primary"}


@pytest.fixture
def written(fast_emulator, context):
    emu = fast_emulator
    for object_type in ("companies", "deals"):
        emu.state.define_property("external_id", object_type=object_type, unique=True)
    accounts = [{"external_id": f"ACC-{i}", "name": f"Account {i}", "domain": f"a{i}.example.com",
                 "numberofemployees": 10 * (i + 1)} for i in range(3)]
    HubSpotCreateOrUpdateObjectsOperator(task_id="companies", object_type="companies", id_property="external_id",
                                         records=accounts).execute(context)
    people = [{"email": f"p{i}@example.com", "firstname": f"P{i}", "account_ref": f"ACC-{i % 3}"} for i in range(6)]
    HubSpotCreateOrUpdateContactsOperator(task_id="contacts", records=people, associations=[PRIMARY]).execute(context)
    deals = [{"external_id": "OPP-1", "dealname": "Renewal", "amount": 1200, "dealstage": "contractsent",
              "account_ref": "ACC-1"}]
    HubSpotCreateOrUpdateObjectsOperator(task_id="deals", object_type="deals", id_property="external_id",
                                         records=deals, associations=[PRIMARY]).execute(context)
    return emu


@pytest.fixture
def sdk(written):
    return HubSpot(access_token=written.token, host=written.url)


def test_the_sdk_reads_the_companies_we_wrote(written, sdk):
    page = sdk.crm.companies.basic_api.get_page(limit=10, properties=["external_id", "name", "numberofemployees"],
                                                associations=["contacts"])
    by_key = {c.properties["external_id"]: c for c in page.results}
    assert sorted(by_key) == ["ACC-0", "ACC-1", "ACC-2"]
    assert by_key["ACC-2"].properties["numberofemployees"] == "30"
    contacts = by_key["ACC-0"].associations["contacts"].results
    assert len(contacts) == 4  # two contacts, each with the primary and the unlabelled type
    read = sdk.crm.companies.batch_api.read(BatchReadInputSimplePublicObjectId(
        inputs=[{"id": "ACC-1"}, {"id": "ACC-9"}], id_property="external_id", properties=["name"],
        properties_with_history=[]))
    assert [c.properties["name"] for c in read.results] == ["Account 1"] and read.num_errors == 1
    found = sdk.crm.companies.search_api.do_search(PublicObjectSearchRequest(
        filter_groups=[FilterGroup(filters=[Filter(property_name="external_id", operator="EQ", value="ACC-2")])],
        properties=["name"], limit=10))
    assert found.total == 1 and found.results[0].properties["name"] == "Account 2"
    definitions = sdk.crm.properties.core_api.get_all("companies").results
    assert next(p for p in definitions if p.name == "external_id").has_unique_value is True


def test_the_sdk_reads_the_associations_we_made(written, sdk):
    contact = written.state.contact_by_email("p1@example.com")["vid"]
    company = next(c["id"] for c in written.objects("companies") if c["properties"]["external_id"] == "ACC-1")
    one = sdk.crm.associations.v4.basic_api.get_page("contacts", str(contact), "companies")
    assert [r.to_object_id for r in one.results] == [company]
    assert sorted((t.type_id, t.label) for t in one.results[0].association_types) == [(1, "Primary"), (279, None)]
    batch = sdk.crm.associations.v4.batch_api.get_page("companies", "contacts", BatchInputPublicFetchAssociationsBatchRequest(
        inputs=[PublicFetchAssociationsBatchRequest(id=company)]))
    linked = sorted(t.to_object_id for t in batch.results[0].to)
    assert linked == sorted(str(written.state.contact_by_email(f"p{i}@example.com")["vid"]) for i in (1, 4))
    deal = written.objects("deals")[0]["id"]
    deal_links = sdk.crm.associations.v4.basic_api.get_page("deals", deal, "companies").results
    assert deal_links[0].to_object_id == company
    assert {t.label for t in deal_links[0].association_types} == {"Primary", None}
    labels = sdk.crm.associations.v4.schema.definitions_api.get_all("contacts", "companies").results
    assert {(d.type_id, d.label) for d in labels} == {(279, None), (1, "Primary")}
