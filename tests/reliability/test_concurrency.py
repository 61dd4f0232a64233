"""The rate limiter and OAuth refresh under many threads (deterministic clock where possible)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from airflow_provider_hubspot.client.auth import Auth
from airflow_provider_hubspot.client.ratelimit import RateLimiter


class SharedFakeClock:
    """A clock only sleeps advance; shared by many threads."""

    def __init__(self) -> None:
        self.now = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += max(seconds, 0.0)


def test_no_burst_over_the_limit_with_32_threads():
    clock = SharedFakeClock()
    limiter = RateLimiter(10, 10.0, margin=0.0, clock=clock, sleep=clock.sleep)
    sent: list[float] = []
    lock = threading.Lock()

    def worker(_: int) -> None:
        for _ in range(10):
            limiter.acquire()
            with lock:
                sent.append(clock())

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(worker, range(32)))
    assert len(sent) == 320
    sent.sort()
    for i, start in enumerate(sent):
        in_window = sum(1 for t in sent[i:i + 11] if t < start + 10.0)
        assert in_window <= 10, f"{in_window} requests within 10 s starting at {start}"


def test_pause_after_a_429_holds_back_every_thread():
    clock = SharedFakeClock()
    limiter = RateLimiter(1000, 10.0, clock=clock, sleep=clock.sleep)
    limiter.pause(5.0)

    def send_time(_: int) -> float:
        limiter.acquire()
        return clock()

    with ThreadPoolExecutor(8) as pool:
        times = list(pool.map(send_time, range(8)))
    assert min(times) >= 5.0, "no thread sends before the pause is over"


def test_one_refresh_for_many_threads_seeing_the_same_expiry():
    calls: list[str] = []
    barrier = threading.Barrier(16)

    def post_form(path: str, form: dict) -> dict:
        calls.append(form["refresh_token"])
        return {"access_token": f"token-{len(calls)}", "expires_in": 1800}

    auth = Auth(client_id="id", client_secret="secret", refresh_token="rt")
    auth.refresh(post_form, seen_generation=auth.generation())
    seen = auth.generation()

    def expired(_: int) -> None:
        barrier.wait()
        auth.refresh(post_form, seen_generation=seen)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(expired, range(16)))
    assert len(calls) == 2, "the first refresh plus exactly one for the shared expiry"
    assert auth.generation() == seen + 1
