"""Leads v1 (``/leads/v1/...``): discontinued by HubSpot on 2013-12-31 — deliberately not offered.

``client.leads`` exists so that code written for HubSpot's v1 Leads API fails with an explanation
instead of an ``AttributeError``: every attribute raises :class:`LeadsDiscontinuedError` naming the
contacts method that replaces that use. (HubSpot's modern ``/crm/v3/objects/leads`` is an unrelated
sales "lead" object.)
"""

from __future__ import annotations

from typing import NoReturn

from airflow_provider_hubspot.client.errors import HubSpotConfigError

DISCONTINUED_ON = "2013-12-31"

#: Each use of the Leads API and the contacts call that replaces it.
REPLACEMENTS: tuple[tuple[str, str], ...] = (
    ("list / search leads (GET /leads/v1/list?search=...)", "client.contacts.search(query)"),
    ("page through all leads (max/offset)", "client.contacts.iter_all()"),
    ("leads inserted or modified in a window (startTime/stopTime/timePivot)",
     "client.contacts.iter_recent('recently_created' | 'recently_updated', since_ms=...)"),
    ("get a lead by guid (guids[n], /leads/v1/lead/<guid>)",
     "client.contacts.get(vid) / client.contacts.batch_get(vids) (lead guids became contact vids)"),
    ("update a lead (closedAt, isCustomer...)",
     "client.contacts.update(vid, {'lifecyclestage': 'customer', ...})"),
    ("conversion events (leadConversionEvents)",
     "the contact's form-submissions, or client.forms.iter_submissions(form_id)"),
    ("optOut / eligibleForEmail / bounced", "client.email.get_subscription_status(email)"),
)

_BY_NAME = {
    "list": 0, "search": 0, "iter_leads": 1, "get_leads": 0, "iter_all": 1, "get": 3, "get_lead": 3,
    "get_by_guid": 3, "batch_get": 3, "update": 4, "update_lead": 4, "close": 4, "conversion_events": 5,
}


class LeadsDiscontinuedError(HubSpotConfigError):
    """The Leads v1 API was discontinued by HubSpot on 2013-12-31; use the contacts API."""


def discontinued_message(use: str | None = None) -> str:
    """The explanation raised for ``client.leads.<use>``."""
    lines = [f"HubSpot discontinued the Leads API (/leads/v1/...) on {DISCONTINUED_ON}; lead records became "
             "contacts, so this client offers no leads methods."]
    index = _BY_NAME.get(use or "")
    if index is not None:
        what, instead = REPLACEMENTS[index]
        lines.append(f"For leads.{use} ({what}) use {instead}.")
    lines.append("Replacements: " + "; ".join(f"{what} -> {instead}" for what, instead in REPLACEMENTS) + ".")
    return " ".join(lines)


class LeadsAPI:
    """A stand-in for the discontinued Leads v1 API: every attribute raises :class:`LeadsDiscontinuedError`."""

    __slots__ = ()

    def __getattr__(self, name: str) -> NoReturn:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # keep copy, pickle and introspection working
        raise LeadsDiscontinuedError(discontinued_message(name))

    def __repr__(self) -> str:
        return f"<LeadsAPI: discontinued by HubSpot on {DISCONTINUED_ON}; use client.contacts>"
