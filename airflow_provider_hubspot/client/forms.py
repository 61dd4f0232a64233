"""Form submissions: per form (form-integrations v1) or across forms from recently updated contacts.

Neither has a modern successor, so both use their v1 paths whatever the edition. Submissions are
normalised to ``{"conversionId", "submittedAt", "formId", "email", "pageUrl", "values"}``. Reads only:
every call is safe to retry.

New submissions between runs (:meth:`FormsAPI.iter_new_submissions`, used by the form sensor and
trigger) are read with an overlap: the next read reaches ``overlap_ms`` back from the newest
submission already reported, and the conversion ids already reported in that window are carried in a
:class:`SubmissionCursor` and skipped. So a second submission in the same millisecond, or one HubSpot
makes visible after a newer one (up to ``overlap_ms`` late), is reported once, and nothing is
reported twice. This is the one de-duplication of form submissions.
"""

from __future__ import annotations

import ast
import json
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from airflow_provider_hubspot.client.family import ApiFamily
from airflow_provider_hubspot.client.paging import CURSOR, TIME_OFFSET, has_list, paginate

log = logging.getLogger(__name__)
RECENT_WINDOW_MS = 30 * 24 * 3600 * 1000
RECENT_FEED = "/contacts/v1/lists/recently_updated/contacts/recent"
#: How far before the newest submission already reported the next read reaches (epoch ms): five
#: minutes, so submissions HubSpot makes visible up to five minutes late are still reported.
DEFAULT_OVERLAP_MS = 5 * 60 * 1000
#: Most conversion ids a cursor carries between runs (it goes into XCom and trigger kwargs). When the
#: overlap window holds more, the window is shortened to the newest ones.
MAX_SEEN_IDS = 1000


def submission_key(submission: dict[str, Any]) -> str:
    """A submission's identity: its conversion id (form and timestamp when HubSpot gives none)."""
    return str(submission.get("conversionId") or f"{submission.get('formId')}:{submission.get('submittedAt')}")


