"""CRM object operators: batch create-or-update of any object type (with associations), and associations
from any source. The contacts operator (``operators/contacts.py``) is the first with contacts' defaults."""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from airflow_provider_hubspot._compat import AirflowException, AirflowFailException, Context
from airflow_provider_hubspot.client import (
    BatchOutcome,
    HubSpotAuthError,
    HubSpotConfigError,
    HubSpotConnectionError,
    HubSpotDailyLimitError,
    HubSpotError,
    HubSpotRateLimitError,
    HubSpotServerError,
    Record,
    Rejection,
)
from airflow_provider_hubspot.client.associations import ASSOCIATION_FAILED
from airflow_provider_hubspot.client.batching import BatchRunner
from airflow_provider_hubspot.client.objects import (
    DUPLICATE,
    ID_ALIASES,
    STANDARD_TYPES,
    ObjectsAPI,
    object_type_name,
)
from airflow_provider_hubspot.client.property_types import PropertySchema
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
from airflow_provider_hubspot.sources import PropertyMapper, SourceError, printable

#: Errors after which the records not yet sent are saved for the next run.
RESUMABLE_ERRORS = (HubSpotRateLimitError, HubSpotServerError, HubSpotConnectionError, HubSpotAuthError)
#: Rejection codes that are not rejected input records (kept out of the log samples and max_rejected).
NOT_REJECTED = (DUPLICATE, REMOVED, WOULD_REMOVE, ASSOCIATION_FAILED)
#: Associations resolved and sent per round (also the association batch size).
ASSOCIATION_CHUNK = 1_000


@dataclass(frozen=True)
class AssociationSpec:
    """One entry of ``associations=``: the records of ``to`` named by ``column`` (values of ``to_id_property``)
    are associated with each written record, with association type ``type``."""

    to: str
    column: str
    to_id_property: str = "hs_object_id"
    type: str | int | None = None

    @classmethod
    def parse(cls, value: Any) -> AssociationSpec:
        if not isinstance(value, Mapping):
            raise HubSpotConfigError("Each associations entry is a dict such as {'to': 'companies', 'column': "
                                     "'company_ref', 'to_id_property': 'external_id', 'type': 'primary'}, got "
                                     f"{value!r}.")
        unknown = sorted(set(value) - {"to", "column", "to_id_property", "type"})
        if unknown:
            raise HubSpotConfigError(f"associations entry {dict(value)!r} has unknown keys {unknown}; the keys are to, "
                                     "column, to_id_property and type.")
        missing = [k for k in ("to", "column") if not str(value.get(k) or "").strip()]
        if missing:
            raise HubSpotConfigError(f"associations entry {dict(value)!r} needs {' and '.join(missing)}: 'to' is the "
                                     "object type to associate with, 'column' the source column naming its record.")
        to_id = str(value.get("to_id_property") or "hs_object_id").strip()
        kind = value.get("type")
        return cls(object_type_name(str(value["to"])), str(value["column"]).strip(),
                   "hs_object_id" if to_id in ID_ALIASES else to_id,
                   kind if kind in (None, "") or isinstance(kind, int) else str(kind).strip())

    @property
    def by_record_id(self) -> bool:
        return self.to_id_property == "hs_object_id"


