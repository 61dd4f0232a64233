"""API editions: ``v1`` (HubSpot's legacy v1 APIs), ``v3`` and date-based versions such as ``2026-03``.

v3 and date-based paths differ only in their prefix; v1 differs in payload shapes too. Families with
no modern successor (lifecycle-stage metrics, form submissions, email events) always use v1 paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from airflow_provider_hubspot.client.errors import HubSpotConfigError

DEFAULT_API_VERSION = "2026-03"
_DATE_VERSION = re.compile(r"^(20\d\d)-(0[1-9]|1[0-2])(-beta)?$")


@dataclass(frozen=True)
class Edition:
    """One API edition and the path prefixes it maps to."""

    version: str

    @classmethod
    def parse(cls, value: str | None) -> Edition:
        """Validate an ``api_version`` value (``None`` means the default, ``2026-03``)."""
        version = (value or DEFAULT_API_VERSION).strip().lower()
        if version in ("v1", "v3") or _DATE_VERSION.match(version):
            return cls(version)
        raise HubSpotConfigError(
            f"Unknown api_version {value!r}: use a date-based version such as '2026-03' (default), "
            "'v3', or 'v1' for HubSpot's v1 APIs (e.g. the legacy v1 Contacts API)."
        )

    @property
    def is_v1(self) -> bool:
        return self.version == "v1"

    @property
    def modern(self) -> str:
        """The version segment for modern paths (``v3`` for v1, whose modern-only calls use v3)."""
        return "v3" if self.version in ("v1", "v3") else self.version

    def crm_objects(self, object_type: str = "contacts") -> str:
        if self.modern == "v3":
            return f"/crm/v3/objects/{object_type}"
        return f"/crm/objects/{self.modern}/{object_type}"

    def crm_properties(self, object_type: str = "contacts") -> str:
        if self.modern == "v3":
            return f"/crm/v3/properties/{object_type}"
        return f"/crm/properties/{self.modern}/{object_type}"

    @property
    def crm_lists(self) -> str:
        return "/crm/v3/lists" if self.modern == "v3" else f"/crm/lists/{self.modern}"

    @property
    def timeline(self) -> str:
        return f"/integrators/timeline/{self.modern}"

    def __str__(self) -> str:
        return self.version
