"""Routing primitives shared by the server and the per-family handler modules.

A family module exposes ``register(router)`` and adds its routes with :meth:`Router.add`.
Handlers receive a :class:`Request` and return a :class:`Response` (or raise :class:`ApiError`).
The server holds ``state.lock`` while a handler runs, so handlers may read and write the
state freely but must never sleep.

Path patterns use ``{name}`` (one path segment) or ``{name:regex}``; a trailing ``/`` is
optional on every route. Path parameters are URL-decoded before they reach the handler.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from ._util import dumps

if TYPE_CHECKING:
    from .server import HubSpotEmulator, TokenInfo
    from .state import EmulatorState

CONTACTS_READ = "crm.objects.contacts.read"
CONTACTS_WRITE = "crm.objects.contacts.write"
LISTS_READ = "crm.lists.read"
LISTS_WRITE = "crm.lists.write"
TIMELINE = "timeline"
FORMS = "forms"
#: Read / write scopes of the other CRM object types (``e-commerce``: products and line items).
OBJECT_SCOPES: frozenset[str] = frozenset(
    f"crm.objects.{kind}.{access}" for kind in ("companies", "deals", "tickets", "e-commerce", "custom")
    for access in ("read", "write"))
SCHEMA_SCOPES: frozenset[str] = frozenset(
    f"crm.schemas.{kind}.{access}" for kind in ("contacts", "companies", "deals", "custom") for access in ("read",
                                                                                                        "write"))
ALL_SCOPES: frozenset[str] = frozenset({CONTACTS_READ, CONTACTS_WRITE, LISTS_READ, LISTS_WRITE, TIMELINE, FORMS,
                                        "tickets", "e-commerce", *OBJECT_SCOPES, *SCHEMA_SCOPES})

#: Date-based API version path segment (``2026-03``, ``2026-09`` ...).
VERSION = r"{version:\d{4}-\d{2}}"

JSON_CT = "application/json;charset=utf-8"


class ApiError(Exception):
    """Raised by handlers to answer with an error status and body."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body!r}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def v1_error(status: int, message: str, **extra: Any) -> ApiError:
    """Legacy (v1) error: ``{"status":"error","message":...}`` plus extra fields."""
    return ApiError(status, {"status": "error", "message": message, **extra})


def v3_error(status: int, message: str, category: str, **extra: Any) -> ApiError:
    """Modern (v3 / date-based) error with a ``category``."""
    return ApiError(status, {"status": "error", "message": message, "category": category, **extra})


@dataclass
class Response:
    """A handler's answer. ``data`` is serialised as JSON unless ``raw`` is given."""

    status: int = 200
    data: Any = None
    raw: bytes | None = None
    content_type: str | None = JSON_CT
    headers: dict[str, str] = field(default_factory=dict)
    #: Send only this many body bytes (with the full Content-Length), then close: a reset mid-body.
    cut_body_at: int | None = None

    def body_bytes(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.data is None:
            return b""
        return dumps(self.data)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status=status, data=data, headers=headers or {})


def empty(status: int = 204) -> Response:
    return Response(status=status, data=None, content_type=None if status == 204 else JSON_CT)


_NOT_PARSED = object()


