"""Client-side pacing so requests stay under HubSpot's rolling rate-limit window.

HubSpot counts requests in a *rolling* window (``TEN_SECONDLY_ROLLING``: at most ``Max`` requests in
any ``Interval-Milliseconds``). A classic token bucket can send twice its capacity across a window
boundary, so the limiter here keeps the send times of the last ``max_requests`` requests and lets a
new one go only when the oldest of them has left the window. It adopts a lower ``Max`` or a
different interval announced in ``X-HubSpot-RateLimit-*`` headers, counts requests it did not send
itself (an earlier task, other apps of the account) from ``Remaining``, and backs off one slot when the
server says the window is already spent.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping


class RateLimiter:
    """Thread-safe rolling-window limiter.

    :param max_requests: requests allowed per window (HubSpot: 100 Free/Starter, 190 Pro/Enterprise).
    :param interval: window length in seconds (HubSpot: 10).
    :param margin: fraction of the window added to it, to absorb network jitter between our send time
        and HubSpot's receive time (default 2 %).
    :param clock: monotonic clock (injectable for tests).
    :param sleep: sleep function (injectable for tests).
    """

    def __init__(
        self,
        max_requests: int = 100,
        interval: float = 10.0,
        *,
        margin: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
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
        self._sent: deque[float] = deque()
        self._not_before = 0.0
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> float:
        """Block until a request may be sent; return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                window = self.interval * (1 + self.margin)
                while self._sent and self._sent[0] <= now - window:
                    self._sent.popleft()
                delay = max(0.0, self._not_before - now)
                if len(self._sent) >= self.max_requests:
                    delay = max(delay, self._sent[0] + window - now)
                if delay <= 0:
                    self._sent.append(now)
                    self.waited += waited
                    return waited
            self._sleep(delay)
            waited += delay

    def update_from_headers(self, headers: Mapping[str, str]) -> None:
        """Reconcile with ``X-HubSpot-RateLimit-Max/Remaining/Interval-Milliseconds`` when present."""
        max_header = _int_header(headers, "X-HubSpot-RateLimit-Max")
        interval_ms = _int_header(headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
        remaining = _int_header(headers, "X-HubSpot-RateLimit-Remaining")
        with self._lock:
            if max_header and max_header > 0:
                self.max_requests = min(self.configured_max, max_header)
            if interval_ms and interval_ms > 0:
                self.interval = interval_ms / 1000.0
            if remaining is not None:
                now = self._clock()
                # Requests this limiter did not send (an earlier task, another app of the account)
                # already used part of the server's window: count them as sent just now.
                others = (max_header or self.max_requests) - remaining - len(self._sent)
                for _ in range(min(max(others, 0), self.max_requests)):
                    self._sent.append(now)
                if remaining <= 0:  # the server's window is spent: wait one slot
                    slot = self.interval / max(self.max_requests, 1)
                    self._not_before = max(self._not_before, now + slot)

    def pause(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` (after a 429, so concurrent senders wait too)."""
        with self._lock:
            self._not_before = max(self._not_before, self._clock() + seconds)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None
