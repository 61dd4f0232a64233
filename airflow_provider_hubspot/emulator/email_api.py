"""Email routes: subscriptions v1 and communication preferences v3, email events, campaigns, SMTP API
tokens (v1 and ``/marketing/v3/transactional``) and single send (v1 and v3).

Scopes (any one of the listed scopes grants access): subscriptions v1 ``content`` or
``communication_preferences.read`` / ``.write`` / ``.read_write``; communication preferences v3 the
``communication_preferences.*`` scopes; email events and campaigns ``content``; SMTP tokens and single
send ``transactional-email``. The emulator's default token has every scope.

Emulator choices where HubSpot's behaviour is UNCERTAIN:

* Subscriptions v1: an untouched address is ``subscribed`` with no per-type statuses. ``PUT`` answers
  200 ``{"status": "ok"}``. Opt-outs cannot be undone: ``unsubscribeFromAll: false``, subscribing an
  address that unsubscribed from all, or re-subscribing a type the address opted out of answer 400.
  Unknown subscription type ids and unknown ``legalBasis`` values answer 400. A body with neither
  ``unsubscribeFromAll`` nor ``subscriptionStatuses`` answers 400. A path value without ``@`` → 400.
* The subscription timeline and the email events are newest first; ``limit`` defaults to 10 and is
  capped at 1,000; ``offset`` is opaque (an offset that is not one of ours → 400). ``changeType``
  keeps the items with at least one change of that type, and only those changes. ``snapshot`` is only
  included with ``includeSnapshots=true``.
* Email events: ``eventType`` is case-sensitive; ``excludeFilteredEvents=true`` drops events logged with
  ``filtered=True``. ``GET /events/{created}/{id}`` → 404 ``"Event not found"`` when either part is wrong,
  400 when ``created`` is not a number.
* Campaigns: ``/campaigns`` is ordered by most recent activity (newest event or creation), ``/by-id``
  by id; both page with ``limit`` (default 10, capped at 1,000) / opaque ``offset`` and ``hasMore``.
  ``GET /campaigns/{id}`` adds ``counters`` (events per type, lower-case) → 404 for an unknown id, or an
  ``appId`` that is not the campaign's.
* SMTP tokens: v1 create answers 201 (``campaignName`` required, else 400) with ``password``; list
  answers a bare array without passwords; ``password-reset`` answers 200 with a new ``password``
  (unknown userName → 404). v3 tokens are the same tokens: their ``id`` is the v1 ``userName``; create
  needs ``campaignName`` and ``createContact`` (400 otherwise) and answers 201; list pages by cursor.
  ``passwordHash`` is never returned.
* Single send v1: 200 ``{"sendResult": "SENT", "eventId": {...}}`` and a ``SENT`` email event; an
  address that unsubscribed from all, bounced or reported spam gets 200 with ``sendResult``
  ``PREVIOUSLY_UNSUBSCRIBED_PORTAL`` / ``PREVIOUSLY_BOUNCED`` / ``PREVIOUS_SPAM`` and nothing is sent; a
  repeated ``sendId`` answers the first result with ``sendResult: IDEMPOTENT_IGNORE``. Missing
  ``emailId`` / ``message.to`` → 400 ``MISSING_REQUIRED_PARAMETER``; unknown ``emailId`` → 400
  ``MISSING_CONTENT``; invalid ``to`` → 400 ``INVALID_TO_ADDRESS``; an unknown contact property → 400
  ``VALIDATION_FAILED`` (legacy error body plus ``sendResult``). Valid contact properties are written to
  the recipient's contact (created if needed).
* Single send v3 runs synchronously: 200 with ``status: COMPLETE`` and the same ``sendResult`` values;
  its errors use the v3 body (``VALIDATION_ERROR``).
* Communication preferences v3: the status lists every definition; ``subscribe`` is idempotent but
  cannot re-subscribe an opted-out type or an address that unsubscribed from all (400).
"""

from __future__ import annotations

import contextlib
from typing import Any

from ._util import PORTAL_ID, iso_from_ms
from .email_data import EmailData, decode_offset, encode_offset
from .objects import UniqueTaken
from .router import ApiError, Request, Response, Router, empty, json_response, v1_error, v3_error

