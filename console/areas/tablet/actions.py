"""The unit tablet's writes, once per Idempotency-Key on the unit's own assignment: status
reports, safety check-ins, notes, resource requests.

A unit may touch only its own assignment (404 otherwise). Every write carries an
Idempotency-Key (scope `unit:<id>`): a tablet that lost the signal resends the same request with
the same key and gets the first answer back, with no second effect. A body may name the
assignment it was meant for, so an action queued offline never lands on a newer assignment.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
from pydantic import BaseModel

from console.areas.basket import actions as basket_actions
from console.areas.tablet.reads import type_label, unit_of, unit_state
from console.areas.tablet.schemas import (
    AcknowledgedOut,
    AcknowledgeIn,
    Answer,
    CheckedIn,
    CheckInIn,
    NoteIn,
    NoteView,
    PositionIn,
    PositionOut,
    RequestView,
    ResourceRequestIn,
    SharingIn,
    StatusIn,
    StatusOut,
    UnitState,
)
from console.areas.units import actions as units_actions
from console.areas.units import reads as units_reads
from console.lib import errors, idempotency
from console.lib.db import Database, Tx
from dispatch import access, assignments, basket, cases, messages, units

REASON = "dichiarato dall'unità"


STAMPS = {
    units.Status.ACKNOWLEDGED: "acknowledged_at",
    units.Status.EN_ROUTE: "en_route_at",
    units.Status.ON_SCENE: "on_scene_at",
}


Action = Callable[[Tx, asyncpg.Record, asyncpg.Record | None], Awaitable[tuple[int, BaseModel]]]


async def once(
    db: Database,
    by: access.Principal,
    key: str,
    what: str,
    body: BaseModel,
    action: Action,
    *,
    ended_ok: bool = False,
    now: datetime | None = None,
) -> Answer:
    """Run `action` once per Idempotency-Key on the caller's unit (locked) and the assignment it
    is for (the current one, locked, or the one the body names); a repeat of the key gets the
    first answer."""
    unit_id = unit_of(by)
    scope = access.unit_tag(unit_id)
    fingerprint = idempotency.fingerprint({"op": what, "body": body.model_dump(mode="json")})
    async with db.action(now) as tx:
        replay = await idempotency.claim(tx.conn, scope, key, fingerprint, tx.now)
        if replay is not None:
            return Answer(status=replay.status, body=replay.response, replayed=True)
        unit = await units_actions.lock_unit(tx.conn, unit_id)
        if unit is None:
            raise errors.NotFound("Unità non trovata.")
        current = await units_actions.active_assignment(tx.conn, unit_id)
        target = await _target(tx.conn, unit_id, current, getattr(body, "assignment_id", None))
        if target is not current and not ended_ok:
            raise refused("Questo intervento è già concluso o revocato.")
        status, result = await action(tx, unit, target)
        answer = result.model_dump(mode="json")
        await idempotency.record(tx.conn, scope, key, status, answer)
    return Answer(status=status, body=answer)


async def _target(
    conn: asyncpg.Connection, unit_id: int, current: asyncpg.Record | None, claimed: int | None
) -> asyncpg.Record | None:
    """The assignment an action is for: the current one, or the one it names, which must be
    the unit's own (404 otherwise, as for an assignment that does not exist)."""
    if claimed is None or (current is not None and current["id"] == claimed):
        return current
    row = await units_actions.assignment(conn, claimed)
    if row is None or row["unit_id"] != unit_id:
        raise errors.NotFound("Intervento non trovato.")
    return row


def refused(detail: str) -> errors.Conflict:
    error = errors.Conflict(detail)
    error.code = "refused"
    return error


def utc(at: datetime | None) -> datetime | None:
    return at.astimezone(UTC) if at is not None else None


