"""Account details (``GET /account-info/v3/details``): the portal id and the account's settings.

Used to name the provider's OpenLineage namespace, ``hubspot://<portal id>``. Reads only: safe to retry.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow_provider_hubspot.client.errors import HubSpotError
from airflow_provider_hubspot.client.family import ApiFamily

log = logging.getLogger(__name__)
PATH = "/account-info/v3/details"


class AccountAPI(ApiFamily):
    """The account (portal) the token belongs to."""

    def details(self) -> dict[str, Any]:
        """``{"portalId", "accountType", "timeZone", "companyCurrency", "uiDomain", ...}``.

        Retry: safe — a read.
        """
        body = self.transport.request("GET", PATH, expect=lambda b: isinstance(b, dict) and "portalId" in b).body
        return dict(body)

    def portal_id(self) -> str | None:
        """The portal (account) id as text, or ``None`` when HubSpot does not say (the error is logged)."""
        try:
            return str(self.details()["portalId"])
        except HubSpotError as exc:
            log.info("The HubSpot account id could not be read (%s)", exc)
            return None


def portal_id(client: Any) -> str | None:
    """The portal id of ``client``'s token (see :meth:`AccountAPI.portal_id`)."""
    return AccountAPI(client.transport, client.edition).portal_id()
