"""Contact property definitions: v1 (``/properties/v1/contacts/properties``) and modern
(``/crm/v3/properties/contacts`` or ``/crm/properties/<YYYY-MM>/contacts``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from airflow_provider_hubspot.client.errors import HubSpotConfigError
from airflow_provider_hubspot.client.family import ApiFamily
from airflow_provider_hubspot.client.paging import CURSOR, HAS_MORE, has_list, paginate

V1 = "/properties/v1/contacts/properties"


class PropertiesAPI(ApiFamily):
    """Contact property definitions in the client's edition (reads only: every call is safe to retry)."""

    def get_contact_property(self, name: str) -> dict[str, Any]:
        """The definition of one contact property (``name``, ``label``, ``type``, ``fieldType``,
        ``options``...); unknown names raise :class:`HubSpotNotFoundError` (404).

        :param name: the property's internal name, e.g. ``lifecyclestage``.
        """
        if not str(name or "").strip():
            raise HubSpotConfigError("Property name is empty.")
        key = quote(str(name).strip(), safe="")
        path = f"{V1}/named/{key}" if self.edition.is_v1 else f"{self.edition.crm_properties('contacts')}/{key}"
        return self.transport.request("GET", path, expect=lambda b: isinstance(b, dict)).body

    def iter_contact_properties(self) -> Iterator[dict[str, Any]]:
        """Yield every contact property definition (v1: one array; modern: ``results``)."""
        if self.edition.is_v1:

            def fetch_v1(cursor: dict[str, Any]) -> Any:
                return self.transport.request("GET", V1, expect=has_list("")).body

            return paginate(fetch_v1, HAS_MORE, "")
        path = self.edition.crm_properties("contacts")

        def fetch(cursor: dict[str, Any]) -> Any:
            return self.transport.request("GET", path, params=list(cursor.items()) or None,
                                          expect=has_list("results")).body

        return paginate(fetch, CURSOR, "results")
