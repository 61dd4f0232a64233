"""The HubSpot API emulator: a stdlib ``ThreadingHTTPServer`` on loopback.

Request pipeline (in this order): route look-up (404 / 405; sunset v1 list routes, a disabled
date-based ``/oauth/<YYYY-MM>/token`` and, when strict, a version HubSpot does not publish for the
family answer 404) → latency (``latency_ms ± latency_jitter_ms``, slept outside every lock) → fault
injection (scripted FIFO faults first, then random ones) → authentication (401 / 403) → rate limiting
(429) → the request body's schema, when strict (400) → the route handler (under ``state.lock``) →
post-response faults (``drop_after``, ``truncated_json``).

Emulator choices where HubSpot's behaviour is UNCERTAIN:

* Injected faults happen before authentication and do not consume the rate-limit window; they
  carry no rate-limit headers (they stand for failures in front of HubSpot's API layer). Every
  response, faults included, carries ``X-HubSpot-Correlation-Id``.
* The 10-second window and the daily counter are kept per rate key: the token for static tokens,
  the OAuth client id for OAuth-issued tokens (so refreshing does not reset the window), and the
  developer key for ``hapikey`` routes. 429 answers do not consume the window. Search routes use a
  separate per-second bucket (``search_rate_per_second``), carry no rate-limit headers, and count
  towards the daily limit. OAuth-issued tokens have no daily limit and get no ``Daily`` headers.
  ``rate_limit <= 0`` switches the window off. Natural 429s carry no ``Retry-After``; a scripted
  ``429`` fault does when given ``retry_after``.
* An unknown or malformed Bearer token is 401 ``INVALID_AUTHENTICATION``; an expired OAuth token is
  401 ``EXPIRED_AUTHENTICATION``; a token without any of the route's scopes is 403
  ``MISSING_SCOPES``. Developer-key routes accept only ``?hapikey=<developer_api_key>``.
* ``truncated_json`` runs the handler (writes are applied) and answers 200 with the first half of
  the real body (or of a stand-in JSON document when the real body is empty).
* ``wrong_shape`` runs the handler and answers 200 with valid JSON of an unexpected shape.
* ``reset_mid_body`` runs the handler, announces the full Content-Length, sends half the body and
  closes the connection.
* ``RecordedRequest.status`` is 0 when the connection was dropped.
* ``reset()`` aborts requests that are still sleeping (latency / ``slow``): their connection is
  closed without touching the new state, and they are neither recorded nor counted.
"""

from __future__ import annotations

import contextlib
import http
import random
import secrets
import socket
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from json import loads as json_loads
from pathlib import Path
from typing import Any

from ._util import PORTAL_ID, dumps, iso_from_ms
from .bodies import check as check_body
from .router import ALL_SCOPES, JSON_CT, ApiError, Request, Response, Route, Router, json_response
from .routes import build_router
from .state import EmulatorState

FAULT_KINDS: tuple[str, ...] = (
    "429",
    "500",
    "502",
    "502_html",
    "524_html",
    "503",
    "504",
    "423",
    "slow",
    "drop_before",
    "drop_after",
    "truncated_json",
    "wrong_shape",
    "reset_mid_body",
    "expired_token",
)
#: Longest request target (path and query) answered: HubSpot's edge refuses longer URLs with an HTML
#: 414. Its limit is not published (reports put it between 8 and 16 KB); the emulator takes the low end.
MAX_REQUEST_TARGET = 8192
_HTML_414 = (b"<html>\r\n<head><title>414 Request-URI Too Large</title></head>\r\n<body>\r\n"
             b"<center><h1>414 Request-URI Too Large</h1></center>\r\n<hr><center>cloudflare</center>\r\n"
             b"</body>\r\n</html>\r\n")
DEFAULT_FAULT_KINDS: tuple[str, ...] = ("429", "500", "502_html", "503", "drop_before", "drop_after")
_POST_FAULTS = frozenset({"drop_after", "truncated_json", "wrong_shape", "reset_mid_body"})
RATE_POLICIES = ("TEN_SECONDLY_ROLLING", "SECONDLY", "DAILY")
STAT_KEYS = ("requests", "429", "faults", "writes", "oauth_refreshes", "auth_failures", "dropped")

