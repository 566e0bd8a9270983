"""Request-side access: who is calling, may they do this, is the call really theirs (CSRF)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import HTTPConnection

from console.lib import auth, errors, services
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


async def credential_of(conn: HTTPConnection) -> tuple[str, access.Principal] | None:
    """Who is calling and with what: ("api_key" | "device_token", principal) for Bearer
    credentials (tried first), else ("session", principal) for the session cookie."""
    token = auth.bearer(conn)
    if token is not None:
        pool = services.of(conn).db.pool
        found = await auth.from_api_key(pool, token)
        if found is not None:
            return "api_key", found
        found = await auth.from_device_token(pool, token)
        return ("device_token", found) if found is not None else None
    session = await session_of(conn)
    return ("session", session.principal) if session else None


async def principal_of(conn: HTTPConnection) -> access.Principal | None:
    """Bearer credentials (API key, device token) first, else the session cookie."""
    found = await credential_of(conn)
    return found[1] if found else None


async def require(
    conn: HTTPConnection,
    need: access.Need | None = None,
    kinds: tuple[str, ...] | None = None,
) -> access.Principal:
    """The caller, if authenticated (401 otherwise) with a kind of credential the route accepts
    (`kinds`, e.g. ("session", "api_key")) and holding what the route needs (403 otherwise)."""
    found = await credential_of(conn)
    if found is None:
        raise errors.NotAuthenticated()
    kind, principal = found
    if kinds is not None and kind not in kinds:
        raise errors.Forbidden("Queste credenziali non valgono per questa operazione.")
    if need is not None and not access.allows(principal, need):
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
