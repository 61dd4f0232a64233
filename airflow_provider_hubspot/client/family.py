"""Base of the API-family classes (``client.contacts``, ``client.lists``, ...), and the helpers the
families use to answer for a write retried after HubSpot applied an earlier attempt."""

from __future__ import annotations

from typing import Any

from airflow_provider_hubspot.client.editions import Edition
from airflow_provider_hubspot.client.errors import HubSpotError, HubSpotNotFoundError
from airflow_provider_hubspot.client.transport import Response, Transport


class ApiFamily:
    """One HubSpot API family bound to the client's transport and edition.

    :param transport: the client's transport (the one request path).
    :param edition: the API edition; families without a modern successor use their v1 paths.
    """

    def __init__(self, transport: Transport, edition: Edition) -> None:
        self.transport = transport
        self.edition = edition


def settled(body: Any = None, status: int = 200) -> Response:
    """The answer standing for an earlier attempt's effect, returned by a ``reconcile`` callback of
    :meth:`Transport.request` (e.g. the contact a dropped create made)."""
    return Response(status, body, {})


def already_gone(exc: HubSpotError) -> Response | None:
    """``reconcile`` of a DELETE: a 404 to a retry means the earlier attempt (whose answer was lost) deleted it."""
    return settled(None, 204) if isinstance(exc, HubSpotNotFoundError) else None