_EXTRA_REASONS = {207: "Multi-Status", 423: "Locked", 429: "Too Many Requests", 524: "A Timeout Occurred"}

_HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
)
_HTML_524 = (
    b'<!DOCTYPE html>\n<html lang="en-US">\n<head><title>api.hubapi.com | 524: A timeout occurred</title></head>\n'
    b"<body><h1>A timeout occurred <span>Error code 524</span></h1>\n"
    b"<p>The origin web server timed out responding to this request.</p>\n"
    b"<p>Cloudflare Ray ID: 7d2f3c4b5a6e7f80</p></body>\n</html>\n"
)


class TokenInfo:
    """A Bearer token (or the developer key) known to the emulator."""

    __slots__ = ("client_id", "expires_at", "issued_at", "oauth", "rate_key", "scopes", "token")

    def __init__(
        self,
        token: str,
        scopes: frozenset[str] | None = None,
        *,
        expires_at: float | None = None,
        oauth: bool = False,
        client_id: str | None = None,
        rate_key: str | None = None,
    ) -> None:
        self.token = token
        self.scopes = scopes
        self.expires_at = expires_at
        self.oauth = oauth
        self.client_id = client_id
        self.rate_key = rate_key or (f"oauth:{client_id}" if oauth else token)
        self.issued_at = time.time()


class RecordedRequest:
    """One request as received, with the status it was answered with (0 = connection dropped)."""

    __slots__ = (
        "_json",
        "body",
        "correlation_id",
        "fault",
        "headers",
        "method",
        "path",
        "query",
        "status",
        "timestamp",
    )

    def __init__(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
        correlation_id: str,
    ) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.status = 0
        self.correlation_id = correlation_id
        self.timestamp = time.time()
        self.fault: str | None = None
        self._json: Any = None

    @property
    def json(self) -> Any:
        """The parsed JSON body, or ``None`` when the body is empty or not JSON."""
        if self._json is None and self.body:
            try:
                self._json = json_loads(self.body)
            except (ValueError, UnicodeDecodeError):
                return None
        return self._json

    def __repr__(self) -> str:
        return f"<RecordedRequest {self.method} {self.path} -> {self.status}>"


class _Fault:
    __slots__ = ("count", "kind", "method", "options", "path")

    def __init__(
        self,
        kind: str,
        count: int = 1,
        path: str | None = None,
        method: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.kind = kind
        self.count = count
        self.path = path
        self.method = method
        self.options = options or {}


class _Bucket:
    __slots__ = ("daily", "search", "stamps")

    def __init__(self) -> None:
        self.stamps: deque[float] = deque()
        self.search: deque[float] = deque()
        self.daily = 0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], emulator: HubSpotEmulator) -> None:
        self.emulator = emulator
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "HubSpotEmulator/1.0"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 300
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                try:
                    size = int(line.split(b";")[0].strip() or b"0", 16)
                except ValueError:
                    return None
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            size = int(length)
        except ValueError:
            return None
        if size < 0:
            return None
        return self.rfile.read(size) if size else b""

    def _handle(self) -> None:
        body = self._read_body()
        if body is None:
            self.close_connection = True
            self._write(json_response({"status": "error", "message": "Bad request framing"}, 400), str(uuid.uuid4()))
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        resp, cid = self.server.emulator._dispatch(self.command, self.path, headers, body)
        if resp is None:
            self._drop()
            return
        self._write(resp, cid)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _write(self, resp: Response, cid: str) -> None:
        status = resp.status
        body = b"" if status in (204, 304) else resp.body_bytes()
        reason = _EXTRA_REASONS.get(status)
        if reason is None:
            try:
                reason = http.HTTPStatus(status).phrase
            except ValueError:
                reason = "Unknown"
        lines = [
            f"HTTP/1.1 {status} {reason}",
            f"Server: {self.server_version}",
            f"Date: {self.date_time_string()}",
        ]
        if status not in (204, 304):
            if resp.content_type:
                lines.append(f"Content-Type: {resp.content_type}")
            lines.append(f"Content-Length: {len(body)}")
        lines.append(f"X-HubSpot-Correlation-Id: {cid}")
        for key, value in resp.headers.items():
            lines.append(f"{key}: {value}")
        if self.close_connection:
            lines.append("Connection: close")
        if resp.cut_body_at is not None:
            body = body[: resp.cut_body_at]
            self.close_connection = True
        payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        try:
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True


