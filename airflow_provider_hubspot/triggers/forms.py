"""New-form-submission condition: shared by the sensor's poke and the deferrable trigger."""

from __future__ import annotations

from typing import Any

from airflow_provider_hubspot.client import HubSpotClient
from airflow_provider_hubspot.triggers.base import HubSpotPollingTrigger


def check_form_submissions(
    client: HubSpotClient,
    *,
    since_ms: int,
    form_id: str | None = None,
    min_submissions: int = 1,
    max_pushed: int = 100,
) -> tuple[bool, dict[str, Any]]:
    """Are there at least ``min_submissions`` new submissions after the ``since_ms`` watermark?

    Reads newest first and stops at the watermark (only pages with new data are fetched).
    De-duplicates by conversion id. The payload holds up to ``max_pushed`` submissions, their count
    and the new watermark (the newest ``submittedAt`` seen, or the old one when nothing is new).
    """
    if form_id:
        stream = client.forms.iter_submissions(form_id, since_ms=since_ms)
    else:
        stream = client.forms.iter_contact_submissions(since_ms=since_ms)
    seen: set[str] = set()
    kept: list[dict[str, Any]] = []
    watermark = since_ms
    for submission in stream:
        key = str(submission.get("conversionId") or f"{submission.get('formId')}:{submission.get('submittedAt')}")
        if key in seen:
            continue
        seen.add(key)
        watermark = max(watermark, int(submission.get("submittedAt") or 0))
        if len(kept) < max_pushed:
            kept.append(submission)
    payload = {"count": len(seen), "submissions": kept, "truncated": len(seen) > len(kept),
               "watermark": watermark, "since": since_ms, "form_id": form_id}
    return len(seen) >= min_submissions, payload


class HubSpotFormSubmissionTrigger(HubSpotPollingTrigger):
    """Fires when at least ``min_submissions`` new submissions arrived after ``since_ms``.

    :param since_ms: watermark, epoch ms.
    :param form_id: a form GUID, or ``None`` for any form (recently updated contacts, 30 days).
    :param min_submissions: submissions needed.
    :param max_pushed: submissions carried in the event (the count covers all).
    """

    def __init__(self, *, since_ms: int, form_id: str | None = None, min_submissions: int = 1,
                 max_pushed: int = 100, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.since_ms = int(since_ms)
        self.form_id = form_id
        self.min_submissions = int(min_submissions)
        self.max_pushed = int(max_pushed)

    def check_kwargs(self) -> dict[str, Any]:
        return {"since_ms": self.since_ms, "form_id": self.form_id, "min_submissions": self.min_submissions,
                "max_pushed": self.max_pushed}

    def check(self, client: HubSpotClient) -> tuple[bool, Any]:
        return check_form_submissions(client, **self.check_kwargs())

    def describe(self, payload: Any) -> str:
        """Counts, the form and the watermark only: submissions carry e-mail addresses."""
        where = f"form {self.form_id}" if self.form_id else "any form"
        count = payload.get("count") if isinstance(payload, dict) else None
        watermark = payload.get("watermark") if isinstance(payload, dict) else None
        return (f"{count} new submission(s) of {where} after {self.since_ms} (epoch ms), "
                f"{self.min_submissions} needed; newest at {watermark}")
