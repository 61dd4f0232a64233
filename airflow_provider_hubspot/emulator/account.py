"""Account details: ``GET /account-info/v3/details`` (also ``/account-info/2026-03/details``).

Answers the emulated portal's id and settings to any valid token (HubSpot needs no particular scope
for it); the provider reads ``portalId`` to name its OpenLineage namespace ``hubspot://<portal id>``.
"""

from __future__ import annotations

from ._util import PORTAL_ID
from .router import Request, Response, Router, json_response


def details(req: Request) -> Response:
    return json_response({
        "portalId": PORTAL_ID,
        "accountType": "STANDARD",
        "timeZone": "UTC",
        "companyCurrency": "USD",
        "additionalCurrencies": [],
        "utcOffset": "+00:00",
        "utcOffsetMilliseconds": 0,
        "uiDomain": "app.hubspot.com",
        "dataHostingLocation": "na1",
    })


def register(router: Router) -> None:
    router.add("GET", "/account-info/v3/details", details, write=False, tags=("account",))
    router.add("GET", "/account-info/2026-03/details", details, write=False, tags=("account",))
