"""Issue 17: several clients that each know the portal's whole budget share it without a coordinator.

A deterministic simulation: clients (``RateLimiter`` each, ``concurrency`` requests in flight each)
and HubSpot's rolling window on one fake clock; a request is checked against the window when it
arrives (``latency`` after it was sent) and answered at once, with the ``X-HubSpot-RateLimit-*``
headers HubSpot sends. Nothing sleeps: time is simulated, so the assertions on rates are exact.
"""

from __future__ import annotations

import bisect
import heapq
import random
from dataclasses import dataclass, field

import pytest

from airflow_provider_hubspot.client.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class SimClient:
    limiter: RateLimiter
    to_send: int
    start: float = 0.0
    accepted: list[float] = field(default_factory=list)  # arrival times of its accepted requests
    refused: int = 0


class Portal:
    """HubSpot's ten-secondly window for one app: at most ``limit`` accepted in any ``interval``."""

    def __init__(self, limit: int, interval: float) -> None:
        self.limit, self.interval = limit, interval
        self.stamps: list[float] = []

    def check(self, t: float) -> tuple[bool, dict[str, str]]:
        used = len(self.stamps) - bisect.bisect_right(self.stamps, t - self.interval)
        ok = used < self.limit
        if ok:
            self.stamps.append(t)
            used += 1
        headers = {"X-HubSpot-RateLimit-Max": str(self.limit),
                   "X-HubSpot-RateLimit-Remaining": str(self.limit - used),
                   "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self.interval * 1000))}
        return ok, headers


def simulate(clients: list[SimClient], portal: Portal, clock: Clock, *, latency: float = 0.15,
             jitter: float = 0.02, concurrency: int = 8, until: float = 600.0) -> None:
    rng = random.Random(7)
    events: list[tuple[float, int, str, int, float]] = []  # (time, seq, kind, client, sent_at)
    seq = 0
    for index, client in enumerate(clients):
        for _ in range(concurrency):
            heapq.heappush(events, (client.start, seq, "try", index, 0.0))
            seq += 1
    while events:
        t, _, kind, index, sent_at = heapq.heappop(events)
        assert t <= until, "the simulation did not finish"
        clock.now = t
        client = clients[index]
        if kind == "try":
            if client.to_send <= 0:
                continue
            delay = client.limiter.try_take()
            if delay > 0:
                heapq.heappush(events, (t + delay, seq, "try", index, 0.0))
            else:
                client.to_send -= 1
                heapq.heappush(events, (t + latency + rng.uniform(-jitter, jitter), seq, "answer", index, t))
            seq += 1
            continue
        ok, headers = portal.check(t)
        client.limiter.update_from_headers(headers, sent_at, counted=ok)
        if ok:
            client.limiter.accepted()
            client.accepted.append(t)
            heapq.heappush(events, (t, seq, "try", index, 0.0))
        else:
            client.refused += 1
            client.to_send += 1  # retried
            heapq.heappush(events, (t + client.limiter.rate_limited(sent_at=sent_at), seq, "try", index, 0.0))
        seq += 1


def sustained_share(stamps: list[float], limit: int, interval: float) -> float:
    """limit / mean(t[k+limit] - t[k]) over the accepted requests, as a fraction of limit / interval."""
    stamps = sorted(stamps)
    spans = [stamps[k + limit] - stamps[k] for k in range(len(stamps) - limit)]
    return interval / (sum(spans) / len(spans))


@pytest.fixture(autouse=True)
def _seeded() -> None:
    random.seed(17)


def _clients(n: int, budget: int, to_send: int, clock: Clock, *, starts: list[float] | None = None) -> list[SimClient]:
    # tasks of one mapped sync start within half a second of each other
    starts = starts or [random.uniform(0.0, 0.5) for _ in range(n)]
    return [SimClient(RateLimiter(budget, 10.0, clock=clock, probe_first=True), to_send, start=starts[i])
            for i in range(n)]


def _run(clients: list[SimClient], portal: Portal, clock: Clock) -> tuple[list[float], int]:
    simulate(clients, portal, clock)
    return [t for c in clients for t in c.accepted], sum(c.refused for c in clients)


def test_one_client_alone_takes_the_whole_budget_without_429():
    clock, portal = Clock(), Portal(100, 10.0)
    stamps, refused = _run(_clients(1, 100, 600, clock), portal, clock)
    assert refused == 0
    assert sustained_share(stamps, 100, 10.0) >= 0.97


@pytest.mark.parametrize("n", [2, 4, 8])
def test_clients_that_each_know_the_full_budget_converge_on_it_together(n):
    # Before issue 17 every answer stamped the others' requests as sent "now" (and a client capped
    # them at its own limit): each client saw the window full for a window after each answer.
    clock, portal = Clock(), Portal(190, 10.0)
    clients = _clients(n, 190, 1600 // n, clock)
    stamps, refused = _run(clients, portal, clock)
    assert refused <= 0.02 * len(stamps), f"{refused} 429s in {len(stamps)} requests"
    assert sustained_share(stamps, 190, 10.0) >= 0.9
    # every client kept a real share while the others ran (a third of an equal share at least)
    first_done = min(max(c.accepted) for c in clients)
    for c in clients:
        mine = [t for t in c.accepted if 10.0 <= t < first_done]
        if first_done > 20.0:
            assert len(mine) >= (first_done - 10.0) / 10.0 * 190 / n / 3, (n, len(mine), first_done)


def test_a_client_started_while_others_run_joins_with_few_429s_and_takes_the_budget_they_leave():
    clock, portal = Clock(), Portal(100, 10.0)
    running = _clients(3, 100, 300, clock)
    newcomer = _clients(1, 100, 300, clock, starts=[20.0])[0]
    stamps, refused = _run([*running, newcomer], portal, clock)
    assert refused <= 0.02 * len(stamps), f"{refused} 429s in {len(stamps)} requests"
    # once the others are done, their requests leave the window and the budget is the newcomer's:
    # it does not wait longer than that
    others_done = max(t for c in running for t in c.accepted)
    after = sorted(t for t in newcomer.accepted if t > others_done + 10.5)
    if len(after) > 100:
        assert sustained_share(after, 100, 10.0) >= 0.9


def test_a_client_after_an_earlier_task_waits_only_for_that_tasks_requests_to_leave():
    clock, portal = Clock(), Portal(100, 10.0)
    earlier = _clients(1, 100, 100, clock, starts=[0.0])  # fills the window within the first second
    _run(earlier, portal, clock)
    later = _clients(1, 100, 300, clock, starts=[2.0])
    stamps, refused = _run(later, portal, clock)
    assert refused <= 1, "its first request finds the window full; the others wait for it to empty"
    # it goes on about a window after its first answer showed the window full (the earlier requests
    # were sent then at the latest), not a window after each answer
    assert min(stamps) <= 2.0 + 10.2 + 0.5
    assert sustained_share(stamps, 100, 10.0) >= 0.95


def test_a_429_without_retry_after_shrinks_the_share_and_recovers():
    clock = Clock()
    limiter = RateLimiter(100, 10.0, clock=clock)
    before = limiter.allowance()
    waits = [limiter.rate_limited() for _ in range(3)]
    assert limiter.allowance() < before * 0.5
    assert all(w < 1.0 for w in waits), "a slot or a few, never a window"
    for _ in range(20):
        limiter.accepted()
    assert limiter.allowance() == before
