"""The ``hubspot`` connection's extra fields: one list for Airflow 3's declarative ``conn-fields``
and Airflow 2's hook form widgets. Kept free of Airflow imports (provider discovery reads it)."""

from __future__ import annotations

from typing import Any

#: name -> (label, JSON-schema type, default, description, sensitive)
EXTRA_FIELDS: dict[str, tuple[str, str, Any, str, bool]] = {
    "api_version": ("API version", "string", "2026-09",
                    "2026-09 (default) or 2026-03 (each API family uses its newest version not newer, e.g. "
                    "timeline 2026-03), v3, or v1 for the legacy endpoints", False),
    "rate_limit": ("Rate limit (requests / 10 s)", "integer", 100,
                   "100 Free/Starter; 190 Professional/Enterprise; 250 with the API limit pack", False),
    "client_id": ("OAuth client ID", "string", None, "with client secret + refresh token: OAuth", False),
    "client_secret": ("OAuth client secret", "string", None, "OAuth app client secret", True),
    "refresh_token": ("OAuth refresh token", "string", None, "the access token is refreshed from it", True),
    "developer_api_key": ("Developer API key", "string", None,
                          "only for timeline event types/templates (app management)", True),
    "rate_limit_backend_conn_id": ("Shared rate budget (Redis connection id)", "string", None,
                                   "a Redis connection on which all tasks and workers of this portal share "
                                   "one rate budget (needs the [redis] extra)", False),
    "max_retries": ("Max retries", "integer", 6, "retries on 429/5xx/timeouts per request", False),
    "timeout": ("Timeout (s)", "integer", 60, "connect/read timeout per request", False),
    "allow_insecure_http": ("Allow plain HTTP", "boolean", False,
                            "send the token over http:// to a host other than this machine (clear text; "
                            "trusted networks only)", False),
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden_fields": ["schema", "port", "login", "extra"],
    "relabeling": {"password": "Access token", "host": "API base URL"},
    "placeholders": {
        "password": "private-app token, service key or OAuth access token",
        "host": "https://api.hubapi.com (leave empty) or http://127.0.0.1:8765 for the emulator",
        "api_version": "2026-09",
        "rate_limit": "100",
    },
}

#: Extras whose values are secrets (masked, never logged).
SECRET_EXTRAS = tuple(name for name, spec in EXTRA_FIELDS.items() if spec[4])


def provider_conn_fields() -> dict[str, Any]:
    """``conn-fields`` for ``get_provider_info()`` (Airflow >= 3.2 reads these)."""
    fields: dict[str, Any] = {}
    for name, (label, kind, default, description, sensitive) in EXTRA_FIELDS.items():
        schema: dict[str, Any] = {"type": [kind, "null"]}
        if default is not None:
            schema["default"] = default
        if sensitive:
            schema["format"] = "password"  # Airflow masks these in the UI
        fields[name] = {"label": label, "schema": schema, "description": description}
    return fields


def provider_ui_field_behaviour() -> dict[str, Any]:
    """``ui-field-behaviour`` in the hyphenated form of provider info."""
    return {
        "hidden-fields": UI_FIELD_BEHAVIOUR["hidden_fields"],
        "relabeling": UI_FIELD_BEHAVIOUR["relabeling"],
        "placeholders": UI_FIELD_BEHAVIOUR["placeholders"],
    }
