"""Contact operators: batch create-or-update, and merge."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from airflow_provider_hubspot._compat import AirflowException, AirflowFailException, Context
from airflow_provider_hubspot.client import (
    BatchOutcome,
    HubSpotAuthError,
    HubSpotConfigError,
    HubSpotConnectionError,
    HubSpotDailyLimitError,
    HubSpotError,
    HubSpotNotFoundError,
    HubSpotRateLimitError,
    HubSpotServerError,
    HubSpotValidationError,
    Record,
)
from airflow_provider_hubspot.client.batching import BatchRunner
from airflow_provider_hubspot.client.contacts import DUPLICATE
from airflow_provider_hubspot.operators.base import (
    SOURCE_FIELDS,
    Counted,
    HubSpotBaseOperator,
    Progress,
    RejectsFile,
    SourceMixin,
    check_max_rejected,
    default_rejects_name,
    default_resume_path,
    fresh_path,
    summary,
    validate_max_rejected,
    write_resume_file,
)
from airflow_provider_hubspot.operators.change_only import (
    DEFAULT_MAX_REMOVED,
    REMOVED,
    WOULD_REMOVE,
    ChangeOnlyRun,
    RemovalGuardError,
    truthy,
    validate_removal,
)
from airflow_provider_hubspot.sources import PropertyMapper, SourceError

#: Names of the record-id property (``id_property=`` accepts each).
ID_ALIASES = {"vid", "id", "hs_object_id", "record_id"}
#: Errors after which the records not yet sent are saved for the next run.
RESUMABLE_ERRORS = (HubSpotRateLimitError, HubSpotServerError, HubSpotConnectionError, HubSpotAuthError)


class HubSpotCreateOrUpdateContactsOperator(SourceMixin, HubSpotBaseOperator):
    """Create or update HubSpot contacts in batches, from inline rows, a file or a SQL query.

    Every input record ends either written to HubSpot or in the rejects file with HubSpot's reason.
    Re-running the task is safe: writes are upserts keyed by ``id_property``.

    :param records: list of dicts (or an XComArg resolving to one).
    :param source_path: CSV or JSON Lines file, local or any Airflow object-storage URI; streamed.
    :param sql: query whose rows are the records (with ``sql_conn_id``); streamed with ``fetchmany``.
    :param sql_conn_id: connection of a common-sql database (Postgres, MySQL, SQLite, ...).
    :param file_format: ``csv`` or ``jsonl`` when the file name does not tell.
    :param properties_map: ``{"column": "hubspot_property"}`` renames; other columns keep their names.
    :param id_property: ``email`` (default), ``vid`` (record id) or a unique property (modern editions).
    :param include_empty: send empty values (clearing them in HubSpot) instead of skipping them.
    :param date_properties: HubSpot date properties; their values are sent as UTC-midnight epoch ms.
    :param batch_size: records per request (default: 1,000 for v1, 100 for modern editions).
    :param max_concurrency: requests in flight at once, all under the connection's rate limit.
    :param rejects_path: where to write rejected records as JSON Lines (default: a temp file).
    :param resume_path: where records not yet sent are saved when HubSpot stops the sync (the daily
        limit, revoked credentials, retries exhausted), in the input's format, so the next run can
        finish with ``source_path=`` this file (default: next to the rejects file).
    :param max_rejected: rejected records tolerated before the task fails — a count or a fraction
        of the input (default 0). The decision is taken after every valid record was written.
    :param dry_run: read, map and validate the input and report, without writing to HubSpot.
    :param progress_every: log a progress line every this many batches.
    :param state_path: make the sync change-only: a state (local path or object-storage URI) of what
        earlier runs sent; records whose mapped properties are the same as last time are skipped and
        counted ``unchanged``. Updated only with what HubSpot accepted, committed at the end of the
        task (a killed task leaves the previous state whole). See the README's "Change-only syncs".
    :param full_refresh: with ``state_path``: send every record and rebuild the state.
    :param on_removed: with ``state_path``: what to do with keys of the state missing from this
        run's input — ``"ignore"`` (default: count and list them as ``removed``) or ``"archive"``
        (archive those contacts in HubSpot).
    :param max_removed: most contacts ``on_removed="archive"`` may archive in one run, a count or
        a fraction of the state (default 0.1); checked before the first one is archived.
    :param log_rejected_values: show rejected records' values (e-mails...) in the task log; by
        default the log gives index, code and HubSpot's reason with the values masked.
    :param hubspot_conn_id: the ``hubspot`` connection.
    :param api_version: overrides the connection's ``api_version``.

    The summary's outcome counts add up to ``received``: ``created``, ``updated``, ``upserted``
    (v1: HubSpot does not say which), ``would_write`` (dry run), ``duplicates`` (a key repeated in
    one batch: the last record wins), ``unchanged`` (change-only: same as last time) and
    ``rejected``. Change-only runs also report ``removed`` (and ``archived``), which are not input
    records.
    """

    required_params = ("id_property",)
    outcome_keys = ("created", "updated", "upserted", "would_write", "duplicates", "unchanged", "rejected")
    template_fields: Sequence[str] = (*SOURCE_FIELDS, "properties_map", "id_property", "rejects_path",
                                      "resume_path", "state_path", "full_refresh", "api_version", "hubspot_conn_id")
    template_fields_renderers = {"sql": "sql", "records": "json", "properties_map": "json"}
    template_ext: Sequence[str] = (".sql",)

    def __init__(
        self,
        *,
        records: Any = None,
        source_path: str | None = None,
        sql: str | None = None,
        sql_conn_id: str | None = None,
        file_format: str | None = None,
        properties_map: Mapping[str, str] | None = None,
        id_property: str = "email",
        include_empty: bool = False,
        date_properties: Iterable[str] = (),
        batch_size: int | None = None,
        max_concurrency: int = 4,
        rejects_path: str | None = None,
        resume_path: str | None = None,
        max_rejected: int | float = 0,
        dry_run: bool = False,
        progress_every: int = 10,
        state_path: str | None = None,
        full_refresh: bool | str = False,
        on_removed: str = "ignore",
        max_removed: int | float = DEFAULT_MAX_REMOVED,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.init_source(records=records, source_path=source_path, sql=sql, sql_conn_id=sql_conn_id,
                         file_format=file_format)
        self.state_path = state_path
        self.full_refresh = full_refresh
        self.on_removed, self.max_removed = validate_removal(on_removed, max_removed)
        self.properties_map = properties_map
        self.id_property = id_property
        self.include_empty = include_empty
        self.date_properties = tuple(date_properties)
        self.batch_size = batch_size
        self.max_concurrency = max_concurrency
        self.rejects_path = rejects_path
        self.resume_path = resume_path
        self.max_rejected = validate_max_rejected(max_rejected)
        self.validate_only = dry_run  # BaseOperator.dry_run() is a method: keep the name free
        self.progress_every = progress_every

    def execute(self, context: Context) -> dict[str, Any]:
        self.check_required()
        mapper = PropertyMapper(self.properties_map, include_empty=self.include_empty,
                                date_properties=self.date_properties)
        records = Counted(self.source_records(mapper, on_columns=self._check_key_column))
        total = len(self.records) if isinstance(self.records, list) else None
        progress = Progress(self.log, "Contacts (dry run)" if self.validate_only else "Contacts",
                            self.progress_every, total)
        rejects = RejectsFile(self.rejects_path, default_rejects_name(context, self.task_id))
        runners: list[BatchRunner[list[Record]]] = []
        doing = "Creating or updating contacts"
        with self.failing_clearly(doing), self._change_only() as changes:
            client = self.client

            def on_batch(batch: list[Record], outcome: BatchOutcome) -> None:
                if changes:
                    changes.settle(batch, outcome)
                    progress.counts["unchanged"] = changes.changes.unchanged
                rejects.write(outcome.rejections)
                counts = outcome.counts
                progress.advance(written=counts["created"] + counts["updated"] + counts["upserted"],
                                 checked=counts["would_write"], repeated=counts["duplicates"],
                                 rejected=outcome.rejected - counts["duplicates"])

            try:
                outcome = client.contacts.upsert(changes.filter(records) if changes else records,
                                                 id_property=self.id_property, batch_size=self.batch_size,
                                                 max_concurrency=self.max_concurrency, on_batch=on_batch,
                                                 dry_run=self.validate_only, runner_hook=runners.append,
                                                 keep_rejections=False)
            except SourceError as exc:
                if changes:
                    changes.commit()  # keep what HubSpot accepted; removals need the whole input
                raise self._unreadable(exc, progress, rejects) from None
            except HubSpotError as exc:
                if not isinstance(exc, RESUMABLE_ERRORS) or not runners:
                    raise self.fail(exc, f"{doing} (after {records.count} input records)") from None
                if changes:
                    changes.commit()
                    raise self._stopped_with_state(exc, progress, rejects) from None
                raise self._stopped(exc, runners[0], rejects, progress) from None
            try:
                if changes:
                    self._removals(changes, client, rejects)
                    changes.commit()
            except RemovalGuardError as exc:
                assert changes is not None
                changes.commit()  # what was written stays recorded; nothing was archived
                raise AirflowFailException(str(exc)) from None
            finally:
                rejects.close()
        duplicates = outcome.counts["duplicates"]
        rejected = outcome.rejected - duplicates
        result = summary(outcome, client, received=records.count, rejected=rejected,
                         rejects_path=rejects.written_path, dry_run=self.validate_only,
                         api_version=str(client.edition), **(changes.summary() if changes else {}))
        self.finish(result)
        self.log.info("%s. Summary: %s", progress.line(), result)
        self.log_rejections(r for r in rejects.samples if r.code not in (DUPLICATE, REMOVED, WOULD_REMOVE))
        if duplicates:
            self.log.info("%d input records repeated a key of a later record in the same batch (the later one "
                          "was written; they are listed in the rejects file with code %s)", duplicates, DUPLICATE)
        check_max_rejected(self.max_rejected, rejected, records.count, rejects.written_path,
                           [r for r in rejects.samples if r.code not in (DUPLICATE, REMOVED, WOULD_REMOVE)])
        return result

    @contextmanager
    def _change_only(self) -> Iterator[ChangeOnlyRun | None]:
        """The change-only run when ``state_path`` is set (the state is open inside the block)."""
        if not self.state_path or not str(self.state_path).strip():
            yield None
            return
        id_property = "vid" if self.id_property in ID_ALIASES else self.id_property
        key_name = id_property

        def key_of(record: Record) -> str | None:
            data = record.data if isinstance(record.data, Mapping) else {}
            value = str(data.get(id_property) or "").strip()
            return (value.lower() if id_property == "email" else value) or None

        run = ChangeOnlyRun(str(self.state_path), scope={"object_type": "contacts", "id_property": id_property},
                            key_of=key_of, key_name=key_name, full_refresh=truthy(self.full_refresh),
                            dry_run=self.validate_only)
        with run:
            yield run

    def _removals(self, changes: ChangeOnlyRun, client: Any, rejects: RejectsFile) -> None:
        id_property = "vid" if self.id_property in ID_ALIASES else self.id_property

        def archive(batch: list[tuple[str, str | None]]) -> int:
            ids = [object_id for _, object_id in batch if object_id]
            unknown = [key for key, object_id in batch if not object_id]
            if unknown:  # keys whose object id the state does not hold (v1 writes): look them up
                if id_property == "vid":
                    ids += unknown
                else:
                    ids += [str(c.get("id", c.get("vid"))) for c in
                            client.contacts.batch_get(unknown, by=id_property, properties=[id_property])]
            return client.contacts.archive(ids) if ids else 0

        changes.removals(on_removed=self.on_removed, max_removed=self.max_removed, rejects=rejects,
                         archive=archive)
        if changes.counts.get("removed"):
            self.log.info("%d contacts of the state are not in this run's input (%s); listed in %s with code %s",
                          changes.counts["removed"],
                          f"archived {changes.counts.get('archived', 0)}" if self.on_removed == "archive"
                          and not self.validate_only else f"on_removed={self.on_removed!r}", rejects.path,
                          WOULD_REMOVE if self.validate_only and self.on_removed == "archive" else REMOVED)

    def _stopped_with_state(self, exc: HubSpotError, progress: Progress, rejects: RejectsFile) -> AirflowException:
        """HubSpot stopped a change-only sync: what was written is in the state, so a re-run finishes it."""
        rejects.close()
        return self._stop(exc, progress, f"and are saved in the state at {self.state_path}: run the task again "
                                         "with the same input to finish — only the records not yet written will be "
                                         "sent.")

    def _check_key_column(self, columns: Sequence[str]) -> None:
        """A source with a header must have the id property's column: found before anything is sent."""
        id_property = "vid" if self.id_property in ID_ALIASES else self.id_property
        names = {(self.properties_map or {}).get(c, c) for c in columns}
        accepted = ID_ALIASES if id_property == "vid" else {id_property}
        if not names & accepted:
            raise SourceError(
                f"The input has no {self.id_property!r} column (columns: {', '.join(map(str, columns))}): every "
                f"record needs its id property. Add the column, rename one to it with properties_map, or set "
                f"id_property=. Nothing was sent.")

    def _unreadable(self, exc: SourceError, progress: Progress, rejects: RejectsFile) -> AirflowException:
        """The input broke mid-stream: everything read before it was processed; say where to fix it."""
        rejects.close()
        message = (f"The input could not be read to the end: {exc} The {progress.done:,} records before it were "
                   f"processed ({progress.line()})")
        if rejects.written_path:
            message += f"; rejected records are in {rejects.written_path}"
        message += (". Nothing after the bad line was sent. Fix the input and run the task again: writes are upserts, "
                    "so the records already written are updated, not duplicated.")
        self.log.error("%s", message)
        return AirflowFailException(message)

    def _stopped(self, exc: HubSpotError, runner: BatchRunner[list[Record]], rejects: RejectsFile,
                 progress: Progress) -> AirflowException:
        """HubSpot stopped the sync (daily limit, auth, retries exhausted): save what was not sent."""
        as_csv = (self.file_format or "").lower() == "csv" or str(self.source_path or "").lower().endswith(
            (".csv", ".csv.gz"))
        path = self.resume_path or default_resume_path(rejects.path, self.task_id, as_csv=as_csv)
        if path.endswith((".csv", ".jsonl")):
            as_csv = path.endswith(".csv")
        else:
            path += ".csv" if as_csv else ".jsonl"
        path = fresh_path(path, avoid=[self.source_path])  # never overwrite the input being read
        batches = itertools.chain(runner.unsent, runner.remaining)
        unsent = (record.data for batch in batches for record in batch)
        note = ""
        try:
            count = write_resume_file(path, unsent, as_csv=as_csv)
        except SourceError as source_exc:  # the rest of the input is unreadable: keep what could be read
            count = write_resume_file(path, (record.data for record in _read_so_far(runner)), as_csv=as_csv)
            note = f" Reading the rest of the input failed ({source_exc}); the resume file holds the records before it."
        rejects.close()
        return self._stop(exc, progress, f"; the {count:,} records not yet sent are in {path} — run the task again "
                                         f"with source_path={path!r} (same properties_map) to finish.{note}")

    def _stop(self, exc: HubSpotError, progress: Progress, next_step: str) -> AirflowException:
        """The error for a sync HubSpot stopped: what was written, ``next_step``, and whether a retry can help
        (not after the daily limit or bad credentials: those fail without Airflow retries)."""
        what = "HubSpot's daily API limit is used up" if isinstance(exc, HubSpotDailyLimitError) else "The sync stopped"
        message = (f"{what}: {exc}. {progress.counts['written']:,} records were written before it "
                   f"({progress.line()}){'' if next_step.startswith(';') else ' '}{next_step} ")
        if isinstance(exc, HubSpotDailyLimitError):
            message += "The daily limit resets at midnight in the HubSpot account's time zone."
        elif isinstance(exc, HubSpotAuthError):
            message += "Fix the connection's credentials first: a retry with the same ones cannot succeed."
        self.log.error("%s", message)
        permanent = isinstance(exc, (HubSpotDailyLimitError, HubSpotAuthError))
        return AirflowFailException(message) if permanent else AirflowException(message)


