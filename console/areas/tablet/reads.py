"""What the tablet shows: its unit, the current assignment, notes and requests."""

from __future__ import annotations

import asyncpg

from console.areas.clocks import reads as clocks_reads
from console.areas.tablet.schemas import (
    AssignmentView,
    CaseResourceView,
    MessageView,
    NoteView,
    RequestView,
    TabletView,
    TeamUnitView,
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
        share_position=row["share_position"],
        last_position_at=row["last_position_at"],
        last_lat=row["last_lat"],
        last_lon=row["last_lon"],
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
    messages = await messages_of(conn, unit_id)
    if current is None:
        return TabletView(
            unit=unit_state(unit), assignment=None, notes=[], requests=[], messages=messages
        )
    brief = (await units_reads.brief(conn, current["id"])).payload()
    centre = await conn.fetchrow(
        "SELECT m.lat, m.lon FROM cases c JOIN referrals r ON r.id = c.referral_id"
        " JOIN municipalities m ON m.istat_code = r.municipality_code WHERE c.id = $1",
        current["case_id"],
    )
    assignment = AssignmentView(
        id=current["id"],
        case_number=brief["case_number"],
        urgency=brief["urgency"],
        place={**brief["place"], "centre": dict(centre) if centre else None},
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
        messages=messages,
        team=await team_of(conn, current["case_id"], unit_id),
        resources=await resources_of(conn, current["case_id"]),
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


def message_view(row: asyncpg.Record) -> MessageView:
    return MessageView(**{k: row[k] for k in MessageView.model_fields})


async def messages_of(conn: asyncpg.Connection, unit_id: int) -> list[MessageView]:
    """The room's messages to the unit: all not yet acknowledged, and the last day's."""
    rows = await conn.fetch(
        units_reads.MESSAGES + " WHERE m.unit_id = $1 AND (m.acknowledged_at IS NULL"
        " OR m.sent_at > now() - interval '1 day') ORDER BY m.sent_at, m.id",
        unit_id,
    )
    return [message_view(r) for r in rows]


async def team_of(conn: asyncpg.Connection, case_id: int, unit_id: int) -> list[TeamUnitView]:
    """The other units working on the case."""
    rows = await conn.fetch(
        "SELECT u.id, u.name, u.status, u.status_since, u.phone FROM assignments a"
        " JOIN units u ON u.id = a.unit_id WHERE a.case_id = $1 AND a.unit_id <> $2"
        " AND a.done_at IS NULL AND a.cancelled_at IS NULL ORDER BY a.dispatched_at, a.id",
        case_id,
        unit_id,
    )
    return [
        TeamUnitView(
            id=r["id"],
            name=r["name"],
            status=r["status"],
            status_label=units.STATUS_LABELS[units.Status(r["status"])],
            status_since=r["status_since"],
            phone=r["phone"],
        )
        for r in rows
    ]


async def resources_of(conn: asyncpg.Connection, case_id: int) -> list[CaseResourceView]:
    """The case's confirmed or in-use resources, with where they are and whom to call."""
    rows = await conn.fetch(
        "SELECT b.id, b.status, b.quantity, r.name, r.type, r.provider, r.address, r.phone,"
        " r.contact_hours FROM bookings b JOIN resources r ON r.id = b.resource_id"
        " WHERE b.case_id = $1 AND b.status IN ('confirmed', 'in_use') ORDER BY b.id",
        case_id,
    )
    return [
        CaseResourceView(
            booking_id=r["id"],
            status=r["status"],
            resource_name=r["name"],
            type_label=type_label(r["type"]),
            quantity=r["quantity"],
            provider=r["provider"],
            address=r["address"],
            phone=r["phone"],
            contact_hours=r["contact_hours"],
        )
        for r in rows
    ]


def unit_of(principal: access.Principal) -> int:
    if principal.unit_id is None:
        raise errors.Forbidden()
    return principal.unit_id
