"""Reading clocks for screens: the open ones, with what they measure and their deadline.

Screens count down in the browser from `deadline`; the live `clock.*` events carry the same
fields (see `dispatch.sla.view`), so a screen upserts a clock by `clock_id` from either."""

from __future__ import annotations

from typing import Any

import asyncpg

from console.areas.clocks import actions
from console.lib.schemas import ClockView
from dispatch import sla
from dispatch.clocks import Milestone


def view_of(row: asyncpg.Record) -> ClockView:
    tracked = actions.tracked_of(row)
    return ClockView(
        **sla.view(tracked),
        **{name: row[name] for name in ("referral_id", "case_id", "assignment_id", "unit_id")},
        case_number=row["case_number"],
        zone_id=row["zone_id"],
    )


async def open_clocks(
    conn: asyncpg.Connection,
    *,
    referral_id: int | None = None,
    case_id: int | None = None,
    limit: int = 500,
) -> list[ClockView]:
    """Open clocks, breached first (longest breached first), then by deadline."""
    rows = await conn.fetch(
        f"SELECT {actions.COLUMNS} FROM clocks WHERE state = ANY($1)"
        " AND ($2::bigint IS NULL OR referral_id = $2) AND ($3::bigint IS NULL OR case_id = $3)"
        " ORDER BY state <> 'breached', breached_at, deadline NULLS LAST, id LIMIT $4",
        actions.OPEN_STATES,
        referral_id,
        case_id,
        limit,
    )
    return [view_of(r) for r in rows]


ASSIGNMENT_MILESTONES = sorted(
    m.value for m, k in sla.MILESTONE_KIND.items() if k is sla.Kind.ASSIGNMENT
)


async def open_clocks_of_assignment(
    conn: asyncpg.Connection, assignment_id: int
) -> list[ClockView]:
    """The open clocks of one unit's assignment (on scene, check-in), as `open_clocks` orders.

    Read through the one-open-clock-per-subject index: what the tablet asks on every event."""
    rows = await conn.fetch(
        f"SELECT {actions.COLUMNS} FROM clocks WHERE kind = 'assignment' AND subject_id = $1"
        " AND milestone = ANY($2::text[]) AND state IN ('running', 'paused', 'breached')"
        " ORDER BY state <> 'breached', breached_at, deadline NULLS LAST, id",
        assignment_id,
        ASSIGNMENT_MILESTONES,
    )
    return [view_of(r) for r in rows]


MILESTONES: list[dict[str, Any]] = [
    {"milestone": m.value, "label": sla.MILESTONE_LABELS[m]} for m in Milestone
]
