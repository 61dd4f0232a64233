"""The generic CRM object store: object types with property schemas and unique-property indexes, their
records, and the association graph between records.

Every CRM object type is an :class:`ObjectType`: contacts (``0-1``), companies (``0-2``), deals
(``0-3``), tickets (``0-5``), products (``0-7``), line items (``0-8``) and custom objects defined with
:meth:`ObjectStore.define_custom` (``2-<n>``, fully qualified name ``p<portal>_<name>``). A type can be
named by its plural name, its object type id, its singular name or (custom objects) its fully
qualified name, as HubSpot's paths accept. The HTTP handlers (``crm_objects.py``) speak to a type
only through this interface, so one batch engine serves every object and every edition.

Contacts are the type :class:`ContactsType`, an adapter over the contact records of
:class:`~airflow_provider_hubspot.emulator.state.EmulatorState` (which keep what only contacts have:
several e-mails per contact, merges that leave aliases, utk cookies, form submissions, list
memberships, the v1 views); the other types are :class:`ObjectType` records held here.

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
from collections.abc import Callable, Iterable, Iterator, Mapping
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
    from .state import Contact, EmulatorState

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


class CrmRecord:
    """One record of a (non-contact) object type."""

    __slots__ = ("created_ms", "deleted", "id", "merged_ids", "merged_into", "prop_ts", "properties", "updated_ms")

    def __init__(self, record_id: int, created_ms: int) -> None:
        self.id = record_id
        self.properties: dict[str, str] = {}
        self.prop_ts: dict[str, int] = {}
        self.created_ms = created_ms
        self.updated_ms = created_ms
        self.deleted = False
        self.merged_into: int | None = None
        self.merged_ids: list[int] = []

    @property
    def live(self) -> bool:
        return not self.deleted and self.merged_into is None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "properties": dict(self.properties), "prop_ts": dict(self.prop_ts),
                "created_ms": self.created_ms, "updated_ms": self.updated_ms, "deleted": self.deleted,
                "merged_into": self.merged_into, "merged_ids": list(self.merged_ids)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CrmRecord:
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

    :param now: the store's clock in epoch ms.
    """

    modified_property = "hs_lastmodifieddate"
    batch_limit = 100

    def __init__(self, type_id: str, name: str, singular: str, label: str, *, schema: dict[str, PropertyDef],
                 first_id: int, scope: str, search_text: tuple[str, ...], default_properties: tuple[str, ...],
                 mergeable: bool, now: Callable[[], int], fully_qualified_name: str | None = None,
                 custom: bool = False) -> None:
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
        self.now = now
        self.first_id = first_id
        self._records: dict[int, CrmRecord] = {}
        self._ids: list[int] = []
        self._alias: dict[int, int] = {}
        self._unique: dict[str, dict[str, int]] = {}
        self._next_id = first_id

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
            self._unique.setdefault(prop.name, {})
            for record in self.iter_live():
                value = record.properties.get(prop.name)
                if value:
                    self._unique[prop.name][self.key(prop.name, value)] = record.id

    def key(self, prop: str, value: Any) -> str:
        """A unique value as it is indexed (e-mails are case-insensitive)."""
        text = str(value).strip()
        return text.lower() if prop == "email" else text

    def validate(self, props: Mapping[str, Any]) -> tuple[dict[str, str], list[dict[str, Any]]]:
        """``{name: value}`` normalised, and the validation results of the values that are not valid."""
        clean: dict[str, str] = {}
        errors: list[dict[str, Any]] = []
        for name, raw in props.items():
            prop = self.schema.get(str(name))
            if prop is None:
                errors.append(invalid(str(name), "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'))
                continue
            if prop.name in SERVER_MANAGED:
                continue
            value, error = normalize_value(prop, raw)
            if error is None:
                clean[prop.name] = value
            else:
                errors.append(error)
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
        return self._records.get(record_id)

    def canonical(self, record_id: int) -> int:
        return self._alias.get(record_id, record_id)

    def by_unique(self, prop: str, value: Any) -> Any:
        """The live record whose unique ``prop`` has ``value``."""
        if prop == "hs_object_id":
            return self.live(value)
        found = self._unique.get(prop, {}).get(self.key(prop, value))
        return self.live(found) if found is not None else None

    def iter_live(self) -> Iterator[Any]:
        for record in self._records.values():
            if record.live:
                yield record

    def count(self) -> int:
        return sum(1 for _ in self.iter_live())

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
    def record_id(self, record: Any) -> int:
        return int(record.id)

    def prop(self, record: Any, name: str) -> str | None:
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
        out = dict(record.properties)
        for name in ("createdate", self.modified_property, "hs_object_id"):
            value = self.prop(record, name)
            if value is not None:
                out[name] = value
        return out

    # -- writes --------------------------------------------------------------------------------------
    def _check_unique(self, record_id: int | None, clean: Mapping[str, str]) -> None:
        for prop, index in self._unique.items():
            value = clean.get(prop)
            if value:
                owner = index.get(self.key(prop, value))
                if owner is not None and owner != record_id and self.live(owner) is not None:
                    raise UniqueTaken(prop, value, owner)

    def create(self, clean: Mapping[str, str], *, created_ms: int | None = None) -> Any:
        """A new record from validated properties; :class:`UniqueTaken` when a unique value is in use."""
        self._check_unique(None, clean)
        now = self.now()
        created = created_ms if created_ms is not None else now
        if clean.get("createdate"):
            created = int(clean["createdate"])
        record = CrmRecord(self._next_id, created)
        self._next_id += 1
        record.updated_ms = max(now, created) if created_ms is None else created
        self._records[record.id] = record
        self._ids.append(record.id)
        self._apply(record, clean, now)
        return record

    def update(self, record: Any, clean: Mapping[str, str]) -> None:
        self._check_unique(record.id, clean)
        now = self.now()
        self._apply(record, clean, now)
        record.updated_ms = max(now, record.updated_ms)

    def _apply(self, record: CrmRecord, clean: Mapping[str, str], now: int) -> None:
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

    def remove(self, record: Any) -> None:
        """Archive a live record (it disappears from every look-up)."""
        if not record.live:
            return
        record.deleted = True
        for name, index in self._unique.items():
            value = record.properties.get(name)
            if value and index.get(self.key(name, value)) == record.id:
                del index[self.key(name, value)]

    def merge(self, primary: Any, secondary: Any) -> None:
        """Merge ``secondary`` into ``primary`` (both live, distinct): empty values of the primary are
        filled from the secondary; the secondary's id resolves to the primary from then on."""
        now = self.now()
        for name, value in secondary.properties.items():
            if name not in self._unique and not primary.properties.get(name):
                primary.properties[name] = value
                primary.prop_ts[name] = secondary.prop_ts.get(name, now)
        self.remove(secondary)
        secondary.deleted = False
        secondary.merged_into = primary.id
        moved = [secondary.id, *secondary.merged_ids]
        primary.merged_ids.extend(moved)
        for record_id in moved:
            self._alias[record_id] = primary.id
        primary.properties["hs_merged_object_ids"] = ";".join(str(v) for v in primary.merged_ids)
        primary.updated_ms = max(now, primary.updated_ms)

    # -- persistence ---------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {"type_id": self.type_id, "name": self.name, "next_id": self._next_id,
                "schema": [p.to_json() for p in self.schema.values()],
                "records": [r.to_json() for r in self._records.values()]}

    def load_json(self, data: Mapping[str, Any]) -> None:
        self.schema = {p["name"]: PropertyDef.from_json(p) for p in data.get("schema", [])} or self.schema
        self._records, self._ids, self._alias = {}, [], {}
        self._unique = {name: {} for name, p in self.schema.items() if p.unique and name != "hs_object_id"}
        for item in data.get("records", []):
            record = CrmRecord.from_json(item)
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
                    if record.properties.get(name):
                        index[self.key(name, record.properties[name])] = record.id
        self._next_id = int(data.get("next_id", max(self._records, default=self.first_id - 1) + 1))


class ContactsType(ObjectType):
    """Contacts as an object type: an adapter over :class:`EmulatorState`'s contact records."""

    modified_property = "lastmodifieddate"

    def __init__(self, state: EmulatorState) -> None:
        super().__init__("0-1", "contacts", "contact", "Contact", schema=state.schema, first_id=1001,
                         scope="contacts", search_text=("email", "firstname", "lastname", "phone", "company"),
                         default_properties=("createdate", "email", "firstname", "hs_object_id", "lastmodifieddate",
                                             "lastname"),
                         mergeable=True, now=state.now_ms)
        self.state = state

    @property  # type: ignore[override]
    def schema(self) -> dict[str, PropertyDef]:
        return self.state.schema

    @schema.setter
    def schema(self, value: dict[str, PropertyDef]) -> None:
        pass  # the state's schema is the contacts' schema

    def define_property(self, prop: PropertyDef) -> None:
        self.state.define_property(prop.name, prop.type, prop.options, prop.label, unique=prop.unique,
                                   field_type=prop.field_type)

    def validate(self, props: Mapping[str, Any]) -> tuple[dict[str, str], list[dict[str, Any]]]:
        return self.state.validate(props)

    def is_unique(self, name: str) -> bool:
        return name in ("email", "hs_object_id") or super().is_unique(name)

    def unique_properties(self) -> list[str]:
        return list(dict.fromkeys(["email", "hs_object_id", *super().unique_properties()]))

    def live(self, record_id: Any) -> Any:
        return self.state.get_live(record_id)

    def raw(self, record_id: int) -> Any:
        return self.state.raw_contact(record_id)

    def canonical(self, record_id: int) -> int:
        return self.state.canonical_vid(record_id)

    def by_unique(self, prop: str, value: Any) -> Any:
        if prop == "hs_object_id":
            return self.live(value)
        if prop == "email":
            return self.state.live_by_email(str(value))
        key = self.key(prop, value)
        return next((c for c in self.state.iter_live() if self.key(prop, c.properties.get(prop, "")) == key), None)

    def iter_live(self) -> Iterator[Any]:
        return self.state.iter_live()

    def count(self) -> int:
        return self.state.count_contacts()

    def live_after(self, after: int, count: int) -> tuple[list[Any], bool]:
        return self.state.live_after_vid(after, count)

    def record_id(self, record: Any) -> int:
        return int(record.vid)

    def prop(self, record: Any, name: str) -> str | None:
        return self.state.prop(record, name)

    def prop_timestamp(self, record: Any, name: str) -> int:
        return self.state.prop_timestamp(record, name)

    def all_props(self, record: Any) -> dict[str, str]:
        return self.state.all_props(record)

    def _check_custom_unique(self, record: Contact | None, clean: Mapping[str, str]) -> None:
        for prop in self.unique_properties():
            if prop in ("email", "hs_object_id") or not clean.get(prop):
                continue
            owner = self.by_unique(prop, clean[prop])
            if owner is not None and (record is None or owner.vid != record.vid):
                raise UniqueTaken(prop, clean[prop], owner.vid)

    def create(self, clean: Mapping[str, str], *, created_ms: int | None = None) -> Any:
        from .state import EmailTaken

        self._check_custom_unique(None, clean)
        try:
            return self.state.create(clean, created_ms=created_ms)
        except EmailTaken as exc:
            raise UniqueTaken("email", exc.email, exc.vid) from None

    def update(self, record: Any, clean: Mapping[str, str]) -> None:
        from .state import EmailTaken

        self._check_custom_unique(record, clean)
        try:
            self.state.update(record, clean)
        except EmailTaken as exc:
            raise UniqueTaken("email", exc.email, exc.vid) from None

    def remove(self, record: Any) -> None:
        self.state.remove(record)

    def merge(self, primary: Any, secondary: Any) -> None:
        self.state.merge_into(primary, secondary)


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
        self.state = state
        self.types: dict[str, ObjectType] = {}
        self._by_name: dict[str, ObjectType] = {}
        self.associations = Associations()
        self._next_custom = FIRST_CUSTOM_TYPE
        self._add(ContactsType(state))
        for type_id, name, singular, label, first_id, scope, text, defaults, mergeable in STANDARD_TYPES:
            schema = object_schema(STANDARD_PROPERTIES[name], f"{singular}information")
            self._add(ObjectType(type_id, name, singular, label, schema=schema, first_id=first_id, scope=scope,
                                 search_text=text, default_properties=defaults, mergeable=mergeable,
                                 now=state.now_ms))

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
        object_type = ObjectType(type_id, plural or name, name, label or name, schema={}, first_id=CUSTOM_ID_START,
                                 scope="custom", search_text=tuple(n for n in (display,) if n),
                                 default_properties=defaults, mergeable=True, now=self.state.now_ms,
                                 fully_qualified_name=fqn, custom=True)
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

    def remove(self, object_type: ObjectType, record: Any) -> None:
        """Archive a record and drop its associations."""
        record_id = object_type.record_id(record)
        object_type.remove(record)
        self.associations.drop_record(object_type.type_id, record_id)

    def merge(self, object_type: ObjectType, primary: Any, secondary: Any) -> None:
        """Merge ``secondary`` into ``primary``; the survivor takes the merged record's associations."""
        secondary_id = object_type.record_id(secondary)
        object_type.merge(primary, secondary)
        self.associations.move_record(object_type.type_id, secondary_id, object_type.record_id(primary))

    # -- persistence ---------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        custom = [{"type_id": t.type_id, "name": t.singular, "plural": t.name, "label": t.label}
                  for t in self.custom_types()]
        types = [t.to_json() for t in self.types.values() if t.type_id != "0-1"]
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
