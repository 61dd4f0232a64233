"""The generic CRM object store: object types with property schemas and unique-property indexes, their
records, and the association graph between records.

Every CRM object type is an :class:`ObjectType`: contacts (``0-1``), companies (``0-2``), deals
(``0-3``), tickets (``0-5``), products (``0-7``), line items (``0-8``) and custom objects defined with
:meth:`ObjectStore.define_custom` (``2-<n>``, fully qualified name ``p<portal>_<name>``). A type can be
named by its plural name, its object type id, its singular name or (custom objects) its fully
qualified name, as HubSpot's paths accept. The HTTP handlers (``crm_objects.py``) speak to a type
only through this interface, so one batch engine serves every object and every edition.

Contacts are one type of it, :class:`~.contacts.ContactsType`: their records are this store's
:class:`Record` s (ids from 1001, e-mail a unique, case-insensitive property), with what only contacts
have (merged e-mails, utk, form submissions, merge audits) attached to each record; the v1 contact
routes, lists, lifecycle stages, forms and the timeline read and write them through that type.

Emulator choices where HubSpot's behaviour is UNCERTAIN:

* Record ids of each type count up from a type-specific start (companies 2001..., deals 3001...,
  custom objects 9001...), so ids of different types never look alike in tests.
* Associations are stored in both directions: associating A→B with type ``t`` also associates B→A
  with ``t``'s inverse; removing one removes both. A labelled association always comes with the
  pair's unlabelled (default) type, as HubSpot shows it. Associating twice changes nothing.
* A "Primary" association (contact→company ``1``, deal→company ``5``, ticket→company ``26``) is held
  by one record at a time: making another company primary moves it (the old pair keeps its
  unlabelled association).
* Pairs of types not in HubSpot's published table (§3.3 of the objects reference) get an unlabelled
  type on first use, from ``1000`` upward (``USER_DEFINED`` when a custom object is involved).
* Archiving a record drops its associations; merging moves the merged record's associations to the
  survivor.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ._util import PORTAL_ID
from .schema import (
    PROPERTY_TYPES,
    SERVER_MANAGED,
    STANDARD_PROPERTIES,
    PropertyDef,
    invalid,
    normalize_value,
    object_schema,
)

if TYPE_CHECKING:
    from .state import EmulatorState

#: The standard object types: id, plural name, singular name, label, first record id, scope name,
#: text properties a search ``query`` looks in, properties returned when none are asked for, merge.
STANDARD_TYPES: tuple[tuple[str, str, str, str, int, str, tuple[str, ...], tuple[str, ...], bool], ...] = (
    ("0-2", "companies", "company", "Company", 2001, "companies", ("name", "domain", "website", "phone"),
     ("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"), True),
    ("0-3", "deals", "deal", "Deal", 3001, "deals", ("dealname",),
     ("amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate", "hs_object_id",
      "pipeline"), True),
    ("0-5", "tickets", "ticket", "Ticket", 5001, "tickets", ("subject", "content"),
     ("content", "createdate", "hs_lastmodifieddate", "hs_object_id", "hs_pipeline", "hs_pipeline_stage",
      "hs_ticket_category", "hs_ticket_priority", "subject"), True),
    ("0-7", "products", "product", "Product", 7001, "e-commerce", ("name", "description", "hs_sku"),
     ("createdate", "description", "hs_lastmodifieddate", "hs_object_id", "name", "price"), False),
    ("0-8", "line_items", "line_item", "Line item", 8001, "e-commerce", ("name",),
     ("createdate", "hs_lastmodifieddate", "hs_object_id", "name", "price", "quantity"), False),
)
CUSTOM_ID_START = 9001
FIRST_CUSTOM_TYPE = 2_000_001

#: HubSpot-defined association types (§3.3): (from, to, type id, label or None, inverse type id).
ASSOCIATION_TYPES: tuple[tuple[str, str, int, str | None, int], ...] = (
    ("0-1", "0-2", 279, None, 280), ("0-1", "0-2", 1, "Primary", 2),
    ("0-3", "0-1", 3, None, 4),
    ("0-3", "0-2", 341, None, 342), ("0-3", "0-2", 5, "Primary", 6),
    ("0-5", "0-1", 16, None, 15),
    ("0-5", "0-2", 339, None, 340), ("0-5", "0-2", 26, "Primary", 25),
    ("0-3", "0-5", 27, None, 28),
    ("0-8", "0-3", 20, None, 19),
)
#: Type ids a record holds towards one record at most (the "Primary" company of a contact, deal, ticket).
SINGLE_TARGET_TYPES = frozenset({1, 5, 26})
FIRST_GENERATED_TYPE_ID = 1000


class UniqueTaken(Exception):
    """A value of a unique property already belongs to another record."""

    def __init__(self, prop: str, value: str, existing_id: int) -> None:
        super().__init__(f"{prop} {value} already belongs to record {existing_id}")
        self.prop = prop
        self.value = value
        self.existing_id = existing_id


class Record:
    """One record of any object type; ``extra`` holds what only its type has (contacts: ``ContactData``)."""

    __slots__ = ("created_ms", "deleted", "extra", "id", "merged_ids", "merged_into", "prop_ts", "properties",
                 "updated_ms")

    def __init__(self, record_id: int, created_ms: int) -> None:
        self.id = record_id
        self.properties: dict[str, str] = {}
        self.prop_ts: dict[str, int] = {}
        self.created_ms = created_ms
        self.updated_ms = created_ms
        self.deleted = False
        self.merged_into: int | None = None
        self.merged_ids: list[int] = []
        self.extra: Any = None

    @property
    def live(self) -> bool:
        return not self.deleted and self.merged_into is None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "properties": dict(self.properties), "prop_ts": dict(self.prop_ts),
                "created_ms": self.created_ms, "updated_ms": self.updated_ms, "deleted": self.deleted,
                "merged_into": self.merged_into, "merged_ids": list(self.merged_ids)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Record:
        record = cls(int(data["id"]), int(data["created_ms"]))
        record.properties = {str(k): str(v) for k, v in data.get("properties", {}).items()}
        record.prop_ts = {str(k): int(v) for k, v in data.get("prop_ts", {}).items()}
        record.updated_ms = int(data.get("updated_ms", record.created_ms))
        record.deleted = bool(data.get("deleted", False))
        record.merged_into = data.get("merged_into")
        record.merged_ids = [int(v) for v in data.get("merged_ids", [])]
        return record


class ObjectType:
    """An object type: its names, property schema, unique-property indexes and records.

    Every write goes through :meth:`create`, :meth:`update`, :meth:`remove` and :meth:`merge` (archiving
    drops the record's associations, merging moves them), whichever API edition asks.
    """

    modified_property = "hs_lastmodifieddate"
    batch_limit = 100
    #: Properties a merge never fills from the merged record (``None``: the unique ones).
    merge_skips: frozenset[str] | None = None

    def __init__(self, store: ObjectStore, type_id: str, name: str, singular: str, label: str, *,
                 schema: dict[str, PropertyDef], first_id: int, scope: str, search_text: tuple[str, ...],
                 default_properties: tuple[str, ...], mergeable: bool, fully_qualified_name: str | None = None,
                 custom: bool = False) -> None:
        self.store = store
        self.type_id = type_id
        self.name = name
        self.singular = singular
        self.label = label
        self.schema = schema
        self.scope = scope
        self.search_text = search_text
        self.default_properties = default_properties
        self.mergeable = mergeable
        self.fully_qualified_name = fully_qualified_name
        self.custom = custom
        self.first_id = first_id
        self._records: dict[int, Record] = {}
        self._ids: list[int] = []  # every id ever issued, ascending
        self._alias: dict[int, int] = {}  # merged-away id -> surviving id
        self._unique: dict[str, dict[str, int]] = {n: {} for n, p in schema.items() if p.unique and n != "hs_object_id"}
        self._next_id = first_id
        self._live_count = 0
        #: Counts writes (caches of derived orderings compare it).
        self.version = 0

    def now(self) -> int:
        return self.store.state.now_ms()

    # -- names and schema ---------------------------------------------------------------------------
    @property
    def names(self) -> set[str]:
        """Every name a path may use for this type."""
        names = {self.type_id, self.name, self.singular}
        if self.fully_qualified_name:
            names.add(self.fully_qualified_name)
        return names

    @property
    def read_scopes(self) -> tuple[str, ...]:
        return (f"crm.objects.{self.scope}.read", *self._legacy_scopes)

    @property
    def write_scopes(self) -> tuple[str, ...]:
        return (f"crm.objects.{self.scope}.write", *self._legacy_scopes)

    @property
    def _legacy_scopes(self) -> tuple[str, ...]:
        """HubSpot's older one-word scopes that grant both (``tickets``, ``e-commerce``)."""
        return (self.scope,) if self.scope in ("tickets", "e-commerce") else ()

    @property
    def upper(self) -> str:
        """The name HubSpot's messages use (``COMPANY``, ``CONTACT``, ...)."""
        return self.singular.upper()

    def unique_properties(self) -> list[str]:
        return [name for name, prop in self.schema.items() if prop.unique]

    def is_unique(self, name: str) -> bool:
        prop = self.schema.get(name)
        return prop is not None and prop.unique

    def define_property(self, prop: PropertyDef) -> None:
        if prop.type not in PROPERTY_TYPES:
            raise ValueError(f"unknown property type {prop.type!r}; expected one of {PROPERTY_TYPES}")
        if prop.type == "enumeration" and not prop.options:
            raise ValueError("an enumeration property needs options")
        self.schema[prop.name] = prop
        if prop.unique and prop.name != "hs_object_id":
            index = self._unique.setdefault(prop.name, {})
            for record in self.iter_live():
                value = record.properties.get(prop.name)
                if value:
                    index[self.key(prop.name, value)] = record.id

    def key(self, prop: str, value: Any) -> str:
        """A unique value as it is indexed (e-mails are case-insensitive)."""
        text = str(value).strip()
        return text.lower() if prop == "email" else text

    def validate_one(self, name: Any, raw: Any, into: dict[str, str]) -> dict[str, Any] | None:
        """Validate one value; on success store it normalised in ``into``, else return the validation result."""
        prop = self.schema.get(str(name))
        if prop is None:
            return invalid(str(name), "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
        if prop.name in SERVER_MANAGED:
            return None
        value, error = normalize_value(prop, raw, self.store.state.allowed_tlds)
        if error is None:
            into[prop.name] = value
        return error

    def validate(self, props: Mapping[str, Any] | Iterable[tuple[str, Any]]
                 ) -> tuple[dict[str, str], list[dict[str, Any]]]:
        """``{name: value}`` (or ``(name, value)`` pairs) normalised, and the validation results of the
        values that are not valid."""
        clean: dict[str, str] = {}
        pairs = props.items() if isinstance(props, Mapping) else props
        errors = [e for name, raw in pairs if (e := self.validate_one(name, raw, clean)) is not None]
        return clean, errors

    # -- look-ups ----------------------------------------------------------------------------------
    def live(self, record_id: Any) -> Any:
        """The live record for an id (a merged-away id gives the survivor), or ``None``."""
        try:
            key = int(str(record_id))
        except (TypeError, ValueError):
            return None
        record = self._records.get(self._alias.get(key, key))
        return record if record is not None and record.live else None

    def raw(self, record_id: int) -> Any:
        """Any stored record, live or not (no alias resolution)."""
        return self._records.get(record_id)

    def canonical(self, record_id: int) -> int:
        return self._alias.get(record_id, record_id)

    def by_unique(self, prop: str, value: Any) -> Any:
        """The live record whose unique ``prop`` has ``value``."""
        if prop == "hs_object_id":
            return self.live(value)
        if value in (None, ""):
            return None
        found = self._unique.get(prop, {}).get(self.key(prop, value))
        return self.live(found) if found is not None else None

    def iter_live(self) -> Iterator[Any]:
        for record in self._records.values():
            if record.live:
                yield record

    def count(self) -> int:
        return self._live_count

    def live_after(self, after: int, count: int) -> tuple[list[Any], bool]:
        """Live records with id > ``after`` in id order, and whether more exist."""
        out: list[Any] = []
        index = bisect.bisect_right(self._ids, after)
        while index < len(self._ids):
            record = self._records[self._ids[index]]
            index += 1
            if not record.live:
                continue
            if len(out) == count:
                return out, True
            out.append(record)
        return out, False

    # -- property values -----------------------------------------------------------------------------
    def prop(self, record: Any, name: str) -> str | None:
        """The current value of a property, the derived ones included."""
        if name == "hs_object_id":
            return str(record.id)
        if name == self.modified_property:
            return str(record.updated_ms)
        if name == "createdate":
            return str(record.created_ms)
        value = record.properties.get(name)
        return value if value not in (None, "") else None

    def prop_timestamp(self, record: Any, name: str) -> int:
        if name == self.modified_property:
            return int(record.updated_ms)
        return int(record.prop_ts.get(name, record.created_ms))

    def all_props(self, record: Any) -> dict[str, str]:
        return {**record.properties, "createdate": str(record.created_ms),
                self.modified_property: str(record.updated_ms), "hs_object_id": str(record.id)}

    # -- writes --------------------------------------------------------------------------------------
    def _check_unique(self, record_id: int | None, clean: Mapping[str, str]) -> None:
        for prop in sorted(self._unique, key=lambda p: p == "email"):  # an e-mail is checked last
            owner = self.by_unique(prop, clean.get(prop))
            if owner is not None and owner.id != record_id:
                raise UniqueTaken(prop, clean[prop], owner.id)

    def create(self, clean: Mapping[str, str], *, created_ms: int | None = None) -> Any:
        """A new record from validated properties; :class:`UniqueTaken` when a unique value is in use.

        :param created_ms: when it was created (also its last modification); default now.
        """
        self._check_unique(None, clean)
        now = self.now()
        created = created_ms if created_ms is not None else now
        if clean.get("createdate"):
            created = int(clean["createdate"])
        record = Record(self._next_id, created)
        self._next_id += 1
        record.updated_ms = max(now, created) if created_ms is None else created
        self._records[record.id] = record
        self._ids.append(record.id)
        self._live_count += 1
        self._apply(record, clean, now)
        return record

    def update(self, record: Any, clean: Mapping[str, str]) -> None:
        """Apply validated properties to a live record; :class:`UniqueTaken` when a unique value is in use."""
        self._check_unique(record.id, clean)
        now = self.now()
        self._apply(record, clean, now)
        record.updated_ms = max(now, record.updated_ms)

    def upsert(self, prop: str, value: str, clean: Mapping[str, str]) -> tuple[Any, bool]:
        """Update the live record whose unique ``prop`` is ``value``, or create one with that value (unless
        ``clean`` names another); returns the record and whether it is new."""
        record = self.by_unique(prop, value)
        if record is not None:
            self.update(record, clean)
            return record, False
        return self.create(clean if prop in clean else {**clean, prop: value}), True

    def _apply(self, record: Record, clean: Mapping[str, str], now: int) -> None:
        self.version += 1
        for name, value in clean.items():
            if name in SERVER_MANAGED:
                continue
            if name == "createdate":
                if value:
                    record.created_ms = int(value)
                continue
            index = self._unique.get(name)
            if index is not None:
                old = record.properties.get(name)
                if old and index.get(self.key(name, old)) == record.id:
                    del index[self.key(name, old)]
                if value:
                    index[self.key(name, value)] = record.id
            if value == "":
                record.properties.pop(name, None)
                record.prop_ts.pop(name, None)
            else:
                record.properties[name] = value
                record.prop_ts[name] = now

    def _indexed_values(self, record: Record, name: str) -> list[str]:
        """The values of ``record`` the unique index of ``name`` holds (contacts add merged e-mails)."""
        value = record.properties.get(name)
        return [value] if value else []

    def _unindex(self, record: Record) -> None:
        for name, index in self._unique.items():
            for value in self._indexed_values(record, name):
                if index.get(self.key(name, value)) == record.id:
                    del index[self.key(name, value)]

    def remove(self, record: Any) -> None:
        """Archive a live record: it disappears from every look-up, and its associations are dropped."""
        if not record.live:
            return
        self.version += 1
        record.deleted = True
        self._live_count -= 1
        self._unindex(record)
        self.store.associations.drop_record(self.type_id, record.id)

    def merge(self, primary: Any, secondary: Any) -> None:
        """Merge ``secondary`` into ``primary`` (both live, distinct): empty values of the primary are
        filled from the secondary; the secondary's id resolves to the primary from then on, and its
        associations move to the primary."""
        self.version += 1
        now = self.now()
        skips = self._unique.keys() if self.merge_skips is None else self.merge_skips
        for name, value in secondary.properties.items():
            if name not in skips and not primary.properties.get(name):
                primary.properties[name] = value
                primary.prop_ts[name] = secondary.prop_ts.get(name, now)
        self._unindex(secondary)
        for name, index in self._unique.items():  # values filled from the secondary
            if primary.properties.get(name):
                index[self.key(name, primary.properties[name])] = primary.id
        secondary.merged_into = primary.id
        self._live_count -= 1
        moved = [secondary.id, *secondary.merged_ids]
        primary.merged_ids.extend(moved)
        for record_id in moved:
            self._alias[record_id] = primary.id
        self.store.associations.move_record(self.type_id, secondary.id, primary.id)
        primary.properties["hs_merged_object_ids"] = ";".join(str(v) for v in primary.merged_ids)
        primary.updated_ms = max(now, primary.updated_ms)
        self._merged(primary, secondary, now)

    def _merged(self, primary: Any, secondary: Any, now: int) -> None:
        """What a type does beyond :meth:`merge` (contacts: e-mails, utk, form submissions, lists)."""

    # -- persistence ---------------------------------------------------------------------------------
    def record_json(self, record: Record) -> dict[str, Any]:
        return record.to_json()

    def record_from_json(self, data: Mapping[str, Any]) -> Record:
        return Record.from_json(data)

    def to_json(self) -> dict[str, Any]:
        return {"type_id": self.type_id, "name": self.name, "next_id": self._next_id,
                "schema": [p.to_json() for p in self.schema.values()],
                "records": [self.record_json(r) for r in self._records.values()]}

    def load_json(self, data: Mapping[str, Any]) -> None:
        self.schema.update((p["name"], PropertyDef.from_json(p)) for p in data.get("schema", []))
        self._records, self._alias = {}, {}
        self._unique = {name: {} for name, p in self.schema.items() if p.unique and name != "hs_object_id"}
        for item in data.get("records", []):
            record = self.record_from_json(item)
            self._records[record.id] = record
        self._ids = sorted(self._records)
        for record in self._records.values():
            if record.merged_into is not None:
                survivor = record.merged_into
                while self._records.get(survivor) is not None and self._records[survivor].merged_into:
                    survivor = self._records[survivor].merged_into  # type: ignore[assignment]
                self._alias[record.id] = survivor
            elif record.live:
                for name, index in self._unique.items():
                    for value in self._indexed_values(record, name):
                        index[self.key(name, value)] = record.id
        self._next_id = int(data.get("next_id", max(self._records, default=self.first_id - 1) + 1))
        self._live_count = sum(1 for _ in self.iter_live())
        self.version += 1


class Associations:
    """The association graph: typed, directional edges stored with their inverse, and the label table."""

    def __init__(self) -> None:
        #: (from type id, to type id) -> from record id -> to record id -> association type ids
        self.edges: dict[tuple[str, str], dict[int, dict[int, set[int]]]] = {}
        #: (from type id, to type id) -> [{"category", "typeId", "label"}], unlabelled first
        self.labels: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.inverse: dict[int, int] = {}
        #: (from type id, to type id) -> association type id -> its definition (``labels``, indexed)
        self._specs: dict[tuple[str, str], dict[int, dict[str, Any]]] = {}
        self.next_type_id = FIRST_GENERATED_TYPE_ID
        for from_type, to_type, type_id, label, inverse in ASSOCIATION_TYPES:
            self._define(from_type, to_type, type_id, label, inverse, "HUBSPOT_DEFINED", None)

    def _define(self, from_type: str, to_type: str, type_id: int, label: str | None, inverse: int, category: str,
                inverse_label: str | None) -> None:
        self._add_spec(from_type, to_type, {"category": category, "typeId": type_id, "label": label})
        if from_type != to_type or type_id != inverse:
            self._add_spec(to_type, from_type, {"category": category, "typeId": inverse,
                                                "label": inverse_label if inverse_label else label})
        self.inverse[type_id] = inverse
        self.inverse[inverse] = type_id

    def _add_spec(self, from_type: str, to_type: str, spec: dict[str, Any]) -> None:
        self.labels.setdefault((from_type, to_type), []).append(spec)
        self._specs.setdefault((from_type, to_type), {})[int(spec["typeId"])] = spec

    def definitions(self, from_type: str, to_type: str, *, custom: bool = False) -> list[dict[str, Any]]:
        """The association types from ``from_type`` to ``to_type`` (an unlabelled one is made on first use)."""
        if (from_type, to_type) not in self.labels:
            type_id = self.next_type_id
            inverse = type_id if from_type == to_type else type_id + 1
            self.next_type_id = inverse + 1
            self._define(from_type, to_type, type_id, None, inverse, "USER_DEFINED" if custom else "HUBSPOT_DEFINED",
                         None)
        return self.labels[(from_type, to_type)]

    def default_type(self, from_type: str, to_type: str, *, custom: bool = False) -> dict[str, Any]:
        """The pair's unlabelled association type."""
        return next(d for d in self.definitions(from_type, to_type, custom=custom) if d["label"] is None)

    def spec(self, from_type: str, to_type: str, type_id: int) -> dict[str, Any] | None:
        return self._specs.get((from_type, to_type), {}).get(type_id)

    def create_label(self, from_type: str, to_type: str, label: str, inverse_label: str | None,
                     *, custom: bool = False) -> list[dict[str, Any]]:
        """A new USER_DEFINED label between two types (with its inverse)."""
        self.definitions(from_type, to_type, custom=custom)
        type_id = self.next_type_id
        inverse = type_id + 1
        self.next_type_id = inverse + 1
        self._define(from_type, to_type, type_id, label, inverse, "USER_DEFINED", inverse_label or label)
        return self.labels[(from_type, to_type)]

    def add(self, from_type: str, from_id: int, to_type: str, to_id: int, type_id: int) -> bool:
        """Associate two records with ``type_id`` (and the pair's unlabelled type); ``True`` if anything changed."""
        default = self.default_type(from_type, to_type)["typeId"]
        changed = False
        for tid in dict.fromkeys((default, type_id)):
            if tid in SINGLE_TARGET_TYPES:
                for other, types in self.of(from_type, from_id, to_type).items():
                    if other != to_id and tid in types:
                        self._unlink(from_type, from_id, to_type, other, {tid})
            changed |= self._link(from_type, from_id, to_type, to_id, tid)
        return changed

    def _link(self, from_type: str, from_id: int, to_type: str, to_id: int, type_id: int) -> bool:
        types = self.edges.setdefault((from_type, to_type), {}).setdefault(from_id, {}).setdefault(to_id, set())
        if type_id in types:
            return False
        types.add(type_id)
        inverse = self.inverse.get(type_id, type_id)
        self.edges.setdefault((to_type, from_type), {}).setdefault(to_id, {}).setdefault(from_id, set()).add(inverse)
        return True

    def _unlink(self, from_type: str, from_id: int, to_type: str, to_id: int, type_ids: set[int] | None) -> None:
        for (a_type, a_id, b_type, b_id, flip) in ((from_type, from_id, to_type, to_id, False),
                                                   (to_type, to_id, from_type, from_id, True)):
            targets = self.edges.get((a_type, b_type), {}).get(a_id)
            if not targets or b_id not in targets:
                continue
            if type_ids is None:
                del targets[b_id]
            else:
                drop = {self.inverse.get(t, t) for t in type_ids} if flip else type_ids
                targets[b_id] -= drop
                if not targets[b_id]:
                    del targets[b_id]

    def remove(self, from_type: str, from_id: int, to_type: str, to_id: int,
               type_ids: Iterable[int] | None = None) -> None:
        """Remove the given types between two records (``None``: every type). Removing the unlabelled
        type removes them all, as HubSpot does."""
        wanted = None if type_ids is None else set(type_ids)
        if wanted is not None and self.default_type(from_type, to_type)["typeId"] in wanted:
            wanted = None
        self._unlink(from_type, from_id, to_type, to_id, wanted)

    def of(self, from_type: str, from_id: int, to_type: str) -> dict[int, set[int]]:
        """``{to record id: type ids}`` of one record towards one type."""
        return self.edges.get((from_type, to_type), {}).get(from_id, {})

    def drop_record(self, type_id: str, record_id: int) -> None:
        for (from_type, to_type), by_record in list(self.edges.items()):
            if from_type == type_id:
                for to_id in list(by_record.get(record_id, {})):
                    self._unlink(from_type, record_id, to_type, to_id, None)

    def move_record(self, type_id: str, old: int, new: int) -> None:
        """Give ``new`` every association of ``old`` (a merge)."""
        for (from_type, to_type), by_record in list(self.edges.items()):
            if from_type != type_id or old not in by_record:
                continue
            for to_id, types in list(by_record[old].items()):
                for tid in types:
                    if not (to_type == type_id and to_id == new):
                        self._link(from_type, new, to_type, to_id, tid)
                self._unlink(from_type, old, to_type, to_id, None)

    def to_json(self) -> dict[str, Any]:
        edges = [[a, b, from_id, to_id, sorted(types)] for (a, b), by_record in self.edges.items()
                 for from_id, targets in by_record.items() for to_id, types in targets.items()]
        labels = [[a, b, defs] for (a, b), defs in self.labels.items()]
        return {"edges": edges, "labels": labels, "inverse": [[k, v] for k, v in self.inverse.items()],
                "next_type_id": self.next_type_id}

    def load_json(self, data: Mapping[str, Any]) -> None:
        self.edges, self.labels, self._specs = {}, {}, {}
        for a, b, defs in data.get("labels", []):
            for definition in defs:
                self._add_spec(a, b, dict(definition))
        self.inverse = {int(k): int(v) for k, v in data.get("inverse", [])}
        for a, b, from_id, to_id, types in data.get("edges", []):
            self.edges.setdefault((a, b), {}).setdefault(int(from_id), {})[int(to_id)] = {int(t) for t in types}
        self.next_type_id = int(data.get("next_type_id", FIRST_GENERATED_TYPE_ID))


class ObjectStore:
    """Every object type of the portal, found by any of its names, and the association graph."""

    def __init__(self, state: EmulatorState) -> None:
        from .contacts import ContactsType  # contacts.py builds on this module

        self.state = state
        self.types: dict[str, ObjectType] = {}
        self._by_name: dict[str, ObjectType] = {}
        self.associations = Associations()
        self._next_custom = FIRST_CUSTOM_TYPE
        #: The contacts (``0-1``), with what only they have.
        self.contacts = ContactsType(self)
        self._add(self.contacts)
        for type_id, name, singular, label, first_id, scope, text, defaults, mergeable in STANDARD_TYPES:
            schema = object_schema(STANDARD_PROPERTIES[name], f"{singular}information")
            self._add(ObjectType(self, type_id, name, singular, label, schema=schema, first_id=first_id, scope=scope,
                                 search_text=text, default_properties=defaults, mergeable=mergeable))

    def _add(self, object_type: ObjectType) -> None:
        self.types[object_type.type_id] = object_type
        for name in object_type.names:
            self._by_name[name.lower()] = object_type

    def get(self, name: Any) -> ObjectType | None:
        """The type a path names (``companies``, ``0-2``, ``company``, ``2-2000001``, ``p62515_car``)."""
        return self._by_name.get(str(name).strip().lower())

    def define_custom(self, name: str, *, properties: Iterable[Mapping[str, Any] | PropertyDef] = (),
                      primary_display_property: str | None = None, label: str | None = None,
                      plural: str | None = None) -> ObjectType:
        """Define a custom object type (as ``POST /crm-object-schemas/.../schemas`` does); returns it.

        :param properties: definitions (``PropertyDef`` or ``{"name", "type", "options", "hasUniqueValue"}``).
        """
        type_id = f"2-{self._next_custom}"
        self._next_custom += 1
        fqn = f"p{PORTAL_ID}_{name}"
        schema = object_schema({}, f"{name}_information")
        for item in properties:
            prop = item if isinstance(item, PropertyDef) else PropertyDef(
                name=str(item["name"]), type=str(item.get("type", "string")),
                label=str(item.get("label", item["name"])),
                options=[str(o["value"]) if isinstance(o, Mapping) else str(o) for o in item.get("options", [])],
                unique=bool(item.get("hasUniqueValue", item.get("unique", False))), group_name=f"{name}_information")
            schema[prop.name] = prop
        display = primary_display_property or next((n for n in schema if n not in ("createdate", "hs_object_id",
                                                                                    "hs_lastmodifieddate")), None)
        defaults = tuple(sorted({"createdate", "hs_lastmodifieddate", "hs_object_id", *([display] if display else [])}))
        object_type = ObjectType(self, type_id, plural or name, name, label or name, schema={},
                                 first_id=CUSTOM_ID_START, scope="custom", search_text=(display,) if display else (),
                                 default_properties=defaults, mergeable=True, fully_qualified_name=fqn, custom=True)
        for prop in schema.values():
            object_type.define_property(prop)
        self._add(object_type)
        return object_type

    def custom_types(self) -> list[ObjectType]:
        return [t for t in self.types.values() if t.custom]

    # -- associations between records ---------------------------------------------------------------
    def associate(self, from_type: ObjectType, from_id: int, to_type: ObjectType, to_id: int,
                  type_id: int | None = None) -> bool:
        custom = from_type.custom or to_type.custom
        tid = type_id if type_id is not None else self.associations.default_type(
            from_type.type_id, to_type.type_id, custom=custom)["typeId"]
        return self.associations.add(from_type.type_id, from_id, to_type.type_id, to_id, tid)

    def associated(self, from_type: ObjectType, from_id: int, to_type: ObjectType) -> dict[int, set[int]]:
        """The live records ``from_id`` is associated with, by id, with the association type ids."""
        targets = self.associations.of(from_type.type_id, from_type.canonical(from_id), to_type.type_id)
        return {to_id: set(types) for to_id, types in sorted(targets.items()) if to_type.live(to_id) is not None}

    # -- persistence ---------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        custom = [{"type_id": t.type_id, "name": t.singular, "plural": t.name, "label": t.label}
                  for t in self.custom_types()]
        types = [t.to_json() for t in self.types.values() if t is not self.contacts]  # the state keeps contacts
        return {"custom": custom, "types": types, "associations": self.associations.to_json(),
                "next_custom": self._next_custom}

    def load_json(self, data: Mapping[str, Any]) -> None:
        for item in data.get("custom", []):
            self._next_custom = int(str(item["type_id"]).split("-")[1])
            self.define_custom(item["name"], plural=item.get("plural"), label=item.get("label"))
        for item in data.get("types", []):
            object_type = self.types.get(item["type_id"])
            if object_type is not None:
                object_type.load_json(item)
        self.associations.load_json(data.get("associations", {}))
        self._next_custom = int(data.get("next_custom", self._next_custom))