async def report_status(
    db: Database, by: access.Principal, body: StatusIn, key: str, *, now: datetime | None = None
) -> Answer:
    """The unit says where it is in its work; its assignment and case follow."""

    async def action(
        tx: Tx, unit: asyncpg.Record, current: asyncpg.Record | None
    ) -> tuple[int, BaseModel]:
        previous = units.Status(unit["status"])
        status = units.report(previous, units.Status(body.status))
        at = units.reported_at(utc(body.at), tx.now, unit["status_since"])
        kept = await keep_position(tx.conn, unit, body.lat, body.lon, None, at)
        row = await tx.conn.fetchrow(
            "UPDATE units SET status = $2, status_since = $3 WHERE id = $1"
            f" RETURNING {UNIT_STATE_COLUMNS}",
            unit["id"],
            status.value,
            at,
        )
        case = (
            await units_actions.lock_case(tx.conn, current["case_id"])
            if current is not None
            else None
        )
        tx.emit(
            assignments.unit_status_changed(
                units_actions.unit_ref(unit),
                previous,
                status,
                at,
                by,
                REASON,
                case=units_actions.case_ref(case) if case is not None else None,
                assignment_id=current["id"] if current is not None else None,
                position_at=at if kept else None,
            )
        )
        if current is not None and case is not None:
            await _case_follows(tx, by, units_actions.unit_ref(unit), current, case, status, at)
        out = StatusOut(
            unit=unit_state(row),
            assignment_id=current["id"] if current is not None else None,
            assignment_ended=current is not None and status in units.ENDS_ASSIGNMENT,
        )
        return 200, out

    return await once(db, by, key, "status", body, action, now=now)


async def _case_follows(
    tx: Tx,
    by: access.Principal,
    unit: assignments.UnitRef,
    current: asyncpg.Record,
    case: asyncpg.Record,
    status: units.Status,
    at: datetime,
) -> None:
    """What a unit's new status does to its assignment and its case (and the referrer's view):
    on scene moves a case waiting for a unit; returning or available ends the assignment."""
    ref, before, moved = units_actions.case_ref(case), cases.Status(case["status"]), None
    if status in STAMPS:
        await tx.conn.execute(
            f"UPDATE assignments SET {STAMPS[status]} = $2 WHERE id = $1", current["id"], at
        )
    if status is units.Status.ON_SCENE:
        moved = assignments.case_after_arrival(before)
        if moved is not None:
            await units_actions.set_case_status(tx.conn, case["id"], moved, tx.now)
        tx.emit(
            assignments.case_unit_on_scene(
                ref, unit, current["id"], before, moved or before, by, at
            )
        )
    if status in units.ENDS_ASSIGNMENT:
        _, before, moved = await units_actions.end_assignment(tx.conn, current, at, recalled=False)
        tx.emit(
            assignments.case_unit_released(
                ref, unit, current["id"], before, moved or before, by, REASON, recalled=False
            )
        )


UNIT_STATE_COLUMNS = (
    "id, name, status, status_since, vehicle, base_label, synthetic, share_position,"
    " last_position_at, last_lat, last_lon"
)


async def keep_position(
    conn: asyncpg.Connection,
    unit: asyncpg.Record,
    lat: float | None,
    lon: float | None,
    accuracy_m: float | None,
    at: datetime,
) -> bool:
    """Keep a position the tablet sent, when the unit shares it: as the unit's last one (unless
    a newer one is there already) and in the short history the retention job prunes. False when
    nothing was kept (no position, or the crew's consent is off)."""
    if lat is None or lon is None or not unit["share_position"]:
        return False
    await conn.execute(
        "UPDATE units SET last_lat = $2, last_lon = $3, last_accuracy_m = $4,"
        " last_position_at = $5 WHERE id = $1"
        " AND (last_position_at IS NULL OR last_position_at <= $5)",
        unit["id"],
        lat,
        lon,
        accuracy_m,
        at,
    )
    await conn.execute(
        "INSERT INTO unit_positions (unit_id, at, lat, lon, accuracy_m)"
        " VALUES ($1, $2, $3, $4, $5)",
        unit["id"],
        at,
        lat,
        lon,
        accuracy_m,
    )
    return True


