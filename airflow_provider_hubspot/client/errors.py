"""Typed errors raised by the HubSpot client.

Every error carries the HTTP status, HubSpot's ``category`` (or ``policyName`` for 429s), the message,
the correlation id to quote to HubSpot support and the request that failed (method and path only:
query strings may carry a developer key and are never included).
"""

from __future__ import annotations

from typing import Any


class HubSpotError(Exception):
    """Base class of every error the client raises.

    :param message: HubSpot's message (already redacted) or our own explanation.
    :param status: HTTP status, when a response was received.
    :param category: HubSpot's ``category`` / ``policyName`` / ``error`` code, when given.
    :param correlation_id: HubSpot's correlation id, when given.
    :param request: ``"METHOD /path"`` of the failed request, when there was one.
    :param body: the parsed (redacted) response body, for callers that need its details.
    """

    #: Whether retrying the same request can succeed (used by the transport's retry policy).
    retryable: bool = False
    #: Seconds since an earlier attempt of the same call that HubSpot may have applied (its answer
    #: was lost), when there was one: the error may be this call's own first attempt seen again
    #: (e.g. "already exists").
    lost_attempt_age: float | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        category: str | None = None,
        correlation_id: str | None = None,
        request: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.category = category
        self.correlation_id = correlation_id
        self.request = request
        self.body = body

    def __str__(self) -> str:
        parts = []
        if self.status is not None:
            parts.append(f"HubSpot {self.status}")
        if self.category:
            parts.append(self.category)
        head = " ".join(parts)
        text = f"{head}: {self.message}" if head else self.message
        details = []
        if self.request:
            details.append(self.request)
        if self.correlation_id:
            details.append(f"correlation id {self.correlation_id}")
        return f"{text} ({'; '.join(details)})" if details else text


class HubSpotConfigError(HubSpotError, ValueError):
    """Invalid client configuration or arguments: fix the input, retrying cannot help."""


class HubSpotAuthError(HubSpotError):
    """401: the token is missing, invalid or expired (and could not be refreshed)."""


class HubSpotMissingScopesError(HubSpotError):
    """403: the credentials are valid but lack a scope (or the account lacks the feature)."""

    @property
    def required_scopes(self) -> list[str]:
        scopes: list[str] = []
        for error in (self.body or {}).get("errors", []) if isinstance(self.body, dict) else []:
            context = error.get("context") or {}
            scopes.extend(context.get("requiredScopes") or context.get("requiredGranularScopes") or [])
        return scopes


class HubSpotNotFoundError(HubSpotError):
    """404: unknown record, list, property or endpoint (v1 lists answer 404 since 2026-04-30)."""


class HubSpotValidationError(HubSpotError):
    """400 (or 405/413/414): HubSpot rejected the request's content."""


class HubSpotConflictError(HubSpotError):
    """409: the record already exists (the existing id is in :attr:`existing_id` when HubSpot says it)."""

    @property
    def existing_id(self) -> str | None:
        import re

        match = re.search(r"Existing ID:\s*(\d+)", self.message)
        if match:
            return match.group(1)
        if isinstance(self.body, dict):
            vid = (self.body.get("identityProfile") or {}).get("vid")
            return str(vid) if vid is not None else None
        return None


class HubSpotRateLimitError(HubSpotError):
    """429 on the ten-secondly or secondly (search) limit; retried by the transport."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class HubSpotDailyLimitError(HubSpotRateLimitError):
    """429 ``DAILY``: the account's daily request allowance is used up; never retried.

    The allowance resets at midnight in the HubSpot account's time zone.
    """

    retryable = False


class HubSpotServerError(HubSpotError):
    """5xx / 52x / 423 / 477 or an unreadable 2xx body: transient, retried with backoff."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class HubSpotConnectionError(HubSpotError):
    """The request did not complete: connection refused or reset, or timed out. Retried."""

    retryable = True


class HubSpotRefreshError(HubSpotAuthError):
    """The OAuth refresh token was rejected (revoked, expired, or wrong client id/secret)."""


class HubSpotRetryAfterTooLongError(HubSpotRateLimitError):
    """429 whose ``Retry-After`` exceeds the transport's ``max_retry_after``: not waited for, not retried.

    Sleeping that long would hold the task (and, through the shared pacing, every other thread) back;
    the operators treat it like any other rate-limit stop and save the unsent records to the resume
    file.
    """

    retryable = False


class HubSpotPagingError(HubSpotServerError):
    """HubSpot's paging went wrong: ``has-more`` without a new cursor, or a cursor seen before (a loop).

    Retrying the same request would only repeat the answer, so it is not retried.
    """

    retryable = False