class HubSpotEmulator:
    """A local HubSpot API for tests and demos.

    :param host: interface to bind (loopback by default).
    :param port: TCP port; 0 picks a free one.
    :param rate_limit: requests allowed per ``interval_ms`` rolling window and rate key.
    :param interval_ms: length of the rolling window.
    :param daily_limit: daily allowance (``None``: no daily limit, no ``Daily`` headers).
    :param search_rate_per_second: per-second allowance of the search endpoints.
    :param latency_ms: added latency per request; ``latency_jitter_ms`` varies it (seeded).
    :param fault_rate: probability that a request gets a random fault from ``fault_kinds``.
    :param seed: seeds fault and latency randomness so a run can be replayed.
    :param token: Bearer token with every scope.
    :param developer_api_key: the ``hapikey`` for timeline event-type / template management.
    :param oauth_token_ttl: lifetime in seconds of OAuth-issued access tokens.
    :param v1_lists_sunset: answer 404 on every v1 list route (HubSpot since 2026-04-30).
    :param state_file: JSON file loaded on start (if it exists) and written on stop.
    :param token_endpoint_2026_available: when False the date-based ``/oauth/<YYYY-MM>/token`` routes answer 404.
    :param max_recorded_requests: keep at most this many entries in ``requests`` (``None``: all).
    :param strict: as strict as HubSpot's published schemas (default): each API family is served only in
        the date versions HubSpot publishes for it (others answer 404), and request bodies are checked
        against the documented types and required fields (400). ``False`` serves any ``YYYY-MM`` and
        skips the body checks, for tests of code that relies on HubSpot's leniency.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        rate_limit: int = 100,
        interval_ms: int = 10_000,
        daily_limit: int | None = None,
        search_rate_per_second: int = 4,
        latency_ms: float = 0,
        latency_jitter_ms: float = 0,
        fault_rate: float = 0.0,
        fault_kinds: list[str] | None = None,
        seed: int = 0,
        token: str = "emulator-token",
        developer_api_key: str = "emulator-dev-key",
        oauth_token_ttl: float = 1800.0,
        v1_lists_sunset: bool = False,
        state_file: str | None = None,
        token_endpoint_2026_available: bool = True,
        max_recorded_requests: int | None = None,
        strict: bool = True,
    ) -> None:
        kinds = list(fault_kinds) if fault_kinds is not None else list(DEFAULT_FAULT_KINDS)
        for kind in kinds:
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        self.host = host
        self.port = port
        self.url = ""
        self.state_file = state_file
        self.max_recorded_requests = max_recorded_requests
        self._knobs: dict[str, Any] = {
            "rate_limit": rate_limit,
            "interval_ms": interval_ms,
            "daily_limit": daily_limit,
            "search_rate_per_second": search_rate_per_second,
            "latency_ms": latency_ms,
            "latency_jitter_ms": latency_jitter_ms,
            "fault_rate": fault_rate,
            "fault_kinds": kinds,
            "seed": seed,
            "token": token,
            "developer_api_key": developer_api_key,
            "oauth_token_ttl": oauth_token_ttl,
            "v1_lists_sunset": v1_lists_sunset,
            "token_endpoint_2026_available": token_endpoint_2026_available,
            "strict": strict,
        }
        self.rate_limit = rate_limit
        self.interval_ms = interval_ms
        self.daily_limit = daily_limit
        self.search_rate_per_second = search_rate_per_second
        self.latency_ms = latency_ms
        self.latency_jitter_ms = latency_jitter_ms
        self.fault_rate = fault_rate
        self.fault_kinds = kinds
        self.seed = seed
        self.token = token
        self.developer_api_key = developer_api_key
        self.oauth_token_ttl = oauth_token_ttl
        self.v1_lists_sunset = v1_lists_sunset
        self.token_endpoint_2026_available = token_endpoint_2026_available
        self.strict = strict
        self.state = EmulatorState()
        self.router: Router = build_router()
        self.requests: list[RecordedRequest] = []
        self.stats: dict[str, int] = dict.fromkeys(STAT_KEYS, 0)
        self._ctl = threading.RLock()
        self._req_lock = threading.Lock()
        self._generation = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._reset_controls()

    # ------------------------------------------------------------------ lifecycle
    def _reset_controls(self) -> None:
        self._tokens: dict[str, TokenInfo] = {self.token: TokenInfo(self.token)}
        self._oauth_clients: dict[str, dict[str, Any]] = {}
        self._refresh_tokens: dict[str, dict[str, Any]] = {}
        self._faults: list[_Fault] = []
        self._buckets: dict[str, _Bucket] = {}
        self._fault_rng = random.Random(self.seed)
        self._latency_rng = random.Random(self.seed + 1)

    def start(self) -> HubSpotEmulator:
        """Start serving in a background thread; returns ``self``."""
        if self._server is not None:
            return self
        if self.state_file and Path(self.state_file).exists():
            self.state.load_json(Path(self.state_file).read_text(encoding="utf-8"))
        server = _Server((self.host, self.port), self)
        self._server = server
        self.port = server.server_address[1]
        url_host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        if ":" in url_host:
            url_host = f"[{url_host}]"
        self.url = f"http://{url_host}:{self.port}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="hubspot-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (and write ``state_file`` when set)."""
        server, self._server = self._server, None
        if server is None:
            return
        try:
            if self.state_file:
                self.save_state(self.state_file)
        finally:
            server.shutdown()
            server.close_connections()
            server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
                self._thread = None

    def save_state(self, path: str) -> None:
        """Write ``state.to_json()`` to ``path``."""
        data = dumps(self.state.to_json())
        tmp = Path(f"{path}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> HubSpotEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<HubSpotEmulator {self.url or 'not started'}>"

    def reset(self) -> None:
        """Clear data, faults, counters, rate windows, tokens and the request log; restore every
        knob to its constructor value. Requests still sleeping (latency / ``slow``) are aborted."""
        with self._ctl:
            self._generation += 1
        self.state.clear()
        with self._ctl:
            for name, value in self._knobs.items():
                setattr(self, name, list(value) if isinstance(value, list) else value)
            self._reset_controls()
            for key in list(self.stats):
                del self.stats[key]
            self.stats.update(dict.fromkeys(STAT_KEYS, 0))
        with self._req_lock:
            self.requests.clear()

    # ------------------------------------------------------------------ CRM objects (shortcuts to the state)
    def add_object(self, object_type: str, properties: dict[str, Any] | None = None, **options: Any) -> int:
        """Create a record of any object type (``contacts``, ``companies``, ``0-3``, a custom object); its id."""
        return self.state.add_object(object_type, properties, **options)

    def objects(self, object_type: str) -> list[dict[str, Any]]:
        """Live records of an object type: ``id``, ``properties``, ``created_at``, ``updated_at``."""
        return self.state.objects(object_type)

    def associate(self, from_type: str, from_id: int | str, to_type: str, to_id: int | str,
                  type_id: int | None = None) -> None:
        """Associate two records (default type of the pair, or ``type_id``, e.g. ``1`` for a primary company)."""
        self.state.associate(from_type, from_id, to_type, to_id, type_id)

    def associations(self, from_type: str, to_type: str, from_id: int | str | None = None) -> list[dict[str, Any]]:
        """Associations between live records: ``{"from", "to", "types", "labels"}``."""
        return self.state.associations(from_type, to_type, from_id)

    # ------------------------------------------------------------------ tokens / OAuth
    def add_token(self, token: str, scopes: set[str] | None = None) -> None:
        """Accept ``token`` as a Bearer token with ``scopes`` (``None``: every scope)."""
        with self._ctl:
            self._tokens[token] = TokenInfo(token, frozenset(scopes) if scopes is not None else None)

    def remove_token(self, token: str) -> None:
        with self._ctl:
            self._tokens.pop(token, None)

    def expire_token(self, token: str) -> None:
        """Make an OAuth-issued (or any) token expired right now."""
        with self._ctl:
            info = self._tokens[token]
            info.expires_at = time.time() - 1
            info.oauth = True

    def add_oauth_client(
        self, client_id: str, client_secret: str, refresh_token: str, scopes: set[str] | None = None
    ) -> None:
        """Register an OAuth app and one of its refresh tokens."""
        with self._ctl:
            self._oauth_clients[client_id] = {
                "secret": client_secret,
                "scopes": frozenset(scopes) if scopes is not None else None,
            }
            self._refresh_tokens[refresh_token] = {"client_id": client_id, "revoked": False}

    def revoke_refresh_token(self, refresh_token: str) -> None:
        with self._ctl:
            record = self._refresh_tokens.get(refresh_token)
            if record is not None:
                record["revoked"] = True

    def oauth_refresh(
        self, client_id: str, client_secret: str, refresh_token: str, correlation_id: str
    ) -> dict[str, Any]:
        """Issue an access token for a refresh-token grant (raises :class:`ApiError` on failure)."""
        from .oauth import oauth_error

        with self._ctl:
            client = self._oauth_clients.get(client_id)
            if client is None:
                raise oauth_error(
                    400, "invalid_client", "The client ID provided is invalid", "BAD_CLIENT_ID", correlation_id
                )
            if not secrets.compare_digest(str(client["secret"]), client_secret):
                raise oauth_error(
                    400, "invalid_client", "The client secret provided is invalid", "BAD_CLIENT_SECRET", correlation_id
                )
            record = self._refresh_tokens.get(refresh_token)
            if record is None or record["revoked"] or record["client_id"] != client_id:
                raise oauth_error(
                    400,
                    "invalid_grant",
                    "refresh token is invalid, expired or revoked",
                    "BAD_REFRESH_TOKEN",
                    correlation_id,
                )
            ttl = float(self.oauth_token_ttl)
            access = "emu-oauth-" + secrets.token_urlsafe(32)
            self._tokens[access] = TokenInfo(
                access, client["scopes"], expires_at=time.time() + ttl, oauth=True, client_id=client_id
            )
            self.stats["oauth_refreshes"] += 1
            return {
                "access_token": access,
                "refresh_token": refresh_token,
                "expires_in": round(ttl),
                "token_type": "bearer",
                "hub_id": PORTAL_ID,
            }

    def token_info(self, token: str) -> dict[str, Any] | None:
        with self._ctl:
            info = self._tokens.get(token)
            if info is None:
                return None
            remaining = int(info.expires_at - time.time()) if info.expires_at is not None else 10**9
            return {
                "token": token,
                "token_type": "access",
                "hub_id": PORTAL_ID,
                "app_id": info.client_id,
                "user": "emulator@example.com",
                "user_id": 1,
                "scopes": sorted(info.scopes if info.scopes is not None else ALL_SCOPES),
                "expires_in": max(remaining, 0),
            }

    def refresh_token_info(self, refresh_token: str) -> dict[str, Any] | None:
        with self._ctl:
            record = self._refresh_tokens.get(refresh_token)
            if record is None or record["revoked"]:
                return None
            client = self._oauth_clients.get(record["client_id"], {})
            scopes = client.get("scopes")
            return {
                "token": refresh_token,
                "client_id": record["client_id"],
                "hub_id": PORTAL_ID,
                "user": "emulator@example.com",
                "scopes": sorted(scopes if scopes is not None else ALL_SCOPES),
            }

    # ------------------------------------------------------------------ faults
    def inject_fault(
        self,
        kind: str,
        *,
        count: int = 1,
        path: str | None = None,
        method: str | None = None,
        **options: Any,
    ) -> None:
        """Queue a fault for the next ``count`` requests whose path starts with ``path`` (and whose
        method is ``method``, if given). Faults are consumed first-in first-out.

        Options: ``policy`` (429: ``TEN_SECONDLY_ROLLING`` | ``SECONDLY`` | ``DAILY``),
        ``retry_after`` (seconds, sent as ``Retry-After``; any status fault), ``seconds`` (``slow``;
        default 1.0).
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {FAULT_KINDS}")
        if count < 1:
            raise ValueError("count must be >= 1")
        policy = options.get("policy")
        if policy is not None and policy not in RATE_POLICIES:
            raise ValueError(f"unknown 429 policy {policy!r}; expected one of {RATE_POLICIES}")
        with self._ctl:
            self._faults.append(_Fault(kind, count, path, method.upper() if method else None, dict(options)))

    def clear_faults(self) -> None:
        with self._ctl:
            self._faults.clear()

    @property
    def pending_faults(self) -> int:
        with self._ctl:
            return sum(f.count for f in self._faults)

    def _take_fault(self, route: Route, req: Request) -> _Fault | None:
        with self._ctl:
            for index, fault in enumerate(self._faults):
                if fault.path is not None and not req.path.startswith(fault.path):
                    continue
                if fault.method is not None and fault.method != req.method:
                    continue
                fault.count -= 1
                if fault.count <= 0:
                    del self._faults[index]
                self.stats["faults"] += 1
                return _Fault(fault.kind, options=fault.options)
            if (
                self.fault_rate > 0
                and "oauth" not in route.tags
                and self.fault_kinds
                and self._fault_rng.random() < self.fault_rate
            ):
                self.stats["faults"] += 1
                return _Fault(self._fault_rng.choice(self.fault_kinds))
        return None

    def _fault_response(self, fault: _Fault) -> Response | None:
        kind = fault.kind
        headers: dict[str, str] = {}
        if fault.options.get("retry_after") is not None:
            headers["Retry-After"] = str(fault.options["retry_after"])
        if kind == "drop_before":
            return None
        if kind == "429":
            with self._ctl:
                self.stats["429"] += 1
            return self._too_many(str(fault.options.get("policy") or "TEN_SECONDLY_ROLLING"), headers)
        if kind == "expired_token":
            headers["x-hubspot-auth-failure"] = "401 Unauthorized"
            return json_response(
                {
                    "status": "error",
                    "message": "The OAuth token used to make this call expired 0 second(s) ago.",
                    "category": "EXPIRED_AUTHENTICATION",
                    "context": {"expire time": [iso_from_ms(time.time() * 1000)]},
                },
                401,
                headers,
            )
        if kind == "502_html":
            return Response(502, raw=_HTML_502, content_type="text/html", headers=headers)
        if kind == "524_html":
            return Response(524, raw=_HTML_524, content_type="text/html; charset=UTF-8", headers=headers)
        status, message, category = {
            "500": (500, "internal error", "INTERNAL_ERROR"),
            "502": (502, "Bad Gateway: the server hit a processing limit, please retry", "BAD_GATEWAY"),
            "503": (503, "Service Unavailable", "SERVICE_UNAVAILABLE"),
            "504": (504, "Gateway Timeout: the request took too long to process, please retry", "GATEWAY_TIMEOUT"),
            "423": (423, "The resource is locked; please wait at least 2 seconds and retry", "LOCKED"),
        }[kind]
        return json_response({"status": "error", "message": message, "category": category}, status, headers)

    # ------------------------------------------------------------------ auth / rate limits
    def _auth_error(self, message: str, category: str = "INVALID_AUTHENTICATION", **extra: Any) -> Response:
        with self._ctl:
            self.stats["auth_failures"] += 1
        return json_response(
            {"status": "error", "message": message, "category": category, **extra},
            401,
            {"x-hubspot-auth-failure": "401 Unauthorized"},
        )

    def _authenticate(self, route: Route, req: Request) -> Response | None:
        if route.auth == "none":
            return None
        if route.auth == "devkey":
            key = req.arg("hapikey")
            if not key:
                return self._auth_error(
                    "Authentication credentials not found. This API supports developer API key (hapikey) "
                    "authentication and you can find more details at https://developers.hubspot.com/docs/api/intro-to-auth"
                )
            if not secrets.compare_digest(key, self.developer_api_key):
                return self._auth_error(
                    "The API key provided is invalid. View or manage your API key here: https://app.hubspot.com/l/api-key/"
                )
            req.token = TokenInfo(key, None, rate_key=f"devkey:{key}")
            return None
        scheme, _, value = req.headers.get("authorization", "").partition(" ")
        value = value.strip()
        info = None
        if scheme.lower() == "bearer" and value:
            with self._ctl:
                info = self._tokens.get(value)
        if info is None:
            return self._auth_error(
                "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
                "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
            )
        if info.expires_at is not None:
            now = time.time()
            if now >= info.expires_at:
                ago = int(now - info.expires_at)
                return self._auth_error(
                    f"The OAuth token used to make this call expired {ago} second(s) ago.",
                    "EXPIRED_AUTHENTICATION",
                    context={"expire time": [iso_from_ms(info.expires_at * 1000)]},
                )
        required = self.router.required_scopes(route, req)
        if required and info.scopes is not None and not info.scopes.intersection(required):
            with self._ctl:
                self.stats["auth_failures"] += 1
            return json_response(
                {
                    "status": "error",
                    "message": "This app hasn't been granted all required scopes to make this call. Read more about "
                    "required scopes here: https://developers.hubspot.com/scopes.",
                    "errors": [
                        {
                            "message": "One or more of the following scopes are required.",
                            "context": {"requiredScopes": list(required)},
                        }
                    ],
                    "links": {"scopes": "https://developers.hubspot.com/scopes"},
                    "category": "MISSING_SCOPES",
                },
                403,
            )
        req.token = info
        return None

    def _too_many(self, policy: str, headers: dict[str, str]) -> Response:
        if policy == "DAILY":
            message, group = "You have reached your daily limit.", f"publicapi:api-calls-daily:{PORTAL_ID}"
        elif policy == "SECONDLY":
            message, group = "You have reached your secondly limit.", f"publicapi:search-api-calls-secondly:{PORTAL_ID}"
        else:
            message = "You have reached your ten_secondly_rolling limit."
            group = f"publicapi:private-app-api-calls-ten-secondly:{PORTAL_ID}"
        return json_response(
            {
                "status": "error",
                "message": message,
                "errorType": "RATE_LIMIT",
                "policyName": policy,
                "groupName": group,
                "requestId": uuid.uuid4().hex,
            },
            429,
            headers,
        )

    def _rate_limit(self, route: Route, req: Request) -> tuple[dict[str, str], Response | None]:
        info = req.token
        if route.rate == "none" or info is None:
            return {}, None
        now = time.monotonic()
        with self._ctl:
            daily_limit = self.daily_limit if not info.oauth else None
            bucket = self._buckets.get(info.rate_key)
            if bucket is None:
                bucket = self._buckets[info.rate_key] = _Bucket()
            limit = int(self.rate_limit or 0)
            interval = float(self.interval_ms) / 1000.0
            stamps = bucket.stamps
            cut = now - interval
            while stamps and stamps[0] <= cut:
                stamps.popleft()

            def headers(remaining: int, daily_remaining: int | None) -> dict[str, str]:
                if route.rate == "search":
                    return {}
                out: dict[str, str] = {}
                if limit > 0:
                    out["X-HubSpot-RateLimit-Max"] = str(limit)
                    out["X-HubSpot-RateLimit-Remaining"] = str(max(remaining, 0))
                    out["X-HubSpot-RateLimit-Interval-Milliseconds"] = str(int(self.interval_ms))
                if daily_limit is not None and daily_remaining is not None:
                    out["X-HubSpot-RateLimit-Daily"] = str(daily_limit)
                    out["X-HubSpot-RateLimit-Daily-Remaining"] = str(max(daily_remaining, 0))
                return out

            if daily_limit is not None and bucket.daily >= daily_limit:
                self.stats["429"] += 1
                return {}, self._too_many("DAILY", headers(limit - len(stamps), 0))
            if route.rate == "search":
                window = bucket.search
                while window and window[0] <= now - 1.0:
                    window.popleft()
                if len(window) >= self.search_rate_per_second:
                    self.stats["429"] += 1
                    return {}, self._too_many("SECONDLY", {})
                window.append(now)
                bucket.daily += 1
                return {}, None
            if limit > 0 and len(stamps) >= limit:
                self.stats["429"] += 1
                daily_rem = daily_limit - bucket.daily if daily_limit is not None else None
                return {}, self._too_many("TEN_SECONDLY_ROLLING", headers(0, daily_rem))
            if limit > 0:
                stamps.append(now)
            bucket.daily += 1
            daily_rem = daily_limit - bucket.daily if daily_limit is not None else None
            return headers(limit - len(stamps), daily_rem), None

    def _latency(self) -> float:
        base = float(self.latency_ms or 0)
        jitter = float(self.latency_jitter_ms or 0)
        if base <= 0 and jitter <= 0:
            return 0.0
        if jitter > 0:
            with self._ctl:
                base += self._latency_rng.uniform(-jitter, jitter)
        return max(base, 0.0) / 1000.0

    # ------------------------------------------------------------------ dispatch
    def _dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[Response | None, str]:
        cid = str(uuid.uuid4())
        if target.startswith(("http://", "https://")):
            target = "/" + target.split("/", 3)[-1] if target.count("/") >= 3 else "/"
        path, _, raw_query = target.partition("?")
        req = Request(
            method=method.upper(),
            path=path or "/",
            raw_query=raw_query,
            headers=headers,
            body=body,
            correlation_id=cid,
            emulator=self,
        )
        req.generation = self._generation
        record = RecordedRequest(req.method, req.path, req.query, headers, body, cid)
        try:
            resp = self._process(req, record)
        except Exception:  # pragma: no cover - a bug in a handler; keep serving
            traceback.print_exc(file=sys.stderr)
            resp = json_response({"status": "error", "message": "internal emulator error"}, 500)
        if resp is not None:
            data = resp.data
            if isinstance(data, dict) and data.get("status") == "error":
                data.setdefault("correlationId", cid)
            record.status = resp.status
        if req.generation != self._generation:  # reset() while in flight: not part of the new run
            return resp, cid
        if resp is None:
            with self._ctl:
                self.stats["dropped"] += 1
        parsed = req.parsed_json
        if parsed is not None:
            record._json = parsed
        with self._req_lock:
            self.requests.append(record)
            cap = self.max_recorded_requests
            if cap is not None and len(self.requests) > cap:
                del self.requests[: len(self.requests) - cap]
        return resp, cid

    def _process(self, req: Request, record: RecordedRequest) -> Response | None:
        with self._ctl:
            self.stats["requests"] += 1
        if len(req.path) + 1 + len(req.raw_query) > MAX_REQUEST_TARGET:
            return Response(414, raw=_HTML_414, content_type="text/html")
        route, params, allowed = self.router.resolve(req.method, req.path)
        if route is None and allowed:
            return json_response(
                {
                    "status": "error",
                    "message": f"HTTP method {req.method} is not supported by this resource",
                    "category": "VALIDATION_ERROR",
                },
                405,
                {"Allow": ", ".join(allowed)},
            )
        if (
            route is None
            or ("v1_lists" in route.tags and self.v1_lists_sunset)
            or ("oauth_2026" in route.tags and not self.token_endpoint_2026_available)
            or (self.strict and route.versions is not None and params.get("version") not in route.versions)
        ):
            return json_response(
                {"status": "error", "message": "resource not found", "category": "OBJECT_NOT_FOUND"}, 404
            )
        req.params = params
        delay = self._latency()
        if delay > 0:
            time.sleep(delay)
        fault = self._take_fault(route, req)
        if fault is not None:
            record.fault = fault.kind
            if fault.kind == "slow":
                time.sleep(float(fault.options.get("seconds", 1.0)))
                fault = None
            elif fault.kind not in _POST_FAULTS:
                return self._fault_response(fault)
        if req.generation != self._generation:
            return None  # reset() happened while this request slept: abort it, touch nothing
        denied = self._authenticate(route, req)
        if denied is not None:
            return denied
        rate_headers, limited = self._rate_limit(route, req)
        if limited is not None:
            return limited
        with self.state.lock:
            try:
                if self.strict and route.body is not None:
                    schema = route.body
                    data = req.json(required=bool(schema.get("required")) or schema.get("type") == "array")
                    if data is not None:
                        check_body(schema, data)
                resp = route.handler(req)
            except ApiError as exc:
                resp = Response(status=exc.status, data=exc.body, headers=dict(exc.headers))
        for key, value in rate_headers.items():
            resp.headers.setdefault(key, value)
        if route.write and 200 <= resp.status < 300:
            with self._ctl:
                self.stats["writes"] += 1
        if fault is not None:
            if fault.kind == "drop_after":
                return None
            if fault.kind == "wrong_shape":
                return Response(200, data={"unexpected": "shape"}, headers=resp.headers)
            if fault.kind == "reset_mid_body":
                full = resp.body_bytes() or b'{"status":"COMPLETE","results":[]}'
                return Response(200, raw=full, headers=resp.headers, cut_body_at=max(1, len(full) // 2))
            full = resp.body_bytes()
            if not full.strip():
                full = b'{"status":"COMPLETE","results":[{"id":"0","properties":{}}]}'
            return Response(200, raw=full[: max(1, len(full) // 2)], content_type=JSON_CT, headers=resp.headers)
        return resp
