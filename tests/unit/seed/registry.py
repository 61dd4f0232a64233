"""Every operation of the seed documents (``/work/shared/seeds``), the client method that offers it, the
editions it works in and the emulator routes that serve it.

``test_registry.py`` checks that each method exists, that each route is served by the emulator, and that the
table in ``docs/seed-coverage.md`` is the one :mod:`tests.unit.seed.render_table` renders from this list.
Example ids in the routes: legacy list ``1``, ILS list ``500001``, app ``77``, event type / template
``1000001``, contact ``1001``.
"""

from __future__ import annotations

from dataclasses import dataclass

V1 = ("v1",)
MODERN = ("v3", "2026-03")
ALL = ("v1", "v3", "2026-03")
SEED_FILES = {
    "000": "000_2d154266447c111c.txt (GET /contacts/v1/contact/byUtk/batch)",
    "001": "001_c90eedabb58adb7b.txt (GET /contacts/v1/contact/utks/batch)",
    "002": "002_fc10aaeb9a78d02e.txt (the v1 operation list: contacts, lists, timeline, email, properties)",
    "003": "003_b1bc036ab0df0ff5.txt (POST /crm/v3/objects/contacts/batch/read)",
    "004": "004_ad8a4b9e2127a17a.txt (Leads API: GET /leads/v1/list)",
    "brief": "not a seed operation of its own; required by issue 10 / hubspot-api.md (named in the note)",
}


@dataclass(frozen=True)
class Binding:
    """One way the client offers an operation.

    :param method: dotted path below ``HubSpotClient`` (``lists.get_many``).
    :param editions: the ``api_version`` values it works in (``v1``, ``v3``, ``2026-03`` = any date-based).
    :param routes: ``"METHOD /path"`` of every emulator route it calls, with example ids.
    :param args: how to call it, when the method covers several operations (``by="utk"``).
    :param fixed_path: the path does not depend on the edition (``"v1"`` / ``"v3"``).
    """

    method: str
    editions: tuple[str, ...]
    routes: tuple[str, ...]
    args: str = ""
    fixed_path: str | None = None


@dataclass(frozen=True)
class SeedOperation:
    name: str
    seed: str
    bindings: tuple[Binding, ...]
    note: str = ""
    discontinued: bool = False


def _b(method: str, editions: tuple[str, ...], *routes: str, args: str = "", fixed_path: str | None = None) -> Binding:
    return Binding(method, editions, tuple(routes), args, fixed_path)


def _op(name: str, seed: str, *bindings: Binding, note: str = "", discontinued: bool = False) -> SeedOperation:
    return SeedOperation(name, seed, tuple(bindings), note, discontinued)


_CRM = "/crm/v3/objects/contacts"
_CRM_D = "/crm/objects/2026-03/contacts"
_L = "/contacts/v1/lists"
_ILS = "/crm/v3/lists"
_ILS_D = "/crm/lists/2026-03"
_TL1 = "/integrations/v1/77/timeline"
_TPL = "/integrators/timeline/v3/77/event-templates"
_E = "/email/public/v1"
_TX = "/marketing/v3/transactional"
_CP = "/communication-preferences/v3"

