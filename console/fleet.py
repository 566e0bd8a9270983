"""Field units, room side: the units board, dispatch and recall, and the pages `/unita` and
`/tablet`. The ranking is in console/recommendations.py, the tablet's API in console/tablet.py
and console/tablet_work.py."""

from __future__ import annotations

from datetime import datetime

import asyncpg
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from console import auth, errors, pages, progress, recommendations, services, tablet, tablet_work
from console import fleet_queries as q
from console.api import operation
from console.db import Database
from console.recommendations import CASE_PLACE_SQL, Origin, origin_of, path_id
from console.schemas import Request as RequestBody
from dispatch import access, assignments, cases, units
from dispatch.errors import Refused

MANAGE = access.Permission.MANAGE_CASES
# app.AREAS lists this module only: importing these registers their API operations too.
SUBAREAS = (recommendations, tablet, tablet_work)


# ---- the units board -----------------------------------------------------------------------


class CaseSummary(BaseModel):
    id: int
    case_number: str
    status: str
    urgency: str
    municipality: str | None


class UnitOut(BaseModel):
    id: int
    name: str
    status: str
    status_label: str
    status_since: datetime
    zone: str | None = Field(description="Home zone: its base's")
    zone_name: str | None
    zones: list[str] = Field(description="Zones it covers")
    skills: list[str]
    languages: list[str]
    vehicle: str
    base_label: str
    base_municipality: str | None
    synthetic: bool
    base_note: str | None = Field(description='"sede demo (non verificata)" for a demo base')
    last_lat: float | None
    last_lon: float | None
    assignment_id: int | None
    current_case: CaseSummary | None


class ZoneOut(BaseModel):
    id: str
    name: str


class UnitBoard(BaseModel):
    units: list[UnitOut]
    zones: list[ZoneOut]
    read_at: datetime


BOARD_SQL = f"""
SELECT {q.UNIT_COLUMNS}, m.name AS base_municipality, z.id AS home_zone, z.name AS zone_name,
       a.id AS assignment_id, c.id AS case_id, c.case_number, c.status AS case_status,
       c.urgency, cm.name AS case_municipality
FROM units u
LEFT JOIN municipalities m ON m.istat_code = u.base_municipality_code
LEFT JOIN zones z ON z.id = COALESCE(m.zone_id, u.zones[1])
LEFT JOIN assignments a ON a.unit_id = u.id AND a.done_at IS NULL AND a.cancelled_at IS NULL
LEFT JOIN cases c ON c.id = COALESCE(a.case_id, u.current_case_id)
LEFT JOIN referrals r ON r.id = c.referral_id
LEFT JOIN municipalities cm ON cm.istat_code = r.municipality_code
ORDER BY z.name NULLS LAST, u.name
"""


@operation(
    "GET",
    "/api/v1/units",
    summary="Every field unit: status, time in status, current case, base and coverage",
    response=UnitBoard,
    permission=access.Permission.VIEW_UNITS,
    tag="units",
)
async def list_units(request: Request, principal: access.Principal, _: None, __: None) -> UnitBoard:
    pool = services.of(request).db.pool
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        rows = await conn.fetch(BOARD_SQL)
        zones = await conn.fetch("SELECT id, name FROM zones ORDER BY name")
        read_at = await conn.fetchval("SELECT now()")
    return UnitBoard(
        units=[_unit_out(r) for r in rows],
        zones=[ZoneOut(id=z["id"], name=z["name"]) for z in zones],
        read_at=read_at,
    )


def _unit_out(row: asyncpg.Record) -> UnitOut:
    status = units.Status(row["status"])
    case = None
    if row["case_id"] is not None:
        case = CaseSummary(
            id=row["case_id"],
            case_number=row["case_number"],
            status=row["case_status"],
            urgency=row["urgency"],
            municipality=row["case_municipality"],
        )
    return UnitOut(
        id=row["id"],
        name=row["name"],
        status=status.value,
        status_label=units.STATUS_LABELS[status],
        status_since=row["status_since"],
        zone=row["home_zone"],
        zone_name=row["zone_name"],
        zones=list(row["zones"]),
        skills=list(row["skills"]),
        languages=list(row["languages"]),
        vehicle=row["vehicle"],
        base_label=row["base_label"],
        base_municipality=row["base_municipality"],
        synthetic=row["synthetic"],
        base_note=units.base_note(row["synthetic"]),
        last_lat=row["last_lat"],
        last_lon=row["last_lon"],
        assignment_id=row["assignment_id"],
        current_case=case,
    )


# ---- dispatch and recall -------------------------------------------------------------------


class DispatchIn(RequestBody):
    unit_id: int = Field(ge=1)
    reason: str | None = Field(default=None, max_length=500, description="Why this unit")


class Dispatched(BaseModel):
    assignment_id: int
    case_id: int
    case_number: str
    case_status: str
    unit_id: int
    unit_name: str
    unit_status: str
    dispatched_at: datetime
    eta_minutes: int | None


def _eta(unit: asyncpg.Record, origin: Origin, policy: units.RankingPolicy) -> int | None:
    lat = unit["last_lat"] if unit["last_lat"] is not None else unit["base_lat"]
    lon = unit["last_lon"] if unit["last_lon"] is not None else unit["base_lon"]
    if lat is None or lon is None:
        return None
    km = units.distance_km(lat, lon, origin.lat, origin.lon) * policy.road_factor
    return round(km / policy.speed_kmh * 60)


