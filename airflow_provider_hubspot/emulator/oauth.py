"""OAuth token endpoints: ``POST /oauth/2026-03/token`` (also ``/oauth/v3/token``) and the
deprecated ``POST /oauth/v1/token``, plus token metadata / revocation helpers.

Only ``grant_type=refresh_token`` is supported (clients and refresh tokens are registered with
``HubSpotEmulator.add_oauth_client``); other grant types answer 400 ``unsupported_grant_type``.
Parameters are read from the form body (a JSON object body is accepted too); ``redirect_uri`` is
accepted and ignored. The refresh token is not rotated. Error precedence: missing parameter →
``invalid_request``; unknown client id → ``invalid_client`` / ``BAD_CLIENT_ID``; wrong secret →
``invalid_client`` / ``BAD_CLIENT_SECRET``; unknown, revoked or foreign refresh token →
``invalid_grant`` / ``BAD_REFRESH_TOKEN``. All errors are 400. With the emulator's
``token_endpoint_2026_available`` set to False the date-based (``2026-03``, ``2026-09``) routes
answer 404. These routes are not rate-limited and never get random faults (scripted faults still apply).
"""

from __future__ import annotations

from .router import ApiError, Handler, Request, Response, Router, empty, json_response


def oauth_error(status: int, error: str, description: str, code: str, correlation_id: str) -> ApiError:
    return ApiError(
        status,
        {
            "error": error,
            "error_description": description,
            "status": code,
            "message": description,
            "correlationId": correlation_id,
        },
    )


def token(req: Request) -> Response:
    form = req.form()
    grant = form.get("grant_type", "")
    cid = req.correlation_id
    if not grant:
        raise oauth_error(400, "invalid_request", "missing or invalid parameter: grant_type", "BAD_GRANT_TYPE", cid)
    if grant != "refresh_token":
        raise oauth_error(
            400, "unsupported_grant_type", f"grant_type {grant} is not supported by the emulator", "BAD_GRANT_TYPE", cid
        )
    for name in ("client_id", "client_secret", "refresh_token"):
        if not form.get(name):
            raise oauth_error(400, "invalid_request", f"missing or invalid parameter: {name}", "BAD_REQUEST", cid)
    body = req.emulator.oauth_refresh(form["client_id"], form["client_secret"], form["refresh_token"], cid)
    return json_response(body, headers={"Cache-Control": "no-store"})


def access_token_info(req: Request) -> Response:
    info = req.emulator.token_info(req.params["token"])
    if info is None:
        raise ApiError(404, {"status": "error", "message": "access token not found"})
    return json_response(info)


def refresh_token_info(req: Request) -> Response:
    info = req.emulator.refresh_token_info(req.params["token"])
    if info is None:
        raise ApiError(404, {"status": "error", "message": "refresh token not found"})
    return json_response(info)


def delete_refresh_token(req: Request) -> Response:
    req.emulator.revoke_refresh_token(req.params["token"])
    return empty(204)


def introspect(req: Request) -> Response:
    form = req.form()
    info = req.emulator.token_info(form.get("token", ""))
    if info is None:
        return json_response({"active": False})
    return json_response({"active": info["expires_in"] > 0, **info})


def revoke(req: Request) -> Response:
    form = req.form()
    req.emulator.revoke_refresh_token(form.get("token", ""))
    return json_response({})


def register(router: Router) -> None:
    def add(method: str, path: str, handler: Handler, tags: tuple[str, ...] = ("oauth",)) -> None:
        router.add(method, path, handler, auth="none", rate="none", write=False, tags=tags)

    add("POST", "/oauth/v1/token", token)
    add("POST", "/oauth/2026-03/token", token, ("oauth", "oauth_2026"))
    add("POST", "/oauth/v3/token", token)
    add("GET", "/oauth/v1/access-tokens/{token}", access_token_info)
    add("GET", "/oauth/v1/refresh-tokens/{token}", refresh_token_info)
    add("DELETE", "/oauth/v1/refresh-tokens/{token}", delete_refresh_token)
    add("POST", "/oauth/2026-03/token/introspect", introspect, ("oauth", "oauth_2026"))
    add("POST", "/oauth/2026-03/token/revoke", revoke, ("oauth", "oauth_2026"))
    add("POST", "/oauth/2026-09/token", token, ("oauth", "oauth_2026"))
    add("POST", "/oauth/2026-09/token/introspect", introspect, ("oauth", "oauth_2026"))
    add("POST", "/oauth/2026-09/token/revoke", revoke, ("oauth", "oauth_2026"))
    add("POST", "/oauth/v3/token/introspect", introspect)
    add("POST", "/oauth/v3/token/revoke", revoke)
