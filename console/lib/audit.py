"""The audit of reads: every opening of a person's file is a row, written in the read's own
transaction before anything is answered."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

import asyncpg

from dispatch import access
from dispatch.events import actor_of

Subject = Literal["referral", "case", "handover", "assignment"]


async def file_opened(
    conn: asyncpg.Connection,
    principal: access.Principal,
    subject: Subject,
    subject_ids: int | Sequence[int],
) -> None:
    """Record that `principal` is reading these files; call inside the read's transaction."""
    ids = [subject_ids] if isinstance(subject_ids, int) else list(subject_ids)
    if not ids:
        return
    await conn.execute(
        "INSERT INTO file_openings (at, subject, subject_id, role, actor, actor_name, zone_id)"
        " SELECT $1, $2, id, $3, $4, $5, $6 FROM unnest($7::bigint[]) AS id",
        datetime.now(UTC),
        subject,
        principal.role.value,
        actor_of(principal),
        principal.name,
        principal.zone_id,
        ids,
    )