class Request:
    """One HTTP request as seen by a handler."""

    def __init__(
        self,
        *,
        method: str,
        path: str,
        raw_query: str,
        headers: dict[str, str],
        body: bytes,
        correlation_id: str,
        emulator: HubSpotEmulator,
    ) -> None:
        self.method = method
        self.path = path
        self.raw_query = raw_query
        self.query: dict[str, list[str]] = parse_qs(raw_query, keep_blank_values=True) if raw_query else {}
        self.headers = headers
        self.body = body
        self.correlation_id = correlation_id
        self.emulator = emulator
        self.params: dict[str, str] = {}
        self.token: TokenInfo | None = None
        self.generation = 0  # the emulator's reset() generation when the request arrived
        self._json: Any = _NOT_PARSED

    @property
    def state(self) -> EmulatorState:
        return self.emulator.state

    @property
    def parsed_json(self) -> Any:
        """The parsed body if a handler already parsed it, else ``None`` (no parsing here)."""
        return None if self._json is _NOT_PARSED else self._json

    def json(self, *, required: bool = True) -> Any:
        """Parse the body as JSON; malformed JSON answers 400 like HubSpot."""
        if self._json is _NOT_PARSED:
            if not self.body.strip():
                if required:
                    raise v3_error(400, "Invalid input JSON: request body is empty", "VALIDATION_ERROR")
                self._json = None
            else:
                try:
                    self._json = json.loads(self.body)
                except (ValueError, UnicodeDecodeError) as exc:
                    line = getattr(exc, "lineno", 1)
                    col = getattr(exc, "colno", 1)
                    raise v3_error(
                        400,
                        f"Invalid input JSON on line {line}, column {col}: {exc}",
                        "VALIDATION_ERROR",
                    ) from None
        return self._json

    def json_object(self) -> dict[str, Any]:
        data = self.json()
        if not isinstance(data, dict):
            raise v3_error(400, "Invalid input JSON: expected a JSON object", "VALIDATION_ERROR")
        return data

    def form(self) -> dict[str, str]:
        """Parse an ``application/x-www-form-urlencoded`` body (falls back to a JSON object)."""
        ctype = self.headers.get("content-type", "")
        if "json" in ctype:
            data = self.json(required=False) or {}
            return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        """All values of a repeatable parameter; comma-separated values are split too."""
        out: list[str] = []
        for value in self.query.get(name, []):
            out.extend(part for part in value.split(",") if part)
        return out

    def int_arg(
        self,
        name: str,
        default: int,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
        clamp: bool = True,
        v1: bool = True,
    ) -> int:
        """Integer query parameter. Out-of-range values are clamped, or answer 400 if ``clamp`` is False."""
        raw = self.arg(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            if v1:
                raise v1_error(400, f"Invalid value for parameter {name}: {raw!r}") from None
            raise v3_error(400, f"Invalid value for {name}: {raw!r}", "VALIDATION_ERROR") from None
        if maximum is not None and value > maximum:
            if not clamp:
                raise v3_error(
                    400,
                    f"Invalid value for {name}. {name} must be less than or equal to {maximum}",
                    "VALIDATION_ERROR",
                    context={name: [f"must be less than or equal to {maximum}"]},
                )
            value = maximum
        if minimum is not None and value < minimum:
            if not clamp:
                raise v3_error(
                    400,
                    f"Invalid value for {name}. {name} must be greater than or equal to {minimum}",
                    "VALIDATION_ERROR",
                )
            value = minimum
        return value


Handler = Callable[[Request], Response]

_PARAM_RE = re.compile(r"\{(\w+)(?::((?:[^{}]|\{[^{}]*\})+))?\}")


def _compile(pattern: str) -> tuple[re.Pattern[str], str]:
    """Compile a route pattern; also return its literal prefix (text before the first parameter)."""
    pattern = pattern.rstrip("/") or "/"
    out: list[str] = []
    pos = 0
    prefix_end = None
    for match in _PARAM_RE.finditer(pattern):
        if prefix_end is None:
            prefix_end = match.start()
        out.append(re.escape(pattern[pos : match.start()]))
        out.append(f"(?P<{match.group(1)}>{match.group(2) or '[^/]+'})")
        pos = match.end()
    out.append(re.escape(pattern[pos:]))
    literal_prefix = (pattern if prefix_end is None else pattern[:prefix_end]).rstrip("/")
    return re.compile("^" + "".join(out) + "/?$"), literal_prefix


@dataclass
class Route:
    method: str
    pattern: str
    handler: Handler
    regex: re.Pattern[str]
    prefix: str
    #: Any one of these grants access; a function of the request when the scope depends on a path
    #: parameter (the object type of ``/crm/v3/objects/{objectType}``).
    scopes: tuple[str, ...] | Callable[[Request], tuple[str, ...]]
    auth: str
    rate: str
    write: bool
    tags: frozenset[str]
    #: JSON schema of the request body, checked by a strict emulator (see ``bodies.py``).
    body: dict[str, Any] | None = None
    #: The ``{version}`` path values HubSpot publishes for this route; others answer 404 when strict.
    versions: tuple[str, ...] | None = None


class Router:
    """An ordered route table; the first route whose pattern and method match wins."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(
        self,
        method: str,
        pattern: str,
        handler: Handler,
        *,
        scopes: Iterable[str] | Callable[[Request], tuple[str, ...]] = (),
        auth: str = "bearer",
        rate: str = "standard",
        write: bool | None = None,
        tags: Iterable[str] = (),
        body: dict[str, Any] | None = None,
        versions: Iterable[str] | None = None,
    ) -> None:
        """Register a route.

        :param scopes: any one of these scopes grants access (HubSpot's "one or more of"); or a function of
            the request returning them.
        :param auth: ``"bearer"`` (private-app / OAuth token), ``"devkey"`` (``?hapikey=`` developer
            key) or ``"none"``.
        :param rate: ``"standard"`` (10-second window + daily), ``"search"`` (per-second bucket, no
            headers) or ``"none"``.
        :param write: counts in ``stats["writes"]`` when it succeeds; default: any method but GET.
        :param tags: free-form markers, e.g. ``"v1_lists"`` (switched off by the sunset knob),
            ``"oauth"`` (exempt from random faults) or ``"oauth_2026"``.
        :param body: the request body's schema (``bodies.py``), checked before the handler runs when the
            emulator is strict.
        :param versions: for a pattern with ``{version}``: the date versions HubSpot publishes for it
            (``versions.py``); a strict emulator answers 404 to any other.
        """
        if auth not in {"bearer", "devkey", "none"}:
            raise ValueError(f"unknown auth kind {auth!r}")
        if rate not in {"standard", "search", "none"}:
            raise ValueError(f"unknown rate kind {rate!r}")
        regex, prefix = _compile(pattern)
        self.routes.append(
            Route(
                method=method.upper(),
                pattern=pattern,
                handler=handler,
                regex=regex,
                prefix=prefix,
                scopes=scopes if callable(scopes) else tuple(scopes),
                auth=auth,
                rate=rate,
                write=(method.upper() != "GET") if write is None else write,
                tags=frozenset(tags),
                body=body,
                versions=tuple(versions) if versions is not None else None,
            )
        )

    def required_scopes(self, route: Route, req: Request) -> tuple[str, ...]:
        """The scopes ``route`` asks of ``req`` (any one of them grants access)."""
        return route.scopes(req) if callable(route.scopes) else route.scopes

    def resolve(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        """Find the route for ``method path``.

        Returns ``(route, params, [])`` on a match, ``(None, {}, allowed_methods)`` when the path
        exists under other methods (405), and ``(None, {}, [])`` when nothing matches (404).
        """
        allowed: list[str] = []
        for route in self.routes:
            if not path.startswith(route.prefix):
                continue
            match = route.regex.match(path)
            if match is None:
                continue
            if route.method != method:
                if route.method not in allowed:
                    allowed.append(route.method)
                continue
            return route, {k: unquote(v) for k, v in match.groupdict().items()}, []
        return None, {}, allowed
