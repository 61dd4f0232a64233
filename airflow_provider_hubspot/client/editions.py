"""API editions: ``v1`` (HubSpot's legacy v1 APIs), ``v3`` and HubSpot's date-based versions (``2026-03``...).

``api_version`` is the version the user asks for. HubSpot does not publish every API family in every
date version (Timeline has ``2026-03`` but no ``2026-09``; Forms definitions have no stable date
version at all), and a path with a version its family lacks is answered 404. So each family resolves
on its own: it uses the newest version it has that is not newer than the one asked for
(:data:`FAMILY_VERSIONS` is the one table of which family has which version), and falls back to its
numbered (``v3``) form when it has none that old. A version newer than the newest this provider
knows (:data:`LATEST_VERSION`) is refused: its paths and answers are not known yet.

v3 and date-based paths differ only in their prefix; v1 differs in payload shapes too. Families with
no modern successor (lifecycle-stage metrics, form submissions, email events) always use v1 paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from airflow_provider_hubspot.client.errors import HubSpotConfigError

#: Stable date versions this provider supports and tests, oldest first.
SUPPORTED_VERSIONS: tuple[str, ...] = ("2026-03", "2026-09")
#: The newest of them; a newer ``api_version`` is refused.
LATEST_VERSION = SUPPORTED_VERSIONS[-1]
#: What an empty ``api_version`` means.
DEFAULT_API_VERSION = "2026-09"

#: The stable date versions HubSpot publishes per API family (its public OpenAPI collection, 2026-08),
#: limited to :data:`SUPPORTED_VERSIONS`. Every family also has a numbered form (``v3``; Associations:
#: ``v4``), used for ``api_version="v3"`` and when a family has no date version old enough.
FAMILY_VERSIONS: dict[str, tuple[str, ...]] = {
    "crm_objects": ("2026-03", "2026-09"),  # contacts, companies, deals, ... merge, search, gdpr-delete
    "associations": ("2026-03", "2026-09"),
    "properties": ("2026-03", "2026-09"),
    "schemas": ("2026-03", "2026-09"),
    "lists": ("2026-03", "2026-09"),
    "timeline": ("2026-03",),  # no 2026-09: a 2026-09 client sends timeline calls to 2026-03
    "imports": ("2026-03", "2026-09"),
    "exports": ("2026-03", "2026-09"),
    "oauth": ("2026-03", "2026-09"),
    "account_info": ("2026-03", "2026-09"),
    "owners": ("2026-03", "2026-09"),
    "pipelines": ("2026-03", "2026-09"),
    "communication_preferences": ("2026-03", "2026-09"),
    "forms": (),  # marketing form definitions: only /marketing/v3/forms is stable (2026-09 is a beta)
}

#: Names used in log lines.
FAMILY_NAMES: dict[str, str] = {
    "crm_objects": "CRM objects",
    "associations": "associations",
    "properties": "properties",
    "schemas": "object schemas",
    "lists": "lists",
    "timeline": "timeline",
    "imports": "imports",
    "exports": "exports",
    "oauth": "OAuth",
    "account_info": "account info",
    "owners": "owners",
    "pipelines": "pipelines",
    "communication_preferences": "communication preferences",
    "forms": "forms",
}
#: Families a ``v1`` edition calls on their v1 paths (the others use v3 there).
V1_FAMILIES = frozenset({"crm_objects", "lists", "timeline", "properties"})
#: Families the provider's operators and sensors use: the ones named in the log line of a task.
USED_FAMILIES: tuple[str, ...] = ("crm_objects", "lists", "properties", "timeline", "oauth")

_DATE_VERSION = re.compile(r"^(20\d\d)-(0[1-9]|1[0-2])(-beta)?$")
_SUPPORTED = ", ".join(f"'{v}'" for v in SUPPORTED_VERSIONS)


def resolve_version(requested: str, family: str) -> str:
    """The version ``family`` uses when ``requested`` is asked for (``v1``, ``v3`` or a date version)."""
    if family not in FAMILY_VERSIONS:
        raise KeyError(f"unknown API family {family!r}; known: {', '.join(FAMILY_VERSIONS)}")
    if family == "oauth" and requested in ("v1", "v3"):
        return FAMILY_VERSIONS["oauth"][0]  # OAuth v1 goes off on 2027-02-16: refresh at the date-based endpoint
    if requested == "v1":
        return "v1" if family in V1_FAMILIES else "v3"
    if requested == "v3":
        return "v3"
    candidates = [v for v in FAMILY_VERSIONS[family] if v <= requested]
    return candidates[-1] if candidates else "v3"


@dataclass(frozen=True)
class Edition:
    """The ``api_version`` asked for, and the path prefixes each family resolves it to.

    :param version: ``v1``, ``v3`` or a date version (``YYYY-MM``) not newer than :data:`LATEST_VERSION`.
    """

    version: str

    @classmethod
    def parse(cls, value: str | None) -> Edition:
        """Validate an ``api_version`` value (``None`` means :data:`DEFAULT_API_VERSION`)."""
        version = (value or DEFAULT_API_VERSION).strip().lower()
        if version in ("v1", "v3"):
            return cls(version)
        match = _DATE_VERSION.match(version)
        if not match:
            raise HubSpotConfigError(
                f"Unknown api_version {value!r}: use a date-based version such as {_SUPPORTED} "
                f"(default '{DEFAULT_API_VERSION}'), 'v3', or 'v1' for HubSpot's v1 APIs (e.g. the legacy v1 "
                "Contacts API)."
            )
        if match.group(3):
            raise HubSpotConfigError(
                f"api_version {value!r} is a beta: HubSpot may change beta APIs without notice, and this provider "
                f"supports stable versions only ({_SUPPORTED}, 'v3', 'v1')."
            )
        if version > LATEST_VERSION:
            raise HubSpotConfigError(
                f"api_version {value!r} is newer than the newest HubSpot API version this provider supports, "
                f"'{LATEST_VERSION}' (its paths and answers are not known to this provider yet). Use "
                f"api_version='{LATEST_VERSION}', or upgrade airflow-provider-hubspot."
            )
        if version < SUPPORTED_VERSIONS[0]:
            raise HubSpotConfigError(
                f"api_version {value!r} is older than HubSpot's first stable date version, "
                f"'{SUPPORTED_VERSIONS[0]}'. Use one of {_SUPPORTED}, or 'v3' for HubSpot's numbered APIs."
            )
        return cls(version)

    @property
    def is_v1(self) -> bool:
        return self.version == "v1"

    def version_of(self, family: str) -> str:
        """The version segment ``family`` uses in this edition (``v1``, ``v3`` or ``YYYY-MM``)."""
        return resolve_version(self.version, family)

    def modern_version(self, family: str) -> str:
        """Like :meth:`version_of`, but ``v3`` where a v1 edition calls a family's modern-only endpoints."""
        version = self.version_of(family)
        return "v3" if version == "v1" else version

    @property
    def modern(self) -> str:
        """The CRM objects' version segment (``v3`` for v1, whose modern-only calls use v3)."""
        return self.modern_version("crm_objects")

    def versions(self, families: tuple[str, ...] = USED_FAMILIES) -> dict[str, str]:
        """``{family: version}`` for ``families`` (default: the ones the operators and sensors use)."""
        return {family: self.version_of(family) for family in families}

    def describe(self, families: tuple[str, ...] = USED_FAMILIES) -> str:
        """One line for a task log: the version asked for and the one each family uses."""
        parts = ", ".join(f"{FAMILY_NAMES[f]} {v}" for f, v in self.versions(families).items())
        return (f"HubSpot api_version {self.version}: {parts}; lifecycle-stage metrics, form submissions and "
                "email events v1 (no newer version exists)")

    # -- path prefixes ------------------------------------------------------------------------------

    def crm_objects(self, object_type: str = "contacts") -> str:
        version = self.modern_version("crm_objects")
        if version == "v3":
            return f"/crm/v3/objects/{object_type}"
        return f"/crm/objects/{version}/{object_type}"

    def crm_properties(self, object_type: str = "contacts") -> str:
        version = self.modern_version("properties")
        if version == "v3":
            return f"/crm/v3/properties/{object_type}"
        return f"/crm/properties/{version}/{object_type}"

    @property
    def crm_lists(self) -> str:
        version = self.modern_version("lists")
        return "/crm/v3/lists" if version == "v3" else f"/crm/lists/{version}"

    @property
    def timeline_version(self) -> str:
        """``v1``, ``v3`` or the date version the timeline family uses (``2026-03`` for a 2026-09 edition)."""
        return self.version_of("timeline")

    @property
    def timeline(self) -> str:
        return f"/integrators/timeline/{self.modern_version('timeline')}"

    def associations(self, from_type: str, to_type: str) -> str:
        """Batch associations between two object types (numbered form: v4)."""
        version = self.modern_version("associations")
        if version == "v3":
            return f"/crm/v4/associations/{from_type}/{to_type}"
        return f"/crm/associations/{version}/{from_type}/{to_type}"

    @property
    def crm_imports(self) -> str:
        version = self.modern_version("imports")
        return "/crm/v3/imports" if version == "v3" else f"/crm/imports/{version}"

    @property
    def crm_exports(self) -> str:
        version = self.modern_version("exports")
        return "/crm/v3/exports" if version == "v3" else f"/crm/exports/{version}"

    @property
    def crm_schemas(self) -> str:
        version = self.modern_version("schemas")
        return f"/crm-object-schemas/{version}/schemas"

    @property
    def oauth_token_path(self) -> str:
        """The token endpoint of this edition (``2026-03`` for ``v1`` / ``v3``: OAuth v1 goes off on 2027-02-16)."""
        return f"/oauth/{self.version_of('oauth')}/token"

    def __str__(self) -> str:
        return self.version
