"""What the tablet shows: its unit, the current assignment, notes and requests."""

from __future__ import annotations

import asyncpg

from console.areas.clocks import reads as clocks_reads
from console.areas.tablet.schemas import (
    AssignmentView,
    NoteView,
    RequestView,
    TabletView,
    UnitState,
)
from console.areas.units import reads as units_reads
from console.lib import errors
from dispatch import access, basket, units


def unit_state(row: asyncpg.Record) -> UnitState:
    status = units.Status(row["status"])
    return UnitState(
        id=row["id"],
        name=row["name"],
        status=status.value,
        status_label=units.STATUS_LABELS[status],
        status_since=row["status_since"],
        vehicle=row["vehicle"],
        base_label=row["base_label"],
        base_note=units.base_note(row["synthetic"]),
    )


def type_label(value: str) -> str:
    try:
        return basket.TYPE_LABELS[basket.ResourceType(value)]
    except ValueError:
        return value


async def view(conn: asyncpg.Connection, unit_id: int) -> TabletView:
    unit = await units_reads.unit(conn, unit_id)
    if unit is None:
        raise errors.NotFound("Unità non trovata.")
    current = await units_reads.current_assignment(conn, unit_id)
    if current is None:
        return TabletView(unit=unit_state(unit), assignment=None, notes=[], requests=[])
    brief = (await units_reads.brief(conn, current["id"])).payload()
    assignment = AssignmentView(
        id=current["id"],
        case_number=brief["case_number"],
        urgency=brief["urgency"],
        place=brief["place"],
        people=brief["people"],
        description=brief["description"],
        callback=brief["callback"],
        needs=brief["needs"],
        need_labels=[type_label(n) for n in brief["needs"]],
        dispatched_at=current["dispatched_at"],
        acknowledged_at=current["acknowledged_at"],
        en_route_at=current["en_route_at"],
        on_scene_at=current["on_scene_at"],
        last_check_in_at=current["last_check_in_at"],
    )
    notes = await conn.fetch(
        "SELECT id, author_name, body, at FROM notes WHERE case_id = $1 AND author LIKE 'unit:%'"
        " ORDER BY at, id",
        current["case_id"],
    )
    requests = await conn.fetch(
        "SELECT b.id, r.name, r.type, b.quantity, b.status, b.note, b.created_at FROM bookings b"
        " JOIN resources r ON r.id = b.resource_id WHERE b.case_id = $1 AND b.requested_by = $2"
        " ORDER BY b.id",
        current["case_id"],
        access.unit_tag(unit_id),
    )
    return TabletView(
        unit=unit_state(unit),
        assignment=assignment,
        clocks=await clocks_reads.open_clocks_of_assignment(conn, current["id"]),
        notes=[NoteView(**dict(n)) for n in notes],
        requests=[
            RequestView(
                id=r["id"],
                resource_name=r["name"],
                resource_type=r["type"],
                type_label=type_label(r["type"]),
                quantity=r["quantity"],
                status=r["status"],
                note=r["note"],
                created_at=r["created_at"],
            )
            for r in requests
        ],
    )


def unit_of(principal: access.Principal) -> int:
    if principal.unit_id is None:
        raise errors.Forbidden()
    return principal.unit_id
