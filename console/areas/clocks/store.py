"""SQL shared inside the clocks area: SLA policies as stored (seeded from the core's defaults,
edited by admins, read per action) and clock rows as read back."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

import asyncpg

from dispatch import clocks, sla
from dispatch.calendars import Calendar, Kind
from dispatch.clocks import Clock, Milestone, Policy, Rules, State, Target
from dispatch.sla import Tracked

RULE_FIELDS = ("starts_on", "pauses_on", "resumes_on", "stops_on", "cancels_on")


_LOAD = """
SELECT p.milestone, p.calendar, p.opens, p.closes, p.extra_holidays, p.warnings,
       p.starts_on, p.pauses_on, p.resumes_on, p.stops_on, p.cancels_on, p.updated_at,
       coalesce(json_agg(json_build_object('urgency', t.urgency, 'seconds', t.seconds,
                'working_days', t.working_days)) FILTER (WHERE t.urgency IS NOT NULL),
                '[]')::jsonb AS targets
FROM sla_policies p LEFT JOIN sla_targets t USING (milestone)
GROUP BY p.milestone
"""


def calendar_to_json(calendar: Calendar) -> dict[str, Any]:
    return {
        "kind": calendar.kind.value,
        "opens": calendar.opens.strftime("%H:%M"),
        "closes": calendar.closes.strftime("%H:%M"),
        "extra_holidays": sorted(d.isoformat() for d in calendar.extra_holidays),
    }


def calendar_from_json(data: dict[str, Any]) -> Calendar:
    return Calendar(
        kind=Kind(data["kind"]),
        opens=time.fromisoformat(data["opens"]),
        closes=time.fromisoformat(data["closes"]),
        extra_holidays=frozenset(date.fromisoformat(d) for d in data.get("extra_holidays", ())),
    )


def _policy(row: asyncpg.Record) -> Policy:
    targets = {}
    for t in row["targets"]:
        if t["seconds"] is not None:
            targets[t["urgency"]] = Target(duration=timedelta(seconds=t["seconds"]))
        else:
            targets[t["urgency"]] = Target(working_days=t["working_days"])
    milestone = Milestone(row["milestone"])
    defaults = clocks.default_policies()[milestone]
    return Policy(
        milestone=milestone,
        targets={**defaults.targets, **targets},
        calendar=Calendar(
            kind=Kind(row["calendar"]),
            opens=row["opens"],
            closes=row["closes"],
            extra_holidays=frozenset(row["extra_holidays"]),
        ),
        warnings=tuple(sorted(row["warnings"])),
        rules=Rules(**{name: frozenset(row[name]) for name in RULE_FIELDS}),
    )


async def load(conn: asyncpg.Connection) -> dict[Milestone, Policy]:
    """Every milestone's policy: the stored one, else the default (a table never seeded)."""
    policies = clocks.default_policies()
    for row in await conn.fetch(_LOAD):
        policies[Milestone(row["milestone"])] = _policy(row)
    return policies


# The policies' version, as an SQL expression: it changes with every write of a row of either
# table (xmin: the writing transaction; ctid: each new version of a row, so two writes in one
# transaction differ too), whoever writes it (the admin's page, a script, a test).
VERSION = (
    "(SELECT coalesce(string_agg(xmin::text || ctid::text, ',' ORDER BY milestone), '')"
    " FROM sla_policies) || '|' || (SELECT coalesce(string_agg(xmin::text || ctid::text, ','"
    " ORDER BY milestone, urgency), '') FROM sla_targets)"
)
_cached: dict[str, dict[Milestone, Policy]] = {}  # the last version read, and its policies


async def current(conn: asyncpg.Connection, version: str | None) -> dict[Milestone, Policy]:
    """The policies, read again only when `version` (VERSION, read by the caller in one of
    its own statements) is not the one last read: every action with a clock needs them, and
    they change a few times a year."""
    if version is not None and version in _cached:
        return dict(_cached[version])
    # The version first: a write committed between the two reads leaves the newer policies
    # under the older version (read again next time), never the other way round.
    version_now = await conn.fetchval(f"SELECT {VERSION}")
    rows = await conn.fetch(_LOAD)
    policies = clocks.default_policies()
    for row in rows:
        policies[Milestone(row["milestone"])] = _policy(row)
    _cached.clear()
    _cached[version_now] = policies
    return dict(policies)


