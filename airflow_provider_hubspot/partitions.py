"""Split one sync into N mapped tasks so that no two tasks share a record key.

One task paced to the portal's budget already reaches HubSpot's limit; partitions spread the *work*
(reading, mapping, CPU, memory) over workers while the shared budget (``rate_limit_backend_conn_id``)
keeps their requests together under the limit. A record goes to partition
``sha256(normalised key) mod N``: stable across processes, machines and Python versions (unlike
``hash()``), and the same contact in any spelling of its e-mail address lands in the same task, so two
tasks never write one contact at the same time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar

R = TypeVar("R")


def partition_of(key: Any, partitions: int) -> int:
    """The partition (0 .. partitions-1) of a record key; e-mail-like keys are compared case-blind."""
    _check(partitions, 0)
    text = "" if key is None else str(key).strip().lower()
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") % partitions


def in_partition(record: Mapping[str, Any], *, key: str = "email", partitions: int, partition_index: int) -> bool:
    """Whether ``record`` (a row dict) belongs to partition ``partition_index`` of ``partitions``."""
    _check(partitions, partition_index)
    return partition_of(record.get(key), partitions) == partition_index


def partition_records(records: Iterable[R], *, key: str = "email", partitions: int,
                      partition_index: int) -> Iterator[R]:
    """The records of one partition, streamed (dicts, or objects with a ``data`` dict such as ``Record``)."""
    _check(partitions, partition_index)
    for record in records:
        row = getattr(record, "data", record)
        if partition_of(row.get(key) if isinstance(row, Mapping) else None, partitions) == partition_index:
            yield record


def _check(partitions: int, partition_index: int) -> None:
    if not isinstance(partitions, int) or partitions < 1:
        raise ValueError(f"partitions must be a whole number >= 1, got {partitions!r}")
    if not isinstance(partition_index, int) or not 0 <= partition_index < partitions:
        raise ValueError(f"partition_index must be in 0..{partitions - 1}, got {partition_index!r}")
