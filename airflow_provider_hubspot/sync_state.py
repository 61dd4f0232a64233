"""Change-only syncs: what the last successful runs sent, so a run sends only what changed.

A state is a small pointer file at ``state_path`` (local path or any Airflow object-storage URI)
naming a SQLite file beside it, ``<name>.<generation>.sqlite``, with one row per key written to
HubSpot: the key (e.g. a lower-cased e-mail), the fingerprint of exactly what was sent, and the
HubSpot object id it resolved to.

* A run copies the current generation down once into a local work file, looks keys up in batches
  (never a Python dict of everything: 10,000,000 keys stay on disk), records only what HubSpot
  accepted, and commits by copying the work file up under the next generation's name and then
  replacing the pointer in one write. A task killed at any instant leaves the previous state whole.
* A lease file ``<name>.lease`` (owner, host, pid, heartbeat) keeps two tasks from using one state
  at once: the second refuses with a clear error. A lease left by a killed task is taken over once
  its heartbeat is older than ``lease_ttl`` seconds, or at once when its owner was a process on
  this machine that no longer runs. The commit also checks that the pointer still names the
  generation the run started from.
"""

from __future__ import annotations

import functools
import json
import os
import socket
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from hashlib import blake2b
from typing import Any

from airflow_provider_hubspot import storage
from airflow_provider_hubspot.client import HubSpotConfigError

STATE_FORMAT = 1
LOOKUP_BATCH = 500
DEFAULT_LEASE_TTL = 120.0


class SyncStateError(HubSpotConfigError):
    """The state cannot be used as asked (held by another task, made for another sync, damaged)."""


_join = "\x1f".join


def fingerprint(data: Mapping[str, Any]) -> bytes:
    """A stable 64-bit hash (BLAKE2b) of exactly what would be sent for one record (its mapped properties).

    Hashed: the property names in sorted order, then their values in the same order, joined by
    ``\\x1f`` — so property order does not matter. When a name or value itself holds ``\\x1f`` (or is
    not text), the ``repr`` of the same list is hashed instead, behind one more ``\\x1f`` than the
    joined form can have: different records never share the hashed text.
    """
    names = sorted(data)
    parts = [*names, *map(data.__getitem__, names)]
    try:
        text = _join(parts)  # mapped values are text: joined in C
        plain = text.count("\x1f") == len(parts) - 1
    except TypeError:  # a value that is not text
        plain = False
    if not plain:
        text = "\x1f" * len(parts) + repr(parts)
    return blake2b(text.encode(), digest_size=8).digest()


@functools.lru_cache(maxsize=8)
def _lookup_query(count: int) -> str:
    """Each key's row (or ``NULL``\\s), in the keys' order: each key is numbered in the query text and
    the rows are ordered by that number (SQLite happens to keep the VALUES order of a LEFT JOIN's outer
    side, but only ``ORDER BY`` promises it: a fingerprint given to the wrong key would lose an update)."""
    numbered = ",".join(f"({position},?)" for position in range(count))
    return (f"SELECT state.rowid, state.fp FROM (VALUES {numbered}) AS wanted "
            "LEFT JOIN state ON state.key = wanted.column2 ORDER BY wanted.column1")


