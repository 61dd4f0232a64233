"""Chunking, bounded concurrency and per-record outcome accounting shared by every batch call.

Input is consumed lazily: at most ``max_concurrency`` batches are in flight and only they are held
in memory, so a million-row source streams through with flat memory. Batches that share a key with
a batch still in flight wait for it, so the later value of a repeated key is always written last.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Record:
    """One input item and its 0-based position in the input.

    :param invalid: ``(reason, code)`` when the input could not be turned into something to send
        (e.g. a NaN value): the record is rejected with that reason, never sent.
    :param extra: what travels with the record but is not sent (e.g. the source columns naming the
        records it is to be associated with once written).
    """

    index: int
    data: Any
    invalid: tuple[str, str] | None = None
    extra: Any = None


@dataclass(frozen=True)
class Rejection:
    """A record HubSpot (or our pre-send validation) did not accept, with the reason."""

    index: int
    record: Any
    reason: str
    code: str | None = None


@dataclass
class BatchOutcome:
    """Named counts (``created``, ``updated``, ``added``, ...) plus the rejected records.

    :param keep_rejections: keep the rejected records themselves (a running total whose rejections
        are streamed elsewhere, e.g. to a rejects file, only counts them, so memory stays flat).
    """

    counts: Counter[str] = field(default_factory=Counter)
    rejections: list[Rejection] = field(default_factory=list)
    rejected: int = 0
    keep_rejections: bool = True
    #: HubSpot object ids of one batch's written records (input index -> id), when HubSpot names them;
    #: not carried into merged totals, so memory stays flat.
    ids: dict[int, str] = field(default_factory=dict)

    def count(self, name: str, amount: int = 1) -> None:
        self.counts[name] += amount

    def reject(self, record: Record, reason: str, code: str | None = None) -> None:
        self.rejected += 1
        if self.keep_rejections:
            self.rejections.append(Rejection(record.index, record.data, reason, code))

    def merge(self, other: BatchOutcome) -> None:
        self.counts.update(other.counts)
        self.rejected += other.rejected
        if self.keep_rejections:
            self.rejections.extend(other.rejections)


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Yield lists of at most ``size`` items, reading ``items`` lazily.

    When reading ``items`` fails, the items read before the failure are yielded first as a last
    (short) chunk, then the error is raised: nothing read is lost with the error.
    """
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, got {size!r}")
    iterator = iter(items)
    while True:
        chunk: list[T] = []
        try:
            chunk.extend(islice(iterator, size))
        except Exception:
            if chunk:
                yield chunk
            raise
        if not chunk:
            return
        yield chunk


class BatchRunner(Generic[T]):
    """Send batches with bounded concurrency, keeping repeated keys in input order.

    :param send: sends one batch and returns its outcome; raises for errors that must stop the run.
    :param max_concurrency: batches in flight at once.
    :param keys: returns the keys (e.g. emails) of a batch; a batch waits for in-flight batches that
        share a key. ``None`` disables the check.
    :param keep_rejections: keep rejected records in the merged outcome (``False``: counts only).
    """

    def __init__(
        self,
        send: Callable[[T], BatchOutcome],
        *,
        max_concurrency: int = 1,
        keys: Callable[[T], Iterable[Hashable]] | None = None,
        keep_rejections: bool = True,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency!r}")
        self.send = send
        self.max_concurrency = max_concurrency
        self.keys = keys
        self.keep_rejections = keep_rejections
        self.unsent: list[T] = []
        self.remaining: Iterator[T] = iter(())

    def run(
        self, batches: Iterable[T], on_done: Callable[[T, BatchOutcome], None] | None = None
    ) -> BatchOutcome:
        """Send every batch; return the merged outcome.

        When a batch raises, no further batch is started and in-flight ones finish; the batches that
        were not written are left in :attr:`unsent` (already read) and :attr:`remaining` (not yet
        read, still lazy) and the first error is re-raised. When reading ``batches`` raises (a bad
        input line), the batches in flight finish and are accounted for, then that error is raised.
        """
        total = BatchOutcome(keep_rejections=self.keep_rejections)
        lock = threading.Lock()
        in_flight: dict[Future[BatchOutcome], tuple[T, frozenset[Hashable]]] = {}
        failed: list[tuple[BaseException, T]] = []
        iterator = iter(batches)

        def collect(done: Iterable[Future[BatchOutcome]]) -> None:
            for future in done:
                batch, _ = in_flight.pop(future)
                error = future.exception()
                if error is not None:
                    failed.append((error, batch))
                    continue
                outcome = future.result()
                with lock:
                    total.merge(outcome)
                if on_done:
                    on_done(batch, outcome)

        input_error: Exception | None = None
        with ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="hubspot") as pool:
            while True:
                try:
                    batch = next(iterator)
                except StopIteration:
                    break
                except Exception as exc:  # the input failed: finish the batches in flight, then raise it
                    input_error = exc
                    break
                if failed:
                    self.unsent.append(batch)
                    break
                batch_keys = frozenset(self.keys(batch)) if self.keys else frozenset()
                blockers = [f for f, (_, k) in in_flight.items() if batch_keys and k & batch_keys]
                if blockers:
                    collect(wait(blockers).done)
                while len(in_flight) >= self.max_concurrency:
                    collect(wait(list(in_flight), return_when=FIRST_COMPLETED).done)
                if failed:
                    self.unsent.append(batch)
                    break
                in_flight[pool.submit(self.send, batch)] = (batch, batch_keys)
            if in_flight:
                collect(wait(list(in_flight)).done)
        if failed:
            self.unsent[:0] = [batch for _, batch in failed]
            self.remaining = iter(()) if input_error is not None else iterator
            raise failed[0][0]
        if input_error is not None:
            raise input_error
        return total


def split_halves(items: Sequence[T]) -> tuple[Sequence[T], Sequence[T]]:
    """Split a batch in two halves (for isolating the records a whole-batch rejection is about)."""
    middle = len(items) // 2
    return items[:middle], items[middle:]