@dataclass(frozen=True)
class SubmissionCursor:
    """Where a reader of new submissions stands between runs.

    :param watermark: the newest ``submittedAt`` reported so far, epoch ms (the plain watermark).
    :param floor: the next read covers submissions with ``submittedAt >= floor``.
    :param seen: conversion ids of submissions at or after ``floor`` that were already reported.
    """

    watermark: int
    floor: int
    seen: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def after(cls, since_ms: int) -> SubmissionCursor:
        """Start: everything submitted after ``since_ms`` is new."""
        return cls(int(since_ms), int(since_ms) + 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (XCom, trigger kwargs): ``{"watermark", "floor", "seen": [...]}``."""
        return {"watermark": self.watermark, "floor": self.floor, "seen": sorted(self.seen)}

    @classmethod
    def parse(cls, value: Any) -> SubmissionCursor | None:
        """A cursor from :meth:`to_dict`'s dict, or its JSON / Python-literal text (what a Jinja template
        renders from an XCom); ``None`` for anything else (e.g. a plain watermark)."""
        if isinstance(value, str) and value.strip().startswith("{"):
            text = value.strip()
            try:
                value = json.loads(text)
            except ValueError:
                try:
                    value = ast.literal_eval(text)
                except (ValueError, SyntaxError):
                    return None
        if not isinstance(value, dict) or not {"watermark", "floor"} <= set(value):
            return None
        try:
            watermark, floor = int(value["watermark"]), int(value["floor"])
        except (TypeError, ValueError):
            return None
        seen = value.get("seen") or []
        if not isinstance(seen, (list, tuple, set, frozenset)):
            return None
        return cls(watermark, min(floor, watermark + 1), frozenset(str(s) for s in seen))


class NewSubmissions:
    """Iterates the submissions a cursor has not reported yet; afterwards :attr:`cursor` is the next one.

    Within the run, a submission read twice (a contact seen on two feed pages) is yielded once.
    """

    def __init__(self, stream: Iterable[dict[str, Any]], start: SubmissionCursor, *, overlap_ms: int,
                 max_seen: int) -> None:
        self.start = start
        self._stream = stream
        self._overlap = max(0, int(overlap_ms))
        self._max_seen = max(0, int(max_seen))
        self._keys: set[str] = set()  # every submission read in this run (at or after the floor)
        self._window: list[tuple[int, str]] = []  # (submittedAt, key) of those within the overlap
        self._newest = start.watermark
        self._done = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for submission in self._stream:
            stamp = int(submission.get("submittedAt") or 0)
            key = submission_key(submission)
            if stamp < self.start.floor or key in self._keys:
                continue
            self._keys.add(key)
            self._newest = max(self._newest, stamp)
            self._window.append((stamp, key))
            if len(self._window) > 2 * self._max_seen + 100:
                self._window = [item for item in self._window if item[0] >= self._newest - self._overlap]
            if key not in self.start.seen:
                yield submission
        self._done = True

    @property
    def cursor(self) -> SubmissionCursor:
        """The cursor for the next run (once iterated to the end)."""
        if not self._done:
            raise RuntimeError("iterate the new submissions to the end before asking for the next cursor")
        floor = max(self.start.floor, self._newest - self._overlap)
        window = sorted((item for item in self._window if item[0] >= floor), reverse=True)
        if len(window) > self._max_seen:  # keep the newest, cutting between two timestamps
            floor = (window[self._max_seen][0] + 1) if self._max_seen else self._newest + 1
            window = [item for item in window if item[0] >= floor]
            log.warning("More than %d form submissions fall within the %d ms overlap; the next read reaches back "
                        "only to %d (epoch ms)", self._max_seen, self._overlap, floor)
        return SubmissionCursor(self._newest, floor, frozenset(key for _, key in window))


class FormsAPI(ApiFamily):
    """Read form submissions newest first, stopping at a watermark (reads only: safe to retry)."""

    def iter_new_submissions(
        self,
        cursor: SubmissionCursor,
        *,
        form_id: str | None = None,
        overlap_ms: int = DEFAULT_OVERLAP_MS,
        max_seen: int = MAX_SEEN_IDS,
    ) -> NewSubmissions:
        """The submissions ``cursor`` has not reported (of one form, or of any form from recently updated
        contacts), newest first; iterate them, then read the next run's cursor from ``.cursor``.

        :param cursor: where the previous run stopped (:meth:`SubmissionCursor.after` for a first run).
        :param form_id: one form's GUID, or ``None`` for any form (HubSpot keeps 30 days there).
        :param overlap_ms: how far before the newest reported submission the next read reaches, to catch
            submissions in the same millisecond and ones HubSpot makes visible late.
        :param max_seen: most conversion ids the next cursor carries.
        """
        since = cursor.floor - 1  # the readers stop at submittedAt <= since
        if form_id:
            stream = self.iter_submissions(form_id, since_ms=since)
        else:
            stream = self.iter_contact_submissions(since_ms=since)
        return NewSubmissions(stream, cursor, overlap_ms=overlap_ms, max_seen=max_seen)

    def iter_submissions(self, form_id: str, *, since_ms: int | None = None, page_size: int = 50) -> Iterator[dict]:
        """Yield submissions of one form newer than ``since_ms``, newest first (pages stop at the watermark)."""
        path = f"/form-integrations/v1/submissions/forms/{quote(str(form_id), safe='')}"
        limit = [("limit", max(1, min(page_size, 50)))]

        def fetch(cursor: dict[str, Any]) -> Any:
            return self.transport.request("GET", path, params=limit + list(cursor.items()),
                                          expect=has_list("results")).body

        def older(item: Any) -> bool:
            return since_ms is not None and int(item.get("submittedAt") or 0) <= since_ms

        for item in paginate(fetch, CURSOR, "results", stop=older):
            values = {v.get("name"): v.get("value") for v in item.get("values") or []}
            yield {"conversionId": item.get("conversionId"), "submittedAt": int(item.get("submittedAt") or 0),
                   "formId": str(form_id), "email": values.get("email"), "pageUrl": item.get("pageUrl"),
                   "values": values}

    def iter_contact_submissions(self, *, since_ms: int | None = None, form_id: str | None = None,
                                 page_size: int = 100) -> Iterator[dict]:
        """Yield submissions newer than ``since_ms`` from recently updated contacts (any form, 30 days)."""
        if since_ms is not None and since_ms < time.time() * 1000 - RECENT_WINDOW_MS:
            log.warning("The watermark is older than 30 days; HubSpot's recently-updated feed only reaches back 30 "
                        "days, so older submissions are not seen. Pass form_id= to read a form's full history.")
        params = [("count", min(page_size, 100)), ("formSubmissionMode", "all"),  # the feed's default
                  ("property", "email"), ("property", "lastmodifieddate")]  # properties leave out the e-mail

        def fetch(cursor: dict[str, Any]) -> Any:
            return self.transport.request("GET", RECENT_FEED, params=params + list(cursor.items()),
                                          expect=has_list("contacts")).body

        def older(contact: Any) -> bool:
            modified = (contact.get("properties", {}).get("lastmodifieddate") or {}).get("value")
            return since_ms is not None and modified not in (None, "") and int(modified) < since_ms

        for contact in paginate(fetch, TIME_OFFSET, "contacts", stop=older):
            email = (contact.get("properties", {}).get("email") or {}).get("value")
            for sub in contact.get("form-submissions") or []:
                stamp = int(sub.get("timestamp") or 0)
                if (since_ms is not None and stamp <= since_ms) or (form_id and sub.get("form-id") != form_id):
                    continue
                yield {"conversionId": sub.get("conversion-id"), "submittedAt": stamp, "formId": sub.get("form-id"),
                       "email": email, "pageUrl": sub.get("page-url"), "values": {}}
