"""Apache Airflow provider for HubSpot."""

from __future__ import annotations

__version__ = "0.1.0"


def get_provider_info() -> dict:
    """Provider metadata (see :mod:`airflow_provider_hubspot.get_provider_info`)."""
    from airflow_provider_hubspot.get_provider_info import get_provider_info as _info

    return _info()
