"""Email: subscriptions (opt-out), email events, campaigns, SMTP API tokens and single send.

The v1 paths (``/email/public/v1/...``) are HubSpot's v1 Email API; HubSpot has no date-based
successor for email events and campaigns, so every method here uses its own fixed path whatever
``api_version`` says. Modern equivalents are separate methods with their own names:

* subscriptions → ``/communication-preferences/v3`` (``*_communication_*`` methods);
* SMTP API tokens → ``/marketing/v3/transactional/smtp-tokens`` (``*_transactional_smtp_*``);
* single send → ``/marketing/v3/transactional/single-email/send`` (:meth:`EmailAPI.send_transactional_email`).

SMTP passwords are secrets: they appear only in the return value of the call that creates them
(token creation, password reset) and are registered with the transport's redaction at once, so
they are masked if they ever reach a log line or an error message.

Retries: single sends always carry a ``sendId`` (generated when the caller gives none) because HubSpot
sends at most one email per send id, so a send whose answer was lost is retried without a second
email. SMTP token creation has no such key and is retried only after failures that prove HubSpot did
not apply it. Every write says in its docstring whether and why a retry is safe; reads always are.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

from airflow_provider_hubspot.client.errors import HubSpotConfigError
from airflow_provider_hubspot.client.family import ApiFamily
from airflow_provider_hubspot.client.paging import CURSOR, HAS_MORE, has_list, paginate

log = logging.getLogger(__name__)
V1 = "/email/public/v1"
COMMUNICATION_PREFERENCES = "/communication-preferences/v3"
TRANSACTIONAL = "/marketing/v3/transactional"
#: HubSpot's documented maximum page size of the email events endpoint.
EVENTS_PAGE_MAX = 1000
LEGAL_BASES = (
    "LEGITIMATE_INTEREST_PQL",
    "LEGITIMATE_INTEREST_CLIENT",
    "PERFORMANCE_OF_CONTRACT",
    "CONSENT_WITH_NOTICE",
    "NON_GDPR",
    "PROCESS_AND_STORE",
    "LEGITIMATE_INTEREST_OTHER",
)


def _email_path(email: str) -> str:
    if not email or "@" not in str(email):
        raise HubSpotConfigError(f"{email!r} is not an e-mail address.")
    return quote(str(email).strip(), safe="@")


def _check_legal_basis(value: str | None) -> None:
    if value is not None and value not in LEGAL_BASES:
        raise HubSpotConfigError(f"legal_basis {value!r} is not one of {', '.join(LEGAL_BASES)}.")


def _new_send_id() -> str:
    return f"airflow-{uuid.uuid4()}"


def _own_duplicate(body: Any, generated: bool) -> Any:
    """The answer to a send whose ``sendId`` this client generated: ``IDEMPOTENT_IGNORE`` can only mean
    that an earlier attempt of the same call (whose answer was lost) was accepted, so it is reported as
    that attempt's ``SENT``."""
    if generated and isinstance(body, dict) and body.get("sendResult") == "IDEMPOTENT_IGNORE":
        log.info("HubSpot had already accepted send id %s from an earlier attempt of this call (its answer was "
                 "lost): the email was sent once", body.get("sendId"))
        return {**body, "sendResult": "SENT"}
    return body


