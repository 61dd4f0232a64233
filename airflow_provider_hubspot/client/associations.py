"""Associations between CRM records (v4 ``/crm/v4/associations/...`` for ``v1``/``v3`` editions, date-based
``/crm/associations/<YYYY-MM>/...``): labels, batch associate, read and archive.

Association types are directional ids (contact→company unlabelled ``279``, primary ``1``; company→contact
``280``/``2``...). HubSpot-defined ids are stable, user-defined ones differ per portal, so the types of an
object pair are read once from the labels endpoint and cached: ``type="primary"``, a label's text, or an
id resolve against them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from typing import Any

from airflow_provider_hubspot.client.batching import BatchOutcome, BatchRunner, Record, chunked
from airflow_provider_hubspot.client.errors import (
    HubSpotConfigError,
    HubSpotConflictError,
    HubSpotPagingError,
    HubSpotValidationError,
)
from airflow_provider_hubspot.client.family import ApiFamily
from airflow_provider_hubspot.client.objects import object_type_name
from airflow_provider_hubspot.client.paging import has_list

#: Pairs per association request. HubSpot caps batch reads at 1,000 inputs (2025-02 changelog); 2,000 is
#: the commonly cited cap of the writes, unofficial: one constant of 1,000 serves both.
ASSOCIATION_BATCH_LIMIT = 1_000
#: Code of an association HubSpot (or our resolution of its records) refused.
ASSOCIATION_FAILED = "ASSOCIATION_FAILED"


class AssociationType:
    """One association type between two object types: ``category`` and ``type_id`` (and its ``label``)."""

    __slots__ = ("category", "label", "type_id")

    def __init__(self, category: str, type_id: int, label: str | None) -> None:
        self.category = category
        self.type_id = type_id
        self.label = label

    def spec(self) -> dict[str, Any]:
        return {"associationCategory": self.category, "associationTypeId": self.type_id}

    def __repr__(self) -> str:
        return f"AssociationType({self.category}, {self.type_id}, {self.label!r})"


class AssociationsAPI(ApiFamily):
    """Association calls in the client's edition."""

    def __init__(self, transport: Any, edition: Any) -> None:
        super().__init__(transport, edition)
        self._labels: dict[tuple[str, str], list[AssociationType]] = {}

    def _base(self, from_type: str, to_type: str) -> str:
        return self.edition.associations(object_type_name(from_type), object_type_name(to_type))

    # -- types ------------------------------------------------------------------------------------

    def labels(self, from_type: str, to_type: str, *, refresh: bool = False) -> list[AssociationType]:
        """The association types from ``from_type`` to ``to_type`` (read once, cached). Retry: safe — a read."""
        key = (object_type_name(from_type), object_type_name(to_type))
        if refresh or key not in self._labels:
            body = self.transport.request("GET", f"{self._base(*key)}/labels", expect=has_list("results")).body
            self._labels[key] = [AssociationType(str(d.get("category")), int(d["typeId"]), d.get("label"))
                                 for d in body.get("results") or [] if d.get("typeId") is not None]
        return self._labels[key]

    def resolve_type(self, from_type: str, to_type: str, kind: str | int | None = None) -> AssociationType:
        """The association type ``kind`` names: ``None`` / ``"default"`` (the unlabelled type), ``"primary"``,
        a label's text (case-blind) or a type id."""
        types = self.labels(from_type, to_type)
        wanted = str(kind).strip() if kind is not None else "default"
        if wanted.lower() in ("default", "unlabeled", "unlabelled", ""):
            found = next((t for t in types if not t.label), None)
        elif wanted.lstrip("-").isdigit():
            found = next((t for t in types if t.type_id == int(wanted)), None)
        elif wanted.lower() == "primary":
            found = next((t for t in types if t.label and t.label.lower() == "primary"), None)
            found = found or next((t for t in types if t.label and "primary" in t.label.lower()), None)
        else:
            found = next((t for t in types if t.label and t.label.lower() == wanted.lower()), None)
        if found is None:
            known = ", ".join(f"{t.type_id} ({t.label or 'unlabelled'})" for t in types) or "none"
            raise HubSpotConfigError(
                f"HubSpot has no association type {kind!r} from {from_type} to {to_type}; its types are {known}. "
                "Use 'primary', a label's text, a type id, or None for the unlabelled association.")
        return found

    def create_label(self, from_type: str, to_type: str, label: str, *, name: str | None = None,
                     inverse_label: str | None = None) -> list[AssociationType]:
        """Create a user-defined association label between two object types; returns the pair's types.

        Retry: safe — a label that exists is answered 409 and read back from the labels endpoint.
        """
        body: dict[str, Any] = {"label": label, "name": name or label.lower().replace(" ", "_")}
        if inverse_label:
            body["inverseLabel"] = inverse_label
        with suppress(HubSpotConflictError):
            self.transport.request("POST", f"{self._base(from_type, to_type)}/labels", json_body=body)
        return self.labels(from_type, to_type, refresh=True)

    # -- batch writes -----------------------------------------------------------------------------

    def associate(
        self,
        from_type: str,
        to_type: str,
        pairs: Iterable[Record],
        *,
        kind: str | int | None = None,
        batch_size: int = ASSOCIATION_BATCH_LIMIT,
        max_concurrency: int = 1,
        on_batch: Callable[[list[Record], BatchOutcome], None] | None = None,
        keep_rejections: bool = True,
        dry_run: bool = False,
    ) -> BatchOutcome:
        """Associate record pairs (each record's ``data`` is ``(from id, to id)``) with one association type, in
        batches (``batch/create``); per-pair outcomes: ``associated`` (``would_associate`` in a dry run), or
        rejected with HubSpot's reason (``ASSOCIATION_FAILED``).

        Retry: safe — associating a pair that is already associated changes nothing, so a batch resent after
        its answer was lost has the effect of sending it once.
        """
        spec = self.resolve_type(from_type, to_type, kind).spec()
        path = f"{self._base(from_type, to_type)}/batch/create"
        size = max(1, min(batch_size, ASSOCIATION_BATCH_LIMIT))

        def send(batch: list[Record]) -> BatchOutcome:
            outcome = BatchOutcome()
            if dry_run:
                outcome.count("would_associate", len(batch))
                return outcome
            inputs = [{"from": {"id": str(r.data[0])}, "to": {"id": str(r.data[1])}, "types": [spec]} for r in batch]
            body = self.transport.request("POST", path, json_body={"inputs": inputs},
                                          expect=lambda b: isinstance(b, dict)).body or {}
            failed = _failed_pairs(body.get("errors") or [], batch)
            for position, reason in failed.items():
                outcome.reject(batch[position], reason, ASSOCIATION_FAILED)
            outcome.count("associated", len(batch) - len(failed))
            return outcome

        runner: BatchRunner[list[Record]] = BatchRunner(send, max_concurrency=max_concurrency,
                                                        keep_rejections=keep_rejections)
        return runner.run(chunked(pairs, size), on_done=on_batch)

    def archive(self, from_type: str, to_type: str, pairs: Iterable[tuple[str | int, str | int]]) -> int:
        """Remove every association between each pair (``batch/archive``); returns the pairs sent.

        Retry: safe — removing what is gone changes nothing.
        """
        path = f"{self._base(from_type, to_type)}/batch/archive"
        sent = 0
        for chunk in chunked(pairs, ASSOCIATION_BATCH_LIMIT):
            grouped: dict[str, list[str]] = {}
            for from_id, to_id in chunk:
                grouped.setdefault(str(from_id), []).append(str(to_id))
            inputs = [{"from": {"id": f}, "to": [{"id": t} for t in tos]} for f, tos in grouped.items()]
            self.transport.request("POST", path, json_body={"inputs": inputs})
            sent += len(chunk)
        return sent

    # -- reads ------------------------------------------------------------------------------------

    def read(self, from_type: str, to_type: str, ids: Iterable[str | int]) -> Iterator[tuple[str, str, list[int]]]:
        """Yield ``(from id, to id, association type ids)`` of the given records, 1,000 per request, every page.

        Records without associations yield nothing. A record's pages must not loop: an ``after``
        cursor already followed for the same record raises :class:`HubSpotPagingError` instead of
        reading the same associations forever. Retry: safe — reads.
        """
        path = f"{self._base(from_type, to_type)}/batch/read"
        for chunk in chunked((str(i) for i in ids), ASSOCIATION_BATCH_LIMIT):
            inputs: list[dict[str, Any]] = [{"id": i} for i in chunk]
            followed: set[tuple[str, str]] = set()  # (record id, cursor) pairs already asked for
            while inputs:
                body = self.transport.request("POST", path, json_body={"inputs": inputs},
                                              expect=has_list("results")).body
                inputs = []
                for result in body.get("results") or []:
                    from_id = str((result.get("from") or {}).get("id"))
                    for target in result.get("to") or []:
                        types = [int(t["typeId"]) for t in target.get("associationTypes") or [] if "typeId" in t]
                        yield from_id, str(target.get("toObjectId")), types
                    after = ((result.get("paging") or {}).get("next") or {}).get("after")
                    if after:
                        if (from_id, str(after)) in followed:
                            raise HubSpotPagingError(
                                f"HubSpot's associations of {from_type} {from_id} to {to_type} point to cursor "
                                f"after={after} again: the pages loop, so reading stops here instead of repeating "
                                "them forever.")
                        followed.add((from_id, str(after)))
                        inputs.append({"id": from_id, "after": str(after)})


def _failed_pairs(errors: Sequence[dict[str, Any]], batch: Sequence[Record]) -> dict[int, str]:
    """Map batch errors to the pairs they name (``context`` ``fromObjectId`` / ``toObjectId``)."""
    failed: dict[int, str] = {}
    for error in errors:
        context = error.get("context") or {}
        froms = {str(v) for v in context.get("fromObjectId") or []}
        tos = {str(v) for v in context.get("toObjectId") or []}
        message = str(error.get("message") or "HubSpot refused the association")
        hits = [i for i, r in enumerate(batch) if (froms or tos) and (not froms or str(r.data[0]) in froms)
                and (not tos or str(r.data[1]) in tos)]
        if not hits:  # never count a pair associated that may not be
            raise HubSpotValidationError(f"HubSpot reported an association error that names no pair of the batch: "
                                         f"{message}")
        for position in hits:
            failed.setdefault(position, message)
    return failed
