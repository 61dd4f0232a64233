"""Credentials: static bearer token, OAuth refresh, developer key, legacy account ``hapikey``.

The transport asks an :class:`Auth` for the headers and query parameters of each request. OAuth
refresh goes through a ``post_form`` callable the transport provides, so the token endpoint shares
the same session, timeouts and error mapping as every other call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from airflow_provider_hubspot.client.errors import (
    HubSpotAuthError,
    HubSpotConfigError,
    HubSpotError,
    HubSpotMissingScopesError,
    HubSpotNotFoundError,
    HubSpotRefreshError,
    HubSpotValidationError,
)

#: Token endpoints tried in order: the date-based one first, then v1 (off on 2027-02-16).
DEFAULT_TOKEN_PATHS: tuple[str, ...] = ("/oauth/2026-03/token", "/oauth/v1/token")

PostForm = Callable[[str, dict[str, str]], Any]


class Auth:
    """Supplies credentials to the transport.

    :param access_token: static bearer token (private-app token, service key) or a current OAuth
        access token.
    :param client_id: OAuth client id (with ``client_secret`` and ``refresh_token``: OAuth refresh).
    :param client_secret: OAuth client secret.
    :param refresh_token: OAuth refresh token.
    :param developer_api_key: developer key, sent as ``hapikey`` only on app-management calls.
    :param legacy_hapikey: account API key (sunset by HubSpot on 2022-11-30); only honoured with
        ``allow_legacy_hapikey=True``.
    :param refresh_margin: refresh this many seconds before the access token expires.
    """

    def __init__(
        self,
        *,
        access_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        refresh_token: str | None = None,
        developer_api_key: str | None = None,
        legacy_hapikey: str | None = None,
        allow_legacy_hapikey: bool = False,
        token_paths: Sequence[str] = DEFAULT_TOKEN_PATHS,
        refresh_margin: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        oauth_parts = [client_id, client_secret, refresh_token]
        if any(oauth_parts) and not all(oauth_parts):
            raise HubSpotConfigError(
                "OAuth refresh needs client_id, client_secret and refresh_token together; "
                "set all three in the connection extras, or none and use a static access token."
            )
        if legacy_hapikey and not allow_legacy_hapikey:
            raise HubSpotConfigError(
                "Account API keys (hapikey) stopped working on 2022-11-30. Use a private-app token or "
                "service key as the connection password, or set allow_legacy_hapikey=True if you "
                "really target a legacy endpoint."
            )
        self._access_token = (access_token or "").strip() or None
        self.client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._developer_api_key = developer_api_key
        self._legacy_hapikey = legacy_hapikey
        self.token_paths = tuple(token_paths)
        self.refresh_margin = refresh_margin
        self._clock = clock
        self._expires_at: float | None = None
        self._lock = threading.Lock()
        self._generation = 0
        self.refresh_count = 0
        self.on_new_secret: Callable[[str], None] | None = None
        if not (self._access_token or self.can_refresh or developer_api_key or legacy_hapikey):
            raise HubSpotConfigError(
                "No HubSpot credentials: put a private-app token or service key in the connection's "
                "password field, or configure OAuth (client_id, client_secret, refresh_token)."
            )

    @property
    def can_refresh(self) -> bool:
        return bool(self.client_id and self._client_secret and self._refresh_token)

    @property
    def has_developer_key(self) -> bool:
        return bool(self._developer_api_key)

    def secrets(self) -> list[str]:
        """Every secret value this object knows, for redaction."""
        values = [
            self._access_token,
            self._client_secret,
            self._refresh_token,
            self._developer_api_key,
            self._legacy_hapikey,
        ]
        return [v for v in values if v]

    def rate_limit_identity(self) -> str:
        """What names the app in the portal whose rate limit these credentials use (hashed by the
        caller, never sent anywhere): the OAuth client id and refresh token (one installation), else the
        static token (a private-app token or service key is one app in one portal)."""
        if self.can_refresh:
            return f"oauth:{self.client_id}:{self._refresh_token}"
        return f"token:{self._access_token or self._developer_api_key or self._legacy_hapikey or ''}"

    def generation(self) -> int:
        """A number that changes whenever the access token changes."""
        return self._generation

    def apply(
        self, headers: dict[str, str], params: dict[str, Any], *, developer: bool, post_form: PostForm
    ) -> None:
        """Add the credentials for one request to ``headers`` / ``params``."""
        if developer:
            if not self._developer_api_key:
                raise HubSpotConfigError(
                    "This call manages app settings (timeline event types/templates) and needs the "
                    "developer API key: set `developer_api_key` in the connection extras."
                )
            params["hapikey"] = self._developer_api_key
            return
        # The generation is read BEFORE the expiry check: a thread that found the token expired and
        # then lost the race to another refreshing thread sees a changed generation and does not
        # refresh a second time (read after the check, it could already be the new generation).
        seen_generation = self._generation
        if self.can_refresh and self._needs_refresh():
            self.refresh(post_form, seen_generation=seen_generation)
        if self._access_token:
            headers["Authorization"] = f"Bearer {self._access_token}"
        elif self._legacy_hapikey:
            params["hapikey"] = self._legacy_hapikey
        else:
            raise HubSpotConfigError(
                "This call needs a bearer token (private-app token, service key or OAuth); the "
                "connection only has a developer API key."
            )

    def _needs_refresh(self) -> bool:
        if not self._access_token:
            return True
        return self._expires_at is not None and self._clock() >= self._expires_at - self.refresh_margin

    def refresh(self, post_form: PostForm, *, seen_generation: int) -> None:
        """Fetch a new access token, once even when many threads ask at the same time.

        :param seen_generation: the :meth:`generation` the caller used (read before it decided the
            token needs refreshing); if the token changed since, another thread already refreshed and
            nothing is done: exactly one token call however many threads found the token expired.
        """
        if not self.can_refresh:
            raise HubSpotAuthError(
                "The access token was rejected as expired and no OAuth refresh is configured: renew "
                "the token in the connection, or set client_id, client_secret and refresh_token."
            )
        with self._lock:
            if self._generation != seen_generation:
                return
            form = {
                "grant_type": "refresh_token",
                "client_id": self.client_id or "",
                "client_secret": self._client_secret or "",
                "refresh_token": self._refresh_token or "",
            }
            last_error: HubSpotError | None = None
            for path in self.token_paths:
                try:
                    body = post_form(path, form)
                except HubSpotNotFoundError as exc:  # date-based endpoint not served: fall back
                    last_error = exc
                    continue
                except (HubSpotAuthError, HubSpotValidationError, HubSpotMissingScopesError) as exc:
                    raise HubSpotRefreshError(
                        f"OAuth refresh was refused: {exc.message}. Re-authorize the app and store the "
                        "new refresh token in the connection.",
                        status=exc.status,
                        category=exc.category,
                        correlation_id=exc.correlation_id,
                        request=exc.request,
                    ) from None
                self._store_token(body)
                return
            assert last_error is not None
            raise last_error

    def _store_token(self, body: Any) -> None:
        if not isinstance(body, dict) or not body.get("access_token"):
            raise HubSpotRefreshError("The OAuth token endpoint answered without an access_token.")
        self._access_token = str(body["access_token"])
        new_refresh = body.get("refresh_token")
        if new_refresh:
            self._refresh_token = str(new_refresh)
        expires_in = body.get("expires_in")
        try:
            self._expires_at = self._clock() + float(expires_in) if expires_in is not None else None
        except (TypeError, ValueError):
            self._expires_at = None
        self._generation += 1
        self.refresh_count += 1
        if self.on_new_secret:
            self.on_new_secret(self._access_token)
            if new_refresh:
                self.on_new_secret(str(new_refresh))

    def __repr__(self) -> str:
        kinds = []
        if getattr(self, "_access_token", None):
            kinds.append("token")
        if getattr(self, "_refresh_token", None):
            kinds.append("oauth-refresh")
        if getattr(self, "_developer_api_key", None):
            kinds.append("developer-key")
        if getattr(self, "_legacy_hapikey", None):
            kinds.append("legacy-hapikey")
        return f"Auth({', '.join(kinds)}; secrets hidden)"