async def save(
    conn: asyncpg.Connection, policy: Policy, *, by: int | None, at: Any, overwrite: bool = True
) -> None:
    """Write one policy and its targets (`overwrite=False`: only where none is stored)."""
    conflict = (
        "ON CONFLICT (milestone) DO UPDATE SET calendar = EXCLUDED.calendar,"
        " opens = EXCLUDED.opens, closes = EXCLUDED.closes,"
        " extra_holidays = EXCLUDED.extra_holidays, warnings = EXCLUDED.warnings,"
        " starts_on = EXCLUDED.starts_on, pauses_on = EXCLUDED.pauses_on,"
        " resumes_on = EXCLUDED.resumes_on, stops_on = EXCLUDED.stops_on,"
        " cancels_on = EXCLUDED.cancels_on, updated_at = EXCLUDED.updated_at,"
        " updated_by = EXCLUDED.updated_by"
        if overwrite
        else "ON CONFLICT (milestone) DO NOTHING"
    )
    inserted = await conn.fetchval(
        "INSERT INTO sla_policies (milestone, calendar, opens, closes, extra_holidays, warnings,"
        " starts_on, pauses_on, resumes_on, stops_on, cancels_on, updated_at, updated_by)"
        f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) {conflict}"
        " RETURNING milestone",
        policy.milestone.value,
        policy.calendar.kind.value,
        policy.calendar.opens,
        policy.calendar.closes,
        sorted(policy.calendar.extra_holidays),
        list(policy.warnings),
        *(sorted(getattr(policy.rules, name)) for name in RULE_FIELDS),
        at,
        by,
    )
    if inserted is None:
        return
    await conn.execute("DELETE FROM sla_targets WHERE milestone = $1", policy.milestone.value)
    await conn.executemany(
        "INSERT INTO sla_targets (milestone, urgency, seconds, working_days)"
        " VALUES ($1, $2, $3, $4)",
        [
            (
                policy.milestone.value,
                urgency,
                int(t.duration.total_seconds()) if t.duration is not None else None,
                t.working_days,
            )
            for urgency, t in sorted(policy.targets.items())
        ],
    )


def policy_from_json(milestone: Milestone, data: dict[str, Any]) -> Policy:
    """A policy as the API shows it (a version's `before` or `after`) as the core's value."""
    targets = {
        urgency: Target(duration=timedelta(seconds=t["seconds"]))
        if t.get("seconds") is not None
        else Target(working_days=t["working_days"])
        for urgency, t in data["targets"].items()
    }
    return Policy(
        milestone=milestone,
        targets={**clocks.default_policies()[milestone].targets, **targets},
        calendar=calendar_from_json({**data, "kind": data["calendar"]}),
        warnings=tuple(sorted(data["warnings"])),
        rules=Rules(**{name: frozenset(data.get(name) or ()) for name in RULE_FIELDS}),
    )


VERSION_COLUMNS = (
    "id, milestone, before, after, changed_at, changed_by, changed_by_name, restored_from"
)


async def lock_policy(conn: asyncpg.Connection, milestone: Milestone) -> asyncpg.Record | None:
    """The policy's row, locked until the transaction ends: changes of one milestone queue."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT updated_at, updated_by, (SELECT display_name FROM users WHERE id = updated_by)"
        " AS updated_by_name FROM sla_policies WHERE milestone = $1 FOR UPDATE",
        milestone.value,
    )
    return row


async def has_versions(conn: asyncpg.Connection, milestone: Milestone) -> bool:
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM sla_policy_versions WHERE milestone = $1)", milestone.value
    )
    return found


async def add_version(
    conn: asyncpg.Connection,
    milestone: Milestone,
    *,
    before: dict[str, Any] | None,
    after: dict[str, Any],
    at: Any,
    by: int | None,
    by_name: str | None,
    restored_from: int | None = None,
) -> int:
    version_id: int = await conn.fetchval(
        "INSERT INTO sla_policy_versions (milestone, before, after, changed_at, changed_by,"
        " changed_by_name, restored_from) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        milestone.value,
        before,
        after,
        at,
        by,
        by_name,
        restored_from,
    )
    return version_id


async def version(conn: asyncpg.Connection, version_id: int) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {VERSION_COLUMNS} FROM sla_policy_versions WHERE id = $1", version_id
    )
    return row


async def versions(
    conn: asyncpg.Connection, milestones: list[str], limit: int
) -> list[asyncpg.Record]:
    """The latest `limit` versions of each milestone, newest first."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT {VERSION_COLUMNS} FROM (SELECT *, row_number() OVER (PARTITION BY milestone"
        " ORDER BY id DESC) AS n FROM sla_policy_versions WHERE milestone = ANY($1::text[])) v"
        " WHERE n <= $2 ORDER BY milestone, id DESC",
        milestones,
        limit,
    )
    return rows


async def ensure_seeded(conn: asyncpg.Connection, at: Any) -> None:
    """At start-up: the default policies wherever none is stored (edits are kept)."""
    async with conn.transaction():
        for policy in clocks.default_policies().values():
            await save(conn, policy, by=None, at=at, overwrite=False)


OPEN_STATES = ["running", "paused", "breached"]


COLUMNS = (
    "id, milestone, kind, subject_id, referral_id, case_id, assignment_id, unit_id, case_number,"
    " zone_id, urgency, state, budget, counted, running_since, warnings, warned, breached_at,"
    " calendar"
)


def tracked_of(row: asyncpg.Record) -> Tracked:
    clock = Clock(
        milestone=Milestone(row["milestone"]),
        state=State(row["state"]),
        budget=row["budget"],
        counted=row["counted"],
        running_since=row["running_since"],
        warnings=tuple(row["warnings"]),
        warned=row["warned"],
        breached_at=row["breached_at"],
    )
    return Tracked(
        id=row["id"],
        kind=sla.Kind(row["kind"]),
        key=row["subject_id"],
        urgency=row["urgency"],
        calendar=calendar_from_json(row["calendar"]),
        clock=clock,
    )
