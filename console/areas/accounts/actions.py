"""Logging in and out: the use cases shared by the login page and the JSON API."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from starlette.requests import HTTPConnection
from starlette.responses import Response

from console.lib import auth, errors, guard, services
from console.lib.db import Database
from dispatch import events
from dispatch.sessions import SessionPolicy

log = logging.getLogger("seus.accounts")


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
    token_id = None
    if device_token is not None:
        found = await auth.device_login(svc.db.pool, device_token)
        user_id, token_id = found if found is not None else (None, None)
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
            tx.conn,
            user_id,
            tx.now,
            addr=address,
            agent=conn.headers.get("user-agent", ""),
            device_token_id=token_id,
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


async def purge_sessions(db: Database, policy: SessionPolicy) -> int:
    """Forget sessions that ended more than a day ago (idempotent: any instance may run it)."""
    now = datetime.now(UTC)
    status: str = await db.pool.execute(
        "DELETE FROM sessions WHERE revoked_at < $1 - interval '1 day'"
        " OR created_at < $1 - $2::interval - interval '1 day'"
        " OR last_seen_at < $1 - $3::interval - interval '1 day'",
        now,
        policy.absolute,
        policy.idle,
    )
    purged = int(status.split()[-1])
    if purged:
        log.info("purged ended sessions", extra={"count": purged})
    return purged
