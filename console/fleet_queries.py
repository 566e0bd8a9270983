"""SQL of the field units area: units, assignments, what a unit is told about its case.

Lock order in every action of this area: the unit, then its assignment, then the case. A dispatch
and a tablet update of the same unit therefore queue on the unit row and never deadlock.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from dispatch import assignments, cases, units

UNIT_COLUMNS = (
    "u.id, u.name, u.status, u.status_since, u.current_case_id, u.zones, u.skills, u.languages,"
    " u.vehicle, u.base_label, u.base_municipality_code, u.base_lat, u.base_lon, u.last_lat,"
    " u.last_lon, u.synthetic"
)
ACTIVE = "done_at IS NULL AND cancelled_at IS NULL"
ASSIGNMENT_COLUMNS = (
    "id, case_id, unit_id, dispatched_at, acknowledged_at, en_route_at, on_scene_at,"
    " last_check_in_at, done_at, cancelled_at"
)
CASE_COLUMNS = "id, case_number, status, zone_id, referral_id, urgency, needs, skills, language"


async def lock_unit(conn: asyncpg.Connection, unit_id: int) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {UNIT_COLUMNS} FROM units u WHERE u.id = $1 FOR UPDATE", unit_id
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


def _count(value: Any) -> int | None:
    """A people count from the referral's JSON: integers only (a bool is not a count)."""
    if isinstance(value, bool):
        return int(value)
    return value if isinstance(value, int) else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


async def brief(conn: asyncpg.Connection, assignment_id: int) -> assignments.Brief:
    """What the unit of this assignment is told: place, people, what happened, who to call."""
    row = await conn.fetchrow(
        "SELECT a.id, a.dispatched_at, c.id AS case_id, c.case_number, c.urgency, c.needs,"
        " c.language, r.address, r.lat, r.lon, r.people, r.description, r.callback,"
        " m.name AS municipality FROM assignments a JOIN cases c ON c.id = a.case_id"
        " JOIN referrals r ON r.id = c.referral_id"
        " JOIN municipalities m ON m.istat_code = r.municipality_code WHERE a.id = $1",
        assignment_id,
    )
    people = row["people"] if isinstance(row["people"], dict) else {}
    callback = row["callback"] if isinstance(row["callback"], dict) else {}
    language = row["language"] or _text(people.get("language")) or None
    return assignments.Brief(
        assignment_id=row["id"],
        case_id=row["case_id"],
        case_number=row["case_number"],
        urgency=row["urgency"],
        municipality=row["municipality"],
        address=row["address"],
        lat=row["lat"],
        lon=row["lon"],
        people_count=_count(people.get("count")),
        minors=_count(people.get("minors")),
        language=language,
        description=row["description"],
        callback_name=_text(callback.get("name")),
        callback_phone=_text(callback.get("phone")),
        needs=tuple(row["needs"]),
        dispatched_at=row["dispatched_at"],
    )


async def candidates(
    conn: asyncpg.Connection,
) -> list[tuple[asyncpg.Record, units.Candidate | None]]:
    """Every unit with its position (last known, else its base, else its base's centroid) and
    its load (active assignments); no candidate for a unit with no position at all."""
    rows = await conn.fetch(
        f"SELECT {UNIT_COLUMNS}, COALESCE(u.last_lat, u.base_lat, m.lat) AS at_lat,"
        " COALESCE(u.last_lon, u.base_lon, m.lon) AS at_lon,"
        f" (SELECT count(*) FROM assignments a WHERE a.unit_id = u.id AND a.{ACTIVE}) AS load"
        " FROM units u LEFT JOIN municipalities m ON m.istat_code = u.base_municipality_code"
        " ORDER BY u.id"
    )
    found: list[tuple[asyncpg.Record, units.Candidate | None]] = []
    for row in rows:
        candidate = None
        if row["at_lat"] is not None and row["at_lon"] is not None:
            candidate = units.Candidate(
                id=row["id"],
                name=row["name"],
                status=units.Status(row["status"]),
                lat=row["at_lat"],
                lon=row["at_lon"],
                zones=frozenset(row["zones"]),
                skills=frozenset(row["skills"]),
                languages=frozenset(row["languages"]),
                load=row["load"],
            )
        found.append((row, candidate))
    return found


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
