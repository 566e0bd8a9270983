"""Request-side access: who is calling, may they do this, is the call really theirs (CSRF)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import HTTPConnection

from console import auth, errors, services
from dispatch import access

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_UNSET = object()


async def session_of(conn: HTTPConnection) -> auth.Session | None:
    """The cookie's live session (cached on the request)."""
    if getattr(conn.state, "session", _UNSET) is _UNSET:
        cookie = conn.cookies.get(auth.SESSION_COOKIE)
        found = None
        if cookie:
            svc = services.of(conn)
            found = await auth.load_session(
                svc.db.pool, cookie, datetime.now(UTC), svc.settings.session_policy
            )
        conn.state.session = found
    session: auth.Session | None = conn.state.session
    return session


async def principal_of(conn: HTTPConnection) -> access.Principal | None:
    """Bearer credentials (API key, device token) first, else the session cookie."""
    token = auth.bearer(conn)
    if token is not None:
        pool = services.of(conn).db.pool
        return await auth.from_api_key(pool, token) or await auth.from_device_token(pool, token)
    session = await session_of(conn)
    return session.principal if session else None


async def require(
    conn: HTTPConnection, permission: access.Permission | None = None
) -> access.Principal:
    principal = await principal_of(conn)
    if principal is None:
        raise errors.NotAuthenticated()
    if permission is not None and not access.can(principal, permission):
        raise errors.Forbidden()
    return principal


async def check_csrf(conn: HTTPConnection, method: str, submitted: str | None = None) -> None:
    """A state-changing call carried by the session cookie must prove it comes from our page.

    Bearer-authenticated calls carry no ambient credential and need no token.
    """
    if method not in UNSAFE_METHODS or auth.bearer(conn) is not None:
        return
    if not auth.origin_allowed(conn, services.of(conn).settings):
        raise errors.CsrfRefused("Origine della richiesta non consentita.")
    session = await session_of(conn)
    if session is None:
        return  # nothing ambient to abuse; the endpoint itself asks for authentication
    token = submitted if submitted is not None else conn.headers.get(auth.CSRF_HEADER)
    if not auth.same(token, session.csrf_token):
        raise errors.CsrfRefused()


def user_id_of(principal: access.Principal) -> int:
    """The acting user's id: actions a person signs (claims, acknowledgements) need one."""
    if principal.user_id is None:
        raise errors.Forbidden()
    return principal.user_id


async def room_member_name(conn: Any, user_id: int, field: str = "operator_id") -> str:
    """The name of an active operator or supervisor, the only people a referral or case may be
    handed to; 422 on `field` otherwise."""
    name: str | None = await conn.fetchval(
        "SELECT display_name FROM users WHERE id = $1 AND active"
        " AND role IN ('operator', 'supervisor')",
        user_id,
    )
    if name is None:
        raise errors.ValidationFailed(
            problems=[errors.FieldProblem(field, "Operatore non attivo o inesistente.")]
        )
    return name
