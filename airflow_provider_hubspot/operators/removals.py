"""The removal half of a sync: lists that mirror a source, and deletes (archive or GDPR erasure).

Every removing path checks ``max_removed`` (see :mod:`~airflow_provider_hubspot.operators.guards`)
before the first removal and has a dry run that lists what would go (code ``WOULD_REMOVE``).
Differences of any size are computed on disk (:class:`~airflow_provider_hubspot.disk_sets.DiskSets`),
so memory stays flat for lists of millions of members.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from airflow_provider_hubspot._compat import AirflowFailException, Context
from airflow_provider_hubspot.client import BatchOutcome, HubSpotConfigError, Record, Rejection
from airflow_provider_hubspot.client.batching import chunked
from airflow_provider_hubspot.disk_sets import DiskSets
from airflow_provider_hubspot.operators.base import (
    SOURCE_FIELDS,
    Counted,
    HubSpotBaseOperator,
    Progress,
    RejectsFile,
    SourceMixin,
    check_max_rejected,
    default_rejects_name,
    summary,
)
from airflow_provider_hubspot.operators.change_only import truthy
from airflow_provider_hubspot.operators.guards import (
    DEFAULT_MAX_REMOVED,
    WOULD_REMOVE,
    RemovalGuardError,
    allowed_removals,
    check_removals,
    validate_max_removed,
)
from airflow_provider_hubspot.operators.lists import MEMBER, HubSpotAddContactsToListOperator, _identify
from airflow_provider_hubspot.sync_state import SyncState

RESOLVE_CHUNK = 100
#: The fingerprints of a mirror state's keys being added / removed (saved before the changes are sent).
ADDING, REMOVING = b"adding", b"removing"


class HubSpotSyncListMembersOperator(HubSpotAddContactsToListOperator):
    """Make a MANUAL or SNAPSHOT list hold exactly the source's members: add the missing, remove the rest.

    A separate operator rather than a flag on :class:`HubSpotAddContactsToListOperator`: it removes
    members, so its name says so in the DAG, and it has the removal guard's parameters. Members are
    given as for that operator (ids, e-mails, or rows with a ``vid``/``record_id``/``id`` or
    ``email`` column); e-mails are resolved to record ids (100 per call). The list's current
    members are read a page at a time, both sides are compared on disk, and the changes are sent with
    the lists API's add-and-remove call (250 of each per request). Re-running converges: a run
    killed part-way and run again leaves exactly the source's members.

    :param list_id: the list (ILS id; modern editions only — the v1 lists API is switched off).
    :param max_removed: most members one run may remove — a count or a fraction of the list's
        current size (default 0.1); checked before the first removal, failing the task otherwise.
    :param dry_run: compute and report (``would_add``, ``would_remove``, removals listed in the
        rejects file with code ``WOULD_REMOVE``), change nothing.
    :param state_path: keep the membership this operator last left (local path or object-storage URI)
        and compare the source with it instead of reading the list: a run then costs the list look-up
        plus one request per 250 changes, not one per 250 members. The first run (empty state) reads
        the list. The state is widened by the adds before they are sent and narrowed by the removals
        after, so a run killed at any point leaves a state holding every member this operator added
        and the next run converges. Members added or removed in HubSpot by someone else are not seen
        (``members_read_from: "state"`` in the summary); ``full_refresh=True`` reads the list again
        and rebuilds the state.

    Other parameters as :class:`HubSpotAddContactsToListOperator`. Summary: ``received`` =
    ``added`` + ``already_members`` + ``duplicates`` + ``not_found`` + ``invalid`` (``would_add``
    instead of ``added`` in a dry run), plus ``removed`` (or ``would_remove``), ``list_size`` (the
    members compared with: the list's, or the state's) and ``members_read_from``.
    """

    outcome_keys = ("added", "would_add", "already_members", "duplicates", "not_found", "invalid")
    template_fields: Sequence[str] = (*HubSpotAddContactsToListOperator.template_fields, "max_removed")

    def __init__(self, *, max_removed: int | float = DEFAULT_MAX_REMOVED, dry_run: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_removed = validate_max_removed(max_removed)
        self.validate_only = dry_run

    def execute(self, context: Context) -> dict[str, Any]:
        self.check_required()
        list_id = str(self.list_id).strip()
        doing = f"Mirroring the members of list {list_id}"
        rejects = RejectsFile(self.rejects_path, default_rejects_name(context, self.task_id))
        members = Counted(self._members())
        outcome = BatchOutcome(keep_rejections=False)
        result: dict[str, Any]
        with self.failing_clearly(doing), DiskSets() as sets, self._mirror_state(list_id) as state:
            client = self.client
            if client.edition.is_v1:
                raise HubSpotConfigError("Mirroring a list needs a modern api_version: HubSpot switched the v1 "
                                         "lists API off on 2026-04-30.")
            list_obj = client.lists.get_for_membership(list_id)
            self.log.info("Mirroring list %s (%r, api_version %s)", list_id, list_obj.get("name"), client.edition)
            try:
                for chunk in chunked(members, RESOLVE_CHUNK):
                    part = self._resolve(client, chunk, sets)
                    rejects.write(part.rejections)
                    outcome.merge(part)
                from_state = self._read_current(client, list_id, state, sets)
                size, to_add, to_remove = self._plan(sets)
                outcome.count("already_members", sets.common("wanted", "current"))
                extra: dict[str, Any] = {"members_read_from": "state" if from_state else "list"}
                if self.validate_only:
                    for record_id in sets.keys("removing"):
                        rejects.write([Rejection(-1, {"record_id": record_id}, "a member of the list but not in the "
                                                 "source: would be removed (dry run)", WOULD_REMOVE)])
                    outcome.count("would_add", to_add)
                    extra.update(would_remove=to_remove,
                                 within_max_removed=to_remove <= allowed_removals(self.max_removed, size))
                else:
                    check_removals(to_remove, size, self.max_removed, what="members", where=f"list {list_id}")
                    extra.update(self._apply(client, list_id, sets, state, from_state, rejects, outcome))
            except RemovalGuardError as exc:
                raise AirflowFailException(f"{doing}: {exc}") from None
            finally:
                rejects.close()
        result = summary(outcome, client, list_id=list_id, received=members.count, list_size=size,
                         rejects_path=rejects.written_path, api_version=str(client.edition),
                         dry_run=self.validate_only, **extra)
        self.finish(result)
        self.log.info("List %s mirrored: %s", list_id, result)
        self.log_rejections(rejects.samples, "Member")
        if self.max_rejected is not None:
            check_max_rejected(self.max_rejected, outcome.rejected, members.count, rejects.written_path,
                               rejects.samples)
        return result

    def _read_current(self, client: Any, list_id: str, state: SyncState | None, sets: DiskSets) -> bool:
        """Fill the ``current`` set (and, from a state, ``half_added`` / ``half_removed``); return whether the
        state replaced reading the list."""
        if state is None or not state.keys_at_start or truthy(self.full_refresh):
            sets.add("current", (str(m.get("recordId", m.get("vid")))
                                 for m in client.lists.iter_members(list_id, page_size=250)))
            return False
        # the members the last run left, and the keys a stopped run was adding or removing: whatever
        # HubSpot did with those, they are sent again as the source wants them
        sets.add("current", state.keys(fingerprint=MEMBER))
        sets.add("half_added", state.keys(fingerprint=ADDING))
        sets.add("half_removed", state.keys(fingerprint=REMOVING))
        return True

    @staticmethod
    def _plan(sets: DiskSets) -> tuple[int, int, int]:
        """Fill ``adding`` and ``removing``; return the list's size (for the guard) and both counts."""
        sets.add("adding", sets.only_in("wanted", "current"))
        for held in ("current", "half_added", "half_removed"):
            sets.add("removing", sets.only_in(held, "wanted"))
        # members being removed when a run stopped still count in the list's size
        size = sets.count("current") + sets.count("half_removed")
        return size, sets.count("adding"), sets.count("removing")

    def _apply(self, client: Any, list_id: str, sets: DiskSets, state: SyncState | None, from_state: bool,
               rejects: RejectsFile, outcome: BatchOutcome) -> dict[str, Any]:
        """Send the adds and removals (the state marked first, settled after); return the summary's extras."""
        to_add, to_remove = sets.count("adding"), sets.count("removing")
        saving = state is not None and bool(to_add or to_remove or not from_state)
        if saving and state:
            self._mark_changing(state, sets, rebuild=not from_state)
        changed = client.lists.add_and_remove(list_id, sets.keys("adding"), sets.keys("removing"))
        sets.add("missing", changed["missing"])  # ids HubSpot has no contact for
        for record_id in sets.both("adding", "missing"):
            rejects.write([Rejection(-1, {"record_id": record_id}, f"no contact has record id {record_id}",
                                     "NOT_FOUND")])
        missing = sets.common("adding", "missing")
        outcome.count("added", to_add - missing)
        outcome.count("not_found", missing)
        extra: dict[str, Any] = {"removed": to_remove}
        if saving and state:  # the changes are done: the state holds the source's members
            state.record((key, MEMBER, key) for key in sets.only_in("adding", "missing"))
            state.forget(sets.keys("removing"))
            state.forget(sets.keys("missing"))
            extra["state_keys"] = state.commit()
        elif state is not None:  # nothing changed: the state stays as it is
            extra["state_keys"] = state.keys_at_start
        return extra

    @staticmethod
    def _mark_changing(state: SyncState, sets: DiskSets, *, rebuild: bool) -> None:
        """Before sending: save the keys about to be added or removed as such, so a run stopped while
        sending leaves a state whose next run sends those changes again (adding a member or removing
        a non-member twice changes nothing). Keys already marked by a stopped run keep their mark."""
        if rebuild:  # the members were read from the list: they become the state
            state.clear()
            state.record((key, MEMBER, key) for key in sets.keys("current"))
        state.record((key, ADDING, key) for key in sets.keys("adding"))
        state.record((key, REMOVING, key) for key in sets.only_in("current", "wanted"))
        state.commit()

    @contextmanager
    def _mirror_state(self, list_id: str) -> Iterator[SyncState | None]:
        """With ``state_path``: the list's members as this operator last left them, instead of reading them."""
        if not self.state_path or not str(self.state_path).strip():
            yield None
            return
        with SyncState(str(self.state_path), scope={"object_type": "list_members", "list_id": list_id,
                                                     "mode": "mirror"}) as state:
            yield state

    def _resolve(self, client: Any, chunk: list[Record], sets: DiskSets) -> BatchOutcome:
        """Put a chunk's members (as record ids) into the ``wanted`` set; count the rest."""
        outcome = BatchOutcome()
        ids: list[str] = []
        emails: dict[str, Record] = {}
        for record in chunk:
            kind, value = _identify(record.data)
            if kind == "invalid":
                outcome.count("invalid")
                outcome.reject(record, value, "INVALID_MEMBER")
            elif kind == "email":
                if value.lower() in emails:
                    outcome.count("duplicates")
                else:
                    emails[value.lower()] = record
            else:
                ids.append(value)
        if emails:
            found = {str((c.get("properties") or {}).get("email", "")).lower(): str(c["id"])
                     for c in client.contacts.batch_get(list(emails), by="email", properties=["email"])}
            for email, record in emails.items():
                if email in found:
                    ids.append(found[email])
                else:
                    outcome.count("not_found")
                    outcome.reject(record, f"no contact has email {email}", "NOT_FOUND")
        new = sets.add("wanted", ids)
        outcome.count("duplicates", len(ids) - new)
        return outcome


