"""Units' tablets: issue a pairing code, exchange it for a device token, revoke tablets."""

from __future__ import annotations

import io
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
import segno
from starlette.requests import HTTPConnection

from console.areas.devices.schemas import PairingCodeOut, Revoked
from console.lib import auth, errors, render, services
from console.lib.db import Database
from dispatch import access, events, pairing

log = logging.getLogger("seus.devices")

PAIRING_PATH = "/tablet/abbina"


def qr_svg(url: str) -> str:
    """The QR code of `url` as an SVG document (black on white, a quiet zone of 4 modules)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(
        out,
        kind="svg",
        xmldecl=False,
        scale=6,
        border=4,
        light="#fff",
        title="Codice QR di abbinamento del tablet",
        svgclass="pairing-qr-svg",
        lineclass=None,
    )
    return out.getvalue().decode()


def origin_of(conn: HTTPConnection) -> str:
    """The address people reach the console at: the page's Origin when it is one of ours."""
    settings = services.of(conn).settings
    origin = (conn.headers.get("origin") or "").rstrip("/")
    if origin and origin in settings.origins:
        return origin
    return str(conn.base_url).rstrip("/")


async def _unit(conn: asyncpg.Connection, unit_id: int) -> asyncpg.Record:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT id, name FROM units WHERE id = $1 FOR UPDATE", unit_id
    )
    if row is None:
        raise errors.NotFound("Unità non trovata.")
    return row