def _name_values(values: Mapping[str, Any] | Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """``{"name": value}`` (or already ``[{"name", "value"}]``) -> v1's ``[{"name", "value"}]``."""
    if values is None:
        return []
    if isinstance(values, Mapping):
        return [{"name": str(k), "value": v} for k, v in values.items()]
    return [dict(item) for item in values]


class EmailAPI(ApiFamily):
    """Email subscriptions, events, campaigns, SMTP tokens and single send (fixed paths in every edition)."""

    def _remember_password(self, body: Any) -> Any:
        """Register an SMTP password with the transport's redaction before anyone can log it."""
        if isinstance(body, dict) and body.get("password"):
            register = self.transport.auth.on_new_secret or self.transport._register_secret
            register(str(body["password"]))
        return body

    # -- subscriptions (v1) ----------------------------------------------------------------------

    def iter_subscription_types(self, *, portal_id: str | int | None = None) -> Iterator[dict[str, Any]]:
        """Yield the account's email subscription types (``GET /email/public/v1/subscriptions``).

        :param portal_id: the HubSpot account id (optional: the token's account is used).

        Retry: safe — a read.
        """
        params = {"portalId": portal_id} if portal_id else None

        def fetch(cursor: dict[str, Any]) -> Any:
            return self.transport.request("GET", f"{V1}/subscriptions", params=params,
                                          expect=has_list("subscriptionDefinitions")).body

        return paginate(fetch, HAS_MORE, "subscriptionDefinitions")

    def get_subscription_status(self, email: str, *, portal_id: str | int | None = None) -> dict[str, Any]:
        """Subscription status of one address: ``subscribed``, ``markedAsSpam``, ``bounced``, ``status`` and
        ``subscriptionStatuses`` (types with a true/false value only). Works for addresses no contact has.

        :param email: the e-mail address.
        :param portal_id: the HubSpot account id (optional).

        Retry: safe — a read.
        """
        params = {"portalId": portal_id} if portal_id else None
        return self.transport.request("GET", f"{V1}/subscriptions/{_email_path(email)}", params=params,
                                      expect=lambda b: isinstance(b, dict)).body

    def update_subscription(
        self,
        email: str,
        subscription_statuses: Iterable[Mapping[str, Any]],
        *,
        portal_legal_basis: str | None = None,
        portal_legal_basis_explanation: str | None = None,
    ) -> Any:
        """Set the status of individual subscription types for one address.

        Each status is ``{"id": <type id>, "subscribed": bool, "optState"?, "legalBasis"?,
        "legalBasisExplanation"?}``. An opt-out (``subscribed: false``) cannot be undone through this API.
        To leave every type at once use :meth:`unsubscribe_from_all_irreversibly`.

        :param email: the e-mail address.
        :param subscription_statuses: the statuses to set.
        :param portal_legal_basis: GDPR legal basis for the account-level subscription.
        :param portal_legal_basis_explanation: its explanation.

        Retry: safe — it sets statuses; setting the same ones again changes nothing.
        """
        statuses = [dict(s) for s in subscription_statuses]
        if not statuses:
            raise HubSpotConfigError("subscription_statuses is empty: name at least one subscription type.")
        for status in statuses:
            if "id" not in status:
                raise HubSpotConfigError(f"Subscription status {status!r} has no 'id' (the subscription type id).")
            _check_legal_basis(status.get("legalBasis"))
        _check_legal_basis(portal_legal_basis)
        body: dict[str, Any] = {"subscriptionStatuses": statuses}
        if portal_legal_basis:
            body["portalSubscriptionLegalBasis"] = portal_legal_basis
        if portal_legal_basis_explanation:
            body["portalSubscriptionLegalBasisExplanation"] = portal_legal_basis_explanation
        return self.transport.request("PUT", f"{V1}/subscriptions/{_email_path(email)}", json_body=body).body

    def unsubscribe_from_all_irreversibly(self, email: str) -> Any:
        """Unsubscribe ``email`` from ALL email of the account. IRREVERSIBLE: HubSpot offers no API to
        opt the address back in, and it applies even if no contact has this address.

        :param email: the e-mail address to opt out permanently.

        Retry: safe — opting out an address that is already opted out changes nothing.
        """
        return self.transport.request("PUT", f"{V1}/subscriptions/{_email_path(email)}",
                                      json_body={"unsubscribeFromAll": True}).body

    def iter_subscription_timeline(
        self,
        *,
        change_type: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        include_snapshots: bool = False,
        page_size: int = 100,
    ) -> Iterator[dict[str, Any]]:
        """Yield subscription changes newest first (``GET /email/public/v1/subscriptions/timeline``).

        :param change_type: only this change type (case-sensitive, e.g. ``SUBSCRIPTION_STATUS``).
        :param start_ms: only items at or after this epoch-ms timestamp.
        :param end_ms: only items at or before this epoch-ms timestamp.
        :param include_snapshots: include the recipient's full subscription snapshot in each item.
        :param page_size: items per request.

        Retry: safe — a read.
        """
        params: list[tuple[str, Any]] = [("limit", max(1, page_size))]
        if change_type:
            params.append(("changeType", change_type))
        if start_ms is not None:
            params.append(("startTimestamp", int(start_ms)))
        if end_ms is not None:
            params.append(("endTimestamp", int(end_ms)))
        if include_snapshots:
            params.append(("includeSnapshots", "true"))

        def fetch(cursor: dict[str, Any]) -> Any:
            return self.transport.request("GET", f"{V1}/subscriptions/timeline", params=params + list(cursor.items()),
                                          expect=has_list("timeline")).body

        return paginate(fetch, HAS_MORE, "timeline")

    # -- subscriptions (communication preferences v3) -------------------------------------------------

    def iter_communication_definitions(self) -> Iterator[dict[str, Any]]:
        """Yield subscription definitions (``GET /communication-preferences/v3/definitions``). Retry: safe — a read."""

        def fetch(cursor: dict[str, Any]) -> Any:
            return self.transport.request("GET", f"{COMMUNICATION_PREFERENCES}/definitions",
                                          expect=has_list("subscriptionDefinitions")).body

        return paginate(fetch, CURSOR, "subscriptionDefinitions")

    def get_communication_status(self, email: str) -> dict[str, Any]:
        """``{"recipient", "subscriptionStatuses": [{id, name, status, sourceOfStatus, legalBasis...}]}``."""
        return self.transport.request("GET", f"{COMMUNICATION_PREFERENCES}/status/email/{_email_path(email)}",
                                      expect=lambda b: isinstance(b, dict)).body

    def subscribe_communication(self, email: str, subscription_id: str | int, *, legal_basis: str | None = None,
                                legal_basis_explanation: str | None = None) -> dict[str, Any]:
        """Subscribe an address to one subscription type (v3). Retry: safe — subscribing twice subscribes once."""
        return self._communication("subscribe", email, subscription_id, legal_basis, legal_basis_explanation)

    def unsubscribe_communication(self, email: str, subscription_id: str | int, *, legal_basis: str | None = None,
                                  legal_basis_explanation: str | None = None) -> dict[str, Any]:
        """Unsubscribe an address from one subscription type (v3). Retry: safe — a second opt-out changes nothing."""
        return self._communication("unsubscribe", email, subscription_id, legal_basis, legal_basis_explanation)

    def _communication(self, action: str, email: str, subscription_id: str | int, legal_basis: str | None,
                       explanation: str | None) -> dict[str, Any]:
        _email_path(email)
        _check_legal_basis(legal_basis)
        body: dict[str, Any] = {"emailAddress": email, "subscriptionId": str(subscription_id)}
        if legal_basis:
            body["legalBasis"] = legal_basis
        if explanation:
            body["legalBasisExplanation"] = explanation
        return self.transport.request("POST", f"{COMMUNICATION_PREFERENCES}/{action}", json_body=body,
                                      expect=lambda b: isinstance(b, dict)).body

    # -- email events and campaigns (v1, no modern successor) -------------------------------------

    def iter_events(
        self,
        *,
        app_id: str | int | None = None,
        campaign_id: str | int | None = None,
        recipient: str | None = None,
        event_type: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        exclude_filtered_events: bool | None = None,
        page_size: int = EVENTS_PAGE_MAX,
    ) -> Iterator[dict[str, Any]]:
        """Yield email events newest first (``GET /email/public/v1/events``), one page at a time.

        :param app_id: only events of this HubSpot application id.
        :param campaign_id: only events of this email campaign id.
        :param recipient: only events of this recipient address.
        :param event_type: only this type (case-sensitive: ``SENT``, ``DELIVERED``, ``OPEN``, ``CLICK``...).
        :param start_ms: only events at or after this epoch-ms timestamp.
        :param end_ms: only events at or before this epoch-ms timestamp.
        :param exclude_filtered_events: leave out events hidden by the account's filtering settings.
        :param page_size: events per request (HubSpot: at most 1,000).

        Retry: safe — a read.
        """
        params: list[tuple[str, Any]] = [("limit", max(1, min(page_size, EVENTS_PAGE_MAX)))]
        for name, value in (("appId", app_id), ("campaignId", campaign_id), ("recipient", recipient),
                            ("eventType", event_type), ("startTimestamp", start_ms), ("endTimestamp", end_ms)):
            if value not in (None, ""):
                params.append((name, value))
        if exclude_filtered_events is not None:
            params.append(("excludeFilteredEvents", "true" if exclude_filtered_events else "false"))

        def fetch(cursor: dict[str, Any]) -> Any:
            return self.transport.request("GET", f"{V1}/events", params=params + list(cursor.items()),
                                          expect=has_list("events")).body

        return paginate(fetch, HAS_MORE, "events")

    def get_event(self, created_ms: int | str, event_id: str) -> dict[str, Any]:
        """One email event by its EventId (creation timestamp in epoch ms + id)."""
        return self.transport.request("GET", f"{V1}/events/{int(created_ms)}/{quote(str(event_id), safe='')}",
                                      expect=lambda b: isinstance(b, dict)).body

    def iter_recent_campaigns(self, *, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Yield campaign ids (``{"id", "appId", "appName", "lastUpdatedTime"?}``), most recent activity first."""
        return self._campaigns(f"{V1}/campaigns", page_size)

    def iter_campaigns(self, *, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Yield every email campaign id of the account, in no particular order (``/campaigns/by-id``)."""
        return self._campaigns(f"{V1}/campaigns/by-id", page_size)

    def _campaigns(self, path: str, page_size: int) -> Iterator[dict[str, Any]]:
        limit = [("limit", max(1, page_size))]

        def fetch(cursor: dict[str, Any]) -> Any:
            return self.transport.request("GET", path, params=limit + list(cursor.items()),
                                          expect=has_list("campaigns")).body

        return paginate(fetch, HAS_MORE, "campaigns")

    def get_campaign(self, campaign_id: str | int, *, app_id: str | int | None = None) -> dict[str, Any]:
        """Data of one campaign: ``name``, ``subject``, ``type``, ``counters`` (sent, delivered, open...)..."""
        params = {"appId": app_id} if app_id not in (None, "") else None
        return self.transport.request("GET", f"{V1}/campaigns/{quote(str(campaign_id), safe='')}", params=params,
                                      expect=lambda b: isinstance(b, dict)).body

    # -- SMTP API tokens --------------------------------------------------------------------------

    def create_smtp_token(self, campaign_name: str, *, create_contact: bool = False) -> dict[str, Any]:
        """Create an SMTP API token (v1). The returned ``password`` is shown by HubSpot only now; it is
        registered with the client's redaction, never logged.

        :param campaign_name: name of the transactional campaign the token sends as.
        :param create_contact: create a contact for each recipient.

        Retry: only when HubSpot provably did not receive it (429, 503, connection refused). Each create
        makes a new token and its password is shown once, so a create whose answer was lost cannot be
        recovered: the error is raised (list the tokens and delete a stray one) instead of a second token.
        """
        if not str(campaign_name or "").strip():
            raise HubSpotConfigError("campaign_name is required to create an SMTP API token.")
        body = self.transport.request("POST", f"{V1}/smtpapi/tokens",
                                      json_body={"campaignName": campaign_name, "createContact": create_contact},
                                      expect=lambda b: isinstance(b, dict), idempotent=False).body
        return self._remember_password(body)

    def iter_smtp_tokens(self) -> Iterator[dict[str, Any]]:
        """Yield the account's SMTP API tokens (v1; passwords are never included). Retry: safe — a read."""

        def fetch(cursor: dict[str, Any]) -> Any:
            return self.transport.request("GET", f"{V1}/smtpapi/tokens", expect=has_list("")).body

        return paginate(fetch, HAS_MORE, "")

    def reset_smtp_password(self, user_name: str) -> dict[str, Any]:
        """Give the token ``user_name`` a new password (v1); returned once, registered for redaction.

        Retry: safe — a reset whose answer was lost is superseded by the retry's reset, whose password is
        the one in force and the one returned.
        """
        path = f"{V1}/smtpapi/tokens/{quote(str(user_name), safe='@')}/password-reset"
        return self._remember_password(
            self.transport.request("POST", path, expect=lambda b: isinstance(b, dict)).body)

    def create_transactional_smtp_token(self, campaign_name: str, *, create_contact: bool = False) -> dict[str, Any]:
        """Create an SMTP API token (``/marketing/v3/transactional/smtp-tokens``); password as in
        :meth:`create_smtp_token`.

        Retry: only when HubSpot provably did not receive it, as :meth:`create_smtp_token`.
        """
        if not str(campaign_name or "").strip():
            raise HubSpotConfigError("campaign_name is required to create an SMTP API token.")
        body = self.transport.request("POST", f"{TRANSACTIONAL}/smtp-tokens",
                                      json_body={"campaignName": campaign_name, "createContact": create_contact},
                                      expect=lambda b: isinstance(b, dict), idempotent=False).body
        return self._remember_password(body)

    def iter_transactional_smtp_tokens(self, *, campaign_name: str | None = None,
                                       email_campaign_id: str | int | None = None,
                                       page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Yield SMTP API tokens (v3), optionally only those of one campaign name / campaign id.

        Retry: safe — a read.
        """
        params: list[tuple[str, Any]] = [("limit", max(1, page_size))]
        if campaign_name:
            params.append(("campaignName", campaign_name))
        if email_campaign_id not in (None, ""):
            params.append(("emailCampaignId", email_campaign_id))

        def fetch(cursor: dict[str, Any]) -> Any:
            return self.transport.request("GET", f"{TRANSACTIONAL}/smtp-tokens", params=params + list(cursor.items()),
                                          expect=has_list("results")).body

        return paginate(fetch, CURSOR, "results")

    def reset_transactional_smtp_password(self, token_id: str) -> dict[str, Any]:
        """New password for the v3 token ``token_id``; returned once, registered for redaction.

        Retry: safe, as :meth:`reset_smtp_password`.
        """
        path = f"{TRANSACTIONAL}/smtp-tokens/{quote(str(token_id), safe='')}/password-reset"
        return self._remember_password(
            self.transport.request("POST", path, expect=lambda b: isinstance(b, dict)).body)

    # -- single send ------------------------------------------------------------------------------

    def send_single_email(
        self,
        email_id: int | str,
        to: str,
        *,
        contact_properties: Mapping[str, Any] | Iterable[Mapping[str, Any]] | None = None,
        custom_properties: Mapping[str, Any] | Iterable[Mapping[str, Any]] | None = None,
        send_id: str | None = None,
        from_address: str | None = None,
        reply_to: str | None = None,
        cc: Iterable[str] = (),
        bcc: Iterable[str] = (),
    ) -> dict[str, Any]:
        """Send a marketing-tool email to one recipient (``POST /email/public/v1/singleEmail/send``).

        Returns ``{"sendResult", "message"?, "eventId"?, "sendId"}``; check ``sendResult`` (``SENT``,
        ``QUEUED``, or why HubSpot did not send, e.g. ``PREVIOUSLY_UNSUBSCRIBED_PORTAL``; ``IDEMPOTENT_IGNORE``
        when your ``send_id`` was used before).

        Retry: safe — the request always carries a ``sendId`` (HubSpot sends at most one email per send id):
        yours, or one generated here. When an attempt's answer is lost after HubSpot accepted it, the retry
        is answered ``IDEMPOTENT_IGNORE``; with a generated id that can only be this call's earlier attempt,
        so ``SENT`` is returned. Pass your own ``send_id`` (e.g. derived from the task run) to make a re-run
        of the whole task safe too.

        :param email_id: id of the email designed in HubSpot's marketing email tool.
        :param to: recipient address.
        :param contact_properties: contact properties to set (``{"name": value}``).
        :param custom_properties: template values (``{{ custom.NAME }}``).
        :param send_id: idempotency key (default: a new random one per call).
        """
        generated = not send_id
        send_id = send_id or _new_send_id()
        message: dict[str, Any] = {"to": to}
        for key, value in (("sendId", send_id), ("from", from_address), ("replyTo", reply_to)):
            if value:
                message[key] = value
        if cc:
            message["cc"] = list(cc)
        if bcc:
            message["bcc"] = list(bcc)
        body: dict[str, Any] = {"emailId": int(email_id), "message": message}
        if contact_properties:
            body["contactProperties"] = _name_values(contact_properties)
        if custom_properties:
            body["customProperties"] = _name_values(custom_properties)
        answer = self.transport.request("POST", f"{V1}/singleEmail/send", json_body=body,
                                        expect=lambda b: isinstance(b, dict)).body
        return _own_duplicate({**answer, "sendId": send_id}, generated)

    def send_transactional_email(
        self,
        email_id: int | str,
        to: str,
        *,
        contact_properties: Mapping[str, Any] | None = None,
        custom_properties: Mapping[str, Any] | None = None,
        send_id: str | None = None,
    ) -> dict[str, Any]:
        """Send one transactional email (``/marketing/v3/transactional/single-email/send``, asynchronous);
        returns the send status ``{"statusId", "status", "sendResult"?..., "sendId"}``.

        Retry: safe — the request always carries a ``message.sendId`` (yours or a generated one), as
        :meth:`send_single_email`.
        """
        generated = not send_id
        send_id = send_id or _new_send_id()
        message: dict[str, Any] = {"to": to, "sendId": send_id}
        body: dict[str, Any] = {"emailId": int(email_id), "message": message}
        if contact_properties:
            body["contactProperties"] = dict(contact_properties)
        if custom_properties:
            body["customProperties"] = dict(custom_properties)
        answer = self.transport.request("POST", f"{TRANSACTIONAL}/single-email/send", json_body=body,
                                        expect=lambda b: isinstance(b, dict)).body
        return _own_duplicate({**answer, "sendId": send_id}, generated)
