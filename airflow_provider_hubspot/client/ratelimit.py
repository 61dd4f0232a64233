"""Client-side pacing so requests stay under HubSpot's rolling rate-limit window.

HubSpot counts requests in a *rolling* window (``TEN_SECONDLY_ROLLING``: at most ``Max`` requests in
any ``Interval-Milliseconds``), per app and portal. ``rate_limit`` is that budget: the portal's, shared
by every task that uses the same app, never a per-task share. Three layers keep a client inside it:

* **Its own window.** The limiter keeps the send times of its own requests and lets a new one go only
  when it holds fewer than its allowance within the window (a classic token bucket could send twice
  its capacity across a window boundary). A margin (2 % of the window) absorbs the jitter between our
  send time and HubSpot's receive time.
* **Shared truth from the headers** (no coordinator needed). Every response says how much of the
  window is used (``X-HubSpot-RateLimit-Max - Remaining``, this request included). The limiter counts
  its own requests the server has seen (sent within one window before the observed request) and
  attributes the rest to *others* (other tasks, other workers). It then

  - keeps an estimate of the others' requests in the window (one entry per request, set to exactly
    the server's count at each observation, so nothing is counted twice; new ones are stamped when
    they were first seen, old ones dropped when the server no longer counts them), and sends only
    while its own plus the others' fit the budget;
  - takes a share of the budget proportional to its part of the traffic plus one request
    (``budget * (own + 1) / (used + 1)``): clients that each know the full budget converge on it
    together, each reusing the slots its own requests free, and one that joins grows by a request per
    answer while the others yield in proportion, so uncoordinated tasks settle near equal shares. A
    client alone in the window takes the whole budget.
  - After a 429 it backs off multiplicatively (its share, and a short pause of one slot, doubled on
    each consecutive 429, never more than a window) and recovers additively on every accepted answer.

* **An optional shared backend** (:class:`RedisWindowBackend`): all clients of one portal and app,
  on any number of workers, take their slots from one rolling window kept atomically by a server-side
  script. When the backend does not answer, the limiter logs a warning and paces locally (the layers
  above) until it answers again: a sync never stops because the coordinator blinked.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, Protocol

log = logging.getLogger(__name__)

#: Share of the budget kept free when other clients are seen: absorbs the "+1 request" each of them
#: probes with and the answers still in flight when the window fills.
_SHARED_HEADROOM = 0.04
#: Multiplicative decrease of the share on a 429, and its floor.
_BACKOFF_FACTOR = 0.7
_BACKOFF_FLOOR = 0.25
#: Additive recovery of the share factor per accepted answer.
_BACKOFF_RECOVERY = 0.05
#: Seconds by which a request sent later may reach HubSpot's limiter before an earlier one.
_OVERTAKE = 0.05
#: Seconds over which the others' pace is measured (their requests first seen in that span).
_RATE_SPAN = 1.0
#: Seconds a new client sends one request at a time at most, waiting for HubSpot's first answer.
_PROBE_FOR = 5.0
#: Seconds own send times are kept past the window, for answers that arrive after it moved on.
_KEEP = 2.0
#: Seconds the limiter paces locally after the shared backend failed, before it asks it again.
BACKEND_RETRY_AFTER = 15.0


class Slot(NamedTuple):
    """A permission to send: when it was taken (the limiter's clock) and how long the caller waited."""

    sent_at: float
    waited: float


class WindowBackend(Protocol):
    """A rolling window shared by several clients (see :class:`RedisWindowBackend`)."""

    def take(self, key: str, limit: int, window: float) -> float:
        """Take one slot of the window ``key`` if fewer than ``limit`` were taken within ``window``
        seconds; return 0.0 when taken, else the seconds until one may be. Raise when unreachable."""
        ...


class RateLimiter:
    """Thread-safe rolling-window limiter.

    :param max_requests: the portal's budget per window (HubSpot: 100 Free/Starter, 190
        Professional/Enterprise, 250 with the limit pack), shared by every client of the same app.
    :param interval: window length in seconds (HubSpot: 10).
    :param margin: fraction of the window added to it, to absorb network jitter between our send time
        and HubSpot's receive time (default 2 %).
    :param clock: monotonic clock (injectable for tests).
    :param sleep: sleep function (injectable for tests).
    :param backend: a shared window (e.g. :class:`RedisWindowBackend`) all clients of the portal use.
    :param backend_key: the shared window's name (portal + app + window kind).
    """

    def __init__(
        self,
        max_requests: int = 100,
        interval: float = 10.0,
        *,
        margin: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        backend: WindowBackend | None = None,
        backend_key: str | None = None,
        probe_first: bool = False,
    ) -> None:
        if max_requests < 1:
            raise ValueError(f"max_requests must be at least 1, got {max_requests!r}")
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval!r}")
        self.configured_max = max_requests
        self.max_requests = max_requests
        self.interval = interval
        self.margin = 0.02 if margin is None else margin
        self._clock = clock
        self._sleep = sleep
        self._sent: list[float] = []  # own send times, oldest first (kept a little past the window)
        self._others: list[float] = []  # estimated send times of the others' requests, sorted
        self._share = float(max_requests)  # own allowance per window
        self._factor = 1.0  # multiplicative backoff after 429s, recovers additively
        self._last_seen = float("-inf")  # send time of the newest request whose answer was reconciled
        self._others_rate = 0.0  # the others' requests per second, as the last answers showed them
        self._first_seen: float | None = None
        self._arrivals: deque[tuple[float, int]] = deque()  # (when, how many) others' requests appeared
        self._rtt = 0.2  # seconds from a send to its answer (moving average)
        # until the first answer says how full the window is, one request at a time (a client started
        # into a window others have filled would otherwise collide with all its threads at once)
        self._probing_since: float | None = None if probe_first else float("-inf")
        self._consecutive_429 = 0
        self._not_before = 0.0
        self._lock = threading.Lock()
        self.waited = 0.0
        self.backend = backend
        self.backend_key = backend_key or "hubspot-ratelimit:default"
        self._backend_down_until = float("-inf")
        self.backend_failures = 0

    # -- taking slots -----------------------------------------------------------------------------

    def acquire(self) -> float:
        """Block until a request may be sent; return the seconds waited."""
        return self.take().waited

    def take(self) -> Slot:
        """Block until a request may be sent; return when (the send time to reconcile its answer
        with, see :meth:`update_from_headers`) and the seconds waited."""
        waited = 0.0
        while True:
            delay, sent_at = self._try_take()
            if sent_at is not None:
                with self._lock:
                    self.waited += waited
                return Slot(sent_at, waited)
            self._sleep(delay)
            waited += delay

    def try_take(self) -> float:
        """Take a slot if one is free now and return 0.0, else return the seconds to wait before
        asking again (never sleeps)."""
        return self._try_take()[0]

    def _try_take(self) -> tuple[float, float | None]:
        with self._lock:
            now = self._clock()
            shared = self._backend_usable(now)
            delay = self._local_delay(now, shared=shared)
            if delay > 0:
                return delay, None
            if not shared:
                self._sent.append(now)
                return 0.0, now
        delay = self._take_from_backend()
        if delay > 0:
            return delay + random.uniform(0, 0.01), None  # waiters on other workers do not all wake at once
        with self._lock:
            now = self._clock()
            self._sent.append(now)
            return 0.0, now

    def _local_delay(self, now: float, *, shared: bool) -> float:
        """Seconds until the local rules allow a send (0 = now). Under the lock."""
        window = self.interval * (1 + self.margin)
        cut = now - window
        stale = bisect.bisect_right(self._sent, cut - _KEEP)
        if stale:  # kept a little longer than the window: answers reconcile against them
            del self._sent[:stale]
        delay = max(0.0, self._not_before - now)
        if shared:  # the backend's window is the budget; locally only pauses apply
            return delay
        first = bisect.bisect_right(self._sent, cut)
        own = len(self._sent) - first
        if self._probing_since is None:
            self._probing_since = now
        elif own and now - self._probing_since < _PROBE_FOR:
            return max(delay, self._rtt / 4)
        cap = self.allowance()
        if own >= cap:
            delay = max(delay, self._sent[first + own - cap] + window - now)
        drop = bisect.bisect_right(self._others, cut)
        if drop:
            del self._others[:drop]
        # the others' requests sent since the last answer, which it could not count yet (at their pace)
        # (a guess that lapses: with no answer for a while, the others' estimated requests stand alone)
        since = max(now - self._last_seen, 0.0)
        unseen = self._others_rate * since if since <= 2 * self._rtt else 0.0
        excess = own + len(self._others) + int(unseen + 0.5) - self.max_requests + 1
        if excess > 0:  # the window is full: wait until enough of it (own or others') leaves
            merged = sorted([*self._sent[first:], *self._others])
            leave = merged[excess - 1] + window - now if excess <= len(merged) else self._rtt
            delay = max(delay, leave)
        return delay

    def allowance(self) -> int:
        """Requests this client may have within one window now (its share of the budget)."""
        return max(1, min(self.max_requests, int(self._share * self._factor + 0.5)))

    # -- the shared backend -----------------------------------------------------------------------

    def _backend_usable(self, now: float) -> bool:
        return self.backend is not None and now >= self._backend_down_until

    def _take_from_backend(self) -> float:
        assert self.backend is not None
        try:
            return self.backend.take(self.backend_key, self.max_requests, self.interval * (1 + self.margin))
        except Exception as exc:  # any failure of the coordinator: never stop the sync for it
            with self._lock:
                self.backend_failures += 1
                self._backend_down_until = self._clock() + BACKEND_RETRY_AFTER
            log.warning(
                "The shared rate-limit backend did not answer (%s: %s); pacing locally from HubSpot's "
                "rate-limit headers for %.0f s, then trying it again.",
                type(exc).__name__, str(exc)[:200], BACKEND_RETRY_AFTER,
            )
            return 0.0

    # -- reconciling with HubSpot -----------------------------------------------------------------

    def update_from_headers(self, headers: Mapping[str, str], sent_at: float | None = None, *,
                            counted: bool = True) -> None:
        """Reconcile with ``X-HubSpot-RateLimit-Max/Remaining/Interval-Milliseconds`` when present.

        :param sent_at: when the answered request was sent (:meth:`take`); without it, now.
        :param counted: whether HubSpot counted the request in its window (a 429 is not counted).
        """
        max_header = _int_header(headers, "X-HubSpot-RateLimit-Max")
        interval_ms = _int_header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
        remaining = _int_header(headers, "X-HubSpot-RateLimit-Remaining")
        with self._lock:
            if max_header and max_header > 0:
                self.max_requests = min(self.configured_max, max_header)
            if interval_ms and interval_ms > 0:
                self.interval = interval_ms / 1000.0
            self._probing_since = float("-inf")  # answered: no more probing
            if remaining is None:
                return
            at = self._clock() if sent_at is None else sent_at
            if sent_at is not None:
                self._rtt = 0.8 * self._rtt + 0.2 * min(max(self._clock() - sent_at, 0.0), 5.0)
            if at < self._last_seen:  # an older answer than one already reconciled: stale
                return
            self._last_seen = at
            server_max = max_header if max_header and max_header > 0 else self.max_requests
            used = max(server_max - max(remaining, 0), 0)  # in the server's window, this request included
            # own requests the server may count: sent within one window (and its margin) before the
            # observed one, or just after it (answers overtake each other by the latency's jitter).
            # Erring high here only lends others' slots to this client for one answer.
            # own requests the server counts: sent within one window up to the observed one. Those
            # within the latency's jitter of either edge may or may not be counted (answers overtake
            # each other): when the others' count is no more than those, this client is alone.
            edge = at - self.interval
            upto = bisect.bisect_right(self._sent, at)
            start = bisect.bisect_right(self._sent, edge)
            own = upto - start - (0 if counted or sent_at is None else 1)
            unsure = (bisect.bisect_right(self._sent, at + _OVERTAKE) - upto
                      + start - bisect.bisect_right(self._sent, edge - _OVERTAKE))
            others = max(used - own, 0)
            # HubSpot's window is shorter than ours by the margin: requests whose places their senders
            # are about to reuse have already left it. Ours show how many: assume the others' alike.
            held = start - bisect.bisect_right(self._sent, at - self.interval * (1 + self.margin))
            if own and held:
                others = int(others * min((own + held) / own, 1.5) + 0.5)
            # the others' requests in the window: exactly the server's count, never counted twice.
            # Estimates older than the server's window are gone there; new ones were sent since the
            # last answer (stamped now: they leave no earlier than that); fewer than known means the
            # answers overtook each other, so the newest estimates go.
            stale = bisect.bisect_right(self._others, at - self.interval)
            if stale:
                del self._others[:stale]
            known = len(self._others)
            if others > known:
                self._others.extend([at] * (others - known))
                self._others.sort()
                self._arrivals.append((at, others - known))
            elif others < known:
                del self._others[others - known:]
            while self._arrivals and self._arrivals[0][0] <= at - _RATE_SPAN:
                self._arrivals.popleft()
            if self._first_seen is None:
                self._first_seen = at
            span = min(max(at - self._first_seen, self._rtt), _RATE_SPAN)  # shorter while just started
            self._others_rate = sum(count for when, count in self._arrivals if when > at - span) / span
            # the share: proportional to own traffic, plus one request, of the budget (all of it alone)
            if others <= unsure:
                self._share = float(self.max_requests)
            else:
                # room for the "+1" (and its rounding) each of about used/own clients takes
                clients = min(max(used / max(own, 1), 1.0), 8.0)
                headroom = min(max(self.max_requests * _SHARED_HEADROOM, 2 * clients), self.max_requests / 4)
                budget = self.max_requests - headroom
                self._share = max(1.0, budget * (min(own, used) + 1) / (used + 1))
            if remaining > 0 or used < server_max:
                self._consecutive_429 = 0

    def accepted(self) -> None:
        """An answer that was not a 429: recover the share factor additively."""
        with self._lock:
            self._consecutive_429 = 0
            if self._factor < 1.0:
                self._factor = min(1.0, self._factor + _BACKOFF_RECOVERY)

    def rate_limited(self, retry_after: float | None = None, sent_at: float | None = None) -> float:
        """A ten-secondly 429: back off (share x 0.7) and hold every request back briefly.

        :param sent_at: when the refused request was sent (:meth:`take`): it no longer counts as own.

        Returns the wait for the refused request: ``retry_after`` when HubSpot gave one, else one
        slot of the window (``interval / budget``), doubled for each consecutive 429, at most a window.
        """
        with self._lock:
            if sent_at is not None:  # the refused request took no place in HubSpot's window
                at = bisect.bisect_left(self._sent, sent_at)
                if at < len(self._sent) and self._sent[at] == sent_at:
                    del self._sent[at]
            self._factor = max(_BACKOFF_FLOOR, self._factor * _BACKOFF_FACTOR)
            self._consecutive_429 += 1
            if retry_after is not None:
                wait = retry_after
            else:
                slot = self.interval / max(self.max_requests, 1)
                wait = min(self.interval, slot * 2 ** (self._consecutive_429 - 1))
                wait *= 1 + random.uniform(0, 0.25)
            self._not_before = max(self._not_before, self._clock() + wait)
            return wait

    def pause(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` (after a 429, so concurrent senders wait too)."""
        with self._lock:
            self._not_before = max(self._not_before, self._clock() + seconds)

    def describe(self) -> dict[str, Any]:
        """The limiter's state, for logs and tests."""
        with self._lock:
            return {"budget": self.max_requests, "interval": self.interval, "allowance": self.allowance(),
                    "own_in_window": len(self._sent), "others_in_window": len(self._others),
                    "backend": self.backend is not None, "backend_failures": self.backend_failures}


# -- Redis ------------------------------------------------------------------------------------------

#: One rolling window per key, atomically: drop stamps older than the window, take a slot when fewer
#: than the limit remain, else answer the microseconds until the oldest that blocks leaves. Stamps are
#: Redis' own clock (TIME), so workers on different machines agree.
_TAKE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.floor(window / 1000) + 1000)
  return 0
end
local blocking = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
local wait = tonumber(blocking[2]) + window - now
if wait < 1 then wait = 1 end
return wait
"""


class RedisWindowBackend:
    """A rolling window shared through Redis by every client of one portal and app.

    :param redis_client: a ``redis.Redis`` (or cluster) client, e.g. ``RedisHook(conn_id).get_conn()``.
    :param socket_timeout: seconds to wait for Redis before pacing locally (applied to a client whose
        connections are not open yet).
    """

    def __init__(self, redis_client: Any, *, socket_timeout: float | None = 2.0) -> None:
        self.redis = redis_client
        pool = getattr(redis_client, "connection_pool", None)
        kwargs = getattr(pool, "connection_kwargs", None)
        if socket_timeout is not None and isinstance(kwargs, dict):
            kwargs.setdefault("socket_timeout", socket_timeout)
            kwargs.setdefault("socket_connect_timeout", socket_timeout)
            if kwargs.get("socket_timeout") is None:
                kwargs["socket_timeout"] = socket_timeout
            if kwargs.get("socket_connect_timeout") is None:
                kwargs["socket_connect_timeout"] = socket_timeout
        self._script = redis_client.register_script(_TAKE_SCRIPT)
        self._ids = f"{uuid.uuid4().hex[:12]}:"
        self._count = 0
        self._count_lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisWindowBackend:
        """A backend on ``redis://host:port/db`` (needs the ``redis`` package: ``[redis]`` extra)."""
        import redis

        return cls(redis.Redis.from_url(url), **options)

    def take(self, key: str, limit: int, window: float) -> float:
        with self._count_lock:
            self._count += 1
            member = f"{self._ids}{self._count}"
        waited_us = self._script(keys=[key], args=[int(limit), int(window * 1_000_000), member])
        return int(waited_us) / 1_000_000

    def close(self) -> None:
        close = getattr(self.redis, "close", None)
        if close is not None:
            close()


class LazyWindowBackend:
    """A backend built on first use (e.g. looking up an Airflow connection in the task, not at parse
    time); when building it fails, :meth:`take` raises and the limiter paces locally."""

    def __init__(self, factory: Callable[[], WindowBackend]) -> None:
        self._factory = factory
        self._backend: WindowBackend | None = None
        self._lock = threading.Lock()

    def take(self, key: str, limit: int, window: float) -> float:
        backend = self._backend
        if backend is None:
            with self._lock:
                if self._backend is None:
                    self._backend = self._factory()
                backend = self._backend
        return backend.take(key, limit, window)


def window_key(base_url: str, identity: str, kind: str, scope: str | None = None) -> str:
    """The shared window's Redis key: portal + app (from the credentials, or ``scope``) + window kind.

    A private-app token or service key belongs to one app in one portal, and an OAuth client id with
    its refresh token to one installation; their hash (with the API's base URL) names the window, so
    the secret never reaches Redis. ``scope`` (e.g. ``"portal-62515:my-app"``) names it explicitly.
    """
    if not scope:
        scope = hashlib.sha256(f"{base_url}\0{identity}".encode()).hexdigest()[:24]
    return f"hubspot-ratelimit:{scope}:{kind}"


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None