async def issue_code(
    db: Database, by: access.Principal, unit_id: int, *, ttl: timedelta, origin: str
) -> PairingCodeOut:
    """A new code for the unit's tablet, valid once for `ttl`; only its digest is kept."""
    code = pairing.code_from(secrets.token_bytes(pairing.LENGTH))
    async with db.action() as tx:
        unit = await _unit(tx.conn, unit_id)
        expires_at = tx.now + ttl
        code_id: int = await tx.conn.fetchval(
            "INSERT INTO pairing_codes (unit_id, code_hash, issued_by, issued_at, expires_at)"
            " VALUES ($1, $2, $3, $4, $5) RETURNING id",
            unit_id,
            auth.digest(code),
            by.user_id,
            tx.now,
            expires_at,
        )
        tx.emit(pairing.code_issued(unit_id, unit["name"], code_id, expires_at, by))
    url = f"{origin}{PAIRING_PATH}?codice={code}"
    return PairingCodeOut(
        id=code_id,
        unit_id=unit_id,
        unit_name=unit["name"],
        code=code,
        code_display=pairing.grouped(code),
        url=url,
        qr_svg=qr_svg(url),
        expires_at=expires_at,
        ttl_minutes=int(ttl.total_seconds() // 60),
    )


@dataclass(frozen=True, slots=True)
class Exchanged:
    token: str
    unit_id: int
    unit_name: str


async def _device_user(conn: asyncpg.Connection, unit_id: int, unit_name: str) -> int:
    """The unit's tablet account (one without a password first); made when it has none."""
    user_id: int | None = await conn.fetchval(
        "SELECT id FROM users WHERE unit_id = $1 AND role = 'unit' AND active"
        " ORDER BY password_hash IS NULL DESC, id LIMIT 1",
        unit_id,
    )
    if user_id is None:
        user_id = await conn.fetchval(
            "INSERT INTO users (username, display_name, role, unit_id)"
            " VALUES ($1, $2, 'unit', $3) RETURNING id",
            f"tablet-unita-{unit_id}-{secrets.token_hex(3)}",
            unit_name,
            unit_id,
        )
    assert user_id is not None
    return user_id


async def exchange_code(conn: HTTPConnection, typed: str) -> Exchanged:
    """A pairing code for a new device token of its unit: once, before it expires, under the
    login rate limit (each code its own account; the client address's limit holds). Every
    outcome is an event; a refusal raises NotAuthenticated with its Italian message."""
    svc = services.of(conn)
    address = auth.client_address(conn, svc.settings)
    code = pairing.normalised(typed)
    account = "pairing:" + auth.digest(code).hex()[:16]
    wait = await svc.limiter.attempt(account, address)
    if wait is not None:
        log.warning("pairing attempts over the limit", extra={"address": address})
        minutes = max(1, -(-wait // 60))
        raise errors.RateLimited(
            f"Troppi tentativi di abbinamento: riprova tra {minutes} min.", retry_after=wait
        )
    refusal: pairing.Refusal | None = None
    async with svc.db.action() as tx:
        row = None
        if pairing.well_formed(code):
            row = await tx.conn.fetchrow(
                "SELECT p.id, p.unit_id, p.expires_at, p.used_at, u.name AS unit_name"
                " FROM pairing_codes p JOIN units u ON u.id = p.unit_id"
                " WHERE p.code_hash = $1 FOR UPDATE OF p",
                auth.digest(code),
            )
        if row is None:
            refusal = pairing.Refusal.UNKNOWN
            tx.emit(pairing.pairing_refused(refusal, address))
        else:
            refusal = pairing.judge(tx.now, row["expires_at"], row["used_at"])
        if row is not None and refusal is not None:
            tx.emit(pairing.pairing_refused(refusal, address, row["unit_id"], row["unit_name"]))
        if row is not None and refusal is None:
            user_id = await _device_user(tx.conn, row["unit_id"], row["unit_name"])
            token = auth.new_secret()
            label = f"Abbinato il {render.rome_datetime(tx.now)}"
            token_id: int = await tx.conn.fetchval(
                "INSERT INTO device_tokens (user_id, token_hash, label, created_at)"
                " VALUES ($1, $2, $3, $4) RETURNING id",
                user_id,
                auth.digest(token),
                label,
                tx.now,
            )
            await tx.conn.execute(
                "UPDATE pairing_codes SET used_at = $2, device_token_id = $3 WHERE id = $1",
                row["id"],
                tx.now,
                token_id,
            )
            tx.emit(pairing.device_paired(row["unit_id"], row["unit_name"], row["id"], token_id))
    if refusal is not None or row is None:
        raise errors.NotAuthenticated(pairing.REFUSAL_MESSAGES[refusal or pairing.Refusal.UNKNOWN])
    await svc.limiter.succeeded(account, address)
    return Exchanged(token, row["unit_id"], row["unit_name"])


async def revoke_tablets(
    db: Database, by: access.Principal, unit_id: int, token_id: int | None = None
) -> Revoked:
    """Revoke one of the unit's device tokens, or all of them (and its codes not yet used);
    the sessions they opened end at once, their sockets close on every instance."""
    async with db.action() as tx:
        unit = await _unit(tx.conn, unit_id)
        if token_id is not None:
            mine = await tx.conn.fetchval(
                "SELECT t.id FROM device_tokens t JOIN users u ON u.id = t.user_id"
                " WHERE t.id = $1 AND u.unit_id = $2",
                token_id,
                unit_id,
            )
            if mine is None:
                raise errors.NotFound("Tablet non trovato per questa unità.")
        rows = await tx.conn.fetch(
            "UPDATE device_tokens t SET revoked_at = $3, revoked_by = $4 FROM users u"
            " WHERE u.id = t.user_id AND u.unit_id = $1 AND t.revoked_at IS NULL"
            " AND ($2::bigint IS NULL OR t.id = $2) RETURNING t.id",
            unit_id,
            token_id,
            tx.now,
            by.user_id,
        )
        revoked = sorted(r["id"] for r in rows)
        ended = await tx.conn.fetch(
            "UPDATE sessions s SET revoked_at = $2 FROM users u WHERE u.id = s.user_id"
            " AND s.device_token_id = ANY($1::bigint[]) AND s.revoked_at IS NULL"
            " RETURNING s.id_hash, u.id AS user_id, u.display_name",
            revoked,
            tx.now,
        )
        cancelled = 0
        if token_id is None:
            status: str = await tx.conn.execute(
                "UPDATE pairing_codes SET expires_at = $2 WHERE unit_id = $1"
                " AND used_at IS NULL AND expires_at > $2 AND issued_at < $2",
                unit_id,
                tx.now,
            )
            cancelled = int(status.split()[-1])
        for session in ended:
            device = access.Principal(
                access.Role.UNIT,
                session["display_name"],
                user_id=session["user_id"],
                unit_id=unit_id,
            )
            tx.emit(
                events.user_logged_out(
                    device, session=session["id_hash"].hex(), reason="device_revoked"
                )
            )
        if revoked or cancelled:
            tx.emit(
                pairing.devices_revoked(
                    unit_id, unit["name"], revoked, len(ended), by, every=token_id is None
                )
            )
    return Revoked(
        unit_id=unit_id, token_ids=revoked, sessions_ended=len(ended), codes_cancelled=cancelled
    )
