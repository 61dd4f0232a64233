"""The change-only part of the write operators: ``state_path``, ``full_refresh``, ``on_removed`` and
``max_removed`` (see :mod:`airflow_provider_hubspot.sync_state` for how the state is stored)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

from airflow_provider_hubspot.client import BatchOutcome, HubSpotConfigError, Record, Rejection
from airflow_provider_hubspot.operators.guards import (
    DEFAULT_MAX_REMOVED,
    REMOVED,
    WOULD_REMOVE,
    RemovalGuardError,
    allowed_removals,
    check_removals,
    validate_max_removed,
)
from airflow_provider_hubspot.sync_state import ChangeFilter, SyncState

__all__ = ["DEFAULT_MAX_REMOVED", "REMOVED", "WOULD_REMOVE", "ChangeOnlyRun", "RemovalGuardError", "truthy",
           "validate_removal"]

ON_REMOVED = ("ignore", "archive")


def truthy(value: Any) -> bool:
    """A templated flag (``full_refresh``): ``True``, ``"true"``, ``"1"``, ``"yes"``, ``"on"`` are true."""
    return value is True or str(value).strip().lower() in ("true", "1", "yes", "on")


def validate_removal(on_removed: Any, max_removed: Any) -> tuple[str, int | float]:
    """Check ``on_removed`` and ``max_removed`` (a count >= 0, or a fraction in (0, 1))."""
    if on_removed not in ON_REMOVED:
        raise HubSpotConfigError(f"on_removed must be one of {ON_REMOVED}, got {on_removed!r}.")
    return on_removed, validate_max_removed(max_removed)


class ChangeOnlyRun:
    """One run of a change-only sync: the open state, the filter in front of the writer, removals.

    :param state_path: the state's pointer file (local path or object-storage URI).
    :param scope: what the state is about (object type, id property): another sync's state is refused.
    :param key_of: a record's key as the state stores it, or ``None`` when it has none.
    :param key_name: the name of the key in removal listings (e.g. ``email``).
    :param full_refresh: send everything (the state is rebuilt from what HubSpot accepts).
    :param dry_run: write no state; classify what would be sent.
    :param fingerprint_of: a record's fingerprint (default: a hash of its mapped properties).
    """

    def __init__(self, state_path: str, *, scope: Mapping[str, Any], key_of: Callable[[Record], str | None],
                 key_name: str, full_refresh: bool = False, dry_run: bool = False,
                 fingerprint_of: Callable[[Record], bytes] | None = None) -> None:
        self.state = SyncState(state_path, scope=scope)
        self.key_name = key_name
        self.dry_run = dry_run
        self.changes = ChangeFilter(self.state, key_of, full_refresh=full_refresh, dry_run=dry_run,
                                    fingerprint_of=fingerprint_of)
        self.counts: dict[str, int] = {}

    def __enter__(self) -> ChangeOnlyRun:
        self.state.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.state.close()

    def filter(self, records: Iterable[Record]) -> Iterator[Record]:
        """The records that changed since the state was written (or are new)."""
        return self.changes(records)

    def settle(self, batch: Sequence[Record], outcome: BatchOutcome) -> None:
        self.changes.settle(batch, outcome)

    def commit(self) -> None:
        """Save what HubSpot accepted (not in a dry run)."""
        if not self.dry_run:
            self.counts["state_keys"] = self.state.commit()

    def summary(self) -> dict[str, Any]:
        """The change-only numbers of the summary."""
        result: dict[str, Any] = {"unchanged": self.changes.unchanged, **self.counts}
        if self.dry_run:
            result.update(would_create=self.changes.would_create, would_update=self.changes.would_update)
        return result

    def removals(self, *, on_removed: str, max_removed: int | float, rejects: Any,
                 archive: Callable[[list[tuple[str, str | None]]], int]) -> None:
        """List the keys of the state missing from this run's input and, with ``on_removed="archive"``,
        archive them in HubSpot — after checking ``max_removed`` before the first one.

        Call only after the whole input was read: a partial read would look like removals.

        :param archive: archives a batch of ``(key, object id or None)`` and returns how many it archived.
        """
        removing = on_removed == "archive"
        code = WOULD_REMOVE if removing and self.dry_run else REMOVED
        reason = ("in the state of the last run but not in this run's input"
                  + ("; would be archived (dry run)" if code == WOULD_REMOVE else
                     "; archived in HubSpot" if removing else "; left in HubSpot (on_removed='ignore')"))
        removed = 0
        for key, object_id in self.state.unseen():
            removed += 1
            record = {self.key_name: key, "hs_object_id": object_id}
            rejects.write([Rejection(-1, record, reason, code)])
        self.counts["removed"] = removed
        if not removing or not removed:
            return
        if self.dry_run:  # report, remove nothing, and say whether the real run would pass the guard
            self.counts["would_archive"] = removed
            self.counts["within_max_removed"] = removed <= allowed_removals(max_removed, self.state.keys_at_start)
            return
        check_removals(removed, self.state.keys_at_start, max_removed, what="records", where="the state",
                       listing=f"{rejects.path} (code {code})")
        archived = 0
        unseen = self.state.unseen()
        while batch := list(islice(unseen, 100)):
            archived += archive(batch)
            self.state.forget(key for key, _ in batch)
        self.counts["archived"] = archived
