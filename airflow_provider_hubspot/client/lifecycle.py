"""Lifecycle-stage metrics (v1 only: HubSpot has no modern successor)."""

from __future__ import annotations

from typing import Any

from airflow_provider_hubspot.client.errors import HubSpotConfigError
from airflow_provider_hubspot.client.family import ApiFamily

PATH = "/contacts/search/v1/external/lifecyclestages"
#: HubSpot's documented maximum window ("two years").
MAX_WINDOW_MS = 2 * 366 * 24 * 3600 * 1000
DEFAULT_STAGES = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer",
                  "evangelist", "other")


def stage_property(stage: str) -> str:
    """``customer`` or ``hs_lifecyclestage_customer_date`` -> ``hs_lifecyclestage_customer_date``."""
    name = stage.strip().lower()
    if not name:
        raise HubSpotConfigError("stage is empty: name a lifecycle stage such as 'lead' or 'customer'.")
    if name.startswith("hs_lifecyclestage_") and name.endswith("_date"):
        return name
    return f"hs_lifecyclestage_{name}_date"


class LifecycleAPI(ApiFamily):
    """Counts of contacts that entered each lifecycle stage in a window."""

    @staticmethod
    def check_window(from_ms: int, to_ms: int) -> None:
        """Refuse inverted windows and windows over two years (HubSpot's limit) with a clear error."""
        if to_ms < from_ms:
            raise HubSpotConfigError(f"The window is inverted: from_timestamp ({from_ms}) is after to_timestamp "
                                     f"({to_ms}).")
        if to_ms - from_ms > MAX_WINDOW_MS:
            days = (to_ms - from_ms) / 86_400_000
            raise HubSpotConfigError(f"The window spans {days:.0f} days; HubSpot's lifecycle-stage metrics accept at "
                                     "most two years. Narrow from_timestamp/to_timestamp.")

    def stage_counts(
        self, from_ms: int, to_ms: int, *, aggregation_property: str | None = None
    ) -> list[dict[str, Any]]:
        """``[{"lifecycleStage": "hs_lifecyclestage_lead_date", "count": N, "aggregation"?: {...}}, ...]``.

        :param from_ms: window start, epoch ms (inclusive).
        :param to_ms: window end, epoch ms; the window may span at most two years.
        :param aggregation_property: an enumeration property (<= 20 options) to break counts down by.

        Retry: safe — a read.
        """
        self.check_window(from_ms, to_ms)
        params: dict[str, Any] = {"fromTimestamp": int(from_ms), "toTimestamp": int(to_ms)}
        if aggregation_property:
            params["aggregationProperty"] = aggregation_property
        body = self.transport.request("GET", PATH, params=params, expect=lambda b: isinstance(b, list)).body
        return [row for row in body if isinstance(row, dict)]
