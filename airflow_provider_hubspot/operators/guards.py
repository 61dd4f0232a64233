"""The guard every removing path shares (list mirror, deletes, ``on_removed="archive"``): a limit
checked before the first removal, and the codes removals are listed with."""

from __future__ import annotations

from typing import Any

from airflow_provider_hubspot.client import HubSpotConfigError

#: By default a run may remove at most this fraction of what exists (a list's members, the state's
#: keys, the objects of a type).
DEFAULT_MAX_REMOVED = 0.1
#: Listing codes: a record removed (or, with ``on_removed="ignore"``, only found missing) ...
REMOVED = "REMOVED"
#: ... and one a dry run would remove.
WOULD_REMOVE = "WOULD_REMOVE"


class RemovalGuardError(HubSpotConfigError):
    """More removals than ``max_removed`` allows: nothing was removed."""


def validate_max_removed(max_removed: Any) -> int | float:
    """``max_removed`` as given: a count (>= 0) or a fraction in (0, 1)."""
    if isinstance(max_removed, bool) or not isinstance(max_removed, (int, float)) or max_removed < 0 or (
            isinstance(max_removed, float) and max_removed >= 1 and not max_removed.is_integer()):
        raise HubSpotConfigError(f"max_removed must be a count (>= 0) or a fraction between 0 and 1, got "
                                 f"{max_removed!r}.")
    return max_removed


def allowed_removals(max_removed: int | float, existing: int) -> int:
    """The number of removals ``max_removed`` allows out of ``existing``."""
    if isinstance(max_removed, float) and 0 < max_removed < 1:
        return int(max_removed * existing)
    return int(max_removed)


def check_removals(count: int, existing: int, max_removed: int | float, *, what: str, where: str,
                   listing: str | None = None) -> None:
    """Raise :class:`RemovalGuardError` (before anything is removed) when ``count`` exceeds the limit.

    :param what: the things removed, plural ("list members", "contacts").
    :param where: of what ("list 123", "the state", "HubSpot's contacts").
    :param listing: where the would-be removals are listed, for the message.
    """
    allowed = allowed_removals(max_removed, existing)
    if count <= allowed:
        return
    listed = f" They are listed in {listing}." if listing else ""
    raise RemovalGuardError(
        f"{count:,} {what} would be removed out of the {existing:,} of {where}, more than max_removed="
        f"{max_removed!r} allows ({allowed:,}): nothing was removed.{listed} If the input is right, raise "
        "max_removed; if it is not (an empty or broken query?), fix it. dry_run=True lists what would go.")
