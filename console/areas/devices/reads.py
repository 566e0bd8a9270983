"""What the tablets page reads: each unit's live device tokens and the pairing audit trail."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from console.areas.devices.schemas import DeviceLogEntry, TabletOut, TabletsBoard, UnitTablets
from console.lib import render
from dispatch import pairing

LOG_LIMIT = 50

TABLETS_SQL = """
SELECT u.id, u.name, t.id AS token_id, t.label, t.created_at,
       (SELECT max(s.last_seen_at) FROM sessions s WHERE s.device_token_id = t.id) AS last_seen_at,
       (SELECT count(*) FROM sessions s WHERE s.device_token_id = t.id
          AND s.revoked_at IS NULL) AS live_sessions,
       (SELECT count(*) FROM pairing_codes p WHERE p.unit_id = u.id AND p.used_at IS NULL
          AND p.expires_at > $1) AS pending_codes
FROM units u
LEFT JOIN users us ON us.unit_id = u.id AND us.role = 'unit'
LEFT JOIN device_tokens t ON t.user_id = us.id AND t.revoked_at IS NULL
ORDER BY u.name, u.id, t.id
"""


async def tablets_board(conn: asyncpg.Connection, now: datetime) -> TabletsBoard:
    """Read in one repeatable-read transaction by the caller, with the log's head."""
    rows = await conn.fetch(TABLETS_SQL, now)
    units: dict[int, UnitTablets] = {}
    for r in rows:
        unit = units.setdefault(
            r["id"],
            UnitTablets(id=r["id"], name=r["name"], tablets=[], pending_codes=r["pending_codes"]),
        )
        if r["token_id"] is not None:
            unit.tablets.append(
                TabletOut(
                    id=r["token_id"],
                    label=r["label"] or "Tablet",
                    created_at=r["created_at"],
                    last_seen_at=r["last_seen_at"],
                    live_sessions=r["live_sessions"],
                )
            )
    logged = await conn.fetch(
        "SELECT seq, at, type, payload FROM events WHERE type LIKE 'device.%'"
        " ORDER BY seq DESC LIMIT $1",
        LOG_LIMIT,
    )
    as_of: int = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM events")
    return TabletsBoard(units=list(units.values()), log=[entry(r) for r in logged], as_of=as_of)


def entry(row: asyncpg.Record) -> DeviceLogEntry:
    payload = row["payload"] if isinstance(row["payload"], dict) else {}
    clock = ""
    if row["type"] == "device.pairing_code_issued" and payload.get("expires_at"):
        clock = render.rome_datetime(datetime.fromisoformat(payload["expires_at"]))[-5:]
    return DeviceLogEntry(
        seq=row["seq"],
        at=row["at"],
        type=row["type"],
        unit_id=payload.get("unit_id"),
        text=pairing.phrase(row["type"], payload, clock),
    )
