"""Provider metadata read by Airflow's providers manager (entry point ``apache_airflow_provider``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow_provider_hubspot.connection_fields import provider_conn_fields, provider_ui_field_behaviour

PACKAGE = "airflow_provider_hubspot"
INTEGRATION = "HubSpot"
#: Same as ``[project.urls] Documentation`` in pyproject.toml, which Airflow's providers page reads.
DOCUMENTATION_URL = "https://pypi.org/project/airflow-provider-hubspot/#description"


def _modules(kind: str, names: list[str]) -> list[dict[str, Any]]:
    """The modules of one kind that this installation ships (the list grows with the provider)."""
    folder = Path(__file__).parent / kind
    present = [f"{PACKAGE}.{kind}.{name}" for name in names if (folder / f"{name}.py").exists()]
    return [{"integration-name": INTEGRATION, "python-modules": present}] if present else []


def get_provider_info() -> dict[str, Any]:
    """Return the provider's metadata in the shape of Airflow's ``provider_info.schema.json``."""
    from airflow_provider_hubspot import __version__

    return {
        "package-name": "airflow-provider-hubspot",
        "name": "HubSpot",
        # The link is followed by a space, never by punctuation: Airflow 3 strips the RST markup and
        # a following comma would end up inside the URL.
        "description": "`HubSpot <https://www.hubspot.com/>`__ operators, sensors and hook: batch syncs of "
        "contacts, companies, deals, tickets, products, line items and custom objects with their associations, "
        "list membership, merges and timeline events, with a local HubSpot emulator for offline tests.",
        "documentation-url": DOCUMENTATION_URL,
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://developers.hubspot.com/docs/api/overview",
                "tags": ["service"],
            }
        ],
        "hooks": _modules("hooks", ["hubspot"]),
        "operators": _modules("operators", ["contacts", "objects", "lists", "timeline", "removals", "export"]),
        "sensors": _modules("sensors", ["lifecycle", "forms"]),
        "triggers": _modules("triggers", ["lifecycle", "forms", "events"]),
        # hubspot://<portal id>/<object> assets (e.g. hubspot://62515/contacts) name the same datasets as the
        # operators' OpenLineage outputs (namespace hubspot://<portal id>, name contacts, lists/<id>, ...).
        "asset-uris": [
            {
                "schemes": ["hubspot"],
                "handler": f"{PACKAGE}.operators.lineage.sanitize_hubspot_uri",
                "to_openlineage_converter": f"{PACKAGE}.operators.lineage.asset_to_openlineage",
            }
        ],
        "connection-types": [
            {
                "connection-type": "hubspot",
                "hook-class-name": f"{PACKAGE}.hooks.hubspot.HubSpotHook",
                "hook-name": "HubSpot",
                "conn-fields": provider_conn_fields(),
                "ui-field-behaviour": provider_ui_field_behaviour(),
            }
        ],
    }
