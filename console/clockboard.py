"""Reading clocks for screens: the open ones, with what they measure and their deadline.

Screens count down in the browser from `deadline`; the live `clock.*` events carry the same
fields (see `dispatch.sla.view`), so a screen upserts a clock by `clock_id` from either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from console import clockwork, eventlog, services
from console.api import operation
from dispatch import access, sla
from dispatch.clocks import Milestone


class ClockView(BaseModel):
    clock_id: int
    milestone: str
    label: str = Field(description="The milestone in Italian")
    kind: str = Field(description="referral | case | assignment: what the clock measures")
    key: int = Field(description="The id of the referral, case or assignment measured")
    urgency: str
    state: str = Field(description="running | paused | breached (open clocks only)")
    budget_seconds: int = Field(description="The target, as time counted on its calendar")
    deadline: datetime | None = Field(description="When it breaches; null unless running")
    next_due: datetime | None = Field(description="Its next warning or breach; null unless running")
    warned: int = Field(description="How many warnings (50 %, 80 %) have fired")
    breached_at: datetime | None = Field(description="When the target was missed, if it was")
    referral_id: int | None
    case_id: int | None
    assignment_id: int | None
    unit_id: int | None
    case_number: str
    zone_id: str


class ClockList(BaseModel):
    clocks: list[ClockView]
    as_of: int = Field(description="Last seq in the log when read: clock.* events after it follow")


class ClockQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    referral_id: int | None = Field(default=None, ge=1, description="Only this referral's")
    case_id: int | None = Field(default=None, ge=1, description="Only this case's (and its units')")
    limit: int = Field(default=500, ge=1, le=5000)


def view_of(row: asyncpg.Record) -> ClockView:
    tracked = clockwork.tracked_of(row)
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
        f"SELECT {clockwork.COLUMNS} FROM clocks WHERE state = ANY($1)"
        " AND ($2::bigint IS NULL OR referral_id = $2) AND ($3::bigint IS NULL OR case_id = $3)"
        " ORDER BY state <> 'breached', breached_at, deadline NULLS LAST, id LIMIT $4",
        clockwork.OPEN_STATES,
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
        f"SELECT {clockwork.COLUMNS} FROM clocks WHERE kind = 'assignment' AND subject_id = $1"
        " AND milestone = ANY($2::text[]) AND state IN ('running', 'paused', 'breached')"
        " ORDER BY state <> 'breached', breached_at, deadline NULLS LAST, id",
        assignment_id,
        ASSIGNMENT_MILESTONES,
    )
    return [view_of(r) for r in rows]


MILESTONES: list[dict[str, Any]] = [
    {"milestone": m.value, "label": sla.MILESTONE_LABELS[m]} for m in Milestone
]


@operation(
    "GET",
    "/api/v1/clocks",
    summary="Open SLA clocks (running, paused, breached): breached first, then by deadline",
    query=ClockQuery,
    response=ClockList,
    permission=access.Permission.VIEW_ROOM,
    errors=(403,),
    tag="clocks",
    description="Read in one repeatable-read transaction with `as_of`; `clock.*` events after"
    " it carry the same fields. Countdowns are computed by the client from `deadline`.",
)
async def list_clocks(
    request: Request, principal: access.Principal, _: None, query: ClockQuery
) -> ClockList:
    pool = services.of(request).db.pool
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        as_of = await eventlog.head(conn)
        found = await open_clocks(
            conn, referral_id=query.referral_id, case_id=query.case_id, limit=query.limit
        )
    return ClockList(clocks=found, as_of=as_of)
