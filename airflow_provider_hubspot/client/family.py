"""Base of the API-family classes (``client.contacts``, ``client.lists``, ...)."""

from __future__ import annotations

from airflow_provider_hubspot.client.editions import Edition
from airflow_provider_hubspot.client.transport import Transport


class ApiFamily:
    """One HubSpot API family bound to the client's transport and edition.

    :param transport: the client's transport (the one request path).
    :param edition: the API edition; families without a modern successor use their v1 paths.
    """

    def __init__(self, transport: Transport, edition: Edition) -> None:
        self.transport = transport
        self.edition = edition
