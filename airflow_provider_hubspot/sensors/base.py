"""Shared sensor behaviour: poke, reschedule or deferrable, all running the trigger's ``check``."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from functools import cached_property
from typing import Any

from airflow_provider_hubspot._compat import (
    AirflowException,
    AirflowFailException,
    BaseSensorOperator,
    Context,
    PokeReturnValue,
    default_deferrable,
)
from airflow_provider_hubspot.client import HubSpotConfigError, HubSpotError
from airflow_provider_hubspot.hooks.hubspot import HubSpotHook
from airflow_provider_hubspot.operators.base import HUBSPOT_ORANGE, PERMANENT_ERRORS
from airflow_provider_hubspot.triggers.base import HubSpotPollingTrigger

log = logging.getLogger(__name__)


class HubSpotBaseSensor(BaseSensorOperator):
    """Base of the HubSpot sensors.

    :param hubspot_conn_id: the ``hubspot`` connection.
    :param api_version: overrides the connection's ``api_version``.
    :param deferrable: wait in the triggerer instead of a worker slot (default: Airflow's
        ``[operators] default_deferrable``).
    """

    ui_color = HUBSPOT_ORANGE

    def __init__(self, *, hubspot_conn_id: str = HubSpotHook.default_conn_name, api_version: str | None = None,
                 deferrable: bool | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.hubspot_conn_id = hubspot_conn_id
        self.api_version = api_version
        self.deferrable = default_deferrable() if deferrable is None else deferrable

    @cached_property
    def hook(self) -> HubSpotHook:
        return HubSpotHook(hubspot_conn_id=self.hubspot_conn_id, api_version=self.api_version or None)

    def make_trigger(self, context: Context) -> HubSpotPollingTrigger:
        """The trigger describing this sensor's condition (its ``check`` is also what ``poke`` runs)."""
        raise NotImplementedError

    def on_done(self, context: Context, payload: Any) -> Any:
        """Hook for subclasses: push extra XComs; returns the value for ``return_value``."""
        return payload

    def _trigger(self, context: Context) -> HubSpotPollingTrigger:
        try:
            return self.make_trigger(context)
        except HubSpotConfigError as exc:
            raise self._failure(str(exc), permanent=True) from None

    def poke(self, context: Context) -> PokeReturnValue:
        trigger = self._trigger(context)
        try:
            done, payload = trigger.check(self.hook.get_conn())
        except HubSpotError as exc:
            raise self._failure(str(exc), permanent=isinstance(exc, PERMANENT_ERRORS)) from None
        if not done:
            log.info("%s %s: not yet: %s", type(self).__name__, self.task_id, trigger.describe(payload))
            return PokeReturnValue(is_done=False)
        log.info("%s %s: condition met: %s", type(self).__name__, self.task_id, trigger.describe(payload))
        return PokeReturnValue(is_done=True, xcom_value=self.on_done(context, payload))

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        trigger = self._trigger(context)
        result = self.poke(context)  # already true: no need to defer
        if result.is_done:
            return result.xcom_value
        self.defer(trigger=trigger, method_name="execute_complete", timeout=timedelta(seconds=float(self.timeout)))

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger fired."""
        if not event or event.get("status") != "success":
            message = (event or {}).get("message", "the trigger ended without an event")
            permanent = (event or {}).get("error_type") in {cls.__name__ for cls in PERMANENT_ERRORS}
            raise self._failure(message, permanent=permanent)
        payload = event.get("payload")
        try:
            met = self._trigger(context).describe(payload)
        except Exception:  # the line is informative only: never fail a met condition over it
            met = "(no details)"
        log.info("%s %s: resumed from the trigger, condition met: %s", type(self).__name__, self.task_id, met)
        return self.on_done(context, payload)

    def _failure(self, message: str, *, permanent: bool) -> AirflowException:
        text = f"{type(self).__name__} {self.task_id}: {message}"
        return AirflowFailException(text) if permanent else AirflowException(text)


def to_epoch_ms(value: Any, name: str) -> int:
    """Accept datetimes, dates, epoch ms (int or digits) or ISO-8601 strings."""
    if isinstance(value, bool):
        raise HubSpotConfigError(f"{name} must be a datetime or epoch milliseconds, got {value!r}.")
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return int(moment.timestamp() * 1000)
    if isinstance(value, date):
        return to_epoch_ms(datetime(value.year, value.month, value.day, tzinfo=timezone.utc), name)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        try:
            return to_epoch_ms(datetime.fromisoformat(text.replace("Z", "+00:00")), name)
        except ValueError:
            pass
    raise HubSpotConfigError(f"{name} must be a datetime, an ISO-8601 string or epoch milliseconds, got {value!r}.")


def to_int(value: Any, name: str, minimum: int = 0) -> int:
    """A whole number parameter (templated values arrive as strings)."""
    try:
        number = int(str(value).strip())
    except ValueError:
        raise HubSpotConfigError(f"{name} must be a whole number, got {value!r}.") from None
    if number < minimum:
        raise HubSpotConfigError(f"{name} must be >= {minimum}, got {number}.")
    return number


def data_interval_ms(context: Context) -> tuple[int, int]:
    """The run's data interval in epoch ms; a zero-width interval (manual runs) widens to the day before."""
    start = context.get("data_interval_start")
    end = context.get("data_interval_end")
    end_ms = to_epoch_ms(end, "data_interval_end") if end else int(datetime.now(timezone.utc).timestamp() * 1000)
    start_ms = to_epoch_ms(start, "data_interval_start") if start else end_ms - 86_400_000
    if start_ms >= end_ms:
        start_ms = end_ms - 86_400_000
    return start_ms, end_ms
