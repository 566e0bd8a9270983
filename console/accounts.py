"""Logging in and out: the use cases shared by the login page and the JSON API."""

from __future__ import annotations

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response

from console import auth, errors, guard, schemas, services
from console.api import operation
from dispatch import access, events

ROLE_LABELS = {
    access.Role.OPERATOR: "Operatore di centrale",
    access.Role.SUPERVISOR: "Supervisore di turno",
    access.Role.UNIT: "Unità operativa",
    access.Role.REFERRER: "Ente segnalante",
    access.Role.TERRITORIAL_SERVICE: "Servizio sociale territoriale",
    access.Role.ADMIN: "Amministratore",
}


async def log_in(
    conn: HTTPConnection, username: str, password: str | None, *, device_token: str | None = None
) -> tuple[str, auth.Session]:
    """Check credentials under the rate limit; open a fresh session; revoke the old one."""
    svc = services.of(conn)
    address = auth.client_address(conn, svc.settings)
    # Device tokens are 256-bit secrets: each is its own "account"; the address limit holds.
    account = username if device_token is None else "device:" + auth.digest(device_token).hex()[:16]
    wait = await svc.limiter.attempt(account, address)
    if wait is not None:
        raise errors.RateLimited(retry_after=wait)
    if device_token is not None:
        user_id = await auth.device_user(svc.db.pool, device_token)
    else:
        user_id = await auth.check_password(svc.db.pool, username, password or "")
    if user_id is None:
        raise errors.NotAuthenticated("Credenziali non valide.")
    previous = await guard.session_of(conn)
    async with svc.db.action() as tx:
        if previous is not None and previous.principal.session_id:
            if await auth.revoke_session(tx.conn, previous.principal.session_id, tx.now):
                tx.emit(
                    events.user_logged_out(
                        previous.principal, session=previous.principal.session_id, reason="replaced"
                    )
                )
        cookie, session = await auth.open_session(
            tx.conn, user_id, tx.now, addr=address, agent=conn.headers.get("user-agent", "")
        )
        tx.emit(events.user_logged_in(session.principal))
    await svc.limiter.succeeded(account, address)
    return cookie, session


async def log_out(conn: HTTPConnection, reason: str = "logout") -> None:
    """Revoke the session everywhere: the cookie dies and its sockets close on every instance."""
    session = await guard.session_of(conn)
    if session is None or session.principal.session_id is None:
        return
    svc = services.of(conn)
    async with svc.db.action() as tx:
        if await auth.revoke_session(tx.conn, session.principal.session_id, tx.now):
            tx.emit(
                events.user_logged_out(
                    session.principal, session=session.principal.session_id, reason=reason
                )
            )


def set_session_cookie(response: Response, conn: HTTPConnection, cookie: str) -> None:
    settings = services.of(conn).settings
    response.set_cookie(
        auth.SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
        max_age=int(settings.session_absolute.total_seconds()),
    )


def me(principal: access.Principal) -> schemas.Me:
    return schemas.Me(
        name=principal.name,
        role=principal.role.value,
        role_label=ROLE_LABELS[principal.role],
        permissions=sorted(p.value for p in access.ROLE_PERMISSIONS[principal.role]),
        user_id=principal.user_id,
        unit_id=principal.unit_id,
        referrer_id=principal.referrer_id,
        zone_id=principal.zone_id,
    )


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
    description="Rate-limited per account and per client address (429 with Retry-After).",
)
async def open_session(request: Request, _: None, body: schemas.Credentials, __: None) -> Response:
    await guard.check_csrf(request, "POST")
    cookie, session = await log_in(request, body.username, body.password)
    payload = schemas.SessionOpened(user=me(session.principal), csrf_token=session.csrf_token)
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
