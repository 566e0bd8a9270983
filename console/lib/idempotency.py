"""Idempotency keys for write requests that a client may resend (referrers, unit tablets).

The same key with the same body replays the first answer (no second effect); the same key with
another body is a 409. The key row is written in the action's own transaction, so the effect
and the record of its answer commit together or not at all; a concurrent duplicate waits on the
key's primary key and then replays.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from starlette.requests import Request

from console.lib import errors

HEADER = "idempotency-key"


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    response: dict[str, Any]


def key_of(request: Request, *, required: bool = True) -> str | None:
    key = request.headers.get(HEADER, "").strip()
    if not key:
        if required:
            raise errors.ValidationFailed(
                "Intestazione Idempotency-Key obbligatoria.",
                problems=[errors.FieldProblem("header.Idempotency-Key", "required", "missing")],
            )
        return None
    if len(key) > 200 or not key.isprintable():
        raise errors.ValidationFailed(
            problems=[
                errors.FieldProblem(
                    "header.Idempotency-Key", "at most 200 printable characters", "invalid"
                )
            ]
        )
    return key


def fingerprint(body: Any) -> bytes:
    """The request's identity: its parsed body, canonically encoded."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).digest()


async def claim(
    conn: asyncpg.Connection, scope: str, key: str, request_hash: bytes, now: datetime
) -> Replay | None:
    """Take the key inside the current transaction; a Replay when it was answered before.

    The placeholder row blocks a concurrent duplicate until this transaction ends.
    """
    inserted = await conn.fetchval(
        "INSERT INTO idempotency_keys (scope, key, request_hash, status, response, created_at)"
        " VALUES ($1, $2, $3, 0, '{}'::jsonb, $4) ON CONFLICT (scope, key) DO NOTHING"
        " RETURNING true",
        scope,
        key,
        request_hash,
        now,
    )
    if inserted:
        return None
    row = await conn.fetchrow(
        "SELECT request_hash, status, response FROM idempotency_keys WHERE scope = $1 AND key = $2",
        scope,
        key,
    )
    if row["request_hash"] != request_hash:
        raise errors.Conflict("Idempotency-Key già usata con un'altra richiesta.")
    return Replay(row["status"], row["response"])


async def record(
    conn: asyncpg.Connection, scope: str, key: str, status: int, response: dict[str, Any]
) -> None:
    """Store the answer to replay (same transaction as the effect)."""
    await conn.execute(
        "UPDATE idempotency_keys SET status = $3, response = $4 WHERE scope = $1 AND key = $2",
        scope,
        key,
        status,
        response,
    )
