"""Who is calling: passwords, server-side sessions, API keys, device tokens, CSRF."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.requests import HTTPConnection

from console.lib.config import Settings
from dispatch import access
from dispatch.sessions import SessionPolicy, SessionState, needs_touch, state_of

SESSION_COOKIE = "seus_session"
LOGIN_CSRF_COOKIE = "seus_login_csrf"
CSRF_HEADER = "x-csrf-token"

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password of anyone")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Constant work whether or not the account exists (no user enumeration by timing)."""
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def new_secret() -> str:
    """A 256-bit random secret: session ids, API keys, device tokens, CSRF tokens."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> bytes:
    """What we store of a high-entropy secret: its SHA-256 (never the secret)."""
    return hashlib.sha256(secret.encode()).digest()


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


_USER_COLUMNS = "u.id, u.username, u.display_name, u.role, u.unit_id, u.referrer_id, u.zone_id"


def _principal(row: asyncpg.Record, session_id: str | None = None) -> access.Principal:
    return access.Principal(
        role=access.Role(row["role"]),
        name=row["display_name"],
        user_id=row["id"],
        unit_id=row["unit_id"],
        referrer_id=row["referrer_id"],
        zone_id=row["zone_id"],
        session_id=session_id,
    )


async def user_principal(conn: asyncpg.Pool, user_id: int) -> access.Principal:
    """A user as a session of theirs presents them (the demo acts as its users)."""
    row = await conn.fetchrow(f"SELECT {_USER_COLUMNS} FROM users u WHERE u.id = $1", user_id)
    return _principal(row)


@dataclass(frozen=True, slots=True)
class Session:
    principal: access.Principal
    csrf_token: str


async def check_password(conn: asyncpg.Pool, username: str, password: str) -> int | None:
    """The user id when the credentials are right and the account active.

    argon2 is deliberately slow: it runs in a thread, off the event loop, and outside any
    transaction.
    """
    row = await conn.fetchrow(
        "SELECT id, password_hash, active FROM users WHERE lower(username) = lower($1)", username
    )
    ok = await asyncio.to_thread(verify_password, row["password_hash"] if row else None, password)
    if row is None or not ok or not row["active"]:
        return None
    user_id: int = row["id"]
    return user_id


async def open_session(
    conn: asyncpg.Connection,
    user_id: int,
    now: datetime,
    *,
    addr: str,
    agent: str,
    device_token_id: int | None = None,
) -> tuple[str, Session]:
    """A new session with a new random id (never one the client proposed): the cookie value.
    A session opened with a device token names it: revoking the token ends the session."""
    cookie = new_secret()
    csrf = new_secret()
    await conn.execute(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at,"
        " client_addr, user_agent, device_token_id) VALUES ($1, $2, $3, $4, $4, $5, $6, $7)",
        digest(cookie),
        user_id,
        csrf,
        now,
        addr,
        agent[:300],
        device_token_id,
    )
    row = await conn.fetchrow(f"SELECT {_USER_COLUMNS} FROM users u WHERE u.id = $1", user_id)
    return cookie, Session(_principal(row, digest(cookie).hex()), csrf)


async def load_session(
    conn: asyncpg.Connection | asyncpg.Pool, cookie: str, now: datetime, policy: SessionPolicy
) -> Session | None:
    """The live session behind a cookie; None when unknown, expired, idle or revoked."""
    id_hash = digest(cookie)
    row = await conn.fetchrow(
        f"SELECT {_USER_COLUMNS}, u.active, s.csrf_token, s.created_at, s.last_seen_at,"
        " s.revoked_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1",
        id_hash,
    )
    if row is None or not row["active"]:
        return None
    state = state_of(
        policy,
        now,
        created_at=row["created_at"],
        last_seen_at=row["last_seen_at"],
        revoked=row["revoked_at"] is not None,
    )
    if state is not SessionState.ACTIVE:
        return None
    if needs_touch(policy, now, row["last_seen_at"]):
        await conn.execute(
            "UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1 AND revoked_at IS NULL",
            id_hash,
            now,
        )
    return Session(_principal(row, id_hash.hex()), row["csrf_token"])


async def still_valid(
    conn: asyncpg.Pool, session_id: str, now: datetime, policy: SessionPolicy
) -> bool:
    """For long-lived sockets: is the session behind them still good (without touching it)?"""
    row = await conn.fetchrow(
        "SELECT s.created_at, s.last_seen_at, s.revoked_at, u.active FROM sessions s"
        " JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1",
        bytes.fromhex(session_id),
    )
    if row is None or not row["active"]:
        return False
    state = state_of(
        policy,
        now,
        created_at=row["created_at"],
        last_seen_at=row["last_seen_at"],
        revoked=row["revoked_at"] is not None,
    )
    return state is SessionState.ACTIVE


async def revoke_session(conn: asyncpg.Connection, session_id: str, now: datetime) -> bool:
    done: str = await conn.execute(
        "UPDATE sessions SET revoked_at = $2 WHERE id_hash = $1 AND revoked_at IS NULL",
        bytes.fromhex(session_id),
        now,
    )
    return done.endswith(" 1")


async def from_api_key(conn: asyncpg.Pool, key: str) -> access.Principal | None:
    row = await conn.fetchrow(
        "SELECT r.id, r.name FROM api_keys k JOIN referrers r ON r.id = k.referrer_id"
        " WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
        digest(key),
    )
    if row is None:
        return None
    return access.Principal(role=access.Role.REFERRER, name=row["name"], referrer_id=row["id"])


async def from_device_token(conn: asyncpg.Pool, token: str) -> access.Principal | None:
    row = await conn.fetchrow(
        f"SELECT {_USER_COLUMNS}, u.active FROM device_tokens t JOIN users u ON u.id = t.user_id"
        " WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
        digest(token),
    )
    if row is None or not row["active"]:
        return None
    return _principal(row)


async def device_login(conn: asyncpg.Pool, token: str) -> tuple[int, int] | None:
    """(user id, device token id) of a live device token of an active user."""
    row = await conn.fetchrow(
        "SELECT t.user_id, t.id FROM device_tokens t JOIN users u ON u.id = t.user_id"
        " WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active",
        digest(token),
    )
    return (row["user_id"], row["id"]) if row is not None else None


async def device_user(conn: asyncpg.Pool, token: str) -> int | None:
    user_id: int | None = await conn.fetchval(
        "SELECT t.user_id FROM device_tokens t JOIN users u ON u.id = t.user_id"
        " WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active",
        digest(token),
    )
    return user_id


def bearer(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def client_address(conn: HTTPConnection, settings: Settings) -> str:
    """The caller's address; X-Forwarded-For only counts when the peer is a trusted proxy."""
    peer = conn.client.host if conn.client else "unknown"
    try:
        chain = [ipaddress.ip_address(peer)]
    except ValueError:
        return peer
    forwarded = conn.headers.get("x-forwarded-for", "")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    while hops and any(chain[-1] in net for net in settings.trusted_proxies):
        try:
            chain.append(ipaddress.ip_address(hops.pop()))
        except ValueError:
            break
    return str(chain[-1])


def origin_allowed(conn: HTTPConnection, settings: Settings) -> bool:
    """No Origin (not a browser) is fine; a browser's Origin must be one of ours."""
    origin = conn.headers.get("origin")
    return origin is None or origin.rstrip("/") in settings.origins