async def report_position(
    db: Database, by: access.Principal, body: PositionIn, *, now: datetime | None = None
) -> PositionOut:
    """The tablet's position at its interval while assigned (no outbox: a stale position is
    worth nothing, the next one replaces it)."""
    unit_id = unit_of(by)
    async with db.action(now) as tx:
        unit = await units_actions.lock_unit(tx.conn, unit_id)
        if unit is None:
            raise errors.NotFound("Unità non trovata.")
        at = min(utc(body.at) or tx.now, tx.now)  # never in the future
        kept = await keep_position(tx.conn, unit, body.lat, body.lon, body.accuracy_m, at)
        if kept:
            tx.emit(assignments.unit_position_reported(units_actions.unit_ref(unit), at, by))
        last = await tx.conn.fetchval("SELECT last_position_at FROM units WHERE id = $1", unit_id)
    return PositionOut(kept=kept, last_position_at=last)


async def set_sharing(
    db: Database, by: access.Principal, body: SharingIn, *, now: datetime | None = None
) -> UnitState:
    """The crew's consent to send the unit's position. Turning it off forgets the last position
    and the history at once."""
    unit_id = unit_of(by)
    async with db.action(now) as tx:
        unit = await units_actions.lock_unit(tx.conn, unit_id)
        if unit is None:
            raise errors.NotFound("Unità non trovata.")
        if body.share_position:
            row = await tx.conn.fetchrow(
                "UPDATE units SET share_position = true WHERE id = $1"
                f" RETURNING {UNIT_STATE_COLUMNS}",
                unit_id,
            )
        else:
            row = await tx.conn.fetchrow(
                "UPDATE units SET share_position = false, last_lat = NULL, last_lon = NULL,"
                " last_accuracy_m = NULL, last_position_at = NULL WHERE id = $1"
                f" RETURNING {UNIT_STATE_COLUMNS}",
                unit_id,
            )
            await tx.conn.execute("DELETE FROM unit_positions WHERE unit_id = $1", unit_id)
        if unit["share_position"] != body.share_position:
            tx.emit(
                assignments.unit_sharing_changed(
                    units_actions.unit_ref(unit), body.share_position, by
                )
            )
    return unit_state(row)


async def acknowledge_message(
    db: Database, by: access.Principal, message_id: int, key: str, *, now: datetime | None = None
) -> Answer:
    """The crew has read a message from the room: the room sees it at once. Acknowledging it
    again answers the first acknowledgement."""

    async def action(
        tx: Tx, unit: asyncpg.Record, current: asyncpg.Record | None
    ) -> tuple[int, BaseModel]:
        row = await tx.conn.fetchrow(
            "SELECT id, acknowledged_at FROM unit_messages WHERE id = $1 AND unit_id = $2"
            " FOR UPDATE",
            message_id,
            unit["id"],
        )
        if row is None:
            raise errors.NotFound("Messaggio non trovato.")
        if row["acknowledged_at"] is not None:
            return 200, AcknowledgedOut(id=message_id, acknowledged_at=row["acknowledged_at"])
        await tx.conn.execute(
            "UPDATE unit_messages SET acknowledged_at = $2, acknowledged_by = $3 WHERE id = $1",
            message_id,
            tx.now,
            access.unit_tag(unit["id"]),
        )
        found = await tx.conn.fetchrow(units_reads.MESSAGES + " WHERE m.id = $1", message_id)
        tx.emit(messages.message_acknowledged(units_reads.sent_of(found), by))
        return 200, AcknowledgedOut(id=message_id, acknowledged_at=tx.now)

    body = AcknowledgeIn(message_id=message_id)
    return await once(db, by, key, "message-ack", body, action, ended_ok=True, now=now)


def _working(current: asyncpg.Record | None) -> asyncpg.Record:
    if current is None:
        raise refused("Nessun intervento in corso.")
    return current