def _read_so_far(runner: BatchRunner[list[Record]]) -> Iterator[Record]:
    for batch in runner.unsent:
        yield from batch


class HubSpotMergeContactsOperator(SourceMixin, HubSpotBaseOperator):
    """Merge duplicate contacts: each secondary is merged into its primary (irreversible).

    One pair per request. A pair whose secondary is already merged into the same primary counts as
    ``already_merged``, so an Airflow retry is safe. Self-merges and unknown ids are reported as
    failed with the reason; the task fails when more pairs fail than ``max_rejected`` allows.

    :param primary_id: the contact that survives (vid / record id).
    :param secondary_id: the contact merged into it.
    :param pairs: many merges: ``[[primary, secondary], ...]`` or dicts with ``primary_id`` and
        ``secondary_id``; or read them from ``records`` / ``source_path`` / ``sql`` rows.
    :param rejects_path: JSON Lines file for failed pairs (default: a temp file).
    :param max_rejected: failed pairs tolerated (count or fraction), default 0.
    :param hubspot_conn_id: the ``hubspot`` connection.
    :param api_version: overrides the connection's ``api_version``.
    """

    outcome_keys = ("merged", "already_merged", "failed")
    template_fields: Sequence[str] = ("primary_id", "secondary_id", "pairs", *SOURCE_FIELDS, "rejects_path",
                                      "api_version", "hubspot_conn_id")
    template_fields_renderers = {"sql": "sql", "pairs": "json", "records": "json"}

    def __init__(
        self,
        *,
        primary_id: str | int | None = None,
        secondary_id: str | int | None = None,
        pairs: Any = None,
        records: Any = None,
        source_path: str | None = None,
        sql: str | None = None,
        sql_conn_id: str | None = None,
        file_format: str | None = None,
        rejects_path: str | None = None,
        max_rejected: int | float = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.primary_id = primary_id
        self.secondary_id = secondary_id
        self.pairs = pairs
        single = primary_id not in (None, "") or secondary_id not in (None, "")
        if single and (primary_id in (None, "") or secondary_id in (None, "")):
            raise HubSpotConfigError("Pass both primary_id= and secondary_id= (or pairs=).")
        self.init_source(records=records, source_path=source_path, sql=sql, sql_conn_id=sql_conn_id,
                         file_format=file_format, required=False)
        given = sum([single, pairs not in (None, ""), self.has_source()])
        if given != 1:
            raise HubSpotConfigError("Give the merges one way: primary_id= + secondary_id=, or pairs=, or a source "
                                     "(records=, source_path=, sql=).")
        self.rejects_path = rejects_path
        self.max_rejected = validate_max_rejected(max_rejected)

    def _pairs(self) -> Iterable[Any]:
        if self.primary_id not in (None, ""):
            return [(self.primary_id, self.secondary_id)]
        if self.pairs not in (None, ""):
            return self.pairs  # type: ignore[no-any-return]
        return self.source_rows()

    def execute(self, context: Context) -> dict[str, Any]:
        rejects = RejectsFile(self.rejects_path, default_rejects_name(context, self.task_id))
        outcome = BatchOutcome(keep_rejections=False)  # failed pairs are streamed to the rejects file
        received = 0
        try:
            with self.failing_clearly("Merging contacts"):
                client = self.client
                for index, raw in enumerate(self._pairs()):
                    received += 1
                    part = BatchOutcome()
                    try:
                        self._merge_one(client, Record(index, raw), part)
                    except HubSpotError as exc:
                        raise self.fail(exc, f"Merging contacts (after {received - 1} pairs)") from None
                    rejects.write(part.rejections)
                    outcome.merge(part)
        finally:
            rejects.close()
        result = summary(outcome, client, received=received, failed=outcome.rejected,
                         rejects_path=rejects.written_path, api_version=str(client.edition))
        self.finish(result)
        self.log.info("Merges: %s", result)
        self.log_rejections(rejects.samples, "Merge")
        check_max_rejected(self.max_rejected, outcome.rejected, received, rejects.written_path,
                           rejects.samples)
        return result

    def _merge_one(self, client: Any, record: Record, outcome: BatchOutcome) -> None:
        try:
            primary, secondary = _pair(record.data)
        except ValueError as exc:
            outcome.reject(record, str(exc), "INVALID_PAIR")
            return
        if primary == secondary:
            outcome.reject(record, f"cannot merge contact {primary} into itself", "SELF_MERGE")
            return
        try:
            client.contacts.merge(primary, secondary)
        except (HubSpotValidationError, HubSpotNotFoundError) as exc:
            if _merged_into(client, primary, secondary):
                outcome.count("already_merged")
            else:
                outcome.reject(record, f"merging {secondary} into {primary}: {exc.message}", exc.category)
            return
        outcome.count("merged")


def _pair(value: Any) -> tuple[str, str]:
    if isinstance(value, Mapping):
        primary = value.get("primary_id", value.get("primary"))
        secondary = value.get("secondary_id", value.get("secondary"))
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        primary, secondary = value
    else:
        raise ValueError(f"a merge is [primary, secondary] or a dict with primary_id and secondary_id, got {value!r}")
    if primary in (None, "") or secondary in (None, ""):
        raise ValueError(f"a merge needs both ids, got {value!r}")
    if not str(primary).strip().isdigit() or not str(secondary).strip().isdigit():
        raise ValueError(f"contact ids are numeric (vid / record id), got {primary!r} and {secondary!r}")
    return str(primary).strip(), str(secondary).strip()


def _merged_into(client: Any, primary: str, secondary: str) -> bool:
    """Whether ``secondary`` already lives on in ``primary`` (a merge done by an earlier try)."""
    try:
        contact = client.contacts.get(secondary)
    except HubSpotNotFoundError:
        contact = None
    if contact:
        survivor = contact.get("canonical-vid", contact.get("id"))
        if str(survivor) == primary:
            return True
    try:
        contact = client.contacts.get(primary)
    except HubSpotNotFoundError:
        return False
    merged = contact.get("merged-vids") or str((contact.get("properties") or {}).get(
        "hs_merged_object_ids", "")).replace(";", " ").split()
    return secondary in {str(v) for v in merged}