CONTENT = "content"
COMM_READ = "communication_preferences.read"
COMM_WRITE = "communication_preferences.write"
COMM_READ_WRITE = "communication_preferences.read_write"
TRANSACTIONAL_EMAIL = "transactional-email"
V1 = "/email/public/v1"
V3_TRANSACTIONAL = "/marketing/v3/transactional"
V3_PREFERENCES = "/communication-preferences/v3"
PAGE_DEFAULT = 10
PAGE_MAX = 1000
CREATED_BY = "emulator@example.com"
LEGAL_BASES = frozenset({
    "LEGITIMATE_INTEREST_PQL", "LEGITIMATE_INTEREST_CLIENT", "PERFORMANCE_OF_CONTRACT", "CONSENT_WITH_NOTICE",
    "NON_GDPR", "PROCESS_AND_STORE", "LEGITIMATE_INTEREST_OTHER",
})


def _data(req: Request) -> EmailData:
    return req.state.email


def _address(req: Request, name: str = "email") -> str:
    value = req.params[name].strip()
    if "@" not in value or not req.state.is_valid_email(value):
        raise v1_error(400, f"Invalid email address '{value}'")
    return value.lower()


def _page(req: Request, items: list[Any], key: str) -> Response:
    limit = req.int_arg("limit", PAGE_DEFAULT, minimum=1, maximum=PAGE_MAX)
    start = decode_offset(req.arg("offset"))
    if start is None:
        raise v1_error(400, f"Invalid offset '{req.arg('offset')}'")
    page = items[start : start + limit]
    more = start + limit < len(items)
    return json_response({key: page, "hasMore": more, "offset": encode_offset(start + len(page))})


def _ms(req: Request, name: str) -> int | None:
    raw = req.arg(name)
    if raw in (None, ""):
        return None
    try:
        return int(str(raw))
    except ValueError:
        raise v1_error(400, f"Invalid value for parameter {name}: {raw!r}") from None


# ---------------------------------------------------------------------- subscriptions v1
def _v1_type_json(record: dict[str, Any]) -> dict[str, Any]:
    return {"active": record["active"], "portalId": PORTAL_ID, "description": record["description"],
            "id": int(record["id"]), "name": record["name"]}


def v1_subscription_types(req: Request) -> Response:
    types = _data(req).subscription_types.values()
    return json_response({"subscriptionDefinitions": [_v1_type_json(t) for t in types]})


def v1_subscription_status(req: Request) -> Response:
    return json_response(_data(req).v1_status_json(_address(req)))


def _legal_basis(value: Any, error: Any = v1_error) -> str | None:
    if value in (None, ""):
        return None
    if value not in LEGAL_BASES:
        raise error(400, f"Invalid legalBasis '{value}': expected one of {', '.join(sorted(LEGAL_BASES))}")
    return str(value)


def v1_update_subscription(req: Request) -> Response:
    data = _data(req)
    email = _address(req)
    body = req.json_object()
    now = req.state.now_ms()
    if "unsubscribeFromAll" in body:
        if body["unsubscribeFromAll"] is not True:
            raise v1_error(400, "unsubscribeFromAll can only be true: opt-outs cannot be undone through the API")
        data.unsubscribe_all(email, now, "SOURCE_HUBSPOT_API")
        return json_response({"status": "ok"})
    statuses = body.get("subscriptionStatuses")
    if not isinstance(statuses, list) or not statuses:
        raise v1_error(400, "Either unsubscribeFromAll or a non-empty subscriptionStatuses array is required")
    current = data.status(email)
    checked: list[tuple[str, bool, str | None, str | None]] = []
    for item in statuses:
        if not isinstance(item, dict) or item.get("id") in (None, ""):
            raise v1_error(400, "Each subscription status needs the id of a subscription type")
        type_id = str(item["id"])
        if type_id not in data.subscription_types:
            raise v1_error(400, f"Subscription type {type_id} does not exist")
        if "subscribed" in item:
            subscribed = bool(item["subscribed"])
        else:
            subscribed = str(item.get("optState") or "OPT_IN").upper() == "OPT_IN"
        if subscribed and current["unsubscribed_all"]:
            raise v1_error(400, f"{email} has unsubscribed from all email; opt-outs cannot be undone")
        previous = current["types"].get(type_id)
        if subscribed and previous is not None and not previous["subscribed"]:
            raise v1_error(400, f"{email} opted out of subscription type {type_id}; opt-outs cannot be undone")
        checked.append((type_id, subscribed, _legal_basis(item.get("legalBasis")), item.get("legalBasisExplanation")))
    _legal_basis(body.get("portalSubscriptionLegalBasis"))
    for type_id, subscribed, basis, explanation in checked:
        data.set_type_status(email, type_id, subscribed, now, "SOURCE_HUBSPOT_API", basis, explanation)
    return json_response({"status": "ok"})


