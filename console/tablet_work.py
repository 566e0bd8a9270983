"""The unit tablet's other writes: safety check-ins, notes and resource requests, each once
per Idempotency-Key on the unit's own assignment (see console/tablet.py)."""

from __future__ import annotations

from datetime import datetime

import asyncpg
from pydantic import AwareDatetime, BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from console import bookings, errors
from console import fleet_queries as q
from console.api import operation
from console.db import Database, Tx
from console.schemas import Request as RequestBody
from console.tablet import (
    AUTH,
    KEY_NOTE,
    TABLET,
    Answer,
    AssignmentField,
    Latitude,
    Longitude,
    NoteView,
    RequestView,
    keyed,
    once,
    refused,
    type_label,
    utc,
)
from dispatch import access, assignments, basket, units

# ---- check-in, notes, resource requests ----------------------------------------------------


def _working(current: asyncpg.Record | None) -> asyncpg.Record:
    if current is None:
        raise refused("Nessun intervento in corso.")
    return current


async def _case_of(conn: asyncpg.Connection, case_id: int) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        f"SELECT {q.CASE_COLUMNS} FROM cases WHERE id = $1", case_id
    )
    return row


class CheckInIn(RequestBody):
    at: AwareDatetime | None = Field(default=None, description="When (tablet clock)")
    lat: float | None = Latitude
    lon: float | None = Longitude
    note: str = Field(default="", max_length=500)
    assignment_id: int | None = AssignmentField


class CheckedIn(BaseModel):
    assignment_id: int
    checked_in_at: datetime


async def check_in(db: Database, by: access.Principal, body: CheckInIn, key: str) -> Answer:
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
        case = await _case_of(tx.conn, work["case_id"])
        tx.emit(
            assignments.unit_checked_in(
                q.case_ref(case),
                q.unit_ref(unit),
                work["id"],
                at,
                by,
                lat=body.lat,
                lon=body.lon,
                note=body.note,
            )
        )
        return 200, CheckedIn(assignment_id=work["id"], checked_in_at=at)

    return await once(db, by, key, "check-in", body, action)


@operation(
    "POST",
    "/api/v1/tablet/check-in",
    summary="Safety check-in while on scene",
    body=CheckInIn,
    response=CheckedIn,
    auth=AUTH,
    permission=TABLET,
    errors=(404, 409),
    tag="tablet",
    idempotency_key=True,
    example={"lat": 43.77, "lon": 11.25, "note": "Tutto tranquillo, in attesa del 118."},
    description=KEY_NOTE + " 409 when the unit is not on scene.",
)
async def post_check_in(
    request: Request, principal: access.Principal, body: CheckInIn, _: None
) -> Response:
    return await keyed(request, principal, body, check_in)


class NoteIn(RequestBody):
    body: str = Field(min_length=1, max_length=4000, description="Free text, shown escaped")
    assignment_id: int | None = AssignmentField


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
        case = await _case_of(tx.conn, work["case_id"])
        on_case = {unit["id"], *await q.active_units_of_case(tx.conn, work["case_id"])}
        tx.emit(
            assignments.case_note_added(
                q.case_ref(case), note_id, body.body, unit["name"], tx.now, by, on_case
            )
        )
        return 201, NoteView(id=note_id, author_name=unit["name"], body=body.body, at=tx.now)

    return await once(db, by, key, "note", body, action, ended_ok=True)


@operation(
    "POST",
    "/api/v1/tablet/notes",
    summary="Add a note to the case of the unit's current assignment",
    body=NoteIn,
    response=NoteView,
    status=201,
    auth=AUTH,
    permission=TABLET,
    errors=(404, 409),
    tag="tablet",
    idempotency_key=True,
    example={"body": "La signora chiede di avvisare la figlia a Prato."},
    description=KEY_NOTE,
)
async def post_note(
    request: Request, principal: access.Principal, body: NoteIn, _: None
) -> Response:
    return await keyed(request, principal, body, add_note)


class ResourceRequestIn(RequestBody):
    type: basket.ResourceType
    quantity: int = Field(default=1, ge=1, le=100)
    note: str = Field(default="", max_length=500)
    assignment_id: int | None = AssignmentField


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
        case = await _case_of(tx.conn, work["case_id"])
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
        booking = await bookings.record_request(
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


@operation(
    "POST",
    "/api/v1/tablet/resource-requests",
    summary="Ask for a resource of the zone's basket for the current case",
    body=ResourceRequestIn,
    response=RequestView,
    status=201,
    auth=AUTH,
    permission=TABLET,
    errors=(404, 409),
    tag="tablet",
    idempotency_key=True,
    example={"type": "shelter_bed", "quantity": 1, "note": "Donna con un bambino di 4 anni."},
    description=KEY_NOTE + " 422 when the zone's basket has no active resource of that type.",
)
async def post_resource_request(
    request: Request, principal: access.Principal, body: ResourceRequestIn, _: None
) -> Response:
    return await keyed(request, principal, body, request_resource)
