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
    Answer,
    CheckedIn,
    CheckInIn,
    NoteIn,
    NoteView,
    RequestView,
    ResourceRequestIn,
    StatusIn,
    StatusOut,
)
from console.areas.units import actions as units_actions
from console.areas.units import reads as units_reads
from console.lib import errors, idempotency
from console.lib.db import Database, Tx
from dispatch import access, assignments, basket, cases, units

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
        row = await tx.conn.fetchrow(
            "UPDATE units SET status = $2, status_since = $3, last_lat = COALESCE($4, last_lat),"
            " last_lon = COALESCE($5, last_lon) WHERE id = $1"
            " RETURNING id, name, status, status_since, vehicle, base_label, synthetic",
            unit["id"],
            status.value,
            at,
            body.lat,
            body.lon,
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
                lat=body.lat,
                lon=body.lon,
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
        await tx.conn.execute(
            "UPDATE units SET last_lat = COALESCE($2, last_lat), last_lon = COALESCE($3, last_lon)"
            " WHERE id = $1",
            unit["id"],
            body.lat,
            body.lon,
        )
        case = await units_reads.case(tx.conn, work["case_id"])
        tx.emit(
            assignments.unit_checked_in(
                units_actions.case_ref(case),
                units_actions.unit_ref(unit),
                work["id"],
                at,
                by,
                lat=body.lat,
                lon=body.lon,
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