class AssociationQueue:
    """The associations of the written records: spooled to a temp file while records are written, then
    resolved (referenced records looked up by their unique property, in batches, cached for the run) and
    sent in batches of the association limit.

    :param specs: the ``associations=`` entries.
    """

    def __init__(self, specs: Sequence[AssociationSpec]) -> None:
        self.specs = list(specs)
        self._spool: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self.queued = 0
        self.counts = {"associated": 0, "associations_failed": 0}
        self._cache: dict[tuple[str, str], dict[str, str | None]] = {}

    def add(self, batch: Sequence[Record], outcome: BatchOutcome) -> None:
        """Queue the associations of the records of a batch HubSpot wrote (``outcome.ids``)."""
        for record in batch:
            object_id = outcome.ids.get(record.index)
            refs = record.extra if isinstance(record.extra, Mapping) else {}
            if object_id is None or not refs:
                continue
            for number, spec in enumerate(self.specs):
                ref = refs.get(spec.column)
                if ref in (None, "") or (isinstance(ref, str) and not ref.strip()):
                    continue
                line = [number, object_id, str(ref).strip(), record.index, printable(record.data)]
                self._spool.write(json.dumps(line, default=str) + "\n")
                self.queued += 1

    def run(self, api_of: Any, associations: Any, from_type: str, rejects: RejectsFile, *,
            max_concurrency: int = 1, log: Any = None) -> dict[str, int]:
        """Resolve and send every queued association; failed ones go to ``rejects`` (``ASSOCIATION_FAILED``)."""
        self._spool.flush()
        for number, spec in enumerate(self.specs):
            self._spool.seek(0)
            lines = (json.loads(text) for text in self._spool)
            mine = (line for line in lines if line[0] == number)
            while chunk := list(itertools.islice(mine, ASSOCIATION_CHUNK)):
                self._send(chunk, spec, api_of(spec.to), associations, from_type, rejects, max_concurrency)
            if log is not None:
                log.info("Associations with %s (%s): %d associated, %d failed so far", spec.to, spec.column,
                         self.counts["associated"], self.counts["associations_failed"])
        return dict(self.counts)

    def _send(self, chunk: list[list[Any]], spec: AssociationSpec, target: ObjectsAPI, associations: Any,
              from_type: str, rejects: RejectsFile, max_concurrency: int) -> None:
        ids = self.resolve([line[2] for line in chunk], spec, target)
        pairs: list[Record] = []
        failed: list[Rejection] = []
        for _, object_id, ref, index, data in chunk:
            to_id = ids.get(_ref_key(spec, ref))
            if to_id is None:
                failed.append(Rejection(index, data, f"association with {spec.to} ({spec.column}={ref!r}): no "
                                                     f"{spec.to} record has {spec.to_id_property} {ref!r}",
                                        ASSOCIATION_FAILED))
            else:
                pairs.append(Record(index, (object_id, to_id), extra=(data, ref)))
        if pairs:
            outcome = associations.associate(from_type, spec.to, pairs, kind=spec.type,
                                             max_concurrency=max_concurrency)
            self.counts["associated"] += outcome.counts["associated"]
            by_index = {r.index: r for r in pairs}
            for rejection in outcome.rejections:
                data, ref = by_index[rejection.index].extra
                failed.append(Rejection(rejection.index, data, f"association with {spec.to} ({spec.column}={ref!r}): "
                                                               f"{rejection.reason}", ASSOCIATION_FAILED))
        self.counts["associations_failed"] += len(failed)
        rejects.write(failed)

    def resolve(self, refs: list[str], spec: AssociationSpec, target: ObjectsAPI) -> dict[str, str | None]:
        """``{ref: record id}`` (``None`` when no record has it), looked up in batches, cached for the run."""
        if spec.by_record_id:
            return {r: r if r.isdigit() else None for r in refs}
        cache = self._cache.setdefault((spec.to, spec.to_id_property), {})
        wanted = list(dict.fromkeys(_ref_key(spec, r) for r in refs if _ref_key(spec, r) not in cache))
        if wanted:
            for item in target.batch_get(wanted, by=spec.to_id_property, properties=[spec.to_id_property]):
                value = (item.get("properties") or {}).get(spec.to_id_property)
                if value is not None:
                    cache[_ref_key(spec, value)] = str(item.get("id"))
            for key in wanted:
                cache.setdefault(key, None)
        return {key: cache.get(key) for key in (_ref_key(spec, r) for r in refs)}

    def close(self) -> None:
        self._spool.close()


def _ref_key(spec: AssociationSpec, value: Any) -> str:
    text = str(value).strip()
    return text.lower() if spec.to_id_property == "email" else text


