"""Airflow-free HubSpot client: one request path with auth, pacing, retries, paging and batching."""

from __future__ import annotations

from airflow_provider_hubspot.client.batching import BatchOutcome, Record, Rejection
from airflow_provider_hubspot.client.client import HubSpotClient
from airflow_provider_hubspot.client.editions import DEFAULT_API_VERSION, Edition
from airflow_provider_hubspot.client.errors import (
    HubSpotAuthError,
    HubSpotConfigError,
    HubSpotConflictError,
    HubSpotConnectionError,
    HubSpotDailyLimitError,
    HubSpotError,
    HubSpotMissingScopesError,
    HubSpotNotFoundError,
    HubSpotRateLimitError,
    HubSpotRefreshError,
    HubSpotServerError,
    HubSpotValidationError,
)

__all__ = [
    "DEFAULT_API_VERSION",
    "BatchOutcome",
    "Edition",
    "HubSpotAuthError",
    "HubSpotClient",
    "HubSpotConfigError",
    "HubSpotConflictError",
    "HubSpotConnectionError",
    "HubSpotDailyLimitError",
    "HubSpotError",
    "HubSpotMissingScopesError",
    "HubSpotNotFoundError",
    "HubSpotRateLimitError",
    "HubSpotRefreshError",
    "HubSpotServerError",
    "HubSpotValidationError",
    "Record",
    "Rejection",
]
