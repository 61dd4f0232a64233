"""New-form-submission condition: shared by the sensor's poke and the deferrable trigger."""

from __future__ import annotations

from typing import Any

from airflow_provider_hubspot.client import HubSpotClient
from airflow_provider_hubspot.client.forms import DEFAULT_OVERLAP_MS, SubmissionCursor
from airflow_provider_hubspot.triggers.base import HubSpotPollingTrigger


def check_form_submissions(
    client: HubSpotClient,
    *,
    since_ms: int,
    form_id: str | None = None,
    min_submissions: int = 1,
    max_pushed: int = 100,
    overlap_ms: int = DEFAULT_OVERLAP_MS,
    floor_ms: int | None = None,
    seen_ids: list[str] | None = None,
) -> tuple[bool, dict[str, Any]]:
    """Are there at least ``min_submissions`` new submissions after the ``since_ms`` watermark?

    Reads newest first and stops at the watermark (only pages with new data are fetched). Without
    ``floor_ms`` everything submitted after ``since_ms`` is new; with the cursor of a previous run
    (``floor_ms`` and ``seen_ids``) the read reaches back to ``floor_ms`` and skips the conversion ids
    already reported (see :meth:`FormsAPI.iter_new_submissions`, the one de-duplication). The payload
    holds up to ``max_pushed`` submissions, their count, the new watermark (the newest ``submittedAt``
    reported, or the old one when nothing is new) and the ``cursor`` for the next run.
    """
    start = SubmissionCursor.after(since_ms) if floor_ms is None else SubmissionCursor(
        int(since_ms), int(floor_ms), frozenset(str(i) for i in seen_ids or ()))
    new = client.forms.iter_new_submissions(start, form_id=form_id or None, overlap_ms=overlap_ms)
    count = 0
    kept: list[dict[str, Any]] = []
    for submission in new:
        count += 1
        if len(kept) < max_pushed:
            kept.append(submission)
    cursor = new.cursor
    payload = {"count": count, "submissions": kept, "truncated": count > len(kept),
               "watermark": cursor.watermark, "since": since_ms, "form_id": form_id, "cursor": cursor.to_dict()}
    return count >= min_submissions, payload


class HubSpotFormSubmissionTrigger(HubSpotPollingTrigger):
    """Fires when at least ``min_submissions`` new submissions arrived after ``since_ms``.

    :param since_ms: watermark, epoch ms.
    :param form_id: a form GUID, or ``None`` for any form (recently updated contacts, 30 days).
    :param min_submissions: submissions needed.
    :param max_pushed: submissions carried in the event (the count covers all).
    :param overlap_ms: how far back the next run's cursor reaches (default five minutes).
    :param floor_ms: with ``seen_ids``, the previous run's cursor (``None``: a first run).
    :param seen_ids: conversion ids the previous run reported at or after ``floor_ms`` (bounded).
    """

    def __init__(self, *, since_ms: int, form_id: str | None = None, min_submissions: int = 1,
                 max_pushed: int = 100, overlap_ms: int = DEFAULT_OVERLAP_MS, floor_ms: int | None = None,
                 seen_ids: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.since_ms = int(since_ms)
        self.form_id = form_id
        self.min_submissions = int(min_submissions)
        self.max_pushed = int(max_pushed)
        self.overlap_ms = int(overlap_ms)
        self.floor_ms = None if floor_ms is None else int(floor_ms)
        self.seen_ids = [str(i) for i in seen_ids or ()]

    def check_kwargs(self) -> dict[str, Any]:
        return {"since_ms": self.since_ms, "form_id": self.form_id, "min_submissions": self.min_submissions,
                "max_pushed": self.max_pushed, "overlap_ms": self.overlap_ms, "floor_ms": self.floor_ms,
                "seen_ids": self.seen_ids}

    def check(self, client: HubSpotClient) -> tuple[bool, Any]:
        return check_form_submissions(client, **self.check_kwargs())

    def describe(self, payload: Any) -> str:
        """Counts, the form and the watermark only: submissions carry e-mail addresses."""
        where = f"form {self.form_id}" if self.form_id else "any form"
        count = payload.get("count") if isinstance(payload, dict) else None
        watermark = payload.get("watermark") if isinstance(payload, dict) else None
        return (f"{count} new submission(s) of {where} after {self.since_ms} (epoch ms), "
                f"{self.min_submissions} needed; newest at {watermark}")
