"""Accounts' JSON operations: open and close a session, who am I."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from console.areas.accounts import schemas
from console.areas.accounts.actions import log_in, log_out, set_session_cookie
from console.areas.accounts.reads import me
from console.lib import auth, guard, nav
from console.lib.api import operation
from dispatch import access


@operation(
    "POST",
    "/api/v1/session",
    summary="Log in (opens a session cookie)",
    body=schemas.Credentials,
    response=schemas.SessionOpened,
    status=201,
    auth=(),
    errors=(401, 403, 429),
    tag="accounts",
    description=(
        "Rate-limited per account and per client address (429 with Retry-After). The pages'"
        " re-login dialog uses it when a session has expired: JSON only, from one of our"
        " origins, so another site cannot log a browser in."
    ),
)
async def open_session(request: Request, _: None, body: schemas.Credentials, __: None) -> Response:
    await guard.check_csrf(request, "POST")
    cookie, session = await log_in(request, body.username, body.password)
    payload = schemas.SessionOpened(
        user=me(session.principal),
        csrf_token=session.csrf_token,
        home=nav.HOME[session.principal.role],
    )
    response = JSONResponse(payload.model_dump(mode="json"), status_code=201)
    set_session_cookie(response, request, cookie)
    return response


@operation(
    "DELETE",
    "/api/v1/session",
    summary="Log out (revokes the session everywhere)",
    status=204,
    permission=access.Permission.VIEW_OWN,
    tag="accounts",
)
async def close_session(request: Request, _: access.Principal, __: None, ___: None) -> Response:
    await log_out(request)
    response = Response(status_code=204)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


@operation(
    "GET",
    "/api/v1/me",
    summary="Who am I",
    response=schemas.Me,
    auth=("session", "api_key", "device_token"),
    permission=access.Permission.VIEW_OWN,
    tag="accounts",
)
async def who_am_i(_: Request, principal: access.Principal, __: None, ___: None) -> schemas.Me:
    return me(principal)
