"""Field units' writes: dispatch and recall; and the locking helpers every unit action uses
(lock order: the unit, then its assignment, then the case)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from console.areas.units import reads
from console.areas.units.reads import CASE_PLACE_SQL, fix_of, origin_of
from console.areas.units.schemas import Dispatched, Origin, Recalled
from console.areas.units.store import ACTIVE, ASSIGNMENT_COLUMNS, CASE_COLUMNS, UNIT_COLUMNS
from console.lib import errors
from console.lib.db import Database
from dispatch import access, assignments, cases, messages, units
from dispatch.errors import Refused
from dispatch.events import actor_of


def _eta(
    unit: asyncpg.Record, origin: Origin, policy: units.RankingPolicy, now: datetime
) -> int | None:
    """The same estimate as the recommendation's, from the same position (None: unknown)."""
    fix = fix_of(unit, now, policy)
    if fix.lat is None or fix.lon is None:
        return None
    return units.estimate(fix.lat, fix.lon, origin.lat, origin.lon, policy)


async def dispatch_unit(
    db: Database,
    by: access.Principal,
    case_id: int,
    unit_id: int,
    *,
    reason: str | None = None,
    policy: units.RankingPolicy | None = None,
    now: datetime | None = None,
) -> Dispatched:
    """Send a unit to a case. The unit's row lock makes concurrent dispatches of one unit
    queue: the first wins, the others find it assigned and are refused."""
    policy = policy or units.RankingPolicy()
    reason = reason or "invio dalla sala operativa"
    async with db.action(now) as tx:
        place = await tx.conn.fetchrow(CASE_PLACE_SQL, case_id)
        if place is None:
            raise errors.NotFound("Caso non trovato.")
        unit = await lock_unit(tx.conn, unit_id)
        if unit is None:
            raise errors.ValidationFailed(
                problems=[errors.FieldProblem("unit_id", "unità inesistente", "not_found")]
            )
        previous = units.Status(unit["status"])
        status = units.assign(previous)
        if await active_assignment(tx.conn, unit_id) is not None:  # data out of step
            raise Refused("unità già impegnata (un intervento è ancora aperto)")
        case = await lock_case(tx.conn, case_id)
        assert case is not None
        before = cases.Status(case["status"])
        others = await active_units_of_case(tx.conn, case_id)
        moved = assignments.case_after_dispatch(before, len(others))
        assignment_id: int = await tx.conn.fetchval(
            "INSERT INTO assignments (case_id, unit_id, dispatched_by, dispatched_at)"
            " VALUES ($1, $2, $3, $4) RETURNING id",
            case_id,
            unit_id,
            by.user_id,
            tx.now,
        )
        await tx.conn.execute(
            "UPDATE units SET status = $2, status_since = $3, current_case_id = $4 WHERE id = $1",
            unit_id,
            status.value,
            tx.now,
            case_id,
        )
        if moved is not None:
            await set_case_status(tx.conn, case_id, moved, tx.now)
        brief = await reads.brief(tx.conn, assignment_id)
        ref, uref = case_ref(case), unit_ref(unit)
        eta = _eta(unit, origin_of(place), policy, tx.now)
        tx.emit(
            assignments.unit_assigned(brief, uref, ref.zone, by, reason),
            assignments.unit_status_changed(
                uref, previous, status, tx.now, by, reason, case=ref, assignment_id=assignment_id
            ),
            assignments.case_unit_dispatched(
                ref, uref, assignment_id, before, moved or before, by, reason, eta
            ),
        )
    return Dispatched(
        assignment_id=assignment_id,
        case_id=case_id,
        case_number=case["case_number"],
        case_status=(moved or before).value,
        unit_id=unit_id,
        unit_name=unit["name"],
        unit_status=status.value,
        dispatched_at=tx.now,
        eta_minutes=eta,
    )


async def recall_unit(
    db: Database, by: access.Principal, assignment_id: int, *, reason: str | None = None
) -> Recalled:
    """Call a unit back from its assignment: it is available again; a case left without units
    before any reached it goes back to open."""
    reason = reason or "richiamata dalla sala operativa"
    async with db.action() as tx:
        found = await assignment(tx.conn, assignment_id)
        if found is None:
            raise errors.NotFound("Invio non trovato.")
        unit = await lock_unit(tx.conn, found["unit_id"])
        assert unit is not None
        current = await active_assignment(tx.conn, unit["id"])
        if current is None or current["id"] != assignment_id:
            error = errors.Conflict("L'intervento è già concluso o revocato.")
            error.code = "refused"
            raise error
        previous = units.Status(unit["status"])
        status = units.advance(previous, units.Status.AVAILABLE)
        await tx.conn.execute(
            "UPDATE units SET status = $2, status_since = $3 WHERE id = $1",
            unit["id"],
            status.value,
            tx.now,
        )
        case, before, moved = await end_assignment(tx.conn, current, tx.now, recalled=True)
        ref, uref = case_ref(case), unit_ref(unit)
        tx.emit(
            assignments.unit_recalled(uref, assignment_id, ref, by, reason),
            assignments.unit_status_changed(
                uref, previous, status, tx.now, by, reason, case=ref, assignment_id=assignment_id
            ),
            assignments.case_unit_released(
                ref, uref, assignment_id, before, moved or before, by, reason, recalled=True
            ),
        )
    return Recalled(
        assignment_id=assignment_id,
        case_id=case["id"],
        case_status=(moved or before).value,
        unit_id=unit["id"],
        unit_status=status.value,
        cancelled_at=tx.now,
    )


