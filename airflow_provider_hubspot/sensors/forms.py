"""Wait for new form submissions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_hubspot._compat import Context
from airflow_provider_hubspot.sensors.base import HubSpotBaseSensor, data_interval_ms, to_epoch_ms, to_int
from airflow_provider_hubspot.triggers.forms import HubSpotFormSubmissionTrigger


class HubSpotFormSubmissionSensor(HubSpotBaseSensor):
    """Succeed when at least ``min_submissions`` form submissions arrived after a watermark.

    With ``form_id`` it reads that form's submissions (newest first, stopping at the watermark);
    without, it reads every form's submissions from recently updated contacts (HubSpot keeps 30 days
    there). Submissions are de-duplicated by conversion id. The return value (XCom) holds the new
    submissions (at most ``max_pushed``), their count and the new ``watermark``, which is also
    pushed under the key ``watermark`` for the next run's ``since``.

    :param form_id: form GUID, or ``None`` for any form.
    :param since: watermark: datetime, ISO string or epoch ms (default: the data interval start).
    :param min_submissions: submissions needed (default 1).
    :param max_pushed: submissions kept in XCom (the count covers all).
    """

    template_fields: Sequence[str] = ("form_id", "since", "min_submissions", "api_version", "hubspot_conn_id")

    def __init__(self, *, form_id: str | None = None, since: Any = None, min_submissions: int = 1,
                 max_pushed: int = 100, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.form_id = form_id
        self.since = since
        self.min_submissions = min_submissions
        self.max_pushed = max_pushed

    def make_trigger(self, context: Context) -> HubSpotFormSubmissionTrigger:
        has_since = self.since not in (None, "")
        since_ms = to_epoch_ms(self.since, "since") if has_since else data_interval_ms(context)[0]
        return HubSpotFormSubmissionTrigger(
            hubspot_conn_id=self.hubspot_conn_id, api_version=self.api_version, poke_interval=self.poke_interval,
            since_ms=since_ms, form_id=self.form_id or None,
            min_submissions=to_int(self.min_submissions, "min_submissions", 1),
            max_pushed=to_int(self.max_pushed, "max_pushed"))

    def on_done(self, context: Context, payload: Any) -> Any:
        context["ti"].xcom_push(key="watermark", value=payload["watermark"])
        return payload
