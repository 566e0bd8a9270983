"""The unit tablet's API: its own assignment, status reports, check-ins, notes, resource requests.

A unit may touch only its own assignment (404 otherwise). Every write carries an
Idempotency-Key (scope `unit:<id>`): a tablet that lost the signal resends the same request with
the same key and gets the first answer back, with no second effect. A body may name the
assignment it was meant for, so an action queued offline never lands on a newer assignment.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import asyncpg
from pydantic import AwareDatetime, BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from console import audit, auth, clockboard, errors, idempotency, pages, progress, services
from console import fleet_queries as q
from console.api import operation
from console.clockboard import ClockView
from console.db import Database, Tx
from console.schemas import Request as RequestBody
from dispatch import access, assignments, basket, cases, units

TABLET = access.Permission.UNIT_TABLET
AUTH = ("device_token", "session")
REASON = "dichiarato dall'unità"
KEY_NOTE = "Needs an Idempotency-Key header (scope: the unit); the same key replays the answer."
STAMPS = {
    units.Status.ACKNOWLEDGED: "acknowledged_at",
    units.Status.EN_ROUTE: "en_route_at",
    units.Status.ON_SCENE: "on_scene_at",
}
Latitude = Field(default=None, ge=-90, le=90)
Longitude = Field(default=None, ge=-180, le=180)
AssignmentField = Field(default=None, ge=1, description="The assignment the action is for")


# ---- what the tablet shows -----------------------------------------------------------------


class UnitState(BaseModel):
    id: int
    name: str
    status: str
    status_label: str
    status_since: datetime
    vehicle: str
    base_label: str
    base_note: str | None


class AssignmentView(BaseModel):
    id: int
    case_number: str
    urgency: str
    place: dict[str, Any]
    people: dict[str, Any]
    description: str
    callback: dict[str, str]
    needs: list[str]
    need_labels: list[str]
    dispatched_at: datetime
    acknowledged_at: datetime | None
    en_route_at: datetime | None
    on_scene_at: datetime | None
    last_check_in_at: datetime | None


class NoteView(BaseModel):
    id: int
    author_name: str
    body: str
    at: datetime


class RequestView(BaseModel):
    id: int
    resource_name: str
    resource_type: str
    type_label: str
    quantity: int
    status: str
    note: str
    created_at: datetime


class TabletView(BaseModel):
    unit: UnitState
    assignment: AssignmentView | None
    notes: list[NoteView]
    requests: list[RequestView]
    clocks: list[ClockView] = Field(
        default_factory=list,
        description="The open SLA clocks of the current assignment (on scene, safety check-in):"
        " the tablet counts down from `deadline`; `clock.*` events to the unit carry the same"
        " fields",
    )


def _unit_state(row: asyncpg.Record) -> UnitState:
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
    unit = await conn.fetchrow(f"SELECT {q.UNIT_COLUMNS} FROM units u WHERE u.id = $1", unit_id)
    if unit is None:
        raise errors.NotFound("Unità non trovata.")
    current = await conn.fetchrow(
        f"SELECT {q.ASSIGNMENT_COLUMNS} FROM assignments WHERE unit_id = $1 AND {q.ACTIVE}",
        unit_id,
    )
    if current is None:
        return TabletView(unit=_unit_state(unit), assignment=None, notes=[], requests=[])
    brief = (await q.brief(conn, current["id"])).payload()
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
        unit=_unit_state(unit),
        assignment=assignment,
        clocks=await clockboard.open_clocks_of_assignment(conn, current["id"]),
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


def _unit_of(principal: access.Principal) -> int:
    if principal.unit_id is None:
        raise errors.Forbidden()
    return principal.unit_id


@operation(
    "GET",
    "/api/v1/tablet",
    summary="The unit's own status and current assignment, with only what it needs",
    response=TabletView,
    auth=AUTH,
    permission=TABLET,
    tag="tablet",
)
async def get_tablet(
    request: Request, principal: access.Principal, _: None, __: None
) -> TabletView:
    async with services.of(request).db.pool.acquire() as conn, conn.transaction():
        found = await view(conn, _unit_of(principal))
        if found.assignment is not None:  # the person's brief, as the unit needs it
            await audit.file_opened(conn, principal, "assignment", found.assignment.id)
    return found


# ---- idempotent actions --------------------------------------------------------------------


class Answer(BaseModel):
    status: int
    body: dict[str, Any]
    replayed: bool = False


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
) -> Answer:
    """Run `action` once per Idempotency-Key on the caller's unit (locked) and the assignment it
    is for (the current one, locked, or the one the body names); a repeat of the key gets the
    first answer."""
    unit_id = _unit_of(by)
    scope = access.unit_tag(unit_id)
    fingerprint = idempotency.fingerprint({"op": what, "body": body.model_dump(mode="json")})
    async with db.action() as tx:
        replay = await idempotency.claim(tx.conn, scope, key, fingerprint, tx.now)
        if replay is not None:
            return Answer(status=replay.status, body=replay.response, replayed=True)
        unit = await q.lock_unit(tx.conn, unit_id)
        if unit is None:
            raise errors.NotFound("Unità non trovata.")
        current = await q.active_assignment(tx.conn, unit_id)
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
    row = await q.assignment(conn, claimed)
    if row is None or row["unit_id"] != unit_id:
        raise errors.NotFound("Intervento non trovato.")
    return row


def refused(detail: str) -> errors.Conflict:
    error = errors.Conflict(detail)
    error.code = "refused"
    return error


Body = TypeVar("Body", bound=BaseModel)


def respond(answer: Answer) -> Response:
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)


async def keyed(
    request: Request,
    principal: access.Principal,
    body: Body,
    act: Callable[[Database, access.Principal, Body, str], Awaitable[Answer]],
) -> Response:
    """An outbox action's endpoint: `act` with the request's Idempotency-Key (which the
    operation requires, so it is there), answered as `respond` does."""
    key = idempotency.key_of(request)
    assert key is not None
    return respond(await act(services.of(request).db, principal, body, key))


def utc(at: datetime | None) -> datetime | None:
    return at.astimezone(UTC) if at is not None else None


# ---- status --------------------------------------------------------------------------------


class StatusIn(RequestBody):
    status: Literal["acknowledged", "en_route", "on_scene", "returning", "available", "off_duty"]
    at: AwareDatetime | None = Field(default=None, description="When it happened (tablet clock)")
    lat: float | None = Latitude
    lon: float | None = Longitude
    assignment_id: int | None = AssignmentField


class StatusOut(BaseModel):
    unit: UnitState
    assignment_id: int | None
    assignment_ended: bool


async def report_status(db: Database, by: access.Principal, body: StatusIn, key: str) -> Answer:
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
        case = await q.lock_case(tx.conn, current["case_id"]) if current is not None else None
        tx.emit(
            assignments.unit_status_changed(
                q.unit_ref(unit),
                previous,
                status,
                at,
                by,
                REASON,
                case=q.case_ref(case) if case is not None else None,
                assignment_id=current["id"] if current is not None else None,
                lat=body.lat,
                lon=body.lon,
            )
        )
        if current is not None and case is not None:
            await _case_follows(tx, by, q.unit_ref(unit), current, case, status, at)
        out = StatusOut(
            unit=_unit_state(row),
            assignment_id=current["id"] if current is not None else None,
            assignment_ended=current is not None and status in units.ENDS_ASSIGNMENT,
        )
        return 200, out

    return await once(db, by, key, "status", body, action)


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
    ref, before, moved = q.case_ref(case), cases.Status(case["status"]), None
    if status in STAMPS:
        await tx.conn.execute(
            f"UPDATE assignments SET {STAMPS[status]} = $2 WHERE id = $1", current["id"], at
        )
    if status is units.Status.ON_SCENE:
        moved = assignments.case_after_arrival(before)
        if moved is not None:
            await q.set_case_status(tx.conn, case["id"], moved, tx.now)
        tx.emit(
            assignments.case_unit_on_scene(
                ref, unit, current["id"], before, moved or before, by, at
            )
        )
    if status in units.ENDS_ASSIGNMENT:
        _, before, moved = await q.end_assignment(tx.conn, current, at, recalled=False)
        tx.emit(
            assignments.case_unit_released(
                ref, unit, current["id"], before, moved or before, by, REASON, recalled=False
            )
        )
    if moved is not None:
        await progress.notify_referrer(tx, case["referral_id"])


@operation(
    "POST",
    "/api/v1/tablet/status",
    summary="Report the unit's status (presa visione, in viaggio, sul posto, rientro...)",
    body=StatusIn,
    response=StatusOut,
    auth=AUTH,
    permission=TABLET,
    errors=(404, 409),
    tag="tablet",
    idempotency_key=True,
    example={"status": "en_route", "at": "2026-01-15T21:04:00+01:00", "lat": 43.77, "lon": 11.25},
    description=KEY_NOTE + " 409 `illegal_transition` for a move the status table forbids.",
)
async def post_status(
    request: Request, principal: access.Principal, body: StatusIn, _: None
) -> Response:
    return await keyed(request, principal, body, report_status)


# ---- the page ------------------------------------------------------------------------------


async def tablet_page(request: Request, session: auth.Session) -> Response:
    principal = session.principal
    if principal.unit_id is None:
        raise errors.Forbidden()
    return pages.render(
        request,
        "tablet.html",
        principal=principal,
        csrf_token=session.csrf_token,
        page_title="Intervento",
        unit_id=principal.unit_id,
        resource_types=[(t.value, basket.TYPE_LABELS[t]) for t in basket.ResourceType],
    )