async def lock_unit(conn: asyncpg.Connection, unit_id: int) -> asyncpg.Record | None:
    """The unit's row, locked, with its base municipality's centre (m_lat, m_lon)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {UNIT_COLUMNS}, m.lat AS m_lat, m.lon AS m_lon FROM units u"
        " LEFT JOIN municipalities m ON m.istat_code = u.base_municipality_code"
        " WHERE u.id = $1 FOR UPDATE OF u",
        unit_id,
    )
    return row


async def lock_case(conn: asyncpg.Connection, case_id: int) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {CASE_COLUMNS} FROM cases WHERE id = $1 FOR UPDATE", case_id
    )
    return row


async def active_assignment(conn: asyncpg.Connection, unit_id: int) -> asyncpg.Record | None:
    """The unit's current assignment, locked (call after locking the unit)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE unit_id = $1 AND {ACTIVE} FOR UPDATE",
        unit_id,
    )
    return row


async def assignment(conn: asyncpg.Connection, assignment_id: int) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE id = $1", assignment_id
    )
    return row


async def active_units_of_case(
    conn: asyncpg.Connection, case_id: int, *, besides: int | None = None
) -> list[int]:
    """Units still working on the case (other than assignment `besides`)."""
    rows = await conn.fetch(
        f"SELECT unit_id FROM assignments WHERE case_id = $1 AND {ACTIVE}"
        " AND id IS DISTINCT FROM $2 ORDER BY id",
        case_id,
        besides,
    )
    return [r["unit_id"] for r in rows]


async def set_case_status(
    conn: asyncpg.Connection, case_id: int, status: cases.Status, now: Any
) -> None:
    await conn.execute(
        "UPDATE cases SET status = $2, updated_at = $3 WHERE id = $1", case_id, status.value, now
    )


def unit_ref(row: asyncpg.Record) -> assignments.UnitRef:
    return assignments.UnitRef(row["id"], row["name"])


def case_ref(row: asyncpg.Record) -> assignments.CaseRef:
    return assignments.CaseRef(row["id"], row["case_number"], row["zone_id"])


async def end_assignment(
    conn: asyncpg.Connection, row: asyncpg.Record, now: Any, *, recalled: bool
) -> tuple[asyncpg.Record, cases.Status, cases.Status | None]:
    """Close an active assignment (done, or cancelled by a recall) and free the unit of its
    case; the case goes back to open when it was waiting for this unit alone.

    Returns the (locked) case, its status before, and its new status if it moved. The caller
    holds the unit's lock and sets the unit's own status.
    """
    column = "cancelled_at" if recalled else "done_at"
    await conn.execute(f"UPDATE assignments SET {column} = $2 WHERE id = $1", row["id"], now)
    await conn.execute("UPDATE units SET current_case_id = NULL WHERE id = $1", row["unit_id"])
    case = await lock_case(conn, row["case_id"])
    assert case is not None  # an assignment's case exists (foreign key)
    before = cases.Status(case["status"])
    others = await active_units_of_case(conn, row["case_id"], besides=row["id"])
    moved = assignments.case_after_release(before, len(others))
    if moved is not None:
        await set_case_status(conn, row["case_id"], moved, now)
    return case, before, moved


async def send_message(
    db: Database,
    by: access.Principal,
    text: str,
    *,
    unit_id: int | None = None,
    case_id: int | None = None,
    now: datetime | None = None,
) -> tuple[int, list[asyncpg.Record]]:
    """A message from the room to one unit, or to every unit working on a case: one row and one
    `unit.message_sent` per unit. A unit's message is about its current case, if it has one."""
    if (unit_id is None) == (case_id is None):
        problem = errors.FieldProblem("unit_id", "indica un'unità oppure un caso", "missing")
        raise errors.ValidationFailed("Indica a chi va il messaggio.", problems=[problem])
    try:
        body = messages.body_of(text)
    except messages.Problem as problem:
        raise errors.ValidationFailed(
            problem.text, problems=[errors.FieldProblem(problem.field, problem.text)]
        ) from None
    async with db.action(now) as tx:
        if unit_id is not None:
            exists = await tx.conn.fetchval("SELECT id FROM units WHERE id = $1", unit_id)
            if exists is None:
                problem = errors.FieldProblem("unit_id", "unità inesistente", "not_found")
                raise errors.ValidationFailed("Unità inesistente.", problems=[problem])
            current = await active_assignment(tx.conn, unit_id)
            targets = [(unit_id, current["case_id"] if current is not None else None)]
        else:
            assert case_id is not None
            if await tx.conn.fetchval("SELECT id FROM cases WHERE id = $1", case_id) is None:
                raise errors.NotFound("Caso non trovato.")
            on_case = await active_units_of_case(tx.conn, case_id)
            if not on_case:
                raise Refused("nessuna unità al lavoro su questo caso")
            targets = [(u, case_id) for u in on_case]
        batch: int = await tx.conn.fetchval("SELECT nextval('unit_message_batches')")
        ids = []
        for target_unit, target_case in targets:
            ids.append(
                await tx.conn.fetchval(
                    "INSERT INTO unit_messages (batch, unit_id, case_id, body, author,"
                    " author_name, sent_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    batch,
                    target_unit,
                    target_case,
                    body,
                    actor_of(by),
                    by.name,
                    tx.now,
                )
            )
        rows = await tx.conn.fetch(
            reads.MESSAGES + " WHERE m.id = ANY($1::bigint[]) ORDER BY m.id", ids
        )
        for row in rows:
            tx.emit(messages.message_sent(reads.sent_of(row), by))
    return batch, list(rows)


async def prune_positions(db: Database, history: timedelta, now: datetime | None = None) -> int:
    """Forget positions older than `history` (a unit's last position stays in `units` while it
    shares it). No event: nothing anyone sees changes."""
    status: str = await db.pool.execute(
        "DELETE FROM unit_positions WHERE at < $1", (now or datetime.now(UTC)) - history
    )
    return int(status.split()[-1])
