"""Wait for new form submissions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_hubspot._compat import Context
from airflow_provider_hubspot.client.forms import DEFAULT_OVERLAP_MS, SubmissionCursor
from airflow_provider_hubspot.sensors.base import HubSpotBaseSensor, data_interval_ms, to_epoch_ms, to_int
from airflow_provider_hubspot.triggers.forms import HubSpotFormSubmissionTrigger


class HubSpotFormSubmissionSensor(HubSpotBaseSensor):
    """Succeed when at least ``min_submissions`` form submissions arrived after a watermark.

    With ``form_id`` it reads that form's submissions (newest first, stopping at the watermark);
    without, it reads every form's submissions from recently updated contacts (HubSpot keeps 30 days
    there). Submissions are de-duplicated by conversion id. The return value (XCom) holds the new
    submissions (at most ``max_pushed``), their count and the new ``watermark``, which is also
    pushed under the key ``watermark`` for the next run's ``since``.

    Submissions in the same millisecond as the watermark, or ones HubSpot makes visible after a newer
    one, are caught by reading ``overlap_ms`` back from the newest submission reported and skipping
    the conversion ids already reported there. Those ids travel in a cursor (``{"watermark", "floor",
    "seen": [...]}``, at most 1,000 ids), pushed under the key ``cursor`` and returned as ``cursor``.
    The next run uses it when its ``since`` is that cursor, or is the watermark pushed with it (the
    cursor is then read back from this task's latest earlier XCom). A ``since`` without a matching
    cursor means "everything submitted after ``since``", as before.

    :param form_id: form GUID, or ``None`` for any form.
    :param since: watermark: datetime, ISO string or epoch ms (default: the data interval start), or the
        cursor a previous run pushed under the key ``cursor`` (a dict, or its JSON / rendered text).
    :param min_submissions: submissions needed (default 1).
    :param max_pushed: submissions kept in XCom (the count covers all).
    :param overlap_ms: how late (in ms, relative to the newest submission reported) a submission may
        become visible and still be reported by the next run (default 300,000: five minutes).
    """

    template_fields: Sequence[str] = ("form_id", "since", "min_submissions", "overlap_ms", "api_version",
                                      "hubspot_conn_id")

    def __init__(self, *, form_id: str | None = None, since: Any = None, min_submissions: int = 1,
                 max_pushed: int = 100, overlap_ms: int = DEFAULT_OVERLAP_MS, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.form_id = form_id
        self.since = since
        self.min_submissions = min_submissions
        self.max_pushed = max_pushed
        self.overlap_ms = overlap_ms

    def make_trigger(self, context: Context) -> HubSpotFormSubmissionTrigger:
        cursor = SubmissionCursor.parse(self.since)
        if cursor is None:
            has_since = self.since not in (None, "")
            since_ms = to_epoch_ms(self.since, "since") if has_since else data_interval_ms(context)[0]
            cursor = self._previous_cursor(context, since_ms)
        else:
            since_ms = cursor.watermark
        return HubSpotFormSubmissionTrigger(
            hubspot_conn_id=self.hubspot_conn_id, api_version=self.api_version, poke_interval=self.poke_interval,
            since_ms=since_ms, form_id=self.form_id or None,
            min_submissions=to_int(self.min_submissions, "min_submissions", 1),
            max_pushed=to_int(self.max_pushed, "max_pushed"), overlap_ms=to_int(self.overlap_ms, "overlap_ms"),
            floor_ms=cursor.floor if cursor else None, seen_ids=sorted(cursor.seen) if cursor else None)

    def _previous_cursor(self, context: Context, since_ms: int) -> SubmissionCursor | None:
        """The cursor this task pushed in its latest earlier run, when that run's watermark is ``since_ms``."""
        try:
            value = context["ti"].xcom_pull(task_ids=self.task_id, key="cursor", include_prior_dates=True)
        except Exception:  # no XCom backend (a bare poke), or an Airflow without prior-date pulls
            return None
        cursor = SubmissionCursor.parse(value)
        return cursor if cursor is not None and cursor.watermark == since_ms else None

    def on_done(self, context: Context, payload: Any) -> Any:
        context["ti"].xcom_push(key="watermark", value=payload["watermark"])
        if payload.get("cursor") is not None:
            context["ti"].xcom_push(key="cursor", value=payload["cursor"])
        return payload
