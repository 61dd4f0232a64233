"""``HubSpotHook``: turns an Airflow ``hubspot`` connection into a :class:`HubSpotClient`."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cached_property
from typing import Any

from airflow_provider_hubspot._compat import BaseHook, mask_secret
from airflow_provider_hubspot.client import HubSpotClient, HubSpotConfigError, HubSpotError
from airflow_provider_hubspot.client.errors import (
    HubSpotAuthError,
    HubSpotConnectionError,
    HubSpotMissingScopesError,
)
from airflow_provider_hubspot.connection_fields import EXTRA_FIELDS, SECRET_EXTRAS, UI_FIELD_BEHAVIOUR

#: An account API key ("hapikey"): a bare UUID. Private-app tokens (``pat-<region>-<uuid>``) and OAuth
#: access tokens (long opaque strings) never have this shape. With ``allow_legacy_hapikey`` the check
#: is skipped, as for the ``legacy_hapikey`` extra: the user said they target legacy keys on purpose.
_ACCOUNT_API_KEY = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


class HubSpotHook(BaseHook):
    """Interact with HubSpot through one paced, retrying client.

    The connection's password is the access token (private-app token, service key or OAuth access
    token); the host is the API base URL (empty for ``https://api.hubapi.com``). Extras:
    ``api_version``, ``rate_limit``, ``client_id`` / ``client_secret`` / ``refresh_token`` (OAuth
    refresh), ``developer_api_key``, ``max_retries``, ``timeout``, ``allow_insecure_http`` (send the
    token over plain ``http://`` to a host other than this machine), ``rate_limit_backend_conn_id`` (a
    Redis connection on which every task of the portal shares one rate budget) and ``rate_limit_key``
    (names that shared budget; default: derived from the credentials).

    :param hubspot_conn_id: the Airflow connection id.
    :param api_version: overrides the connection's ``api_version`` (``2026-09`` default, ``2026-03``,
        ``v3``, ``v1``); each API family uses the newest version it has that is not newer.
    """

    conn_name_attr = "hubspot_conn_id"
    default_conn_name = "hubspot_default"
    conn_type = "hubspot"
    hook_name = "HubSpot"

    def __init__(self, hubspot_conn_id: str = default_conn_name, api_version: str | None = None,
                 rate_limit_backend_conn_id: str | None = None) -> None:
        super().__init__()
        self.hubspot_conn_id = hubspot_conn_id
        self.api_version = api_version
        self.rate_limit_backend_conn_id = rate_limit_backend_conn_id

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Extra fields of the connection form (Airflow 2.x; Airflow 3 reads provider info)."""
        from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import BooleanField, IntegerField, PasswordField, StringField

        widgets: dict[str, Any] = {}
        for name, (label, kind, default, description, sensitive) in EXTRA_FIELDS.items():
            if kind == "boolean":
                widgets[name] = BooleanField(lazy_gettext(label), default=bool(default), description=description)
            elif sensitive:
                widgets[name] = PasswordField(lazy_gettext(label), widget=BS3PasswordFieldWidget(),
                                              description=description)
            elif kind == "integer":
                widgets[name] = IntegerField(lazy_gettext(label), widget=BS3TextFieldWidget(),
                                             description=description)
            else:
                widgets[name] = StringField(lazy_gettext(label), widget=BS3TextFieldWidget(),
                                            description=description)
        return widgets

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Field relabelling and hiding for the connection form (Airflow 2.x)."""
        return UI_FIELD_BEHAVIOUR

    @cached_property
    def client(self) -> HubSpotClient:
        overrides: dict[str, Any] = {"rate_limit_backend_conn_id": self.rate_limit_backend_conn_id} \
            if self.rate_limit_backend_conn_id else {}
        client = self.client_from_connection(self.get_connection(self.hubspot_conn_id), self.api_version,
                                             **overrides)
        self.log.info("%s", client.edition.describe())  # once per task: the version each API family uses
        return client

    def get_conn(self) -> HubSpotClient:
        """Return the (cached) :class:`HubSpotClient` for this connection."""
        return self.client

    @staticmethod
    def client_from_connection(
        conn: Any, api_version: str | None = None, *, mask: Callable[[str], None] | None = None, **overrides: Any
    ) -> HubSpotClient:
        """Build a client from a connection object (sync or async lookup; also used by triggers).

        :param mask: registers secrets with Airflow's masker (triggers pass a loop-safe one).
        """
        mask = mask or mask_secret
        extras = _extras(conn)
        token = conn.password or extras.get("access_token")
        for secret in [token, *(extras.get(name) for name in SECRET_EXTRAS)]:
            if secret:
                mask(secret)
        has_other_credentials = extras.get("refresh_token") or extras.get("developer_api_key") or extras.get(
            "legacy_hapikey")
        if not str(token or "").strip() and not has_other_credentials:
            raise HubSpotConfigError(
                f"Connection {conn.conn_id!r} has an empty access token: put a private-app token or "
                "service key in the password field, or configure OAuth extras."
            )
        allow_legacy_hapikey = _bool(extras.get("allow_legacy_hapikey"))
        if token and not allow_legacy_hapikey and _ACCOUNT_API_KEY.fullmatch(str(token).strip()):
            raise HubSpotConfigError(
                f"Connection {conn.conn_id!r}: the access token looks like an account API key (hapikey, "
                "the xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx shape). HubSpot sunset account API keys on "
                "2022-11-30 and answers every request made with one with 401. Create a private app in "
                "your HubSpot account (Settings > Integrations > Private apps) and put its access token "
                "(pat-na1-...) in the password field, or use OAuth (extras client_id, client_secret, "
                "refresh_token). A developer API key has the same shape: it belongs in the "
                "developer_api_key extra, not in the password."
            )
        allow_insecure_http = _bool(extras.get("allow_insecure_http"))
        options: dict[str, Any] = {
            "base_url": _base_url(conn, allow_insecure_http=allow_insecure_http),
            "allow_insecure_http": allow_insecure_http,
            "api_version": api_version or extras.get("api_version"),
            "client_id": extras.get("client_id"),
            "client_secret": extras.get("client_secret"),
            "refresh_token": extras.get("refresh_token"),
            "developer_api_key": extras.get("developer_api_key"),
            "legacy_hapikey": extras.get("legacy_hapikey"),
            "allow_legacy_hapikey": allow_legacy_hapikey,
            "on_new_secret": mask,
        }
        for name, minimum in (("rate_limit", 1), ("max_retries", 0), ("timeout", 1), ("search_rate_limit", 1)):
            if extras.get(name) not in (None, ""):
                options[name] = _number(conn.conn_id, name, extras[name], minimum)
        for name in ("rate_limit_interval", "backoff_base", "backoff_max", "max_retry_after"):  # tuning, not in UI
            if extras.get(name) not in (None, ""):
                options[name] = _seconds(conn.conn_id, name, extras[name])
        backend_conn_id = overrides.pop("rate_limit_backend_conn_id", None) or extras.get(
            "rate_limit_backend_conn_id")
        if backend_conn_id:
            options["rate_limit_backend"] = redis_rate_limit_backend(str(backend_conn_id))
        if extras.get("rate_limit_key"):
            options["rate_limit_key"] = str(extras["rate_limit_key"])
        options.update(overrides)
        return HubSpotClient(token, **options)

    def test_connection(self) -> tuple[bool, str]:
        """Make one cheap authenticated call and say plainly what is wrong, if anything."""
        try:
            client = self.get_conn()
            if client.edition.is_v1:
                client.transport.request("GET", "/contacts/v1/lists/all/contacts/all",
                                         params={"count": 1}, retry=False)
            else:
                client.transport.request("GET", client.edition.crm_objects("contacts"),
                                         params={"limit": 1}, retry=False)
        except HubSpotConfigError as exc:
            return False, f"Connection is misconfigured: {exc}"
        except HubSpotAuthError as exc:
            return False, f"HubSpot rejected the credentials (check the access token or OAuth settings): {exc}"
        except HubSpotMissingScopesError as exc:
            scopes = ", ".join(exc.required_scopes) or "crm.objects.contacts.read"
            return False, f"The token is valid but lacks a scope ({scopes}): {exc}"
        except HubSpotConnectionError as exc:
            return False, f"HubSpot is unreachable at {self.get_conn().base_url}: {exc}"
        except HubSpotError as exc:
            return False, f"HubSpot answered with an error: {exc}"
        return True, f"Connected to HubSpot at {client.base_url} (api_version {client.edition})."


def redis_rate_limit_backend(redis_conn_id: str) -> Any:
    """A shared rate-limit window on the Airflow Redis connection ``redis_conn_id``.

    Needs ``apache-airflow-providers-redis`` (``pip install "airflow-provider-hubspot[redis]"``). The
    connection is looked up when the first request is paced (in the task, or a trigger's worker thread),
    so a Redis that is down then only makes the client pace locally, with a warning.
    """
    try:
        from airflow.providers.redis.hooks.redis import RedisHook
    except ImportError:
        raise HubSpotConfigError(
            f"rate_limit_backend_conn_id={redis_conn_id!r} needs the Redis provider: install "
            "airflow-provider-hubspot[redis] (apache-airflow-providers-redis) on every worker."
        ) from None
    from airflow_provider_hubspot.client.ratelimit import LazyWindowBackend, RedisWindowBackend

    return LazyWindowBackend(lambda: RedisWindowBackend(RedisHook(redis_conn_id=redis_conn_id).get_conn()))


def _extras(conn: Any) -> dict[str, Any]:
    raw = conn.extra_dejson if hasattr(conn, "extra_dejson") else {}
    extras: dict[str, Any] = {}
    for key, value in (raw or {}).items():
        extras[key.removeprefix("extra__hubspot__")] = value
    return extras


def _base_url(conn: Any, *, allow_insecure_http: bool = False) -> str | None:
    from airflow_provider_hubspot.client.transport import normalize_base_url

    if not conn.host:
        return None
    return normalize_base_url(conn.host, schema=conn.schema, port=conn.port, allow_insecure_http=allow_insecure_http)


def _number(conn_id: str, name: str, value: Any, minimum: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise HubSpotConfigError(
            f"Connection {conn_id!r}: extra {name!r} must be a whole number, got {value!r}."
        ) from None
    if number < minimum:
        raise HubSpotConfigError(f"Connection {conn_id!r}: extra {name!r} must be >= {minimum}, got {number}.")
    return number


def _seconds(conn_id: str, name: str, value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if seconds < 0:
        raise HubSpotConfigError(f"Connection {conn_id!r}: extra {name!r} must be a number of seconds, got {value!r}.")
    return seconds


def _bool(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")