SEED_OPERATIONS: tuple[SeedOperation, ...] = (
    # -- contacts ---------------------------------------------------------------------------------
    _op("Get a batch of contacts by user token", "000",
        _b("contacts.batch_get", V1, "GET /contacts/v1/contact/utks/batch", "GET /contacts/v1/contact/byUtk/batch",
           args='by="utk"'),
        note="modern editions have no utk look-up"),
    _op("Get a batch of contacts by user tokens", "001, 002",
        _b("contacts.batch_get", V1, "GET /contacts/v1/contact/utks/batch", args='by="utk"')),
    _op("Get a batch of contacts by id (v3 batch read)", "003",
        _b("contacts.batch_get", MODERN, f"POST {_CRM}/batch/read", f"POST {_CRM_D}/batch/read")),
    _op("Create or update a group of contacts", "002",
        _b("contacts.upsert", V1, "POST /contacts/v1/contact/batch"),
        _b("contacts.upsert", MODERN, f"POST {_CRM}/batch/upsert", f"POST {_CRM_D}/batch/upsert")),
    _op("Create a new contact", "002",
        _b("contacts.create", V1, "POST /contacts/v1/contact"),
        _b("contacts.create", MODERN, f"POST {_CRM}", f"POST {_CRM_D}")),
    _op("Create or update a contact by email", "002",
        _b("contacts.create_or_update_by_email", V1, "POST /contacts/v1/contact/createOrUpdate/email/a@example.com"),
        _b("contacts.create_or_update_by_email", MODERN, f"POST {_CRM}/batch/upsert", f"POST {_CRM_D}/batch/upsert")),
    _op("Delete a contact", "002",
        _b("contacts.delete", V1, "DELETE /contacts/v1/contact/vid/1001"),
        _b("contacts.delete", MODERN, f"DELETE {_CRM}/1001", f"DELETE {_CRM_D}/1001")),
    _op("Get a batch of contacts by email", "002",
        _b("contacts.batch_get", V1, "GET /contacts/v1/contact/emails/batch", args='by="email"'),
        _b("contacts.batch_get", MODERN, f"POST {_CRM}/batch/read", f"POST {_CRM_D}/batch/read", args='by="email"')),
    _op("Get a batch of contacts by vid", "002",
        _b("contacts.batch_get", V1, "GET /contacts/v1/contact/vids/batch"),
        _b("contacts.batch_get", MODERN, f"POST {_CRM}/batch/read", f"POST {_CRM_D}/batch/read")),
    _op("Get a contact by email", "002",
        _b("contacts.get", V1, "GET /contacts/v1/contact/email/a@example.com/profile", args='by="email"'),
        _b("contacts.get", MODERN, f"GET {_CRM}/a@example.com", f"GET {_CRM_D}/a@example.com", args='by="email"')),
    _op("Get a contact by user token", "002",
        _b("contacts.get", V1, "GET /contacts/v1/contact/utk/abc/profile", args='by="utk"'),
        note="modern editions have no utk look-up"),
    _op("Get a contact by vid", "002",
        _b("contacts.get", V1, "GET /contacts/v1/contact/vid/1001/profile"),
        _b("contacts.get", MODERN, f"GET {_CRM}/1001", f"GET {_CRM_D}/1001")),
    _op("Update a contact by vid", "002",
        _b("contacts.update", V1, "POST /contacts/v1/contact/vid/1001/profile"),
        _b("contacts.update", MODERN, f"PATCH {_CRM}/1001", f"PATCH {_CRM_D}/1001")),
    _op("Update a contact by email", "002",
        _b("contacts.update", V1, "POST /contacts/v1/contact/email/a@example.com/profile", args='by="email"'),
        _b("contacts.update", MODERN, f"PATCH {_CRM}/a@example.com", f"PATCH {_CRM_D}/a@example.com",
           args='by="email"')),
    _op("Merge two contacts", "002",
        _b("contacts.merge", V1, "POST /contacts/v1/contact/merge-vids/1001"),
        _b("contacts.merge", MODERN, f"POST {_CRM}/merge", f"POST {_CRM_D}/merge")),
    _op("Get all contacts", "002",
        _b("contacts.iter_all", V1, "GET /contacts/v1/lists/all/contacts/all"),
        _b("contacts.iter_all", MODERN, f"GET {_CRM}", f"GET {_CRM_D}")),
    _op("Get recently created contacts", "002",
        _b("contacts.iter_recent", V1, "GET /contacts/v1/lists/all/contacts/recent", args='"recently_created"'),
        _b("contacts.iter_recent", MODERN, f"POST {_CRM}/search", f"POST {_CRM_D}/search",
           args='"recently_created"')),
    _op("Get recently updated contacts", "002",
        _b("contacts.iter_recent", V1, "GET /contacts/v1/lists/recently_updated/contacts/recent"),
        _b("contacts.iter_recent", MODERN, f"POST {_CRM}/search", f"POST {_CRM_D}/search")),
    _op("Search contacts", "002",
        _b("contacts.search", V1, "GET /contacts/v1/search/query"),
        _b("contacts.search", MODERN, f"POST {_CRM}/search", f"POST {_CRM_D}/search")),
    _op("Get contact statistics", "002",
        _b("contacts.statistics", ALL, "GET /contacts/v1/contacts/statistics", fixed_path="v1"),
        note="002 lists one operation only as 'This operation has no parameters' (statistics or SMTP token list)"),
    _op("Lifecycle stage metrics", "002",
        _b("lifecycle.stage_counts", ALL, "GET /contacts/search/v1/external/lifecyclestages", fixed_path="v1")),
    _op("Get a contact property", "002",
        _b("properties.get_contact_property", V1, "GET /properties/v1/contacts/properties/named/email"),
        _b("properties.get_contact_property", MODERN, "GET /crm/v3/properties/contacts/email",
           "GET /crm/properties/2026-03/contacts/email")),
    # -- lists ----------------------------------------------------------------------------------------
    _op("Add contacts to a list", "002",
        _b("lists.add_members", V1, f"POST {_L}/1/add"),
        _b("lists.add_records", MODERN, f"PUT {_ILS}/500001/memberships/add", f"PUT {_ILS_D}/500001/memberships/add")),
    _op("Remove contacts from a list", "brief",
        _b("lists.remove_members", V1, f"POST {_L}/1/remove"),
        _b("lists.remove_members", MODERN, f"PUT {_ILS}/500001/memberships/remove",
           f"PUT {_ILS_D}/500001/memberships/remove"),
        note="hubspot-api.md §6.1 / §6.2"),
    _op("Create a list", "002",
        _b("lists.create", V1, f"POST {_L}"),
        _b("lists.create", MODERN, f"POST {_ILS}", f"POST {_ILS_D}")),
    _op("Update a list", "002",
        _b("lists.update", V1, f"POST {_L}/1"),
        _b("lists.update", MODERN, f"PUT {_ILS}/500001/update-list-name", f"PUT {_ILS_D}/500001/update-list-name"),
        note="modern editions can only rename"),
    _op("Delete a list", "002",
        _b("lists.delete", V1, f"DELETE {_L}/1"),
        _b("lists.delete", MODERN, f"DELETE {_ILS}/500001", f"DELETE {_ILS_D}/500001")),
    _op("Get a list by id", "002",
        _b("lists.get", V1, f"GET {_L}/1"),
        _b("lists.get", MODERN, f"GET {_ILS}/500001", f"GET {_ILS_D}/500001")),
    _op("Get a group of lists by id", "002",
        _b("lists.get_many", V1, f"GET {_L}/batch"),
        _b("lists.get_many", MODERN, f"GET {_ILS}", f"GET {_ILS_D}")),
    _op("Get all lists", "002",
        _b("lists.iter_lists", V1, f"GET {_L}"),
        _b("lists.iter_lists", MODERN, f"POST {_ILS}/search", f"POST {_ILS_D}/search")),
    _op("Get static lists", "002",
        _b("lists.iter_static_lists", V1, f"GET {_L}/static"),
        _b("lists.iter_static_lists", MODERN, f"POST {_ILS}/search", f"POST {_ILS_D}/search"),
        note="modern: MANUAL and SNAPSHOT lists"),
    _op("Get dynamic lists", "002",
        _b("lists.iter_dynamic_lists", V1, f"GET {_L}/dynamic"),
        _b("lists.iter_dynamic_lists", MODERN, f"POST {_ILS}/search", f"POST {_ILS_D}/search")),
    _op("Get contacts in a list", "002",
        _b("lists.iter_member_contacts", V1, f"GET {_L}/1/contacts/all"),
        _b("lists.iter_member_contacts", MODERN, f"GET {_ILS}/500001/memberships", f"POST {_CRM}/batch/read",
           f"GET {_ILS_D}/500001/memberships", f"POST {_CRM_D}/batch/read"),
        note="lists.iter_members yields the bare memberships"),
    _op("Get recently added contacts from a list", "002",
        _b("lists.iter_member_contacts", V1, f"GET {_L}/1/contacts/recent", args="recent=True"),
        _b("lists.iter_member_contacts", MODERN, f"GET {_ILS}/500001/memberships/join-order",
           f"POST {_CRM}/batch/read", f"GET {_ILS_D}/500001/memberships/join-order", f"POST {_CRM_D}/batch/read",
           args="recent=True")),
    _op("Map legacy list ids to ILS ids", "brief",
        _b("lists.legacy_id_mapping", ALL, f"POST {_ILS}/idmapping", f"POST {_ILS_D}/idmapping"),
        _b("lists.get_legacy_id_mapping", ALL, f"GET {_ILS}/idmapping", f"GET {_ILS_D}/idmapping"),
        note="hubspot-api.md §6.2; v1 editions use the v3 path"),
    # -- timeline -------------------------------------------------------------------------------------
    _op("Create or update a group of timeline events", "002",
        _b("timeline.create_events", V1, f"POST {_TL1}/event/batch"),
        _b("timeline.create_events", MODERN, "POST /integrators/timeline/v3/events/batch/create",
           "POST /integrators/timeline/2026-03/events/batch")),
    _op("Create or update a timeline event", "002",
        _b("timeline.create_event", V1, f"POST {_TL1}/event"),
        _b("timeline.create_event", MODERN, "POST /integrators/timeline/v3/events",
           "POST /integrators/timeline/2026-03/events"),
        note="events are immutable since 2024-12-02: a used id is refused"),
    _op("Get a timeline event", "002",
        _b("timeline.get_event", V1, f"GET {_TL1}/event/1000001/e1"),
        _b("timeline.get_event", ("v3",), "GET /integrators/timeline/v3/events/1000001/e1"),
        note="the date-based timeline API has no read endpoint (hubspot-api.md §7.2)"),
    _op("Create a timeline event type", "002",
        _b("timeline.create_event_type", V1, f"POST {_TL1}/event-types"),
        _b("timeline.create_event_template", MODERN, f"POST {_TPL}", fixed_path="v3"),
        note="developer key"),
    _op("Get timeline event types", "002",
        _b("timeline.iter_event_types", V1, f"GET {_TL1}/event-types"),
        _b("timeline.iter_event_templates", MODERN, f"GET {_TPL}", fixed_path="v3"),
        note="developer key"),
    _op("Get a timeline event type", "brief",
        _b("timeline.get_event_type", V1, f"GET {_TL1}/event-types/1000001"),
        _b("timeline.get_event_template", MODERN, f"GET {_TPL}/1000001", fixed_path="v3"),
        note="developer key; hubspot-api.md §7.1"),
    _op("Update a timeline event type", "002",
        _b("timeline.update_event_type", V1, f"PUT {_TL1}/event-types/1000001"),
        _b("timeline.update_event_template", MODERN, f"PUT {_TPL}/1000001", fixed_path="v3"),
        note="developer key"),
    _op("Delete a timeline event type", "002",
        _b("timeline.delete_event_type", V1, f"DELETE {_TL1}/event-types/1000001"),
        _b("timeline.delete_event_template", MODERN, f"DELETE {_TPL}/1000001", fixed_path="v3"),
        note="developer key"),
    _op("Get the properties of a timeline event type", "002",
        _b("timeline.iter_event_type_properties", V1, f"GET {_TL1}/event-types/1000001/properties"),
        _b("timeline.get_event_template", MODERN, f"GET {_TPL}/1000001", fixed_path="v3"),
        note="developer key; v3 tokens come with their template"),
    _op("Create a timeline event type property", "002",
        _b("timeline.create_event_type_property", V1, f"POST {_TL1}/event-types/1000001/properties"),
        _b("timeline.create_template_token", MODERN, f"POST {_TPL}/1000001/tokens", fixed_path="v3"),
        note="developer key"),
    _op("Update a timeline event type property", "002",
        _b("timeline.update_event_type_property", V1, f"PUT {_TL1}/event-types/1000001/properties"),
        _b("timeline.update_template_token", MODERN, f"PUT {_TPL}/1000001/tokens/seat", fixed_path="v3"),
        note="developer key"),
    _op("Delete a timeline event type property", "brief",
        _b("timeline.delete_event_type_property", V1, f"DELETE {_TL1}/event-types/1000001/properties/1"),
        _b("timeline.delete_template_token", MODERN, f"DELETE {_TPL}/1000001/tokens/seat", fixed_path="v3"),
        note="developer key; hubspot-api.md §7.1"),
    # -- email ----------------------------------------------------------------------------------------
    _op("Get email subscription types", "002",
        _b("email.iter_subscription_types", ALL, f"GET {_E}/subscriptions", fixed_path="v1"),
        _b("email.iter_communication_definitions", ALL, f"GET {_CP}/definitions", fixed_path="v3")),
    _op("Get the subscription status of an address", "002",
        _b("email.get_subscription_status", ALL, f"GET {_E}/subscriptions/a@example.com", fixed_path="v1"),
        _b("email.get_communication_status", ALL, f"GET {_CP}/status/email/a@example.com", fixed_path="v3")),
    _op("Update the subscription status of an address", "002",
        _b("email.update_subscription", ALL, f"PUT {_E}/subscriptions/a@example.com", fixed_path="v1"),
        _b("email.subscribe_communication", ALL, f"POST {_CP}/subscribe", fixed_path="v3"),
        _b("email.unsubscribe_communication", ALL, f"POST {_CP}/unsubscribe", fixed_path="v3")),
    _op("Unsubscribe an address from all email (irreversible)", "002",
        _b("email.unsubscribe_from_all_irreversibly", ALL, f"PUT {_E}/subscriptions/a@example.com",
           fixed_path="v1")),
    _op("Get the subscription change timeline", "002",
        _b("email.iter_subscription_timeline", ALL, f"GET {_E}/subscriptions/timeline", fixed_path="v1")),
    _op("Get email events", "002",
        _b("email.iter_events", ALL, f"GET {_E}/events", fixed_path="v1"),
        note="no modern successor"),
    _op("Get an email event by id", "002",
        _b("email.get_event", ALL, f"GET {_E}/events/1700000000000/e1", fixed_path="v1")),
    _op("Get recent campaigns", "002",
        _b("email.iter_recent_campaigns", ALL, f"GET {_E}/campaigns", fixed_path="v1")),
    _op("Get all campaigns", "002",
        _b("email.iter_campaigns", ALL, f"GET {_E}/campaigns/by-id", fixed_path="v1")),
    _op("Get campaign data", "002",
        _b("email.get_campaign", ALL, f"GET {_E}/campaigns/14845001", fixed_path="v1")),
    _op("Create an SMTP API token", "002",
        _b("email.create_smtp_token", ALL, f"POST {_E}/smtpapi/tokens", fixed_path="v1"),
        _b("email.create_transactional_smtp_token", ALL, f"POST {_TX}/smtp-tokens", fixed_path="v3"),
        note="the password is returned once and redacted from logs"),
    _op("List SMTP API tokens", "002",
        _b("email.iter_smtp_tokens", ALL, f"GET {_E}/smtpapi/tokens", fixed_path="v1"),
        _b("email.iter_transactional_smtp_tokens", ALL, f"GET {_TX}/smtp-tokens", fixed_path="v3"),
        note="named in 002's password-reset text; passwords are never listed"),
    _op("Reset the password of an SMTP API token", "002",
        _b("email.reset_smtp_password", ALL, f"POST {_E}/smtpapi/tokens/tok@62515.smtp.hubspot.net/password-reset",
           fixed_path="v1"),
        _b("email.reset_transactional_smtp_password", ALL,
           f"POST {_TX}/smtp-tokens/tok@62515.smtp.hubspot.net/password-reset", fixed_path="v3")),
    _op("Send a single email", "002",
        _b("email.send_single_email", ALL, f"POST {_E}/singleEmail/send", fixed_path="v1"),
        _b("email.send_transactional_email", ALL, f"POST {_TX}/single-email/send", fixed_path="v3")),
    # -- leads ----------------------------------------------------------------------------------------
    _op("Get leads", "004",
        _b("leads.list", (), "GET /leads/v1/list"),  # named, not served: HubSpot answers 404
        note="discontinued by HubSpot on 2013-12-31: raises LeadsDiscontinuedError naming the contacts method",
        discontinued=True),
)
