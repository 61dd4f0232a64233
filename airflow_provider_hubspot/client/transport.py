"""The one request path every HubSpot call takes.

Session reuse, timeouts, credentials, pacing, retries (tenacity), defensive body parsing, error
mapping, redaction of secrets and logging all live here, so API-family modules only say *what* to
call.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from urllib3.exceptions import NewConnectionError

from airflow_provider_hubspot.client.auth import Auth
from airflow_provider_hubspot.client.errors import (
    HubSpotAuthError,
    HubSpotConfigError,
    HubSpotConflictError,
    HubSpotConnectionError,
    HubSpotDailyLimitError,
    HubSpotError,
    HubSpotMissingScopesError,
    HubSpotNotFoundError,
    HubSpotRateLimitError,
    HubSpotRetryAfterTooLongError,
    HubSpotServerError,
    HubSpotValidationError,
)
from airflow_provider_hubspot.client.ratelimit import RateLimiter, WindowBackend, window_key

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.hubapi.com"
USER_AGENT = "airflow-provider-hubspot"
_TRANSIENT_STATUSES = {423, 477, 500, 502, 503, 504, 520, 521, 522, 523, 524}
_TAG_RE = re.compile(r"<[^>]+>")
_HAPIKEY_RE = re.compile(r"(hapikey=)[^&\s'\"]+", re.IGNORECASE)


class _HapikeyFilter(logging.Filter):
    """Redacts ``hapikey=`` values from urllib3's own debug lines (they print request URLs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(_HAPIKEY_RE.sub(r"\1***", a) if isinstance(a, str) else a for a in args)
        if isinstance(record.msg, str):
            record.msg = _HAPIKEY_RE.sub(r"\1***", record.msg)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_HapikeyFilter())