def v1_subscription_timeline(req: Request) -> Response:
    data = _data(req)
    change_type = req.arg("changeType")
    start = _ms(req, "startTimestamp")
    end = _ms(req, "endTimestamp")
    snapshots = str(req.arg("includeSnapshots") or "").lower() == "true"
    items = []
    for item in reversed(data.timeline):
        if (start is not None and item["timestamp"] < start) or (end is not None and item["timestamp"] > end):
            continue
        changes = [c for c in item["changes"] if not change_type or c.get("changeType") == change_type]
        if not changes:
            continue
        out = {k: v for k, v in item.items() if k != "snapshot"}
        out["changes"] = changes
        if snapshots:
            out["snapshot"] = item["snapshot"]
        items.append(out)
    return _page(req, items, "timeline")


# ---------------------------------------------------------------------- communication preferences v3
def _v3_definition(record: dict[str, Any]) -> dict[str, Any]:
    return {"id": record["id"], "name": record["name"], "description": record["description"],
            "purpose": record["purpose"], "communicationMethod": record["communicationMethod"],
            "isActive": record["active"], "isDefault": record["id"] in ("1", "2"), "isInternal": False,
            "createdAt": iso_from_ms(record["createdAt"]), "updatedAt": iso_from_ms(record["updatedAt"]),
            "businessUnitId": 0}


def v3_definitions(req: Request) -> Response:
    types = _data(req).subscription_types.values()
    return json_response({"subscriptionDefinitions": [_v3_definition(t) for t in types]})


def _v3_status(data: EmailData, email: str, type_id: str) -> dict[str, Any]:
    record = data.subscription_types[type_id]
    status = data.status(email)
    per_type = status["types"].get(type_id)
    if status["unsubscribed_all"]:
        state, source = "NOT_SUBSCRIBED", "PORTAL_WIDE_STATUS"
    elif per_type is not None:
        state, source = ("SUBSCRIBED" if per_type["subscribed"] else "NOT_SUBSCRIBED"), "SUBSCRIPTION_STATUS"
    else:
        state, source = "NOT_SUBSCRIBED", "NON_SUBSCRIPTION_STATUS"
    out = {"id": type_id, "name": record["name"], "description": record["description"], "status": state,
           "sourceOfStatus": source, "preferenceGroupName": None, "brandId": None}
    if per_type and per_type.get("legalBasis"):
        out["legalBasis"] = per_type["legalBasis"]
        out["legalBasisExplanation"] = per_type.get("legalBasisExplanation")
    return out


def v3_status(req: Request) -> Response:
    data = _data(req)
    email = req.params["emailAddress"].strip().lower()
    if not req.state.is_valid_email(email):
        raise v3_error(400, f"Invalid email address {email}", "VALIDATION_ERROR")
    return json_response({"recipient": email,
                          "subscriptionStatuses": [_v3_status(data, email, t) for t in data.subscription_types]})


def _v3_change(req: Request, subscribe: bool) -> Response:
    data = _data(req)
    body = req.json_object()
    email = str(body.get("emailAddress") or "").strip().lower()
    if not email or not req.state.is_valid_email(email):
        raise v3_error(400, f"Invalid emailAddress '{email}'", "VALIDATION_ERROR")
    type_id = str(body.get("subscriptionId") or "")
    if type_id not in data.subscription_types:
        raise v3_error(400, f"Subscription {type_id or '(missing)'} does not exist", "VALIDATION_ERROR")
    basis = _legal_basis(body.get("legalBasis"), lambda s, m: v3_error(s, m, "VALIDATION_ERROR"))
    status = data.status(email)
    per_type = status["types"].get(type_id)
    if subscribe:
        if status["unsubscribed_all"] or (per_type is not None and not per_type["subscribed"]):
            raise v3_error(400, f"{email} has opted out of subscription {type_id}; it cannot be resubscribed here",
                           "VALIDATION_ERROR")
        if per_type is None:
            data.set_type_status(email, type_id, True, req.state.now_ms(), "SOURCE_HUBSPOT_API", basis,
                                 body.get("legalBasisExplanation"))
    elif per_type is None or per_type["subscribed"]:
        data.set_type_status(email, type_id, False, req.state.now_ms(), "SOURCE_HUBSPOT_API", basis,
                             body.get("legalBasisExplanation"))
    return json_response(_v3_status(data, email, type_id))


