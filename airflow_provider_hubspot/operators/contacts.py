"""Contact operators: batch create-or-update (the objects operator with contacts' defaults), and merge."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from airflow_provider_hubspot._compat import Context
from airflow_provider_hubspot.client import (
    BatchOutcome,
    HubSpotConfigError,
    HubSpotError,
    HubSpotNotFoundError,
    HubSpotValidationError,
    Record,
)
from airflow_provider_hubspot.client.objects import ID_ALIASES
from airflow_provider_hubspot.operators.base import (
    SOURCE_FIELDS,
    HubSpotBaseOperator,
    RejectsFile,
    SourceMixin,
    check_max_rejected,
    default_rejects_name,
    summary,
    validate_max_rejected,
)
from airflow_provider_hubspot.operators.objects import RESUMABLE_ERRORS, HubSpotCreateOrUpdateObjectsOperator

__all__ = ["ID_ALIASES", "RESUMABLE_ERRORS", "HubSpotCreateOrUpdateContactsOperator", "HubSpotMergeContactsOperator"]


class HubSpotCreateOrUpdateContactsOperator(HubSpotCreateOrUpdateObjectsOperator):
    """Create or update HubSpot contacts in batches, from inline rows, a file or a SQL query.

    Every input record ends either written to HubSpot or in the rejects file with HubSpot's reason.
    Re-running the task is safe: writes are upserts keyed by ``id_property``. This is
    :class:`~airflow_provider_hubspot.operators.objects.HubSpotCreateOrUpdateObjectsOperator` with
    ``object_type="contacts"`` and contacts' defaults (``id_property="email"``, the v1 editions).

    :param records: list of dicts (or an XComArg resolving to one).
    :param source_path: CSV or JSON Lines file, local or any Airflow object-storage URI; streamed.
    :param sql: query whose rows are the records (with ``sql_conn_id``); streamed with ``fetchmany``.
    :param sql_conn_id: connection of a common-sql database (Postgres, MySQL, SQLite, ...).
    :param file_format: ``csv`` or ``jsonl`` when the file name does not tell.
    :param properties_map: ``{"column": "hubspot_property"}`` renames; other columns keep their names.
    :param id_property: ``email`` (default), ``vid`` (record id) or a unique property (modern editions).
    :param associations: associate each written contact with other records (``[{"to": "companies", "column":
        "company_ref", "to_id_property": "external_id", "type": "primary"}]``); see
        :class:`~airflow_provider_hubspot.operators.objects.HubSpotCreateOrUpdateObjectsOperator`.
    :param check_values: read the contact property definitions and convert and check values before
        sending (default ``False`` for contacts: HubSpot validates them, and v1 editions have no unique
        flags); see the objects operator.
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
    template_fields: Sequence[str] = (*SOURCE_FIELDS, "properties_map", "id_property", "associations", "rejects_path",
                                      "resume_path", "state_path", "full_refresh", "api_version", "hubspot_conn_id")
    default_check_values = False

    def __init__(self, *, id_property: str = "email", **kwargs: Any) -> None:
        object_type = kwargs.pop("object_type", "contacts")
        if str(object_type).strip().lower() not in ("contacts", "0-1", "contact"):
            raise HubSpotConfigError(f"{type(self).__name__} writes contacts; use HubSpotCreateOrUpdateObjectsOperator "
                                     f"for object_type={object_type!r}.")
        super().__init__(object_type="contacts", id_property=id_property, **kwargs)


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
