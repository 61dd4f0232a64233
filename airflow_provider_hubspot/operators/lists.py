"""Add contacts to a static HubSpot list."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from airflow_provider_hubspot._compat import Context
from airflow_provider_hubspot.client import BatchOutcome, Record
from airflow_provider_hubspot.client.batching import chunked
from airflow_provider_hubspot.client.contacts import looks_like_email
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
from airflow_provider_hubspot.operators.change_only import ChangeOnlyRun, truthy

#: The fingerprint of a membership: a member in the state is a member already added.
MEMBER = b"member"
ID_KEYS = ("vid", "record_id", "recordId", "id", "hs_object_id", "canonical-vid")
CHUNK = 500


class HubSpotAddContactsToListOperator(SourceMixin, HubSpotBaseOperator):
    """Add contacts to a static (v1) or MANUAL/SNAPSHOT (ILS) list.

    Members are given as ``vids`` / ``record_ids`` / ``emails``, or read from any source whose rows
    are ids, emails, or dicts with a ``vid``/``record_id``/``id`` or ``email`` column. Modern editions
    add by record id, so emails are first resolved (batch read, 100 per call). Dynamic lists are
    refused before anything is sent; a list id of the other generation (v1 legacy id vs ILS id) is
    explained with its mapping. Re-running is safe: existing members count as ``already_members``.

    Every member given ends in exactly one count of the summary: ``added``, ``already_members``,
    ``duplicates`` (the same contact given again in the same chunk — by id, by an e-mail differing
    only in case, or by both its e-mail and its id), ``not_found`` or ``invalid`` (neither an id nor
    an e-mail); the last two are written to the rejects file.

    :param list_id: the list (ILS id for modern editions, legacy id for ``v1``).
    :param vids: contact vids / record ids.
    :param record_ids: alias of ``vids`` in modern naming.
    :param emails: contact emails.
    :param records: rows from XCom or inline; ``source_path`` / ``sql`` + ``sql_conn_id``: streamed rows.
    :param rejects_path: JSON Lines file for members that were not found (default: a temp file).
    :param state_path: remember the members this task added (local path or object-storage URI) and
        do not send them again on later runs (counted ``unchanged``); see "Change-only syncs".
    :param full_refresh: with ``state_path``: send every member again and rebuild the state.
    :param max_rejected: members not found tolerated before the task fails (count or fraction);
        ``None`` (default) only reports them.
    :param hubspot_conn_id: the ``hubspot`` connection.
    :param api_version: overrides the connection's ``api_version``.
    """

    required_params = ("list_id",)
    outcome_keys = ("added", "already_members", "duplicates", "unchanged", "not_found", "invalid")
    template_fields: Sequence[str] = ("list_id", "vids", "record_ids", "emails", *SOURCE_FIELDS, "rejects_path",
                                      "state_path", "full_refresh",
                                      "api_version", "hubspot_conn_id")
    template_fields_renderers = {"sql": "sql", "records": "json"}

    def __init__(
        self,
        *,
        list_id: str | int,
        vids: Any = None,
        record_ids: Any = None,
        emails: Any = None,
        records: Any = None,
        source_path: str | None = None,
        sql: str | None = None,
        sql_conn_id: str | None = None,
        file_format: str | None = None,
        rejects_path: str | None = None,
        max_rejected: int | float | None = None,
        state_path: str | None = None,
        full_refresh: bool | str = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.state_path = state_path
        self.full_refresh = full_refresh
        self.list_id = list_id
        self.vids = vids
        self.record_ids = record_ids
        self.emails = emails
        self.init_source(records=records, source_path=source_path, sql=sql, sql_conn_id=sql_conn_id,
                         file_format=file_format, required=False)
        if not (vids or record_ids or emails or self.has_source()):
            from airflow_provider_hubspot.sources import SourceError

            raise SourceError("No members given: pass vids=, record_ids=, emails=, or a source (records=, "
                              "source_path=, sql=).")
        self.rejects_path = rejects_path
        self.max_rejected = max_rejected

    def _members(self) -> Iterator[Record]:
        index = 0
        for values in (self.vids, self.record_ids, self.emails):
            for value in _as_list(values):
                yield Record(index, value)
                index += 1
        if self.has_source():
            for row in self.source_rows():
                yield Record(index, row)
                index += 1

    def execute(self, context: Context) -> dict[str, Any]:
        self.check_required()
        list_id = str(self.list_id).strip()
        doing = f"Adding contacts to list {list_id}"
        with self.failing_clearly(doing):
            client = self.client
            list_obj = client.lists.get_for_membership(list_id)
        self.log.info("Adding contacts to list %s (%r, api_version %s)", list_id, list_obj.get("name"),
                      client.edition)
        rejects = RejectsFile(self.rejects_path, default_rejects_name(context, self.task_id))
        members = Counted(self._members())
        outcome = BatchOutcome(keep_rejections=False)  # members not found are streamed to the rejects file
        progress = Progress(self.log, "Members", every=10)
        with self.failing_clearly(f"{doing} (after {members.count} members)"), self._change_only(list_id) as changes:
            try:
                for chunk in chunked(changes.filter(members) if changes else members, CHUNK):
                    part = self._add_chunk(client, list_id, chunk)
                    if changes:
                        changes.settle(chunk, part)
                        progress.counts["unchanged"] = changes.changes.unchanged
                    rejects.write(part.rejections)
                    outcome.merge(part)
                    progress.advance(**{name: part.counts[name] for name in self.outcome_keys})
            finally:
                rejects.close()
                if changes:
                    changes.commit()  # what was added is recorded, also when the run stops part-way
        result = summary(outcome, client, list_id=list_id, received=members.count,
                         rejects_path=rejects.written_path, api_version=str(client.edition),
                         **(changes.summary() if changes else {}))
        self.finish(result)
        self.log.info("List %s: %s", list_id, result)
        self.log_rejections(rejects.samples, "Member")
        if self.max_rejected is not None:
            check_max_rejected(self.max_rejected, outcome.rejected, members.count, rejects.written_path,
                               rejects.samples)
        return result

    @contextmanager
    def _change_only(self, list_id: str) -> Iterator[ChangeOnlyRun | None]:
        """With ``state_path``: members added by earlier runs are not sent again (counted ``unchanged``)."""
        if not self.state_path or not str(self.state_path).strip():
            yield None
            return

        def key_of(record: Record) -> str | None:
            kind, value = _identify(record.data)
            return None if kind == "invalid" else f"{kind}:{value.lower() if kind == 'email' else value}"

        run = ChangeOnlyRun(str(self.state_path), scope={"object_type": "list_members", "list_id": list_id},
                            key_of=key_of, key_name="member", full_refresh=truthy(self.full_refresh),
                            fingerprint_of=lambda record: MEMBER)
        with run:
            yield run

    def _add_chunk(self, client: Any, list_id: str, chunk: list[Record]) -> BatchOutcome:
        """Add one chunk of members; every member ends in exactly one of :attr:`outcome_keys`."""
        outcome = BatchOutcome()
        by_id: dict[str, Record] = {}
        by_email: dict[str, Record] = {}

        def not_found(record: Record, reason: str) -> None:
            outcome.count("not_found")
            outcome.reject(record, reason, "NOT_FOUND")

        for record in chunk:
            kind, value = _identify(record.data)
            if kind == "invalid":
                outcome.count("invalid")
                outcome.reject(record, value, "INVALID_MEMBER")
                continue
            seen = by_email if kind == "email" else by_id
            key = value.lower() if kind == "email" else value
            if key in seen:  # the same member twice (e-mails compare case-insensitively, as in HubSpot)
                outcome.count("duplicates")
                continue
            seen[key] = record
        if client.edition.is_v1:
            body = client.lists.add_members(list_id, vids=list(by_id), emails=[_email_of(r) for r in by_email.values()])
            for vid in body["invalidVids"]:
                if str(vid) in by_id:
                    not_found(by_id.pop(str(vid)), f"no contact has vid {vid}")
            for email in body["invalidEmails"]:
                if str(email).lower() in by_email:
                    not_found(by_email.pop(str(email).lower()), f"no contact has email {email}")
            sent = len(by_id) + len(by_email)
            added = min(len(body["updated"]), sent)
            outcome.count("added", added)
            outcome.count("already_members", sent - added)
            return outcome
        if by_email:
            found = {str((c.get("properties") or {}).get("email", "")).lower(): str(c["id"])
                     for c in client.contacts.batch_get(list(by_email), by="email", properties=["email"])}
            for email, record in by_email.items():
                if email not in found:
                    not_found(record, f"no contact has email {email}")
                elif found[email] in by_id:  # an e-mail and an id of the same contact
                    outcome.count("duplicates")
                else:
                    by_id[found[email]] = record
        if by_id:
            body = client.lists.add_records(list_id, list(by_id))
            missing_ids = {str(i) for i in body["missing"]} & set(by_id)
            for record_id in sorted(missing_ids):
                not_found(by_id[record_id], f"no contact has record id {record_id}")
            added = len({str(i) for i in body["added"]} & set(by_id))
            outcome.count("added", added)
            outcome.count("already_members", len(by_id) - len(missing_ids) - added)
        return outcome


def _email_of(record: Record) -> str:
    """The e-mail a member record was identified by."""
    return _identify(record.data)[1]


def _as_list(values: Any) -> list[Any]:
    if values in (None, ""):
        return []
    if isinstance(values, (str, int)):
        return [values]
    return list(values)


def _identify(value: Any) -> tuple[str, str]:
    """``("id", "123")``, ``("email", "a@b.com")`` or ``("invalid", reason)`` for one member."""
    if isinstance(value, Mapping):
        for key in ID_KEYS:
            if value.get(key) not in (None, ""):
                return _identify(value[key])
        if value.get("email"):
            return _identify(str(value["email"]))
        return "invalid", f"row has no vid/record_id/id or email column: {sorted(value)}"
    if isinstance(value, bool):
        return "invalid", f"{value!r} is not a contact id or email"
    if isinstance(value, int):
        return "id", str(value)
    if isinstance(value, str) and value.strip().isdecimal():
        return "id", str(int(value))  # "007" is record 7, as HubSpot reads it
    if isinstance(value, str) and looks_like_email(value.strip()):
        return "email", value.strip()
    return "invalid", f"{value!r} is neither a numeric contact id nor an email address"