def v3_subscribe(req: Request) -> Response:
    return _v3_change(req, True)


def v3_unsubscribe(req: Request) -> Response:
    return _v3_change(req, False)


# ---------------------------------------------------------------------- email events
def list_events(req: Request) -> Response:
    filters = {
        "appId": req.arg("appId"),
        "emailCampaignId": req.arg("campaignId"),
        "recipient": (req.arg("recipient") or "").strip().lower() or None,
        "type": req.arg("eventType"),
    }
    start = _ms(req, "startTimestamp")
    end = _ms(req, "endTimestamp")
    exclude_filtered = str(req.arg("excludeFilteredEvents") or "").lower() == "true"
    events = []
    for event in _data(req).events:
        if any(value not in (None, "") and str(event.get(key)) != str(value) for key, value in filters.items()):
            continue
        if (start is not None and event["created"] < start) or (end is not None and event["created"] > end):
            continue
        if exclude_filtered and event.get("filteredEvent"):
            continue
        events.append(event)
    events.sort(key=lambda e: (e["created"], e["id"]), reverse=True)
    return _page(req, events, "events")


def get_event(req: Request) -> Response:
    raw = req.params["created"]
    if not raw.isdigit():
        raise v1_error(400, f"Invalid event creation timestamp '{raw}'")
    for event in _data(req).events:
        if event["id"] == req.params["eventId"] and event["created"] == int(raw):
            return json_response(event)
    raise v1_error(404, "Event not found")


# ---------------------------------------------------------------------- campaigns
def _campaign_item(campaign: dict[str, Any]) -> dict[str, Any]:
    return {"id": campaign["id"], "appId": campaign["appId"], "appName": campaign["appName"],
            "lastUpdatedTime": campaign["lastUpdatedTime"]}


def recent_campaigns(req: Request) -> Response:
    campaigns = sorted(_data(req).campaigns.values(), key=lambda c: (c["lastUpdatedTime"], c["id"]), reverse=True)
    return _page(req, [_campaign_item(c) for c in campaigns], "campaigns")


def campaigns_by_id(req: Request) -> Response:
    campaigns = sorted(_data(req).campaigns.values(), key=lambda c: c["id"])
    return _page(req, [_campaign_item(c) for c in campaigns], "campaigns")


def get_campaign(req: Request) -> Response:
    data = _data(req)
    campaign_id = req.params["campaignId"]
    campaign = data.campaigns.get(campaign_id)
    app_id = req.arg("appId")
    if campaign is None or (app_id not in (None, "") and str(campaign["appId"]) != str(app_id)):
        raise v1_error(404, f"No campaign found with id {campaign_id}")
    return json_response({**campaign, "counters": data.counters(campaign_id)})


# ---------------------------------------------------------------------- SMTP API tokens
def _v1_token(record: dict[str, Any], password: str | None = None) -> dict[str, Any]:
    out = {k: v for k, v in record.items() if k != "passwordSha256"}
    if password is not None:
        out["password"] = password
    return out


def _v3_token(record: dict[str, Any], password: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": record["userName"], "createdAt": iso_from_ms(record["createdAt"]),
                           "createdBy": record["createdBy"], "createContact": record["createContact"],
                           "campaignName": record["campaignName"], "emailCampaignId": str(record["emailCampaignId"])}
    if password is not None:
        out["password"] = password
    return out


def v1_create_token(req: Request) -> Response:
    body = req.json_object()
    name = str(body.get("campaignName") or "").strip()
    if not name:
        raise v1_error(400, "campaignName is required")
    record, password = _data(req).create_smtp_token(name, bool(body.get("createContact")), CREATED_BY,
                                                    req.state.now_ms())
    return json_response(_v1_token(record, password), status=201)


def v1_list_tokens(req: Request) -> Response:
    return json_response([_v1_token(t) for t in _data(req).smtp_tokens.values() if not t["deleted"]])