class HubSpotCreateOrUpdateObjectsOperator(SourceMixin, HubSpotBaseOperator):
    """Create or update HubSpot CRM records of any object type in batches, from inline rows, a file or a SQL
    query, and associate them with other records.

    Every input record ends either written to HubSpot or in the rejects file with the reason. Re-running
    the task is safe: writes are upserts keyed by ``id_property`` (or updates by record id), and
    associating twice changes nothing.

    :param object_type: ``companies``, ``deals``, ``tickets``, ``products``, ``line_items``, ``contacts``, an
        object type id (``0-2``) or a custom object's (``2-1234567``).
    :param id_property: a property with unique values to create-or-update by (e.g. a custom
        ``external_id`` created with "unique values"), or ``hs_object_id`` (record ids) to update existing
        records. Checked against the object's properties before anything is sent: HubSpot refuses a key
        without unique values (company ``domain`` is not unique).
    :param associations: associate each written record: ``[{"to": "companies", "column": "company_ref",
        "to_id_property": "external_id", "type": "primary"}]`` — ``column`` is a source column (not
        sent) naming the other record by ``to_id_property`` (a unique property, default ``hs_object_id``:
        record ids); ``type`` is ``"primary"``, a label's text, an association type id, or ``None`` (the
        unlabelled association). After the records are written the referenced records are looked up in
        batches (cached for the run) and associated in batches; each failed association is a rejects-file
        line (``ASSOCIATION_FAILED``, the reason) and does not undo the record. Counted in the summary as
        ``associated`` / ``associations_failed`` (and against ``max_rejected``); ``association_requests`` says
        how many of the task's ``requests`` they took.
    :param check_values: read the object's property definitions once and convert and check values
        before sending (numbers, booleans, dates and datetimes as epoch ms, enumeration labels to
        values, multi-checkbox lists joined with ``;``): a bad value rejects its record
        (``INVALID_VALUE``, the reason); a property the object does not have rejects its record, or fails
        the task before sending when every record has it.
    :param records: list of dicts (or an XComArg resolving to one).
    :param source_path: CSV or JSON Lines file, local or any Airflow object-storage URI; streamed.
    :param sql: query whose rows are the records (with ``sql_conn_id``); streamed with ``fetchmany``.
    :param sql_conn_id: connection of a common-sql database (Postgres, MySQL, SQLite, ...).
    :param file_format: ``csv`` or ``jsonl`` when the file name does not tell.
    :param properties_map: ``{"column": "hubspot_property"}`` renames; other columns keep their names.
    :param include_empty: send empty values (clearing them in HubSpot) instead of skipping them.
    :param date_properties: HubSpot date properties; their values are sent as UTC-midnight epoch ms
        (with ``check_values`` the property definitions say which are dates).
    :param batch_size: records per request (default and maximum: the edition's batch limit, 100).
    :param max_concurrency: requests in flight at once, all under the connection's rate limit.
    :param rejects_path: where to write rejected records as JSON Lines (default: a temp file).
    :param resume_path: where records not yet sent are saved when HubSpot stops the sync (the daily
        limit, revoked credentials, retries exhausted), in the input's format, so the next run can
        finish with ``source_path=`` this file (default: next to the rejects file).
    :param max_rejected: rejected records (and failed associations) tolerated before the task fails — a
        count or a fraction of the input (default 0). Decided after every valid record was written.
    :param dry_run: read, map and validate the input and report, without writing to HubSpot.
    :param progress_every: log a progress line every this many batches.
    :param state_path: make the sync change-only (see the contacts operator and the README): records
        whose mapped properties are the same as last time are skipped and counted ``unchanged``.
    :param full_refresh: with ``state_path``: send every record and rebuild the state.
    :param on_removed: with ``state_path``: ``"ignore"`` (default) or ``"archive"`` keys of the state
        missing from this run's input.
    :param max_removed: most records ``on_removed="archive"`` may archive in one run (default 0.1).
    :param partitions: split one sync over this many tasks (with ``partition_index``), by ``partition_key``
        (default: the ``id_property`` column; contacts: ``email``).
    :param hubspot_conn_id: the ``hubspot`` connection.
    :param api_version: overrides the connection's ``api_version``.

    The summary's outcome counts add up to ``received``: ``created``, ``updated``, ``upserted``,
    ``would_write`` (dry run), ``duplicates``, ``unchanged`` (change-only) and ``rejected``.
    """

    required_params: Sequence[str] = ("object_type", "id_property")
    outcome_keys = ("created", "updated", "upserted", "would_write", "duplicates", "unchanged", "rejected")
    template_fields: Sequence[str] = (*SOURCE_FIELDS, "object_type", "properties_map", "id_property", "associations",
                                      "rejects_path", "resume_path", "state_path", "full_refresh", "api_version",
                                      "hubspot_conn_id")
    template_fields_renderers = {"sql": "sql", "records": "json", "properties_map": "json", "associations": "json"}
    template_ext: Sequence[str] = (".sql",)
    #: Whether values are checked against the property definitions unless told otherwise.
    default_check_values = True

    def __init__(
        self,
        *,
        object_type: str | None = None,
        id_property: str | None = None,
        associations: Sequence[Mapping[str, Any]] | None = None,
        check_values: bool | None = None,
        records: Any = None,
        source_path: str | None = None,
        sql: str | None = None,
        sql_conn_id: str | None = None,
        file_format: str | None = None,
        properties_map: Mapping[str, str] | None = None,
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
        partition_key = kwargs.pop("partition_key", None)
        super().__init__(**kwargs)
        self.partition_key = partition_key  # None: the id property's column (contacts: email), see execute
        self.init_source(records=records, source_path=source_path, sql=sql, sql_conn_id=sql_conn_id,
                         file_format=file_format)
        self.object_type = object_type
        self.id_property = id_property
        self.associations = associations
        self.check_values = self.default_check_values if check_values is None else check_values
        self.state_path = state_path
        self.full_refresh = full_refresh
        self.on_removed, self.max_removed = validate_removal(on_removed, max_removed)
        self.properties_map = properties_map
        self.include_empty = include_empty
        self.date_properties = tuple(date_properties)
        self.batch_size = batch_size
        self.max_concurrency = max_concurrency
        self.rejects_path = rejects_path
        self.resume_path = resume_path
        self.max_rejected = validate_max_rejected(max_rejected)
        self.validate_only = dry_run  # BaseOperator.dry_run() is a method: keep the name free
        self.progress_every = progress_every
        self.unsent_columns: list[str] = []  # the associations' columns (kept out of the lineage schema)

    # -- names ------------------------------------------------------------------------------------

    @property
    def _type_name(self) -> str:
        return object_type_name(str(self.object_type))

    @property
    def _what(self) -> str:
        """What the records are, for log lines (``Companies``, ``Line items``, ``2-1234567``)."""
        name = self._type_name
        return name.replace("_", " ").capitalize() if name in STANDARD_TYPES else name

    def _id_property(self, api: ObjectsAPI | None = None) -> str:
        """``id_property`` with the record-id aliases folded (contacts: ``vid``; other objects: ``hs_object_id``)."""
        record_id = api.record_id_name if api is not None else ("vid" if self._type_name == "contacts"
                                                                 else "hs_object_id")
        return record_id if str(self.id_property) in ID_ALIASES else str(self.id_property)

    def _association_specs(self) -> list[AssociationSpec]:
        value = self.associations
        if value in (None, "", []):
            return []
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise HubSpotConfigError(f"associations must be a list of dicts, got the text {value!r}.") from None
        if isinstance(value, Mapping):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise HubSpotConfigError(f"associations must be a list of dicts, got {type(value).__name__}.")
        specs = [AssociationSpec.parse(item) for item in value]
        columns = [s.column for s in specs]
        if len(set(columns)) != len(columns):
            raise HubSpotConfigError(f"associations name a column twice ({columns}): one column per association.")
        return specs

    # -- the run ----------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        self.check_required()
        if self.partition_key in (None, ""):  # split a partitioned sync by the records' own key
            key = self._id_property()
            self.partition_key = "email" if self._type_name == "contacts" else (
                "hs_object_id" if key in ID_ALIASES else key)
        doing = f"Creating or updating {self._type_name}"
        with self.failing_clearly(doing):
            specs = self._association_specs()
        columns = [s.column for s in specs]
        self.unsent_columns = columns  # not HubSpot properties: kept out of the lineage schema
        mapper = PropertyMapper(self.properties_map, include_empty=self.include_empty,
                                date_properties=self.date_properties, exclude=columns)

        def refs(row: Any) -> Any:
            return {c: row.get(c) for c in columns} if isinstance(row, Mapping) else None

        records = Counted(self.source_records(mapper, on_columns=lambda names: self._check_columns(names, columns),
                                              extra=refs if columns else None))
        total = len(self.records) if isinstance(self.records, list) else None
        progress = Progress(self.log, f"{self._what} (dry run)" if self.validate_only else self._what,
                            self.progress_every, total)
        rejects = RejectsFile(self.rejects_path, default_rejects_name(context, self.task_id))
        runners: list[BatchRunner[list[Record]]] = []
        queue = AssociationQueue(specs) if specs and not self.validate_only else None
        would_associate = 0
        association_counts: dict[str, int] = {}
        try:
            with self.failing_clearly(doing), self._change_only() as changes:
                client = self.client
                api = client.objects(self._type_name)
                id_property = self._id_property(api)
                schema = self._schema(api, id_property)
                started = client.stats["requests"]
                self._check_associations(specs, client)
                association_requests = client.stats["requests"] - started

                def on_batch(batch: list[Record], outcome: BatchOutcome) -> None:
                    nonlocal would_associate
                    if changes:
                        changes.settle(batch, outcome)
                        progress.counts["unchanged"] = changes.changes.unchanged
                    if queue is not None:
                        queue.add(batch, outcome)
                    elif specs and outcome.counts["would_write"]:
                        would_associate += sum(1 for r in batch for s in specs
                                               if isinstance(r.extra, Mapping) and r.extra.get(s.column)
                                               not in (None, ""))
                    rejects.write(outcome.rejections)
                    counts = outcome.counts
                    progress.advance(written=counts["created"] + counts["updated"] + counts["upserted"],
                                     checked=counts["would_write"], repeated=counts["duplicates"],
                                     rejected=outcome.rejected - counts["duplicates"])

                try:
                    outcome = api.upsert(changes.filter(records) if changes else records, id_property=id_property,
                                         batch_size=self.batch_size, max_concurrency=self.max_concurrency,
                                         on_batch=on_batch, dry_run=self.validate_only, runner_hook=runners.append,
                                         keep_rejections=False, schema=schema)
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
                        self._removals(changes, api, rejects, id_property)
                        changes.commit()
                except RemovalGuardError as exc:
                    assert changes is not None
                    changes.commit()  # what was written stays recorded; nothing was archived
                    raise AirflowFailException(str(exc)) from None
                if queue is not None and queue.queued:
                    started = client.stats["requests"]
                    association_counts = queue.run(client.objects, client.associations, self._type_name, rejects,
                                                   max_concurrency=self.max_concurrency, log=self.log)
                    association_requests += client.stats["requests"] - started
        finally:
            rejects.close()
            if queue is not None:
                queue.close()
        duplicates = outcome.counts["duplicates"]
        rejected = outcome.rejected - duplicates
        extra: dict[str, Any] = dict(association_counts)
        if specs and not self.validate_only:
            extra.setdefault("associated", 0)
            extra.setdefault("associations_failed", 0)
        if specs:
            extra["association_requests"] = association_requests
        if specs and self.validate_only:
            extra["would_associate"] = would_associate
        result = summary(outcome, client, received=records.count, rejected=rejected,
                         rejects_path=rejects.written_path, dry_run=self.validate_only,
                         api_version=str(client.edition), **extra, **(changes.summary() if changes else {}))
        self.finish(result)
        self.log.info("%s. Summary: %s", progress.line(), result)
        samples = [r for r in rejects.samples if r.code not in NOT_REJECTED]
        self.log_rejections(samples)
        self.log_rejections((r for r in rejects.samples if r.code == ASSOCIATION_FAILED), "Association of record")
        if duplicates:
            self.log.info("%d input records repeated a key of a later record in the same batch (the later one "
                          "was written; they are listed in the rejects file with code %s)", duplicates, DUPLICATE)
        failed_associations = int(extra.get("associations_failed", 0))
        check_max_rejected(self.max_rejected, rejected + failed_associations, records.count, rejects.written_path,
                           samples + [r for r in rejects.samples if r.code == ASSOCIATION_FAILED])
        return result

    def _schema(self, api: ObjectsAPI, id_property: str) -> PropertySchema | None:
        """Read what must be checked before anything is sent: the property definitions (values, the id
        property)."""
        if api.edition.is_v1 and self._type_name == "contacts":
            schema = None  # v1 contacts: HubSpot's v1 property list carries no unique flags
        elif self.check_values or id_property not in (api.record_id_name, "email"):
            api.check_id_property(id_property)
            schema = api.schema() if self.check_values else None
        else:
            schema = None
        return schema

    def _check_associations(self, specs: Sequence[AssociationSpec], client: Any) -> None:
        """The association types and the look-up properties of ``associations=`` exist (before sending)."""
        for spec in specs:
            client.associations.resolve_type(self._type_name, spec.to, spec.type)
            if not spec.by_record_id:
                client.objects(spec.to).check_id_property(spec.to_id_property)

    def _check_columns(self, columns: Sequence[str], association_columns: Sequence[str]) -> None:
        """A source with a header must have the id property's column (and the associations' columns)."""
        names = {(self.properties_map or {}).get(c, c) for c in columns}
        id_property = self._id_property()
        accepted = ID_ALIASES if id_property in ID_ALIASES else {id_property}
        if not names & accepted:
            raise SourceError(
                f"The input has no {self.id_property!r} column (columns: {', '.join(map(str, columns))}): every "
                f"record needs its id property. Add the column, rename one to it with properties_map, or set "
                f"id_property=. Nothing was sent.")
        missing = [c for c in association_columns if c not in columns]
        if missing:
            raise SourceError(f"The input has no {', '.join(map(repr, missing))} column named by associations= "
                              f"(columns: {', '.join(map(str, columns))}). Nothing was sent.")

    @contextmanager
    def _change_only(self) -> Iterator[ChangeOnlyRun | None]:
        """The change-only run when ``state_path`` is set (the state is open inside the block)."""
        if not self.state_path or not str(self.state_path).strip():
            yield None
            return
        id_property = self._id_property()

        by_record_id, by_email = id_property in ID_ALIASES, id_property == "email"

        def key_of(record: Record) -> str | None:
            data = record.data
            if type(data) is not dict and not isinstance(data, Mapping):
                return None
            if by_record_id:
                value = next((str(data[a]).strip() for a in ("hs_object_id", "vid", "id", "record_id")
                              if data.get(a) not in (None, "")), "")
            else:
                raw = data.get(id_property)
                value = raw.strip() if type(raw) is str else str(raw or "").strip()
            return (value.lower() if by_email else value) or None

        run = ChangeOnlyRun(str(self.state_path), scope={"object_type": self._type_name, "id_property": id_property},
                            key_of=key_of, key_name=id_property, full_refresh=truthy(self.full_refresh),
                            dry_run=self.validate_only)
        with run:
            yield run

    def _removals(self, changes: ChangeOnlyRun, api: ObjectsAPI, rejects: RejectsFile, id_property: str) -> None:
        def archive(batch: list[tuple[str, str | None]]) -> int:
            ids = [object_id for _, object_id in batch if object_id]
            unknown = [key for key, object_id in batch if not object_id]
            if unknown:  # keys whose object id the state does not hold (v1 writes): look them up
                if id_property in ID_ALIASES:
                    ids += unknown
                else:
                    ids += [str(c.get("id", c.get("vid"))) for c in
                            api.batch_get(unknown, by=id_property, properties=[id_property])]
            return api.archive(ids) if ids else 0

        changes.removals(on_removed=self.on_removed, max_removed=self.max_removed, rejects=rejects,
                         archive=archive)
        if changes.counts.get("removed"):
            self.log.info("%d %s of the state are not in this run's input (%s); listed in %s with code %s",
                          changes.counts["removed"], self._type_name,
                          f"archived {changes.counts.get('archived', 0)}" if self.on_removed == "archive"
                          and not self.validate_only else f"on_removed={self.on_removed!r}", rejects.path,
                          WOULD_REMOVE if self.validate_only and self.on_removed == "archive" else REMOVED)

    def _stopped_with_state(self, exc: HubSpotError, progress: Progress, rejects: RejectsFile) -> AirflowException:
        """HubSpot stopped a change-only sync: what was written is in the state, so a re-run finishes it."""
        rejects.close()
        return self._stop(exc, progress, f"and are saved in the state at {self.state_path}: run the task again "
                                         "with the same input to finish — only the records not yet written will be "
                                         "sent.")

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
        unsent = (_resume_row(record) for batch in batches for record in batch)
        note = ""
        try:
            count = write_resume_file(path, unsent, as_csv=as_csv)
        except SourceError as source_exc:  # the rest of the input is unreadable: keep what could be read
            count = write_resume_file(path, (_resume_row(record) for record in _read_so_far(runner)), as_csv=as_csv)
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


def _resume_row(record: Record) -> Any:
    """A record as the resume file holds it: its data plus the columns that travelled with it (associations)."""
    if isinstance(record.data, Mapping) and isinstance(record.extra, Mapping):
        return {**record.data, **{k: v for k, v in record.extra.items() if v is not None}}
    return record.data


def _read_so_far(runner: BatchRunner[list[Record]]) -> Iterator[Record]:
    for batch in runner.unsent:
        yield from batch


class HubSpotAssociateObjectsOperator(SourceMixin, HubSpotBaseOperator):
    """Associate pairs of HubSpot records, read from any source (inline rows, a file, a SQL query).

    Each row names one record of ``from_object_type`` (column ``from_column``) and one of
    ``to_object_type`` (``to_column``), by record id or by a unique property (``from_id_property`` /
    ``to_id_property``: looked up in batches, cached for the run). Pairs are associated in batches of
    1,000 with one association type. Re-running is harmless: associating twice changes nothing.

    :param from_object_type: the object type of the ``from_column`` records (``contacts``...).
    :param to_object_type: the object type of the ``to_column`` records (``companies``...).
    :param from_column: the column naming the first record (default ``from_id``).
    :param to_column: the column naming the second record (default ``to_id``).
    :param from_id_property: what ``from_column`` holds: ``hs_object_id`` (record ids, default) or a unique
        property (``email``, a custom ``external_id``).
    :param to_id_property: the same for ``to_column``.
    :param association_type: ``"primary"``, a label's text, an association type id, or ``None`` (the
        unlabelled association).
    :param records: list of dicts (or an XComArg resolving to one).
    :param source_path: CSV or JSON Lines file, local or any Airflow object-storage URI; streamed.
    :param sql: query whose rows are the pairs (with ``sql_conn_id``).
    :param sql_conn_id: connection of a common-sql database.
    :param file_format: ``csv`` or ``jsonl`` when the file name does not tell.
    :param max_concurrency: requests in flight at once.
    :param rejects_path: JSON Lines file of the pairs that failed, with the reason (``ASSOCIATION_FAILED``).
    :param max_rejected: failed pairs tolerated (count or fraction), default 0.
    :param dry_run: read and check the pairs without associating (``would_associate``).
    :param hubspot_conn_id: the ``hubspot`` connection.
    :param api_version: overrides the connection's ``api_version``.

    Summary: ``received`` = ``associated`` + ``would_associate`` + ``rejected``.
    """

    required_params = ("from_object_type", "to_object_type", "from_column", "to_column")
    outcome_keys = ("associated", "would_associate", "rejected")
    template_fields: Sequence[str] = (*SOURCE_FIELDS, "from_object_type", "to_object_type", "association_type",
                                      "rejects_path", "api_version", "hubspot_conn_id")
    template_fields_renderers = {"sql": "sql", "records": "json"}
    template_ext: Sequence[str] = (".sql",)

    def __init__(self, *, from_object_type: str, to_object_type: str, from_column: str = "from_id",
                 to_column: str = "to_id", from_id_property: str = "hs_object_id",
                 to_id_property: str = "hs_object_id", association_type: str | int | None = None,
                 records: Any = None, source_path: str | None = None, sql: str | None = None,
                 sql_conn_id: str | None = None, file_format: str | None = None, max_concurrency: int = 2,
                 rejects_path: str | None = None, max_rejected: int | float = 0, dry_run: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.init_source(records=records, source_path=source_path, sql=sql, sql_conn_id=sql_conn_id,
                         file_format=file_format)
        self.from_object_type = from_object_type
        self.to_object_type = to_object_type
        self.from_column = from_column
        self.to_column = to_column
        self.from_id_property = from_id_property
        self.to_id_property = to_id_property
        self.association_type = association_type
        self.max_concurrency = max_concurrency
        self.rejects_path = rejects_path
        self.max_rejected = validate_max_rejected(max_rejected)
        self.validate_only = dry_run

    def execute(self, context: Context) -> dict[str, Any]:
        self.check_required()
        from_type, to_type = object_type_name(self.from_object_type), object_type_name(self.to_object_type)
        rejects = RejectsFile(self.rejects_path, default_rejects_name(context, self.task_id))
        sides = (AssociationSpec(from_type, self.from_column, self._fold(self.from_id_property)),
                 AssociationSpec(to_type, self.to_column, self._fold(self.to_id_property)))
        total = BatchOutcome(keep_rejections=False)
        received = 0
        doing = f"Associating {from_type} with {to_type}"
        resolver = AssociationQueue(())
        try:
            with self.failing_clearly(doing):
                client = self.client
                kind = client.associations.resolve_type(from_type, to_type, self.association_type)
                for side in sides:
                    if not side.by_record_id:
                        client.objects(side.to).check_id_property(side.to_id_property)
                rows = Counted(self.source_rows(on_columns=self._check_columns))
                for chunk in iter(lambda: list(itertools.islice(rows, ASSOCIATION_CHUNK)), []):
                    received += len(chunk)
                    outcome = self._associate(chunk, received - len(chunk), sides, client, kind.type_id, resolver)
                    rejects.write(outcome.rejections)
                    total.merge(outcome)
        finally:
            rejects.close()
            resolver.close()
        result = summary(total, client, received=received, rejected=total.rejected,
                         rejects_path=rejects.written_path, dry_run=self.validate_only,
                         association_type=kind.type_id, api_version=str(client.edition))
        self.finish(result)
        self.log.info("Associations %s -> %s: %s", from_type, to_type, result)
        self.log_rejections(rejects.samples, "Pair")
        check_max_rejected(self.max_rejected, total.rejected, received, rejects.written_path, rejects.samples)
        return result

    @staticmethod
    def _fold(id_property: str) -> str:
        return "hs_object_id" if str(id_property) in ID_ALIASES else str(id_property)

    def _check_columns(self, columns: Sequence[str]) -> None:
        missing = [c for c in (self.from_column, self.to_column) if c not in columns]
        if missing:
            raise SourceError(f"The input has no {', '.join(map(repr, missing))} column (columns: "
                              f"{', '.join(map(str, columns))}): set from_column= / to_column=. Nothing was sent.")

    def _associate(self, rows: list[Any], start: int, sides: tuple[AssociationSpec, AssociationSpec], client: Any,
                   type_id: int, resolver: AssociationQueue) -> BatchOutcome:
        outcome = BatchOutcome()
        values: list[tuple[int, Any, str, str]] = []  # (index, row, from ref, to ref)
        for offset, row in enumerate(rows):
            record = Record(start + offset, row)
            if not isinstance(row, Mapping):
                outcome.reject(record, f"a pair is a row with {self.from_column!r} and {self.to_column!r}, got {row!r}",
                               ASSOCIATION_FAILED)
                continue
            a, b = (str(row.get(s.column) or "").strip() for s in sides)
            if not a or not b:
                outcome.reject(record, f"the pair needs both {self.from_column!r} and {self.to_column!r}",
                               ASSOCIATION_FAILED)
                continue
            values.append((start + offset, row, a, b))
        resolved = [resolver.resolve([v[2] for v in values], sides[0], client.objects(sides[0].to)),
                    resolver.resolve([v[3] for v in values], sides[1], client.objects(sides[1].to))]
        pairs: list[Record] = []
        for index, row, a, b in values:
            ids = (resolved[0].get(_ref_key(sides[0], a)), resolved[1].get(_ref_key(sides[1], b)))
            missing = [f"no {s.to} record has {s.to_id_property} {v!r}" for s, v, i in zip(sides, (a, b), ids,
                                                                                            strict=True) if i is None]
            if missing:
                outcome.reject(Record(index, row), "; ".join(missing), ASSOCIATION_FAILED)
            else:
                pairs.append(Record(index, ids, extra=row))
        if pairs:
            sent = client.associations.associate(sides[0].to, sides[1].to, pairs, kind=type_id,
                                                 max_concurrency=self.max_concurrency, dry_run=self.validate_only)
            outcome.counts.update(sent.counts)
            by_index = {r.index: r for r in pairs}
            for rejection in sent.rejections:
                outcome.reject(Record(rejection.index, by_index[rejection.index].extra), rejection.reason,
                               rejection.code)
        return outcome
