"""Wait until enough contacts entered a lifecycle stage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_hubspot._compat import Context
from airflow_provider_hubspot.client.lifecycle import LifecycleAPI, stage_property
from airflow_provider_hubspot.sensors.base import HubSpotBaseSensor, data_interval_ms, to_epoch_ms, to_int
from airflow_provider_hubspot.triggers.lifecycle import HubSpotLifecycleStageTrigger


class HubSpotLifecycleStageSensor(HubSpotBaseSensor):
    """Succeed when at least ``min_count`` contacts entered ``stage`` within a window.

    Counts come from HubSpot's lifecycle-stage metrics (contacts whose
    ``hs_lifecyclestage_<stage>_date`` falls in the window); one paced call per poke. Pushes the
    counts it saw to XCom.

    :param stage: ``lead``, ``customer``... (custom stages too) or ``hs_lifecyclestage_<stage>_date``.
    :param min_count: contacts needed (default 1).
    :param from_timestamp: window start: datetime, ISO string or epoch ms (default: data interval start).
    :param to_timestamp: window end (default: open — up to the time of each poke, so contacts that
        enter the stage while the sensor waits count). At most two years after the start.
    :param aggregation_property: an enumeration property (<= 20 options) to count by, e.g.
        ``hs_analytics_source``.
    :param aggregation_value: only count contacts whose ``aggregation_property`` has this value.
    """

    template_fields: Sequence[str] = ("stage", "min_count", "from_timestamp", "to_timestamp", "aggregation_property",
                                      "aggregation_value", "api_version", "hubspot_conn_id")

    def __init__(self, *, stage: str, min_count: int = 1, from_timestamp: Any = None, to_timestamp: Any = None,
                 aggregation_property: str | None = None, aggregation_value: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        stage_property(stage)  # fail at parse time on an empty stage
        self.stage = stage
        self.min_count = min_count
        self.from_timestamp = from_timestamp
        self.to_timestamp = to_timestamp
        self.aggregation_property = aggregation_property
        self.aggregation_value = aggregation_value

    def make_trigger(self, context: Context) -> HubSpotLifecycleStageTrigger:
        if self.from_timestamp not in (None, ""):
            from_ms = to_epoch_ms(self.from_timestamp, "from_timestamp")
        else:
            from_ms = data_interval_ms(context)[0]
        to_ms = to_epoch_ms(self.to_timestamp, "to_timestamp") if self.to_timestamp not in (None, "") else None
        LifecycleAPI.check_window(from_ms, to_ms if to_ms is not None else from_ms)
        return HubSpotLifecycleStageTrigger(
            hubspot_conn_id=self.hubspot_conn_id, api_version=self.api_version, poke_interval=self.poke_interval,
            stage=self.stage, from_ms=from_ms, to_ms=to_ms, min_count=to_int(self.min_count, 'min_count', 1),
            aggregation_property=self.aggregation_property or None, aggregation_value=self.aggregation_value)