async def dispatch_unit(
    db: Database,
    by: access.Principal,
    case_id: int,
    unit_id: int,
    *,
    reason: str | None = None,
    policy: units.RankingPolicy | None = None,
) -> Dispatched:
    """Send a unit to a case. The unit's row lock makes concurrent dispatches of one unit
    queue: the first wins, the others find it assigned and are refused."""
    policy = policy or units.RankingPolicy()
    reason = reason or "invio dalla sala operativa"
    async with db.action() as tx:
        place = await tx.conn.fetchrow(CASE_PLACE_SQL, case_id)
        if place is None:
            raise errors.NotFound("Caso non trovato.")
        unit = await q.lock_unit(tx.conn, unit_id)
        if unit is None:
            raise errors.ValidationFailed(
                problems=[errors.FieldProblem("unit_id", "unità inesistente", "not_found")]
            )
        previous = units.Status(unit["status"])
        status = units.assign(previous)
        if await q.active_assignment(tx.conn, unit_id) is not None:  # data out of step
            raise Refused("unità già impegnata (un intervento è ancora aperto)")
        case = await q.lock_case(tx.conn, case_id)
        assert case is not None
        before = cases.Status(case["status"])
        others = await q.active_units_of_case(tx.conn, case_id)
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
            await q.set_case_status(tx.conn, case_id, moved, tx.now)
        brief = await q.brief(tx.conn, assignment_id)
        ref, uref = q.case_ref(case), q.unit_ref(unit)
        eta = _eta(unit, origin_of(place), policy)
        tx.emit(
            assignments.unit_assigned(brief, uref, ref.zone, by, reason),
            assignments.unit_status_changed(
                uref, previous, status, tx.now, by, reason, case=ref, assignment_id=assignment_id
            ),
            assignments.case_unit_dispatched(
                ref, uref, assignment_id, before, moved or before, by, reason, eta
            ),
        )
        if moved is not None:
            await progress.notify_referrer(tx, case["referral_id"])
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


@operation(
    "POST",
    "/api/v1/cases/{id}/dispatch",
    summary="Send a field unit to a case",
    body=DispatchIn,
    response=Dispatched,
    status=201,
    permission=MANAGE,
    errors=(404, 409),
    tag="units",
    example={"unit_id": 1, "reason": "la più vicina, parla arabo"},
    description="409 `refused` when the unit is not available (already taken, also by a "
    "concurrent dispatch: exactly one wins), 409 `illegal_transition` when the case no longer "
    "takes units. A second unit on a case already dispatched does not move the case.",
)
async def post_dispatch(
    request: Request, principal: access.Principal, body: DispatchIn, _: None
) -> Dispatched:
    svc = services.of(request)
    return await dispatch_unit(
        svc.db,
        principal,
        path_id(request),
        body.unit_id,
        reason=body.reason,
        policy=svc.settings.ranking_policy,
    )


class RecallIn(RequestBody):
    reason: str | None = Field(default=None, max_length=500, description="Why it is recalled")


class Recalled(BaseModel):
    assignment_id: int
    case_id: int
    case_status: str
    unit_id: int
    unit_status: str
    cancelled_at: datetime


async def recall_unit(
    db: Database, by: access.Principal, assignment_id: int, *, reason: str | None = None
) -> Recalled:
    """Call a unit back from its assignment: it is available again; a case left without units
    before any reached it goes back to open."""
    reason = reason or "richiamata dalla sala operativa"
    async with db.action() as tx:
        found = await q.assignment(tx.conn, assignment_id)
        if found is None:
            raise errors.NotFound("Invio non trovato.")
        unit = await q.lock_unit(tx.conn, found["unit_id"])
        assert unit is not None
        current = await q.active_assignment(tx.conn, unit["id"])
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
        case, before, moved = await q.end_assignment(tx.conn, current, tx.now, recalled=True)
        ref, uref = q.case_ref(case), q.unit_ref(unit)
        tx.emit(
            assignments.unit_recalled(uref, assignment_id, ref, by, reason),
            assignments.unit_status_changed(
                uref, previous, status, tx.now, by, reason, case=ref, assignment_id=assignment_id
            ),
            assignments.case_unit_released(
                ref, uref, assignment_id, before, moved or before, by, reason, recalled=True
            ),
        )
        if moved is not None:
            await progress.notify_referrer(tx, case["referral_id"])
    return Recalled(
        assignment_id=assignment_id,
        case_id=case["id"],
        case_status=(moved or before).value,
        unit_id=unit["id"],
        unit_status=status.value,
        cancelled_at=tx.now,
    )


@operation(
    "POST",
    "/api/v1/assignments/{id}/cancel",
    summary="Recall a unit from its assignment",
    body=RecallIn,
    response=Recalled,
    permission=MANAGE,
    errors=(404, 409),
    tag="units",
    example={"reason": "inviata un'unità più vicina"},
    description="The unit becomes available; the case goes back to open when no other unit "
    "is on it and none had reached the person. 409 when the assignment has already ended.",
)
async def post_recall(
    request: Request, principal: access.Principal, body: RecallIn, _: None
) -> Recalled:
    db = services.of(request).db
    return await recall_unit(db, principal, path_id(request), reason=body.reason)


# ---- pages ---------------------------------------------------------------------------------


async def units_page(request: Request, session: auth.Session) -> Response:
    principal = session.principal
    statuses = [(s.value, units.STATUS_LABELS[s]) for s in units.Status]
    async with services.of(request).db.pool.acquire() as conn:
        zones = await conn.fetch("SELECT id, name FROM zones ORDER BY name")
    return pages.render(
        request,
        "units.html",
        principal=principal,
        csrf_token=session.csrf_token,
        page_title="Unità operative",
        zones=zones,
        statuses=statuses,
        demo_note=units.DEMO_BASE_NOTE,
    )


page_routes: list[BaseRoute] = [
    pages.page("/unita", units_page, access.Permission.VIEW_UNITS),
    pages.page("/tablet", tablet.tablet_page, tablet.TABLET, login="/tablet/login"),
]
