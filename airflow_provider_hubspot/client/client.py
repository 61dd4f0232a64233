"""``HubSpotClient``: the Airflow-free entry point that ties auth, transport and API families together."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow_provider_hubspot.client.associations import AssociationsAPI
from airflow_provider_hubspot.client.auth import Auth
from airflow_provider_hubspot.client.contacts import ContactsAPI
from airflow_provider_hubspot.client.editions import Edition
from airflow_provider_hubspot.client.email import EmailAPI
from airflow_provider_hubspot.client.forms import FormsAPI
from airflow_provider_hubspot.client.leads import LeadsAPI
from airflow_provider_hubspot.client.lifecycle import LifecycleAPI
from airflow_provider_hubspot.client.lists import ListsAPI
from airflow_provider_hubspot.client.objects import ObjectsAPI, object_type_name
from airflow_provider_hubspot.client.properties import PropertiesAPI
from airflow_provider_hubspot.client.timeline import TimelineAPI
from airflow_provider_hubspot.client.transport import Transport, normalize_base_url


class HubSpotClient:
    """A HubSpot API client: one session, one pacing budget, one retry policy for every call.

    :param access_token: private-app token, service key or OAuth access token.
    :param base_url: API base URL; empty means ``https://api.hubapi.com``.
    :param allow_insecure_http: accept a plain ``http://`` base URL on another machine (the token
        travels in clear text); without it only loopback hosts may use ``http://``.
    :param api_version: the HubSpot API version asked for: a date version (``2026-09`` default,
        ``2026-03``; any ``YYYY-MM`` up to the newest supported), ``v3`` or ``v1``. Each API family uses
        the newest version it has that is not newer (``client.edition.describe()`` says which).
    :param client_id: OAuth client id (refresh is automatic with ``client_secret`` + ``refresh_token``).
    :param client_secret: OAuth client secret.
    :param refresh_token: OAuth refresh token.
    :param developer_api_key: developer key for timeline event-type/template management.
    :param rate_limit: requests per ``rate_limit_interval`` seconds (HubSpot: 100, or 190 for
        Professional/Enterprise).
    :param rate_limit_interval: HubSpot's rolling window in seconds (10).
    :param search_rate_limit: search requests per second (4).
    :param max_retries: retries of one request on 429/5xx/timeouts/resets.
    :param timeout: seconds to wait for connect and each read.
    :param pool_size: HTTP connections kept open (at least the concurrency you use).
    :param on_new_secret: called with every secret value (and refreshed tokens), e.g. Airflow's
        ``mask_secret``.
    """

    def __init__(
        self,
        access_token: str | None = None,
        *,
        base_url: str | None = None,
        allow_insecure_http: bool = False,
        api_version: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        refresh_token: str | None = None,
        developer_api_key: str | None = None,
        legacy_hapikey: str | None = None,
        allow_legacy_hapikey: bool = False,
        rate_limit: int = 100,
        rate_limit_interval: float = 10.0,
        search_rate_limit: int = 4,
        max_retries: int = 6,
        timeout: float = 60.0,
        pool_size: int = 16,
        on_new_secret: Callable[[str], None] | None = None,
        **transport_options: Any,
    ) -> None:
        self.edition = Edition.parse(api_version)
        self.auth = Auth(
            access_token=access_token,
            token_paths=(self.edition.oauth_token_path, "/oauth/v1/token"),  # the edition's endpoint, then v1
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
            developer_api_key=developer_api_key,
            legacy_hapikey=legacy_hapikey,
            allow_legacy_hapikey=allow_legacy_hapikey,
        )
        self.transport = Transport(
            normalize_base_url(base_url, allow_insecure_http=allow_insecure_http),
            self.auth,
            rate_limit=rate_limit,
            rate_limit_interval=rate_limit_interval,
            search_rate_limit=search_rate_limit,
            max_retries=max_retries,
            timeout=timeout,
            pool_size=pool_size,
            on_new_secret=on_new_secret,
            **transport_options,
        )
        self._init_families()

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    @property
    def stats(self) -> dict[str, int]:
        """Requests sent, retries taken, 429s received and token refreshes so far."""
        return {**self.transport.stats.as_dict(), "refreshes": self.auth.refresh_count}

    def with_edition(self, api_version: str | None) -> HubSpotClient:
        """A view of this client in another edition, sharing session, pacing and credentials."""
        if api_version is None or Edition.parse(api_version) == self.edition:
            return self
        clone = object.__new__(HubSpotClient)
        clone.__dict__.update(self.__dict__)
        clone.edition = Edition.parse(api_version)
        clone._init_families()
        return clone

    def objects(self, object_type: str) -> ObjectsAPI:
        """The CRM objects family of one object type: ``"companies"``, ``"deals"``, ``"tickets"``, ``"products"``,
        ``"line_items"``, ``"contacts"`` (:attr:`contacts`), an object type id (``"0-2"``) or a custom object's
        (``"2-1234567"``). One instance per type and client, so its property definitions are read once."""
        name = object_type_name(object_type)
        if name == "contacts":
            return self.contacts
        family = self._objects.get(name)
        if family is None:
            family = self._objects[name] = ObjectsAPI(self.transport, self.edition, name)
        return family

    def _init_families(self) -> None:
        self._objects: dict[str, ObjectsAPI] = {}
        self.contacts = ContactsAPI(self.transport, self.edition)
        self.associations = AssociationsAPI(self.transport, self.edition)
        self.lists = ListsAPI(self.transport, self.edition)
        self.timeline = TimelineAPI(self.transport, self.edition)
        self.lifecycle = LifecycleAPI(self.transport, self.edition)
        self.forms = FormsAPI(self.transport, self.edition)
        self.email = EmailAPI(self.transport, self.edition)
        self.properties = PropertiesAPI(self.transport, self.edition)
        self.leads = LeadsAPI()  # discontinued 2013-12-31: every attribute explains the contacts replacement

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> HubSpotClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"HubSpotClient(base_url={self.base_url!r}, api_version={str(self.edition)!r}, auth={self.auth!r})"
