"""Lifecycle-stage condition: shared by the sensor's poke and the deferrable trigger."""

from __future__ import annotations

import time
from typing import Any

from airflow_provider_hubspot.client import HubSpotClient
from airflow_provider_hubspot.client.lifecycle import MAX_WINDOW_MS, stage_property
from airflow_provider_hubspot.triggers.base import HubSpotPollingTrigger


def check_lifecycle_stage(
    client: HubSpotClient,
    *,
    stage: str,
    from_ms: int,
    to_ms: int | None,
    min_count: int,
    aggregation_property: str | None = None,
    aggregation_value: str | None = None,
) -> tuple[bool, dict[str, Any]]:
    """One paced call: is the count of contacts that entered ``stage`` in the window >= ``min_count``?

    Returns ``(done, payload)``; the payload (counts seen) is what the sensor pushes to XCom.
    """
    wanted = stage_property(stage)
    if to_ms is None:  # an open window: up to now, so contacts entering while the sensor waits count
        to_ms = min(int(time.time() * 1000), from_ms + MAX_WINDOW_MS)
    rows = client.lifecycle.stage_counts(from_ms, to_ms, aggregation_property=aggregation_property)
    counts = {str(row.get("lifecycleStage")): int(row.get("count") or 0) for row in rows}
    count = counts.get(wanted, 0)
    if aggregation_property and aggregation_value is not None:
        count = 0
        for row in rows:
            if row.get("lifecycleStage") != wanted:
                continue
            buckets = ((row.get("aggregation") or {}).get("aggregations") or {}).get(aggregation_property) or []
            count = sum(int(b.get("count") or 0) for b in buckets if str(b.get("key")) == str(aggregation_value))
    payload = {"stage": wanted, "count": count, "min_count": min_count, "from_timestamp": from_ms,
               "to_timestamp": to_ms, "counts": counts}
    if aggregation_property:
        payload["aggregation"] = {"property": aggregation_property, "value": aggregation_value}
    return count >= min_count, payload


class HubSpotLifecycleStageTrigger(HubSpotPollingTrigger):
    """Fires when at least ``min_count`` contacts entered ``stage`` in ``[from_ms, to_ms]``.

    :param stage: lifecycle stage (``customer``) or its date property.
    :param from_ms: window start, epoch ms.
    :param to_ms: window end, epoch ms; ``None`` keeps the window open up to the time of each check.
    :param min_count: contacts needed.
    :param aggregation_property: optional enumeration property to count by.
    :param aggregation_value: the value of ``aggregation_property`` to count.
    """

    def __init__(self, *, stage: str, from_ms: int, to_ms: int | None = None, min_count: int = 1,
                 aggregation_property: str | None = None, aggregation_value: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stage = stage
        self.from_ms = int(from_ms)
        self.to_ms = None if to_ms is None else int(to_ms)
        self.min_count = int(min_count)
        self.aggregation_property = aggregation_property
        self.aggregation_value = aggregation_value

    def check_kwargs(self) -> dict[str, Any]:
        return {"stage": self.stage, "from_ms": self.from_ms, "to_ms": self.to_ms, "min_count": self.min_count,
                "aggregation_property": self.aggregation_property, "aggregation_value": self.aggregation_value}

    def check(self, client: HubSpotClient) -> tuple[bool, Any]:
        return check_lifecycle_stage(client, **self.check_kwargs())

    def describe(self, payload: Any) -> str:
        """The count against the threshold, the stage and the window (aggregate numbers only)."""
        info = payload if isinstance(payload, dict) else {}
        stage = info.get("stage") or self.stage
        to_ms = info.get("to_timestamp", self.to_ms)
        text = (f"{info.get('count')} contact(s) entered {stage} between {self.from_ms} and "
                f"{'now' if to_ms is None else to_ms} (epoch ms), {self.min_count} needed")
        if self.aggregation_property:
            text += f" (counting {self.aggregation_property}={self.aggregation_value})"
        return text
