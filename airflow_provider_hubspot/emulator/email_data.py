"""Email data of the emulated portal: subscription types and statuses, the subscription timeline,
email campaigns and events, marketing emails (for single send) and SMTP API tokens.

Held by :class:`~airflow_provider_hubspot.emulator.state.EmulatorState` as ``state.email``. Methods
here are "handler API": the caller holds ``state.lock`` (the ``EmulatorState`` wrappers take it).
Every key is a string and every value JSON-native, so ``to_json`` / ``from_json`` round-trip exactly.

Emulator choices (HubSpot's behaviour is UNCERTAIN where noted in :mod:`.email_api`):

* A fresh portal has two subscription types, ``1`` "Marketing Information" and ``2`` "One to One".
* An address nobody has touched is subscribed, not bounced, not marked as spam, with no per-type
  statuses.
* Adding an email event of type ``BOUNCE`` marks the recipient bounced and ``SPAMREPORT`` marks it as
  spam (each with a timeline item), as HubSpot derives those flags from events.
* SMTP API tokens keep only a SHA-256 of their password; the password itself is returned once.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

from ._util import PORTAL_ID

DEFAULT_SUBSCRIPTION_TYPES = (
    ("1", "Marketing Information", "Marketing offers and updates."),
    ("2", "One to One", "One to one emails."),
)
DEFAULT_APP_ID = 113
DEFAULT_APP_NAME = "Batch"
TRANSACTIONAL_APP_ID = 22709
TRANSACTIONAL_APP_NAME = "Transactional"
CAMPAIGN_ID_START = 14845001
MARKETING_EMAIL_ID_START = 4401001


def encode_offset(position: int) -> str:
    """An opaque paging offset like HubSpot's (``CK_PuKu3KBXr8LqG``)."""
    return base64.urlsafe_b64encode(f"pos:{position}".encode()).decode().rstrip("=")


def decode_offset(value: str | None) -> int | None:
    """The position of an offset from :func:`encode_offset`; ``None`` when it is not one."""
    if not value:
        return 0
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not text.startswith("pos:") or not text[4:].isdigit():
        return None
    return int(text[4:])