def v1_reset_password(req: Request) -> Response:
    result = _data(req).reset_smtp_password(req.params["userName"])
    if result is None:
        raise v1_error(404, f"No SMTP API token found with userName {req.params['userName']}")
    return json_response(_v1_token(*result))


def v3_create_token(req: Request) -> Response:
    body = req.json_object()
    name = str(body.get("campaignName") or "").strip()
    if not name or not isinstance(body.get("createContact"), bool):
        raise v3_error(400, "campaignName and createContact are required", "VALIDATION_ERROR",
                       context={"campaignName": [name], "createContact": [str(body.get("createContact"))]})
    record, password = _data(req).create_smtp_token(name, body["createContact"], CREATED_BY, req.state.now_ms())
    return json_response(_v3_token(record, password), status=201)


def v3_list_tokens(req: Request) -> Response:
    name = req.arg("campaignName")
    campaign_id = req.arg("emailCampaignId")
    limit = req.int_arg("limit", 10, minimum=1, maximum=100, clamp=False, v1=False)
    tokens = [t for t in _data(req).smtp_tokens.values() if not t["deleted"]
              and (not name or t["campaignName"] == name)
              and (not campaign_id or str(t["emailCampaignId"]) == campaign_id)]
    start = decode_offset(req.arg("after"))
    if start is None:
        raise v3_error(400, f"Invalid value for after: {req.arg('after')!r}", "VALIDATION_ERROR")
    page = tokens[start : start + limit]
    body: dict[str, Any] = {"results": [_v3_token(t) for t in page]}
    if start + limit < len(tokens):
        body["paging"] = {"next": {"after": encode_offset(start + limit)}}
    return json_response(body)


def _v3_token_or_404(req: Request) -> dict[str, Any]:
    record = _data(req).smtp_tokens.get(req.params["tokenId"])
    if record is None or record["deleted"]:
        raise v3_error(404, f"SMTP token {req.params['tokenId']} not found", "OBJECT_NOT_FOUND")
    return record


def v3_get_token(req: Request) -> Response:
    return json_response(_v3_token(_v3_token_or_404(req)))


def v3_delete_token(req: Request) -> Response:
    _v3_token_or_404(req)["deleted"] = True
    return empty(204)


def v3_reset_password(req: Request) -> Response:
    record = _v3_token_or_404(req)
    result = _data(req).reset_smtp_password(record["userName"])
    assert result is not None
    return json_response(_v3_token(*result))


# ---------------------------------------------------------------------- single send
def _send(req: Request, *, v3: bool) -> dict[str, Any]:
    """Validate and perform one single send; returns ``{"sendResult", ...}`` or raises ApiError."""
    state = req.state
    data = _data(req)

    def fail(message: str, send_result: str) -> ApiError:
        if v3:
            return v3_error(400, message, "VALIDATION_ERROR", context={"sendResult": [send_result]})
        return v1_error(400, message, sendResult=send_result)

    body = req.json_object()
    raw_message = body.get("message")
    message: dict[str, Any] = raw_message if isinstance(raw_message, dict) else {}
    to = str(message.get("to") or "").strip()
    if body.get("emailId") in (None, "") or not to:
        raise fail("emailId and message.to are required", "MISSING_REQUIRED_PARAMETER")
    email = data.marketing_emails.get(str(body["emailId"]))
    if email is None:
        raise fail(f"The emailId {body['emailId']} is invalid, or is not set up for single send", "MISSING_CONTENT")
    if not state.is_valid_email(to):
        raise fail(f"Invalid recipient address {to}", "INVALID_TO_ADDRESS")
    raw_props = body.get("contactProperties") or []
    pairs = raw_props.items() if isinstance(raw_props, dict) else [
        (p.get("name"), p.get("value")) for p in raw_props if isinstance(p, dict)]
    clean: dict[str, str] = {}
    for name, value in pairs:
        error = state.contact_type.validate_one(name, value, clean)
        if error is not None:
            raise fail(error["message"], "VALIDATION_FAILED")
    send_id = str(message.get("sendId") or "")
    if send_id and send_id in data.send_ids:
        return {**data.send_ids[send_id], "sendResult": "IDEMPOTENT_IGNORE"}
    status = data.status(to)
    for flag, result in (("unsubscribed_all", "PREVIOUSLY_UNSUBSCRIBED_PORTAL"), ("bounced", "PREVIOUSLY_BOUNCED"),
                         ("spam", "PREVIOUS_SPAM")):
        if status[flag]:
            return {"sendResult": result, "message": f"{to} was not sent this email ({result})"}
    contact = state.contact_type.by_email(to)
    with contextlib.suppress(UniqueTaken):
        if contact is None:
            state.contact_type.create({"email": to.lower(), **clean})
        elif clean:
            state.contact_type.update(contact, clean)
    event = data.add_event(to, "SENT", state.now_ms(), campaign_id=email["emailCampaignId"],
                           extra={"sendId": send_id} if send_id else None)
    answer = {"sendResult": "SENT", "eventId": {"id": event["id"], "created": event["created"]}}
    if send_id:
        data.send_ids[send_id] = answer
    return answer


