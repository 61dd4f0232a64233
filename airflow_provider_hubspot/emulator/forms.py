"""Form submissions: ``GET /form-integrations/v1/submissions/forms/{formGuid}``.

Newest first; ``limit`` default 20, max 50 (more answers 400 ``VALIDATION_ERROR``); ``after`` is an
opaque cursor; ``paging.next`` (``after`` and ``link``) only when more submissions exist. A form is
known once it has a submission or was created with ``state.create_form``; an unknown form answers
404 (emulator choice; HubSpot's body is UNCERTAIN). Submissions added after the first page was
read do not shift later pages (the cursor is the position of the last returned submission).
"""

from __future__ import annotations

import base64
import bisect
from typing import Any

from .router import FORMS, Request, Response, Router, json_response, v1_error, v3_error


def _encode(ts: int, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{ts}:{seq}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[int, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        ts, seq = base64.urlsafe_b64decode(padded.encode()).decode().split(":")
        return int(ts), int(seq)
    except (ValueError, UnicodeDecodeError):
        raise v3_error(400, f"Invalid value for after: {cursor!r}", "VALIDATION_ERROR") from None


def submissions(req: Request) -> Response:
    state = req.state
    form_id = req.params["formGuid"]
    keys = state.form_submission_keys(form_id)
    if keys is None:
        raise v1_error(404, f"Unable to find form with guid {form_id}", category="OBJECT_NOT_FOUND")
    limit = req.int_arg("limit", 20, minimum=1, maximum=50, clamp=False, v1=False)
    after = req.arg("after")
    end = bisect.bisect_left(keys, _decode(after)) if after else len(keys)  # exclusive, newest-first walk
    start = max(0, end - limit)
    page = keys[start:end][::-1]
    results: list[dict[str, Any]] = []
    for _ts, _seq, conv in page:
        sub = state.submission(conv)
        results.append(
            {
                "conversionId": sub["conversionId"],
                "submittedAt": sub["submittedAt"],
                "values": [dict(v) for v in sub["values"]],
                "pageUrl": sub["pageUrl"],
            }
        )
    body: dict[str, Any] = {"results": results}
    if start > 0 and page:
        cursor = _encode(page[-1][0], page[-1][1])
        body["paging"] = {"next": {"after": cursor, "link": f"?after={cursor}&limit={limit}"}}
    return json_response(body)


def register(router: Router) -> None:
    router.add("GET", "/form-integrations/v1/submissions/forms/{formGuid}", submissions, scopes=(FORMS,))
