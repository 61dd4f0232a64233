"""Sets of keys kept on disk (a throw-away SQLite file), for diffs of any size in flat memory.

A list mirror of 1,000,000 members compares what the source wants with what the list holds: two
Python sets of a million strings would cost hundreds of MB, so both go to disk and the differences
are read back in key order, a page at a time.
"""

from __future__ import annotations

import os
import re
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator

_NAME = re.compile(r"^[a-z_]+$")


class DiskSets:
    """Named sets of strings in a temporary SQLite file, deleted on :meth:`close`."""

    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="hubspot-sets-")
        self._db = sqlite3.connect(os.path.join(self._dir, "sets.sqlite"), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._names: set[str] = set()

    def _table(self, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError(f"bad set name {name!r}")
        if name not in self._names:
            self._db.execute(f"CREATE TABLE IF NOT EXISTS {name} (key TEXT PRIMARY KEY) WITHOUT ROWID")
            self._names.add(name)
        return name

    def add(self, name: str, keys: Iterable[str]) -> int:
        """Add ``keys`` to the set ``name``; return how many were not in it yet."""
        table = self._table(name)
        before = self._db.total_changes
        self._db.execute("BEGIN")
        self._db.executemany(f"INSERT OR IGNORE INTO {table} VALUES (?)", ((k,) for k in keys))
        self._db.execute("COMMIT")
        return self._db.total_changes - before

    def count(self, name: str) -> int:
        return int(self._db.execute(f"SELECT COUNT(*) FROM {self._table(name)}").fetchone()[0])

    def common(self, first: str, second: str) -> int:
        """How many keys are in both sets."""
        a, b = self._table(first), self._table(second)
        return int(self._db.execute(f"SELECT COUNT(*) FROM {a} WHERE key IN (SELECT key FROM {b})").fetchone()[0])

    def keys(self, name: str, page: int = 1000) -> Iterator[str]:
        """The keys of a set, in key order, read a page at a time."""
        return self._pages(self._table(name), "", page)

    def only_in(self, first: str, second: str, page: int = 1000) -> Iterator[str]:
        """The keys of ``first`` missing from ``second``, in key order, read a page at a time."""
        return self._pages(self._table(first), f"AND key NOT IN (SELECT key FROM {self._table(second)})", page)

    def both(self, first: str, second: str, page: int = 1000) -> Iterator[str]:
        """The keys in both sets, in key order, read a page at a time."""
        return self._pages(self._table(first), f"AND key IN (SELECT key FROM {self._table(second)})", page)

    def _pages(self, table: str, condition: str, page: int) -> Iterator[str]:
        after = ""
        while rows := self._db.execute(f"SELECT key FROM {table} WHERE key > ? {condition} ORDER BY key LIMIT ?",
                                       (after, page)).fetchall():
            yield from (row[0] for row in rows)
            after = rows[-1][0]

    def count_only_in(self, first: str, second: str) -> int:
        a, b = self._table(first), self._table(second)
        return int(self._db.execute(
            f"SELECT COUNT(*) FROM {a} WHERE key NOT IN (SELECT key FROM {b})").fetchone()[0])

    def close(self) -> None:
        self._db.close()
        for name in os.listdir(self._dir):
            os.remove(os.path.join(self._dir, name))
        os.rmdir(self._dir)

    def __enter__(self) -> DiskSets:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