def v1_single_send(req: Request) -> Response:
    return json_response(_send(req, v3=False))


def v3_single_send(req: Request) -> Response:
    now = iso_from_ms(req.state.now_ms())
    result = _send(req, v3=True)
    return json_response({"statusId": str(req.correlation_id), "status": "COMPLETE", "requestedAt": now,
                          "startedAt": now, "completedAt": now, **result})


def register(router: Router) -> None:
    sub_read = (CONTENT, COMM_READ, COMM_READ_WRITE)
    sub_write = (CONTENT, COMM_WRITE, COMM_READ_WRITE)
    router.add("GET", f"{V1}/subscriptions", v1_subscription_types, scopes=sub_read)
    router.add("GET", f"{V1}/subscriptions/timeline", v1_subscription_timeline, scopes=sub_read)
    router.add("GET", f"{V1}/subscriptions/{{email}}", v1_subscription_status, scopes=sub_read)
    router.add("PUT", f"{V1}/subscriptions/{{email}}", v1_update_subscription, scopes=sub_write)
    router.add("GET", f"{V3_PREFERENCES}/definitions", v3_definitions, scopes=(COMM_READ, COMM_READ_WRITE))
    router.add("GET", f"{V3_PREFERENCES}/status/email/{{emailAddress}}", v3_status, scopes=(COMM_READ, COMM_READ_WRITE))
    router.add("POST", f"{V3_PREFERENCES}/subscribe", v3_subscribe, scopes=(COMM_WRITE, COMM_READ_WRITE))
    router.add("POST", f"{V3_PREFERENCES}/unsubscribe", v3_unsubscribe, scopes=(COMM_WRITE, COMM_READ_WRITE))
    router.add("GET", f"{V1}/events", list_events, scopes=(CONTENT,))
    router.add("GET", f"{V1}/events/{{created}}/{{eventId}}", get_event, scopes=(CONTENT,))
    router.add("GET", f"{V1}/campaigns", recent_campaigns, scopes=(CONTENT,))
    router.add("GET", f"{V1}/campaigns/by-id", campaigns_by_id, scopes=(CONTENT,))
    router.add("GET", f"{V1}/campaigns/{{campaignId:\\d+}}", get_campaign, scopes=(CONTENT,))
    tx = (TRANSACTIONAL_EMAIL,)
    router.add("POST", f"{V1}/smtpapi/tokens", v1_create_token, scopes=tx)
    router.add("GET", f"{V1}/smtpapi/tokens", v1_list_tokens, scopes=tx)
    router.add("POST", f"{V1}/smtpapi/tokens/{{userName}}/password-reset", v1_reset_password, scopes=tx)
    router.add("POST", f"{V1}/singleEmail/send", v1_single_send, scopes=tx)
    router.add("POST", f"{V3_TRANSACTIONAL}/smtp-tokens", v3_create_token, scopes=tx)
    router.add("GET", f"{V3_TRANSACTIONAL}/smtp-tokens", v3_list_tokens, scopes=tx)
    router.add("GET", f"{V3_TRANSACTIONAL}/smtp-tokens/{{tokenId}}", v3_get_token, scopes=tx)
    router.add("DELETE", f"{V3_TRANSACTIONAL}/smtp-tokens/{{tokenId}}", v3_delete_token, scopes=tx)
    router.add("POST", f"{V3_TRANSACTIONAL}/smtp-tokens/{{tokenId}}/password-reset", v3_reset_password, scopes=tx)
    router.add("POST", f"{V3_TRANSACTIONAL}/single-email/send", v3_single_send, scopes=tx)