@dataclass
class TransportStats:
    """Counters of one client's traffic (thread-safe increments via :meth:`add`)."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def as_dict(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "retries": self.retries,
            "rate_limited": self.rate_limited,
        }


@dataclass
class Response:
    """A successful HubSpot response: status, parsed body (``None`` when empty) and headers.

    :param lost_attempt_age: when an earlier attempt of the same call failed in a way that HubSpot
        may have applied it (its answer was lost), the seconds from that attempt's send to this
        answer; callers use it to count a write as that attempt's outcome (``created``, ``added``)
        instead of what the retry saw (``updated``, ``already a member``). ``None`` otherwise.
    """

    status: int
    body: Any
    headers: Mapping[str, str]
    lost_attempt_age: float | None = None

    def server_ms_before_lost_attempt(self) -> int | None:
        """HubSpot's clock (epoch ms) just before the lost attempt was sent, from this answer's ``Date``
        header (1 s resolution, so 1 s earlier); ``None`` when no attempt was lost."""
        if self.lost_attempt_age is None:
            return None
        from email.utils import parsedate_to_datetime

        try:
            now = parsedate_to_datetime(self.headers["Date"]).timestamp()
        except (KeyError, TypeError, ValueError):
            now = time.time()
        return int((now - self.lost_attempt_age - 1.0) * 1000)

    @property
    def correlation_id(self) -> str | None:
        return self.headers.get("X-HubSpot-Correlation-Id")


def normalize_base_url(
    host: str | None, *, schema: str | None = None, port: int | None = None, allow_insecure_http: bool = False
) -> str:
    """Build the API base URL from a connection's host (full URL or bare hostname), schema and port.

    Plain ``http://`` is refused unless the host is this machine (``localhost``, 127.0.0.0/8, ``::1``)
    or ``allow_insecure_http`` is true: the access token would travel in clear text.
    """
    host = (host or "").strip().rstrip("/")
    if not host:
        return DEFAULT_BASE_URL
    if "://" not in host:
        scheme = (schema or "").strip().lower() or "https"
        if scheme not in ("http", "https"):
            raise HubSpotConfigError(
                f"Connection schema {schema!r} is not an HTTP scheme: use 'https' (or 'http' for the "
                "local emulator), or put a full URL such as https://api.hubapi.com in the host field."
            )
        host = f"{scheme}://{host}" + (f":{port}" if port else "")
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HubSpotConfigError(
            f"Connection host {host!r} is not a valid URL: use e.g. https://api.hubapi.com or "
            "http://127.0.0.1:8765 (emulator), or leave it empty for HubSpot's default."
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise HubSpotConfigError(f"Connection host {host!r} has an invalid port.") from None
    if parts.scheme == "http" and not allow_insecure_http and not _is_loopback(parts.hostname):
        raise HubSpotConfigError(
            f"Connection host {host!r} uses plain http:// to another machine: the access token would be "
            "sent in clear text to anyone on the network path. Use https://, or, only for a trusted network "
            "(e.g. an emulator in another container), set the connection extra allow_insecure_http to true "
            "(HubSpotClient(..., allow_insecure_http=True) in Python). "
            "Plain http:// is accepted without it only for this machine (localhost, 127.0.0.1, ::1)."
        )
    return host


def _is_loopback(hostname: str) -> bool:
    """Whether ``hostname`` names this machine: ``localhost`` (and ``*.localhost``), 127.0.0.0/8, ``::1``."""
    import ipaddress

    name = hostname.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Transport:
    """Sends HubSpot requests with pacing, retries and error mapping.

    :param base_url: API base URL (``https://api.hubapi.com`` or the emulator's loopback URL).
    :param auth: credentials.
    :param rate_limit: requests per ``rate_limit_interval`` seconds to pace to.
    :param rate_limit_interval: length of HubSpot's rolling window in seconds.
    :param search_rate_limit: search requests per second (separate HubSpot limit).
    :param max_retries: retries of one request on transient failures (not counting the first try).
    :param timeout: seconds to wait for connect and for each read.
    :param backoff_base: first backoff in seconds for 5xx/timeouts (doubles per attempt, jittered).
    :param backoff_max: cap of one backoff wait in seconds.
    :param max_retry_after: longest ``Retry-After`` of a 429 that is waited for, in seconds (default
        300). A longer one is not slept through (it would hold every thread back): the request fails
        at once with :class:`HubSpotRetryAfterTooLongError`, a rate-limit stop that is not retried.
    :param pool_size: HTTP connections kept per host (>= the concurrency you use).
    :param sleep: sleep function for retry waits and pacing (injectable for tests).
    :param clock: monotonic clock for pacing (injectable for tests).
    :param rate_limit_backend: a rolling window shared by every client of the portal and app
        (:class:`~airflow_provider_hubspot.client.ratelimit.RedisWindowBackend`); ``None`` paces from
        HubSpot's rate-limit headers alone.
    :param rate_limit_key: names the shared window (default: a hash of the base URL and the
        credentials, which identify one app in one portal).
    """

    def __init__(
        self,
        base_url: str,
        auth: Auth,
        *,
        rate_limit: int = 100,
        rate_limit_interval: float = 10.0,
        search_rate_limit: int = 4,
        max_retries: int = 6,
        timeout: float = 60.0,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        max_retry_after: float = 300.0,
        pool_size: int = 16,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        session: requests.Session | None = None,
        on_new_secret: Callable[[str], None] | None = None,
        rate_limit_backend: WindowBackend | None = None,
        rate_limit_key: str | None = None,
    ) -> None:
        if max_retries < 0:
            raise HubSpotConfigError(f"max_retries must be >= 0, got {max_retries!r}")
        if timeout <= 0:
            raise HubSpotConfigError(f"timeout must be positive, got {timeout!r}")
        if max_retry_after < 0:
            raise HubSpotConfigError(f"max_retry_after must be >= 0 seconds, got {max_retry_after!r}")
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.max_retries = max_retries
        self.timeout = timeout
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = float(max_retry_after)
        self._sleep = sleep
        identity = auth.rate_limit_identity() if hasattr(auth, "rate_limit_identity") else ""
        self.limiter = RateLimiter(
            rate_limit, rate_limit_interval, sleep=sleep, clock=clock, backend=rate_limit_backend,
            backend_key=window_key(self.base_url, identity, "ten-secondly", rate_limit_key), probe_first=True)
        # Search's window is one second: a 2 % margin (20 ms) is less than the spread of two answers'
        # network times, so requests sent a window apart could reach HubSpot inside one (a 429 that
        # costs a whole second of the budget). 5 % keeps every fifth request 50 ms further out.
        self.search_limiter = RateLimiter(
            search_rate_limit, 1.0, margin=0.05, sleep=sleep, clock=clock, backend=rate_limit_backend,
            backend_key=window_key(self.base_url, identity, "search", rate_limit_key))
        self.stats = TransportStats()
        self.session = session or requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(pool_size, 4), max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        if session is None:  # read proxy / CA settings from the environment once, not on every request
            self.session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
            self.session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            self.session.trust_env = False
        # A tuple replaced whole under a lock: redact() iterates a snapshot while an OAuth refresh in
        # another thread registers new secrets. Longest first, so a secret that contains another is
        # replaced whole.
        self._secrets: tuple[str, ...] = tuple(sorted(set(auth.secrets()), key=len, reverse=True))
        self._secrets_lock = threading.Lock()
        self._on_new_secret = on_new_secret
        auth.on_new_secret = self._register_secret
        for secret in self._secrets:
            if on_new_secret:
                on_new_secret(secret)

    # -- public -----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
        json_body: Any = None,
        developer: bool = False,
        search: bool = False,
        retry: bool = True,
        expect: Callable[[Any], bool] | None = None,
        idempotent: bool = True,
        reconcile: Callable[[HubSpotError], Response | None] | None = None,
    ) -> Response:
        """Send one request, retrying transient failures; return the response or raise HubSpotError.

        :param method: HTTP method.
        :param path: path below the base URL, starting with ``/``.
        :param params: query parameters (a list of pairs for repeated names such as ``vid``).
        :param json_body: JSON payload.
        :param developer: authenticate with the developer API key (app-management calls).
        :param search: pace with the search limiter instead of the ten-secondly one.
        :param retry: retry transient failures (429, 5xx, timeouts, resets).
        :param expect: checks the parsed body of a success; a body that fails it is treated like a
            5xx (retried, then a clear error naming the correlation id), never as a silent success.
        :param idempotent: whether sending the request twice has the effect of sending it once (reads,
            searches, upserts, updates, deletes, writes keyed by an id HubSpot de-duplicates such as a
            ``sendId`` or a timeline event id, and creates HubSpot refuses to repeat, e.g. a contact by
            e-mail). ``False`` (creates without such a key, sends without ``sendId``): a failure that may
            have happened after HubSpot applied the request (connection dropped or reset after sending,
            read timeout, 500/502/504/52x, an unreadable 2xx) is NOT retried; only failures that prove
            HubSpot did not apply it are (429, 423, 477, 503, connection refused / connect timeout).
        :param reconcile: called when an attempt that follows one that may have been applied fails
            with a non-retryable error (409 "already exists", 404 after a delete...): it returns the
            response standing for the earlier attempt's effect (e.g. the contact that attempt created),
            or ``None`` to raise the error. Never called for an error of the first attempt.
        """
        attempts = self.max_retries + 1 if retry else 1
        maybe_applied = False  # an earlier attempt of this call may have been applied by HubSpot
        lost_at: float | None = None  # when that attempt was sent

        def attempt() -> Response:
            nonlocal maybe_applied, lost_at
            sent_at = time.monotonic()
            try:
                response = self._send(method, path, params, json_body, developer, search, expect)
                if lost_at is not None:
                    response.lost_attempt_age = time.monotonic() - lost_at
                return response
            except HubSpotError as exc:
                if lost_at is not None:
                    exc.lost_attempt_age = time.monotonic() - lost_at
                if maybe_applied and reconcile is not None and not exc.retryable:
                    settled = reconcile(exc)
                    if settled is not None:
                        log.info("%s %s: an earlier attempt was applied before its answer was lost (%s); "
                                 "reporting that attempt's effect", method, self.redact(path), exc.message)
                        return settled
                if exc.retryable and _may_have_applied(exc):
                    maybe_applied = True
                    if lost_at is None:
                        lost_at = sent_at
                    if not idempotent and retry:
                        exc.message += (" (not retried: HubSpot may have applied this request before the "
                                        "failure, and repeating it could apply it twice; check before resending)")
                raise

        retrying = Retrying(
            stop=stop_after_attempt(attempts),
            retry=retry_if_exception(
                lambda exc: isinstance(exc, HubSpotError) and exc.retryable
                and (idempotent or not _may_have_applied(exc))),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=self._before_retry,
            reraise=True,
        )
        return retrying(attempt)

    def post_form(self, path: str, form: dict[str, str]) -> Any:
        """POST a form (OAuth token endpoint): no pacing, no auth header, one retry path."""
        retrying = Retrying(
            stop=stop_after_attempt(min(self.max_retries, 3) + 1),
            retry=retry_if_exception(lambda exc: isinstance(exc, HubSpotError) and exc.retryable),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=self._before_retry,
            reraise=True,
        )
        return retrying(self._send_form, path, form)

    def redact(self, text: str) -> str:
        """Replace every known secret (and any ``hapikey=`` value) in ``text`` with ``***``."""
        text = _HAPIKEY_RE.sub(r"\1***", text)
        for secret in self._secrets:  # one read of the attribute: a snapshot no other thread mutates
            if secret and secret in text:
                text = text.replace(secret, "***")
        return text

    def close(self) -> None:
        self.session.close()

    # -- internals --------------------------------------------------------------------------

    def _register_secret(self, secret: str) -> None:
        with self._secrets_lock:
            if secret not in self._secrets:
                self._secrets = tuple(sorted((*self._secrets, secret), key=len, reverse=True))
        if self._on_new_secret:
            self._on_new_secret(secret)

    def _send(
        self,
        method: str,
        path: str,
        params: Any,
        json_body: Any,
        developer: bool,
        search: bool,
        expect: Callable[[Any], bool] | None = None,
    ) -> Response:
        replayed = False
        payload: bytes | None = None
        while True:
            headers: dict[str, str] = {}
            query: dict[str, Any] = {}
            generation = self.auth.generation()
            self.auth.apply(headers, query, developer=developer, post_form=self.post_form)
            if payload is None and json_body is not None:
                payload = json.dumps(json_body).encode()  # before pacing: the send follows at once
            slot = (self.search_limiter if search else self.limiter).take()
            raw = self._http(method, path, params=_merge_params(params, query), data=payload, headers=headers)
            if not search:
                self.limiter.update_from_headers(raw.headers, slot.sent_at, counted=raw.status_code != 429)
                if raw.status_code != 429:
                    self.limiter.accepted()
            try:
                response = self._parse(raw, method, path)
                if expect is not None and not expect(response.body):
                    raise HubSpotServerError(
                        f"HubSpot answered {response.status} with a body of an unexpected shape: "
                        f"{self.redact(str(response.body))[:200]!r}",
                        status=response.status, correlation_id=response.correlation_id,
                        request=self.redact(f"{method} {path}"))
                return response
            except HubSpotAuthError as exc:
                expired = exc.category == "EXPIRED_AUTHENTICATION"
                if expired and not developer and not replayed and self.auth.can_refresh:
                    log.info("HubSpot access token expired; refreshing once and replaying %s %s",
                             method, path)
                    self.auth.refresh(self.post_form, seen_generation=generation)
                    replayed = True
                    continue
                raise

    def _send_form(self, path: str, form: dict[str, str]) -> Any:
        raw = self._http("POST", path, data=form, headers={"Accept": "application/json"})
        return self._parse(raw, "POST", path).body

    def _http(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json_body: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        self.stats.add("requests")
        url = self.base_url + path
        if json_body is not None:
            data = json.dumps(json_body).encode()
        if isinstance(data, bytes):
            headers = {**(headers or {}), "Content-Type": "application/json"}
        try:
            return self.session.request(method, url, params=params, data=data, headers=headers, timeout=self.timeout)
        except requests.ConnectTimeout:  # before the Timeout branch: it is one too
            raise HubSpotNotSentError(
                f"could not connect within {self.timeout:g} s (the request was not sent)",
                request=self.redact(f"{method} {path}"),
            ) from None
        except requests.Timeout as exc:
            raise HubSpotConnectionError(
                f"no answer within {self.timeout:g} s ({type(exc).__name__})", request=self.redact(f"{method} {path}")
            ) from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            reason = self.redact(str(exc).split("(Caused by")[-1].strip(" )"))[:200]
            error = HubSpotNotSentError if _never_sent(exc) else HubSpotConnectionError
            raise error(
                f"connection failed or was reset: {reason}", request=self.redact(f"{method} {path}")
            ) from None

    def _parse(self, raw: requests.Response, method: str, path: str) -> Response:
        status = raw.status_code
        request = self.redact(f"{method} {path}")
        text = raw.text if raw.content else ""
        body = _decode(text, raw.headers.get("Content-Type", ""))
        if 200 <= status < 300:
            if isinstance(body, _Unreadable):
                raise HubSpotServerError(
                    f"HubSpot answered {status} with a body that is not valid JSON: {body.excerpt!r}",
                    status=status,
                    correlation_id=raw.headers.get("X-HubSpot-Correlation-Id"),
                    request=request,
                )
            return Response(status, body, raw.headers)
        raise self._error(status, body, raw.headers, request)

    def _error(self, status: int, body: Any, headers: Mapping[str, str], request: str) -> HubSpotError:
        info = body if isinstance(body, dict) else {}
        message = info.get("message") or info.get("error_description")
        if isinstance(body, _Unreadable):
            message = message or body.excerpt
        message = self.redact(str(message or f"HTTP {status} with no message"))
        category = (
            info.get("category") or info.get("policyName") or info.get("error") or info.get("status")
        )
        if category == "error":
            category = None
        kwargs: dict[str, Any] = {
            "status": status,
            "category": category,
            "correlation_id": info.get("correlationId") or headers.get("X-HubSpot-Correlation-Id"),
            "request": request,
            "body": _redact_body(body, self.redact) if isinstance(body, (dict, list)) else None,
        }
        retry_after = _retry_after(headers)
        if status == 429:
            self.stats.add("rate_limited")
            if category == "DAILY" or "daily limit" in message.lower():
                return HubSpotDailyLimitError(
                    f"{message} The account's daily API allowance is used up; it resets at midnight in "
                    "the HubSpot account's time zone.",
                    **kwargs,
                )
            return HubSpotRateLimitError(message, retry_after=retry_after, **kwargs)
        if status in _TRANSIENT_STATUSES or status >= 500:
            return HubSpotServerError(message, retry_after=retry_after, **kwargs)
        if status == 401:
            return HubSpotAuthError(message, **kwargs)
        if status == 403:
            return HubSpotMissingScopesError(message, **kwargs)
        if status == 404:
            return HubSpotNotFoundError(message, **kwargs)
        if status == 409:
            return HubSpotConflictError(message, **kwargs)
        if status == 414:
            return HubSpotValidationError(
                "HubSpot refused the request because its URL is too long (414 Request-URI Too Large): ask for "
                "fewer properties or ids per request (e.g. name the properties you need instead of all).", **kwargs)
        return HubSpotValidationError(message, **kwargs)

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        attempt = state.attempt_number
        jitter = random.uniform(0, 0.25)
        if isinstance(exc, HubSpotRateLimitError):
            if exc.retry_after is not None and exc.retry_after > self.max_retry_after:
                raise HubSpotRetryAfterTooLongError(
                    f"HubSpot asked to wait {exc.retry_after:g} s before retrying, more than max_retry_after "
                    f"({self.max_retry_after:g} s): stopping now instead of sleeping that long (raise "
                    f"max_retry_after to wait). HubSpot said: {exc.message}",
                    retry_after=exc.retry_after, status=exc.status, category=exc.category,
                    correlation_id=exc.correlation_id, request=exc.request, body=exc.body,
                ) from None
            if exc.category == "SECONDLY":
                wait = 1.0 + jitter if exc.retry_after is None else exc.retry_after + jitter
                self.search_limiter.pause(wait)
                return wait
            # TEN_SECONDLY_ROLLING or an unknown policy: never less than a Retry-After asked; without
            # one, a slot of the window, doubled per consecutive 429 (at most a window), not a whole
            # window each time: the window frees continuously. Every thread holds back meanwhile.
            retry_after = None if exc.retry_after is None else min(
                exc.retry_after + jitter, max(self.max_retry_after, exc.retry_after))
            return self.limiter.rate_limited(retry_after)
        if isinstance(exc, HubSpotServerError) and exc.status == 423:
            return 2.0 + jitter
        if isinstance(exc, HubSpotServerError) and exc.retry_after is not None:
            return min(exc.retry_after, self.backoff_max) + jitter
        base = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return base / 2 + random.uniform(0, base / 2)

    def _before_retry(self, state: RetryCallState) -> None:
        self.stats.add("retries")
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("Retrying after %s (attempt %d of %d, waiting %.1f s)", exc, state.attempt_number,
                    self.max_retries + 1, wait)


class _Unreadable:
    """A body we could not parse (HTML error page, truncated JSON)."""

    def __init__(self, text: str) -> None:
        stripped = _TAG_RE.sub(" ", text)
        self.excerpt = " ".join(stripped.split())[:200]


def _decode(text: str, content_type: str) -> Any:
    stripped = text.strip()
    if not stripped:
        return None
    if stripped == "SUCCESS":  # v1 merge answers the literal text with a JSON content type
        return "SUCCESS"
    try:
        return json.loads(stripped)
    except ValueError:
        return _Unreadable(text)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _merge_params(params: Any, extra: dict[str, Any]) -> Any:
    if not extra:
        return params
    if params is None:
        return extra
    if isinstance(params, Mapping):
        return {**params, **extra}
    return [*params, *extra.items()]


def _redact_body(body: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(body, dict):
        return {k: _redact_body(v, redact) for k, v in body.items()}
    if isinstance(body, list):
        return [_redact_body(v, redact) for v in body]
    if isinstance(body, str):
        return redact(body)
    return body


class HubSpotNotSentError(HubSpotConnectionError):
    """The connection could not be opened (refused, unknown host, connect timeout): the request never
    reached HubSpot, so retrying it is safe even for a request that is not idempotent."""


#: Statuses by which HubSpot (or its edge) refuses a request without handling it: 423 Locked (retry
#: after 2 s), 477 migration in progress, 503 Service Unavailable ("unable to handle the request",
#: RFC 9110 §15.6.4). 429 is a :class:`HubSpotRateLimitError`. A 500, 502, 504 or 52x may come after
#: the request was processed.
_NOT_APPLIED_STATUSES = frozenset({423, 477, 503})


def _may_have_applied(exc: HubSpotError) -> bool:
    """Whether HubSpot may have applied the request that failed with ``exc`` (conservative: unless the
    failure proves otherwise, assume it did)."""
    if isinstance(exc, (HubSpotRateLimitError, HubSpotNotSentError)):
        return False
    return not (isinstance(exc, HubSpotServerError) and exc.status in _NOT_APPLIED_STATUSES)


def _never_sent(exc: requests.RequestException) -> bool:
    """A ``requests`` connection error raised while opening the connection (nothing was sent)."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)
