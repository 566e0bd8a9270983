"""The supervisor's room in one snapshot: queues, clocks at risk, units, who is on shift,
escalations, shift notes, work in progress.

`read_supervision` reads everything the wall screen shows in one repeatable-read transaction
with `as_of`, so the page can follow the log after it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from console.areas.cases import reads as cases_reads
from console.areas.clocks import reads as clocks_reads
from console.areas.supervision.schemas import (
    CaseQueue,
    EscalationView,
    OnShift,
    ReferralQueue,
    ShiftNoteView,
    Supervision,
    UnitOnBoard,
    WorkItem,
    ZoneBoard,
)
from console.areas.supervision.store import (
    ESCALATION_COLUMNS,
    ESCALATION_JOINS,
    NOTE_COLUMNS,
    NOTE_JOINS,
    escalation_of,
)
from console.lib import eventlog
from console.lib.schemas import ClockView
from dispatch import access, cases, referrals, units
from dispatch.sessions import SessionPolicy

REFERRAL_STATES = ("received", "in_assessment")


SHIFT_NOTES_SHOWN = 20


WORK_LIMIT = 500


CLOCK_LIMIT = 5000


async def _referral_queues(conn: asyncpg.Connection) -> list[ReferralQueue]:
    rows = await conn.fetch(
        "SELECT status, coalesce(urgency, urgency_proposed, 'none') AS urgency, count(*) AS n,"
        " min(received_at) AS oldest FROM referrals WHERE status = ANY($1) GROUP BY 1, 2",
        list(REFERRAL_STATES),
    )
    found = [
        ReferralQueue(
            state=r["status"],
            state_label=referrals.STATUS_LABELS[referrals.Status(r["status"])],
            urgency=r["urgency"],
            count=r["n"],
            oldest_received_at=r["oldest"],
        )
        for r in rows
    ]
    return sorted(
        found, key=lambda q: (REFERRAL_STATES.index(q.state), referrals.urgency_rank(q.urgency))
    )


async def _case_queues(conn: asyncpg.Connection) -> list[CaseQueue]:
    rows = await conn.fetch(
        "SELECT status, urgency, count(*) AS n, min(updated_at) AS oldest FROM cases"
        " WHERE status <> 'closed' GROUP BY 1, 2"
    )
    order = [s.value for s in cases.Status]
    found = [
        CaseQueue(
            status=r["status"],
            status_label=cases_reads.label_of(cases.STATUS_LABELS, cases.Status, r["status"]),
            urgency=r["urgency"],
            count=r["n"],
            oldest_updated_at=r["oldest"],
        )
        for r in rows
    ]
    return sorted(found, key=lambda q: (order.index(q.status), referrals.urgency_rank(q.urgency)))


async def _clocks_at_risk(conn: asyncpg.Connection) -> list[ClockView]:
    found = await clocks_reads.open_clocks(conn, limit=CLOCK_LIMIT)
    return [c for c in found if c.state == "breached" or (c.state == "running" and c.warned > 0)]


async def _zones(conn: asyncpg.Connection) -> list[ZoneBoard]:
    rows = await conn.fetch(
        "SELECT u.id, u.name, u.status, u.status_since, u.zones, u.current_case_id,"
        " c.case_number, u.zones[1] AS zone_id, z.name AS zone_name FROM units u"
        " LEFT JOIN cases c ON c.id = u.current_case_id LEFT JOIN zones z ON z.id = u.zones[1]"
        " ORDER BY z.name NULLS LAST, u.zones[1] NULLS LAST, u.name, u.id"
    )
    boards: dict[str | None, ZoneBoard] = {}
    for r in rows:
        zone_id = r["zone_id"]
        board = boards.get(zone_id)
        if board is None:
            name = r["zone_name"] or (zone_id or "Senza zona assegnata")
            board = boards[zone_id] = ZoneBoard(zone_id=zone_id, zone_name=name, units=[])
        board.units.append(
            UnitOnBoard(
                id=r["id"],
                name=r["name"],
                status=r["status"],
                status_label=cases_reads.label_of(units.STATUS_LABELS, units.Status, r["status"]),
                status_since=r["status_since"],
                zones=list(r["zones"]),
                current_case_id=r["current_case_id"],
                current_case_number=r["case_number"],
            )
        )
    return list(boards.values())


async def _on_shift(
    conn: asyncpg.Connection, now: datetime, policy: SessionPolicy
) -> list[OnShift]:
    """Operators and supervisors with a live session (the rules of `dispatch.sessions`)."""
    rows = await conn.fetch(
        "SELECT u.id, u.display_name, u.role, min(s.created_at) AS since,"
        " max(s.last_seen_at) AS last_seen, count(*) AS n FROM sessions s"
        " JOIN users u ON u.id = s.user_id WHERE s.revoked_at IS NULL AND u.active"
        " AND u.role IN ('operator', 'supervisor') AND s.last_seen_at > $1 AND s.created_at > $2"
        " AND s.created_at <= $3 GROUP BY u.id, u.display_name, u.role"
        " ORDER BY u.role = 'operator', u.display_name, u.id",
        now - policy.idle,
        now - policy.absolute,
        now,
    )
    return [
        OnShift(
            user_id=r["id"],
            name=r["display_name"],
            role=r["role"],
            role_label=access.ROLE_LABELS[access.Role(r["role"])],
            since=r["since"],
            last_seen_at=r["last_seen"],
            sessions=r["n"],
        )
        for r in rows
    ]


async def _escalations(conn: asyncpg.Connection) -> list[EscalationView]:
    rows = await conn.fetch(
        f"SELECT {ESCALATION_COLUMNS}{ESCALATION_JOINS}"
        " WHERE e.acknowledged_at IS NULL"
        " ORDER BY array_position($1::text[], e.urgency) NULLS LAST, e.due_at, e.id",
        list(referrals.URGENCIES),  # the most urgent first, then the oldest
    )
    return [EscalationView(**escalation_of(r)) for r in rows]


async def _shift_notes(conn: asyncpg.Connection) -> list[ShiftNoteView]:
    rows = await conn.fetch(
        f"SELECT {NOTE_COLUMNS}{NOTE_JOINS} ORDER BY n.written_at DESC, n.id DESC LIMIT $1",
        SHIFT_NOTES_SHOWN,
    )
    return [ShiftNoteView(**dict(r)) for r in rows]


async def _work(conn: asyncpg.Connection) -> list[WorkItem]:
    rank = "array_position(ARRAY['rosso','giallo','verde'], {})"
    referral_rows = await conn.fetch(
        "SELECT r.id, r.case_number, r.status, coalesce(r.urgency, r.urgency_proposed, 'none')"
        " AS urgency, r.holder_id, h.display_name AS holder_name FROM referrals r"
        " LEFT JOIN users h ON h.id = r.holder_id WHERE r.status = ANY($1)"
        f" ORDER BY {rank.format('coalesce(r.urgency, r.urgency_proposed)')} NULLS LAST,"
        " r.received_at, r.id LIMIT $2",
        list(REFERRAL_STATES),
        WORK_LIMIT,
    )
    case_rows = await conn.fetch(
        "SELECT c.id, c.case_number, c.status, c.urgency, c.owner_id AS holder_id,"
        " o.display_name AS holder_name FROM cases c LEFT JOIN users o ON o.id = c.owner_id"
        f" WHERE c.status <> 'closed' ORDER BY {rank.format('c.urgency')}, c.opened_at, c.id"
        " LIMIT $1",
        WORK_LIMIT,
    )
    found = [
        WorkItem(
            kind="referral",
            **dict(r),
            status_label=referrals.STATUS_LABELS[referrals.Status(r["status"])],
        )
        for r in referral_rows
    ]
    found += [
        WorkItem(
            kind="case",
            **dict(r),
            status_label=cases_reads.label_of(cases.STATUS_LABELS, cases.Status, r["status"]),
        )
        for r in case_rows
    ]
    return found


async def read_supervision(
    pool: asyncpg.Pool, policy: SessionPolicy, now: datetime | None = None
) -> Supervision:
    """Everything the supervisor's screen shows, and the log head it agrees with."""
    now = now or datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        as_of = await eventlog.head(conn)
        return Supervision(
            as_of=as_of,
            now=now,
            referral_queues=await _referral_queues(conn),
            case_queues=await _case_queues(conn),
            clocks=await _clocks_at_risk(conn),
            zones=await _zones(conn),
            on_shift=await _on_shift(conn, now, policy),
            escalations=await _escalations(conn),
            shift_notes=await _shift_notes(conn),
            work=await _work(conn),
        )