async def check_in(
    db: Database, by: access.Principal, body: CheckInIn, key: str, *, now: datetime | None = None
) -> Answer:
    """Safety check-in of a unit on scene: the room knows it is all right."""

    async def action(
        tx: Tx, unit: asyncpg.Record, current: asyncpg.Record | None
    ) -> tuple[int, BaseModel]:
        work = _working(current)
        if unit["status"] != units.Status.ON_SCENE:
            raise refused("Il check-in si fa quando l'unità è sul posto.")
        at = units.reported_at(utc(body.at), tx.now, work["on_scene_at"] or work["dispatched_at"])
        await tx.conn.execute(
            "UPDATE assignments SET last_check_in_at = $2 WHERE id = $1", work["id"], at
        )
        kept = await keep_position(tx.conn, unit, body.lat, body.lon, None, at)
        case = await units_reads.case(tx.conn, work["case_id"])
        tx.emit(
            assignments.unit_checked_in(
                units_actions.case_ref(case),
                units_actions.unit_ref(unit),
                work["id"],
                at,
                by,
                position_at=at if kept else None,
                note=body.note,
            )
        )
        return 200, CheckedIn(assignment_id=work["id"], checked_in_at=at)

    return await once(db, by, key, "check-in", body, action, now=now)


async def add_note(db: Database, by: access.Principal, body: NoteIn, key: str) -> Answer:
    """A note on the case of the unit's assignment (the current one, or one it names, even if
    ended: the crew writes up on the way back), for the room and the units on the case."""

    async def action(
        tx: Tx, unit: asyncpg.Record, current: asyncpg.Record | None
    ) -> tuple[int, BaseModel]:
        work = _working(current)
        note_id: int = await tx.conn.fetchval(
            "INSERT INTO notes (case_id, author, author_name, body, at)"
            " VALUES ($1, $2, $3, $4, $5) RETURNING id",
            work["case_id"],
            access.unit_tag(unit["id"]),
            unit["name"],
            body.body,
            tx.now,
        )
        case = await units_reads.case(tx.conn, work["case_id"])
        on_case = {unit["id"], *await units_actions.active_units_of_case(tx.conn, work["case_id"])}
        tx.emit(
            assignments.case_note_added(
                units_actions.case_ref(case), note_id, body.body, unit["name"], tx.now, by, on_case
            )
        )
        return 201, NoteView(id=note_id, author_name=unit["name"], body=body.body, at=tx.now)

    return await once(db, by, key, "note", body, action, ended_ok=True)


BEST_RESOURCE_SQL = """
SELECT r.id, r.name, r.type, r.provider,
       r.capacity - COALESCE(sum(b.quantity) FILTER (
           WHERE b.status IN ('held', 'confirmed', 'in_use')), 0) AS free
FROM resources r LEFT JOIN bookings b ON b.resource_id = r.id
WHERE r.zone_id = $1 AND r.type = $2 AND r.active
GROUP BY r.id ORDER BY (r.capacity - COALESCE(sum(b.quantity) FILTER (
    WHERE b.status IN ('held', 'confirmed', 'in_use')), 0)) >= $3 DESC, free DESC, r.id
LIMIT 1
"""


async def request_resource(
    db: Database, by: access.Principal, body: ResourceRequestIn, key: str
) -> Answer:
    """A unit asks for a resource of its case's zone basket: a booking `requested` on the
    active resource of that type with the most room (the room then holds and confirms it)."""

    async def action(
        tx: Tx, unit: asyncpg.Record, current: asyncpg.Record | None
    ) -> tuple[int, BaseModel]:
        work = _working(current)
        case = await units_reads.case(tx.conn, work["case_id"])
        resource = await tx.conn.fetchrow(
            BEST_RESOURCE_SQL, case["zone_id"], body.type.value, body.quantity
        )
        if resource is None:
            raise errors.ValidationFailed(
                "Nessuna risorsa di questo tipo nel paniere della zona.",
                problems=[
                    errors.FieldProblem("type", "no active resource of this type in the zone")
                ],
            )
        booking = await basket_actions.record_request(
            tx,
            case["id"],
            resource["id"],
            body.quantity,
            body.note,
            actor=access.unit_tag(unit["id"]),
            unit_id=unit["id"],
        )
        booking_id = booking.id
        return 201, RequestView(
            id=booking_id,
            resource_name=resource["name"],
            resource_type=resource["type"],
            type_label=type_label(resource["type"]),
            quantity=body.quantity,
            status=basket.Status.REQUESTED.value,
            note=body.note,
            created_at=tx.now,
        )

    return await once(db, by, key, "resource-request", body, action)