class EmailData:
    """All email-related data of the portal."""

    def __init__(self) -> None:
        self.subscription_types: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, dict[str, Any]] = {}  # lower-case address -> status record
        self.timeline: list[dict[str, Any]] = []  # oldest first
        self.campaigns: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []  # in insertion order
        self.marketing_emails: dict[str, dict[str, Any]] = {}
        self.smtp_tokens: dict[str, dict[str, Any]] = {}  # userName (= v3 id) -> token record
        self.send_ids: dict[str, dict[str, Any]] = {}  # sendId -> first answer
        self.next_subscription_type = 3
        self.next_campaign = CAMPAIGN_ID_START
        self.next_marketing_email = MARKETING_EMAIL_ID_START
        for type_id, name, description in DEFAULT_SUBSCRIPTION_TYPES:
            self.subscription_types[type_id] = self._type(type_id, name, description, 0)

    # ------------------------------------------------------------------ subscription types
    @staticmethod
    def _type(type_id: str, name: str, description: str, now: int) -> dict[str, Any]:
        return {"id": type_id, "name": name, "description": description, "active": True, "createdAt": now,
                "updatedAt": now, "purpose": "Marketing", "communicationMethod": "Email"}

    def add_subscription_type(self, name: str, description: str, now: int) -> str:
        type_id = str(self.next_subscription_type)
        self.next_subscription_type += 1
        self.subscription_types[type_id] = self._type(type_id, name, description, now)
        return type_id

    # ------------------------------------------------------------------ statuses
    def status(self, email: str) -> dict[str, Any]:
        """The status record of an address (not stored until something changes)."""
        return self.statuses.get(email.strip().lower()) or {
            "unsubscribed_all": False, "bounced": False, "spam": False, "types": {}}

    def _stored_status(self, email: str) -> dict[str, Any]:
        key = email.strip().lower()
        if key not in self.statuses:
            self.statuses[key] = self.status(key)
        return self.statuses[key]

    def record_change(self, email: str, now: int, changes: list[dict[str, Any]]) -> None:
        """Append one timeline item (with the recipient's snapshot after the change)."""
        event = {"id": str(uuid.uuid4()), "created": now}
        item = {
            "timestamp": now,
            "portalId": PORTAL_ID,
            "recipient": email.strip().lower(),
            "changes": [{"portalId": PORTAL_ID, "causedByEvent": event, **c} for c in changes],
            "snapshot": self.v1_status_json(email),
        }
        self.timeline.append(item)

    def unsubscribe_all(self, email: str, now: int, source: str) -> None:
        status = self._stored_status(email)
        status["unsubscribed_all"] = True
        self.record_change(email, now, [{"change": "UNSUBSCRIBED", "changeType": "PORTAL_STATUS", "source": source}])

    def set_type_status(self, email: str, type_id: str, subscribed: bool, now: int, source: str,
                        legal_basis: str | None = None, explanation: str | None = None) -> dict[str, Any]:
        status = self._stored_status(email)
        record = {"subscribed": subscribed, "optState": "OPT_IN" if subscribed else "OPT_OUT", "updatedAt": now}
        if legal_basis:
            record["legalBasis"] = legal_basis
        if explanation:
            record["legalBasisExplanation"] = explanation
        status["types"][type_id] = record
        self.record_change(email, now, [{"change": "SUBSCRIBED" if subscribed else "UNSUBSCRIBED",
                                         "changeType": "SUBSCRIPTION_STATUS", "subscriptionId": int(type_id),
                                         "source": source}])
        return record

    def mark(self, email: str, flag: str, now: int) -> None:
        """Set ``bounced`` or ``spam`` for an address (from a BOUNCE / SPAMREPORT event)."""
        status = self._stored_status(email)
        status[flag] = True
        change = ("BOUNCED", "PORTAL_BOUNCE") if flag == "bounced" else ("REPORTED_ABUSE", "PORTAL_SPAM_REPORT")
        self.record_change(email, now, [{"change": change[0], "changeType": change[1],
                                         "source": "SOURCE_NON_DELIVERY_REPORT" if flag == "bounced"
                                         else "SOURCE_ABUSE_REPORT"}])

    def v1_status_json(self, email: str) -> dict[str, Any]:
        status = self.status(email)
        subscribed = not status["unsubscribed_all"]
        statuses = []
        for type_id, record in status["types"].items():
            item = {"id": int(type_id), **record}
            statuses.append(item)
        return {
            "email": email.strip().lower(),
            "portalId": PORTAL_ID,
            "subscribed": subscribed,
            "markedAsSpam": bool(status["spam"]),
            "bounced": bool(status["bounced"]),
            "unsubscribeFromPortal": not subscribed,
            "status": "subscribed" if subscribed else "unsubscribed",
            "subscriptionStatuses": statuses,
        }

    # ------------------------------------------------------------------ campaigns and events
    def add_campaign(self, name: str, now: int, *, app_id: int = DEFAULT_APP_ID, app_name: str = DEFAULT_APP_NAME,
                     subject: str | None = None, campaign_type: str = "BATCH_EMAIL") -> str:
        campaign_id = str(self.next_campaign)
        self.next_campaign += 1
        self.campaigns[campaign_id] = {
            "id": int(campaign_id), "appId": app_id, "appName": app_name, "name": name,
            "subject": subject or name, "type": campaign_type, "subType": campaign_type.split("_")[0].lower(),
            "contentId": int(campaign_id) + 1000, "numIncluded": 0, "numQueued": 0, "lastUpdatedTime": now,
        }
        return campaign_id

    def add_event(self, recipient: str, event_type: str, now: int, *, campaign_id: str | int | None = None,
                  created: int | None = None, filtered: bool = False, extra: Mapping[str, Any] | None = None,
                  ) -> dict[str, Any]:
        campaign = self.campaigns.get(str(campaign_id)) if campaign_id is not None else None
        if campaign_id is not None and campaign is None:
            raise KeyError(f"no email campaign {campaign_id}")
        stamp = now if created is None else int(created)
        event: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "created": stamp,
            "type": event_type,
            "recipient": recipient.strip().lower(),
            "portalId": PORTAL_ID,
            "appId": campaign["appId"] if campaign else DEFAULT_APP_ID,
            "appName": campaign["appName"] if campaign else DEFAULT_APP_NAME,
            "emailCampaignId": campaign["id"] if campaign else None,
            "sentBy": {"id": str(uuid.uuid4()), "created": stamp},
            "filteredEvent": bool(filtered),
            **dict(extra or {}),
        }
        self.events.append(event)
        if campaign is not None:
            campaign["lastUpdatedTime"] = max(int(campaign["lastUpdatedTime"]), stamp)
            if event_type == "SENT":
                campaign["numIncluded"] = int(campaign["numIncluded"]) + 1
        if event_type == "BOUNCE":
            self.mark(recipient, "bounced", stamp)
        elif event_type == "SPAMREPORT":
            self.mark(recipient, "spam", stamp)
        return event

    def counters(self, campaign_id: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for event in self.events:
            if str(event.get("emailCampaignId")) == campaign_id:
                key = str(event["type"]).lower()
                out[key] = out.get(key, 0) + 1
        return out

    def add_marketing_email(self, name: str, now: int, subject: str | None = None) -> str:
        email_id = str(self.next_marketing_email)
        self.next_marketing_email += 1
        campaign_id = self.add_campaign(name, now, subject=subject, campaign_type="SINGLE_SEND_API",
                                        app_id=TRANSACTIONAL_APP_ID, app_name=TRANSACTIONAL_APP_NAME)
        self.marketing_emails[email_id] = {"id": int(email_id), "name": name, "subject": subject or name,
                                           "emailCampaignId": int(campaign_id)}
        return email_id

    # ------------------------------------------------------------------ SMTP API tokens
    def create_smtp_token(self, campaign_name: str, create_contact: bool, created_by: str,
                          now: int) -> tuple[dict[str, Any], str]:
        """Create a token; returns the stored record and the password (shown once)."""
        user_name = f"{secrets.token_hex(5)}@{PORTAL_ID}.smtp.hubspot.net"
        campaign_id = self.add_campaign(campaign_name, now, campaign_type="SMTP_TOKEN", app_id=TRANSACTIONAL_APP_ID,
                                        app_name=TRANSACTIONAL_APP_NAME)
        password = secrets.token_urlsafe(24)
        record = {
            "portalId": PORTAL_ID, "userName": user_name, "emailCampaignId": int(campaign_id), "createdAt": now,
            "deleted": False, "createdBy": created_by, "appId": TRANSACTIONAL_APP_ID, "campaignName": campaign_name,
            "createContact": bool(create_contact), "passwordSha256": _sha256(password),
        }
        self.smtp_tokens[user_name] = record
        return record, password

    def reset_smtp_password(self, user_name: str) -> tuple[dict[str, Any], str] | None:
        record = self.smtp_tokens.get(user_name)
        if record is None or record["deleted"]:
            return None
        password = secrets.token_urlsafe(24)
        record["passwordSha256"] = _sha256(password)
        return record, password

    def check_smtp_password(self, user_name: str, password: str) -> bool:
        """Whether ``password`` is the token's current password (for tests)."""
        record = self.smtp_tokens.get(user_name)
        return record is not None and secrets.compare_digest(record["passwordSha256"], _sha256(password))

    # ------------------------------------------------------------------ persistence
    def to_json(self) -> dict[str, Any]:
        """A deep copy of everything, JSON-native (shares nothing with this object)."""
        return copy.deepcopy({
            "subscription_types": list(self.subscription_types.values()),
            "statuses": self.statuses,
            "timeline": self.timeline,
            "campaigns": list(self.campaigns.values()),
            "events": self.events,
            "marketing_emails": list(self.marketing_emails.values()),
            "smtp_tokens": list(self.smtp_tokens.values()),
            "send_ids": self.send_ids,
            "next_subscription_type": self.next_subscription_type,
            "next_campaign": self.next_campaign,
            "next_marketing_email": self.next_marketing_email,
        })

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> EmailData:
        out = cls()
        if not data:
            return out
        data = copy.deepcopy(dict(data))
        out.subscription_types = {str(t["id"]): dict(t) for t in data.get("subscription_types", [])}
        out.statuses = {str(k): dict(v) for k, v in data.get("statuses", {}).items()}
        out.timeline = [dict(i) for i in data.get("timeline", [])]
        out.campaigns = {str(c["id"]): dict(c) for c in data.get("campaigns", [])}
        out.events = [dict(e) for e in data.get("events", [])]
        out.marketing_emails = {str(m["id"]): dict(m) for m in data.get("marketing_emails", [])}
        out.smtp_tokens = {str(t["userName"]): dict(t) for t in data.get("smtp_tokens", [])}
        out.send_ids = {str(k): dict(v) for k, v in data.get("send_ids", {}).items()}
        out.next_subscription_type = int(data.get("next_subscription_type", out.next_subscription_type))
        out.next_campaign = int(data.get("next_campaign", out.next_campaign))
        out.next_marketing_email = int(data.get("next_marketing_email", out.next_marketing_email))
        return out


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
