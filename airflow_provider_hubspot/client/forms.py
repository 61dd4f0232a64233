"""Form submissions: per form (form-integrations v1) or across forms from recently updated contacts.

Neither has a modern successor, so both use their v1 paths whatever the edition. Submissions are
normalised to ``{"conversionId", "submittedAt", "formId", "email", "pageUrl", "values"}``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from airflow_provider_hubspot.client.family import ApiFamily
from airflow_provider_hubspot.client.paging import CURSOR, TIME_OFFSET, has_list, paginate

log = logging.getLogger(__name__)
RECENT_WINDOW_MS = 30 * 24 * 3600 * 1000
RECENT_FEED = "/contacts/v1/lists/recently_updated/contacts/recent"


class FormsAPI(ApiFamily):
    """Read form submissions newest first, stopping at a watermark."""

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
        params = [("count", min(page_size, 100)), ("formSubmissionMode", "all")]

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