class HubSpotDeleteObjectsOperator(SourceMixin, HubSpotBaseOperator):
    """Archive records (or erase contacts under GDPR) given by id or by a unique property, from any source.

    The whole input is read and resolved first (on disk), so ``max_removed`` is checked against the
    real number before the first deletion. A record already gone counts as ``already_deleted``, so a
    retried task is safe. Archived records stay restorable in HubSpot for 90 days; ``gdpr=True``
    uses HubSpot's GDPR delete instead (contacts only; permanent; one record per request, paced; by
    e-mail HubSpot also blocklists the address) and never writes the identifying values it erases to
    the task log, XCom or the rejects file (they carry input indexes and counts).

    :param object_type: ``contacts`` (other CRM objects come with the generic objects family).
    :param id_property: ``hs_object_id`` (record ids, default) or a unique property such as ``email``.
    :param records: / ``source_path`` / ``sql`` + ``sql_conn_id``: rows that are ids / values, or dicts
        with an ``id_property`` column.
    :param gdpr: erase permanently with HubSpot's GDPR delete (contacts).
    :param max_removed: most records one run may delete — a count or a fraction of the object's
        records in HubSpot (default 0.1); checked before the first deletion.
    :param dry_run: resolve and report (``would_delete``; listed with code ``WOULD_REMOVE``), delete nothing.
    :param rejects_path: where invalid inputs and the dry run's listing go (default: a temp file).
    :param max_rejected: invalid inputs tolerated (count or fraction; default: only reported).
    """

    template_fields: Sequence[str] = ("object_type", "id_property", *SOURCE_FIELDS, "rejects_path", "max_removed",
                                      "api_version", "hubspot_conn_id")
    template_fields_renderers = {"sql": "sql", "records": "json"}
    required_params = ("object_type", "id_property")
    outcome_keys = ("deleted", "would_delete", "already_deleted", "duplicates", "invalid")

    def __init__(self, *, object_type: str = "contacts", id_property: str = "hs_object_id", records: Any = None,
                 source_path: str | None = None, sql: str | None = None, sql_conn_id: str | None = None,
                 file_format: str | None = None, gdpr: bool = False, max_removed: int | float = DEFAULT_MAX_REMOVED,
                 dry_run: bool = False, rejects_path: str | None = None, max_rejected: int | float | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.init_source(records=records, source_path=source_path, sql=sql, sql_conn_id=sql_conn_id,
                         file_format=file_format)
        self.object_type = object_type
        self.id_property = id_property
        self.gdpr = gdpr
        self.max_removed = validate_max_removed(max_removed)
        self.validate_only = dry_run
        self.rejects_path = rejects_path
        self.max_rejected = max_rejected

    def execute(self, context: Context) -> dict[str, Any]:
        self.check_required()
        object_type = str(self.object_type).strip().lower()
        by_id = self.id_property in ("hs_object_id", "id", "vid", "record_id")
        doing = f"{'Erasing (GDPR)' if self.gdpr else 'Archiving'} {object_type}"
        rejects = RejectsFile(self.rejects_path, default_rejects_name(context, self.task_id))
        rows = Counted(self.source_records())
        outcome = BatchOutcome(keep_rejections=False)
        progress = Progress(self.log, doing.capitalize(), every=10)
        with self.failing_clearly(doing), DiskSets() as sets:
            if object_type != "contacts":
                raise HubSpotConfigError(f"object_type={self.object_type!r}: this provider deletes contacts so far; "
                                         "other CRM objects come with its generic objects support.")
            client = self.client
            try:
                for chunk in chunked(rows, RESOLVE_CHUNK):
                    part = self._resolve(client, chunk, sets, by_id)
                    rejects.write(part.rejections)
                    outcome.merge(part)
                to_delete = sets.count("found")
                existing = client.contacts.count()
                if self.validate_only:
                    outcome.count("would_delete", to_delete)
                    for number, record_id in enumerate(sets.keys("found"), start=1):
                        listed = {"number": number} if self.gdpr else {"hs_object_id": record_id}
                        rejects.write([Rejection(-1, listed, "would be deleted (dry run)", WOULD_REMOVE)])
                    extra: dict[str, Any] = {
                        "within_max_removed": to_delete <= allowed_removals(self.max_removed, existing)}
                else:
                    check_removals(to_delete, existing, self.max_removed, what=object_type,
                                   where=f"HubSpot's {object_type}")
                    outcome.count("deleted", self._delete(client, sets.keys("found"), progress))
                    extra = {}
            except RemovalGuardError as exc:
                raise AirflowFailException(f"{doing}: {exc}") from None
            finally:
                rejects.close()
        result = summary(outcome, client, object_type=object_type, received=rows.count, existing=existing,
                         gdpr=bool(self.gdpr), rejects_path=rejects.written_path, api_version=str(client.edition),
                         dry_run=self.validate_only, **extra)
        self.finish(result)
        self.log.info("%s: %s", doing, result)
        if not self.gdpr:
            self.log_rejections(rejects.samples, "Input")
        if self.max_rejected is not None:
            check_max_rejected(self.max_rejected, outcome.rejected, rows.count, rejects.written_path, [])
        return result

    def _resolve(self, client: Any, chunk: list[Record], sets: DiskSets, by_id: bool) -> BatchOutcome:
        """Record ids of a chunk's records that exist into the ``found`` set; count the rest."""
        outcome = BatchOutcome()
        keys: dict[str, Record] = {}
        for record in chunk:
            value = record.data.get(self.id_property) if isinstance(record.data, dict) else record.data
            text = "" if value is None or isinstance(value, (dict, list, bool)) else str(value).strip()
            if not text or (by_id and not text.isdigit()):
                outcome.count("invalid")
                reason = (f"no {self.id_property!r} value" if not text else
                          f"{self.id_property} must be a numeric record id")
                outcome.reject(Record(record.index, None) if self.gdpr else record, reason, "INVALID_ID")
                continue
            key = text.lower() if self.id_property == "email" else text
            if key in keys:
                outcome.count("duplicates")
                continue
            keys[key] = record
        if not keys:
            return outcome
        by = "vid" if by_id else self.id_property
        found = client.contacts.batch_get(list(keys), by=by, properties=["email"])
        if self.gdpr and self.id_property == "email":  # erased by e-mail, so HubSpot also blocklists the address
            ids = [str((c.get("properties") or {}).get("email", "")).lower() for c in found]
        else:
            ids = [str(c.get("id", c.get("vid"))) for c in found]
        new = sets.add("found", ids)
        outcome.count("duplicates", len(ids) - new)  # two inputs naming one record (an id and its e-mail)
        outcome.count("already_deleted", len(keys) - len(ids))
        return outcome

    def _delete(self, client: Any, ids: Iterator[str], progress: Progress) -> int:
        deleted = 0
        if not self.gdpr:
            for chunk in chunked(ids, 100):
                deleted += client.contacts.archive(chunk)
                progress.advance(deleted=len(chunk))
            return deleted
        by = "email" if self.id_property == "email" else "vid"
        for key in ids:  # HubSpot's GDPR delete takes one record per request
            client.contacts.gdpr_delete(key, by=by)
            deleted += 1
            if deleted % 100 == 0:
                progress.advance(deleted=100)
        return deleted
