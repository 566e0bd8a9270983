"""Reading clocks for screens: the open ones, with what they measure and their deadline.

Screens count down in the browser from `deadline`; the live `clock.*` events carry the same
fields (see `dispatch.sla.view`), so a screen upserts a clock by `clock_id` from either."""

from __future__ import annotations

from typing import Any

import asyncpg

from console.areas.clocks import store
from console.areas.clocks.schemas import (
    PolicyOut,
    TargetIO,
    VersionOut,
)
from console.areas.clocks.store import RULE_FIELDS
from console.lib.schemas import ClockView
from dispatch import policy_edits, sla
from dispatch.clocks import Milestone, Policy
from dispatch.referrals import URGENCIES


def view_of(row: asyncpg.Record) -> ClockView:
    tracked = store.tracked_of(row)
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
        f"SELECT {store.COLUMNS} FROM clocks WHERE state = ANY($1)"
        " AND ($2::bigint IS NULL OR referral_id = $2) AND ($3::bigint IS NULL OR case_id = $3)"
        " ORDER BY state <> 'breached', breached_at, deadline NULLS LAST, id LIMIT $4",
        store.OPEN_STATES,
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
        f"SELECT {store.COLUMNS} FROM clocks WHERE kind = 'assignment' AND subject_id = $1"
        " AND milestone = ANY($2::text[]) AND state IN ('running', 'paused', 'breached')"
        " ORDER BY state <> 'breached', breached_at, deadline NULLS LAST, id",
        assignment_id,
        ASSIGNMENT_MILESTONES,
    )
    return [view_of(r) for r in rows]


MILESTONES: list[dict[str, Any]] = [
    {"milestone": m.value, "label": sla.MILESTONE_LABELS[m]} for m in Milestone
]


def policy_out(policy: Policy) -> PolicyOut:
    return PolicyOut(
        milestone=policy.milestone.value,
        label=sla.MILESTONE_LABELS[policy.milestone],
        calendar=policy.calendar.kind.value,
        opens=policy.calendar.opens.strftime("%H:%M"),
        closes=policy.calendar.closes.strftime("%H:%M"),
        extra_holidays=sorted(d.isoformat() for d in policy.calendar.extra_holidays),
        warnings=list(policy.warnings),
        targets={
            u: TargetIO(
                seconds=int(t.duration.total_seconds()) if t.duration is not None else None,
                working_days=t.working_days,
            )
            for u, t in policy.targets.items()
            if u in URGENCIES
        },
        **{name: sorted(getattr(policy.rules, name)) for name in RULE_FIELDS},
    )


def version_out(row: asyncpg.Record) -> VersionOut:
    return VersionOut(
        id=row["id"],
        milestone=row["milestone"],
        changed_at=row["changed_at"].isoformat(),
        changed_by=row["changed_by"],
        changed_by_name=row["changed_by_name"],
        restored_from=row["restored_from"],
        before=PolicyOut.model_validate(row["before"]) if row["before"] is not None else None,
        after=PolicyOut.model_validate(row["after"]),
        changes=policy_edits.differences(row["before"], row["after"]),
    )


async def policy_versions(
    conn: asyncpg.Connection, milestones: list[Milestone], limit: int = 20
) -> dict[Milestone, list[VersionOut]]:
    """The latest versions of each milestone's policy (who, when, before, after, what
    changed), newest first."""
    found: dict[Milestone, list[VersionOut]] = {m: [] for m in milestones}
    for row in await store.versions(conn, [m.value for m in milestones], limit):
        found[Milestone(row["milestone"])].append(version_out(row))
    return found
