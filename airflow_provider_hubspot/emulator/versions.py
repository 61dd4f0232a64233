"""Which date-based versions HubSpot publishes for each API family the emulator serves.

From HubSpot's public OpenAPI collection (2026-08): every family below has ``2026-03``; Timeline has
no ``2026-09`` (its newest date version is ``2026-03``). A strict emulator answers 404 to a family
called with a version it lacks, as HubSpot does (HubSpot's exact body for such a path is not
documented; the emulator answers with its not-found body ``{"status": "error", "message":
"resource not found", "category": "OBJECT_NOT_FOUND"}``). With ``strict=False`` any ``YYYY-MM`` is
served, in the shape of the newest published version that is not newer.

Kept apart from the client's table (``client/editions.py``) on purpose: the emulator stands for
HubSpot, so a client that builds a path HubSpot does not publish fails against it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .router import Router

PUBLISHED: dict[str, tuple[str, ...]] = {
    "crm_objects": ("2026-03", "2026-09"),
    "associations": ("2026-03", "2026-09"),
    "lists": ("2026-03", "2026-09"),
    "properties": ("2026-03", "2026-09"),
    "timeline": ("2026-03",),
    "oauth": ("2026-03", "2026-09"),
}

#: The first version whose batch endpoints answer 200 (create: 201) with ``errors`` / ``numErrors``
#: instead of 207 Multi-Status, and whose results carry no ``warnings``.
NO_MULTI_STATUS_FROM = "2026-09"


def multi_status(version: str | None) -> bool:
    """Whether partial batch failures answer 207 in ``version`` (``v3``/``None``: yes; ``2026-09`` on: no)."""
    return version in (None, "", "v3") or str(version) < NO_MULTI_STATUS_FROM


def versioned(router: Router, base: str, family: str) -> Callable[..., None]:
    """``router.add`` for routes under ``base``: with ``versions=`` of ``family`` when ``base`` has ``{version}``."""
    versions = PUBLISHED[family] if "{version" in base else None

    def add(*args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("versions", versions)
        router.add(*args, **kwargs)

    return add