class SyncState:
    """One run's view of a change-only state.

    :param path: the state's pointer file: local path or object-storage URI.
    :param scope: what the state is about (e.g. ``{"object_type": "contacts", "id_property": "email"}``);
        a state made for another scope is refused instead of silently diffed.
    :param lease_ttl: seconds after which the lease of a task that stopped heart-beating is taken over.
    """

    def __init__(self, path: str, *, scope: Mapping[str, Any], lease_ttl: float = DEFAULT_LEASE_TTL) -> None:
        if not path or not str(path).strip():
            raise SyncStateError("state_path is empty: give a local path or an object-storage URI for the state.")
        self.path = str(path).strip()
        self.scope = dict(scope)
        self.lease_ttl = lease_ttl
        self.lease_path = f"{self.path}.lease"
        self.owner = uuid.uuid4().hex
        self.generation = 0
        self.keys_at_start = 0
        self._workdir = tempfile.mkdtemp(prefix="hubspot-state-")
        self._work = os.path.join(self._workdir, "state.sqlite")
        self._db: sqlite3.Connection | None = None
        self._heartbeat: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._leased = False
        self._seen = bytearray()
        self._top = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def open(self) -> SyncState:
        """Take the lease and copy the current generation down into the local work file."""
        self._take_lease()
        try:
            pointer = self._read_pointer()
            if pointer is not None:
                self._check_scope(pointer)
                self.generation = int(pointer["generation"])
                storage.copy_down(storage.sibling(self.path, pointer["data"]), self._work)
            db = sqlite3.connect(self._work, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=OFF")
            db.execute("PRAGMA synchronous=OFF")
            db.execute("CREATE TABLE IF NOT EXISTS state (key TEXT NOT NULL UNIQUE, fp BLOB NOT NULL, object_id TEXT)")
            db.execute("BEGIN")
            self._db = db
            self.keys_at_start = self.count()
            top = db.execute("SELECT COALESCE(MAX(rowid), 0) FROM state").fetchone()[0]
            self._top = int(top)  # rows above it were added by this run
            self._seen = bytearray(self._top // 8 + 1)  # one bit per row of the state: 1.25 MB for 10M keys
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Release the lease and delete the local work files (no commit)."""
        if self._db is not None:
            self._db.close()
            self._db = None
        self._release_lease()
        for name in os.listdir(self._workdir) if os.path.isdir(self._workdir) else []:
            os.remove(os.path.join(self._workdir, name))
        if os.path.isdir(self._workdir):
            os.rmdir(self._workdir)

    def __enter__(self) -> SyncState:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -----------------------------------------------------------------------------

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise SyncStateError("The sync state is not open.")
        return self._db

    def count(self) -> int:
        with self._lock:
            return int(self.db.execute("SELECT COUNT(*) FROM state").fetchone()[0])

    def lookup(self, keys: Sequence[str]) -> list[bytes | None]:
        """The fingerprint the state holds for each of ``keys`` (``None`` where it has none), in their order;
        mark the keys seen this run."""
        found: list[bytes | None] = []
        seen, top = self._seen, self._top
        with self._lock:
            for start in range(0, len(keys), LOOKUP_BATCH):
                part = keys[start:start + LOOKUP_BATCH]
                rows = self.db.execute(_lookup_query(len(part)), part).fetchall()
                if len(rows) != len(part):  # keys are unique in the state: one row per key looked up
                    raise SyncStateError(f"The state at {self.path} is damaged (a key appears twice). Delete it; the "
                                         "next run sends everything once.")
                for rowid, fp in rows:
                    found.append(fp)
                    if rowid and rowid <= top:  # rows added during this run are not in the bitmap
                        seen[rowid >> 3] |= 1 << (rowid & 7)
        return found

    def unseen(self, page: int = 1000) -> Iterator[tuple[str, str | None]]:
        """Keys of the state at the start of this run that its input did not contain, with their object ids."""
        seen, top = self._seen, self._top
        for rowid, key, _, object_id in self._scan(page):
            if rowid <= top and not seen[rowid >> 3] & (1 << (rowid & 7)):
                yield key, object_id

    def keys(self, page: int = 1000, *, fingerprint: bytes | None = None) -> Iterator[str]:
        """Every key of the state, or those whose fingerprint is ``fingerprint``."""
        return (key for _, key, fp, _ in self._scan(page) if fingerprint is None or fp == fingerprint)

    def _scan(self, page: int) -> Iterator[tuple[int, str, bytes, str | None]]:
        """Every row (rowid, key, fingerprint, object id) in row order, read a page at a time: no cursor stays open,
        so keys may be forgotten meanwhile."""
        after = 0
        while True:
            with self._lock:
                rows = self.db.execute("SELECT rowid, key, fp, object_id FROM state WHERE rowid > ? "
                                       "ORDER BY rowid LIMIT ?", (after, page)).fetchall()
            if not rows:
                return
            yield from rows
            after = rows[-1][0]

    # -- writing -----------------------------------------------------------------------------

    def record(self, rows: Iterable[tuple[str, bytes, str | None]]) -> None:
        """Store ``(key, fingerprint, object_id)`` for records HubSpot accepted (an unknown id keeps the old one)."""
        with self._lock:
            self.db.executemany(
                "INSERT INTO state (key, fp, object_id) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                "fp = excluded.fp, object_id = COALESCE(excluded.object_id, state.object_id)", rows)
        # an upsert keeps the row (and rowid) of a key already in the state, so its seen bit stays valid

    def forget(self, keys: Iterable[str]) -> None:
        """Drop keys (e.g. objects archived in HubSpot)."""
        with self._lock:
            self.db.executemany("DELETE FROM state WHERE key = ?", ((k,) for k in keys))

    def clear(self) -> None:
        """Forget every key (the state is being rebuilt)."""
        with self._lock:
            self.db.execute("DELETE FROM state")

    def commit(self) -> int:
        """Publish the work file as the next generation and switch the pointer to it; return the key count."""
        with self._lock:
            self.db.execute("COMMIT")
            keys = int(self.db.execute("SELECT COUNT(*) FROM state").fetchone()[0])
            self.db.execute("BEGIN")
        pointer = self._read_pointer()
        current = int(pointer["generation"]) if pointer else 0
        if current != self.generation:
            raise SyncStateError(
                f"The state at {self.path} was changed by another run while this one ran (generation {current}, this "
                f"run started from {self.generation}); this run's changes were not saved. Run the task again.")
        if not self._lease_is_ours():
            raise SyncStateError(f"This task lost the lease of the state at {self.path} (another task took it over "
                                 "after its heartbeat stopped); this run's changes were not saved. Run the task again.")
        generation = current + 1
        data_name = f"{os.path.basename(self.path.rstrip('/'))}.{generation}.sqlite"
        storage.copy_up(self._work, storage.sibling(self.path, data_name))
        storage.write_text_atomic(self.path, json.dumps({
            "format": STATE_FORMAT, "generation": generation, "data": data_name, "scope": self.scope,
            "keys": keys, "committed_at": int(time.time() * 1000)}))
        if pointer:
            storage.remove(storage.sibling(self.path, pointer["data"]))
        self.generation = generation
        return keys

    # -- internals ---------------------------------------------------------------------------

    def _read_pointer(self) -> dict[str, Any] | None:
        text = storage.read_text(self.path)
        if text is None:
            return None
        try:
            pointer = json.loads(text)
            int(pointer["generation"])
            str(pointer["data"])
        except (ValueError, KeyError, TypeError):
            raise SyncStateError(f"{self.path} is not a sync state written by this provider. Point state_path at a "
                                 "new file (or delete this one) to start a new state.") from None
        if pointer.get("format") != STATE_FORMAT:
            raise SyncStateError(f"{self.path} has state format {pointer.get('format')!r}; this provider reads "
                                 f"format {STATE_FORMAT}. Delete it (the next run sends everything once).")
        return pointer  # type: ignore[no-any-return]

    def _check_scope(self, pointer: Mapping[str, Any]) -> None:
        stored = pointer.get("scope") or {}
        if stored != self.scope:
            raise SyncStateError(
                f"The state at {self.path} belongs to another sync ({stored}), not to this one ({self.scope}). Use a "
                "state_path per sync, or delete the file to start this sync's state afresh.")

    def _lease(self) -> dict[str, Any]:
        return {"owner": self.owner, "host": socket.gethostname(), "pid": os.getpid(), "heartbeat": time.time()}

    def _take_lease(self) -> None:
        held = self._read_lease()
        if held and held.get("owner") != self.owner and not self._stale(held):
            age = time.time() - float(held.get("heartbeat", 0))
            raise SyncStateError(
                f"The state at {self.path} is in use by another task (host {held.get('host')}, pid {held.get('pid')}, "
                f"last heartbeat {age:.0f} s ago). Two syncs cannot share one state_path at once; wait for it to end "
                f"or, if it died, the lease expires {max(self.lease_ttl - age, 0):.0f} s from now.")
        storage.write_text_atomic(self.lease_path, json.dumps(self._lease()))
        if not self._lease_is_ours():  # another task wrote its lease at the same moment
            raise SyncStateError(f"The state at {self.path} was taken by another task starting at the same moment.")
        self._leased = True
        self._heartbeat = threading.Thread(target=self._beat, name="hubspot-state-lease", daemon=True)
        self._heartbeat.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.lease_ttl / 4):
            if self._lease_is_ours():
                storage.write_text_atomic(self.lease_path, json.dumps(self._lease()))

    def _release_lease(self) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
            self._heartbeat = None
        if self._leased and self._lease_is_ours():
            storage.remove(self.lease_path)
        self._leased = False

    def _read_lease(self) -> dict[str, Any] | None:
        text = storage.read_text(self.lease_path)
        try:
            return json.loads(text) if text else None  # type: ignore[no-any-return]
        except ValueError:
            return None

    def _lease_is_ours(self) -> bool:
        held = self._read_lease()
        return bool(held and held.get("owner") == self.owner)

    def _stale(self, lease: Mapping[str, Any]) -> bool:
        if time.time() - float(lease.get("heartbeat", 0)) > self.lease_ttl:
            return True
        if lease.get("host") == socket.gethostname():
            try:
                os.kill(int(lease.get("pid", 0)), 0)
            except ProcessLookupError:
                return True  # its process on this machine is gone (a killed task)
            except (PermissionError, ValueError, OSError):
                return False
        return False


class ChangeFilter:
    """Between a record stream and the batch writer: passes on what changed, counts what did not.

    :param state: the open state.
    :param key_of: a record's key as stored (e.g. the lower-cased e-mail), or ``None`` when it has
        none (such records pass through; the writer rejects them).
    :param full_refresh: pass every record on (the state is rebuilt from what HubSpot accepts).
    :param dry_run: record nothing; classify what would be sent as ``would_create`` / ``would_update``.
    :param fingerprint_of: a record's fingerprint (default: :func:`fingerprint` of its data); a
        constant makes "already in the state" mean unchanged (e.g. list memberships).
    """

    def __init__(self, state: SyncState, key_of: Any, *, full_refresh: bool = False, dry_run: bool = False,
                 fingerprint_of: Any = None) -> None:
        self.state = state
        self.key_of = key_of
        self.fingerprint_of = fingerprint_of
        self.full_refresh = full_refresh
        self.dry_run = dry_run
        self.unchanged = 0
        self.would_create = 0
        self.would_update = 0
        self.recorded = 0
        #: records passed on and not yet settled: input index -> (key, fingerprint, key was known)
        self._pending: dict[int, tuple[str, bytes, bool]] = {}
        #: keys of the records passed on and not yet settled, with their number
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, records: Iterable[Any]) -> Iterator[Any]:
        from airflow_provider_hubspot.client.batching import chunked

        key_of, fingerprint_of, resend = self.key_of, self.fingerprint_of, self.full_refresh
        pending, in_flight = self._pending, self._in_flight
        for chunk in chunked(records, LOOKUP_BATCH):
            keys = [None if record.invalid else key_of(record) for record in chunk]
            if fingerprint_of is None:  # the common case, without a call per record
                fingerprints = [fingerprint(r.data) if k else b"" for r, k in zip(chunk, keys, strict=True)]
            else:
                fingerprints = [fingerprint_of(r) if k else b"" for r, k in zip(chunk, keys, strict=True)]
            present = [key for key in keys if key]
            # a first run (empty state) has nothing to look up
            stored = iter(self.state.lookup(present) if self.state.keys_at_start else [None] * len(present))
            passed = []
            unchanged = 0
            with self._lock:
                for record, key, fp in zip(chunk, keys, fingerprints, strict=True):
                    if key:
                        old = next(stored)
                        # A key repeated in this run whose earlier record is still on its way to HubSpot:
                        # HubSpot will hold that record's values, not the state's, so this one is sent
                        # too (the last record of a key wins, as without a state).
                        if old == fp and not resend and key not in in_flight:
                            unchanged += 1
                            continue
                        pending[record.index] = (key, fp, old is not None)
                        in_flight[key] = in_flight.get(key, 0) + 1
                    passed.append(record)
                self.unchanged += unchanged
            yield from passed

    def settle(self, batch: Sequence[Any], outcome: Any) -> None:
        """Record the records of ``batch`` that HubSpot accepted (``outcome.rejections`` are not)."""
        rejected = {rejection.index for rejection in outcome.rejections}
        ids: Mapping[int, str] = getattr(outcome, "ids", {}) or {}
        rows = []
        with self._lock:
            for index in (*rejected, *(record.index for record in batch)):
                entry = self._pending.pop(index, None)
                if entry is None:
                    continue
                key, fp, existed = entry
                if self._in_flight[key] > 1:
                    self._in_flight[key] -= 1
                else:
                    del self._in_flight[key]
                if index in rejected:
                    continue
                if existed:
                    self.would_update += 1
                else:
                    self.would_create += 1
                rows.append((key, fp, ids.get(index)))
        if not self.dry_run and rows:
            self.state.record(rows)
            self.recorded += len(rows)
