"""Units' JSON operations: the board, recommendations, dispatch, recall."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request

from console.areas.units.actions import dispatch_unit, recall_unit, send_message
from console.areas.units.reads import (
    BOARD_SQL,
    message_out,
    messages_of_case,
    recommend,
    unit_out,
)
from console.areas.units.schemas import (
    Dispatched,
    DispatchIn,
    Recalled,
    RecallIn,
    Recommendations,
    UnitBoard,
    UnitMessageIn,
    UnitMessageList,
    UnitMessagesSent,
    ZoneOut,
)
from console.lib import eventlog, services
from console.lib.api import operation, path_id
from dispatch import access

MANAGE = access.Permission.MANAGE_CASES


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
        units=[unit_out(r) for r in rows],
        zones=[ZoneOut(id=z["id"], name=z["name"]) for z in zones],
        read_at=read_at,
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


@operation(
    "GET",
    "/api/v1/cases/{id}/recommendations",
    summary="Every unit ranked for a case: estimated arrival, zone, skills, language, load",
    response=Recommendations,
    permission=access.Permission.MANAGE_CASES,
    errors=(404,),
    tag="units",
    description="Eligible (available) units first, best first; every unit with its reasons in "
    "Italian. Estimated arrival: straight-line distance from the unit's last reported position "
    "while at most SEUS_POSITION_MAX_AGE_MINUTES old (else its base, else its base "
    "municipality's centre; `position_label` says which, with the position's age) to the "
    "referral's coordinates (else its municipality's centroid), times SEUS_ROAD_FACTOR, at "
    "SEUS_AVERAGE_SPEED_KMH, at least 1 minute. A unit with no position at all has no estimate "
    "(`eta_minutes` null, 'posizione sconosciuta').",
)
async def get_recommendations(
    request: Request, principal: access.Principal, _: None, __: None
) -> Recommendations:
    svc = services.of(request)
    async with svc.db.pool.acquire() as conn:
        return await recommend(
            conn, path_id(request), svc.settings.ranking_policy, datetime.now(UTC)
        )


@operation(
    "POST",
    "/api/v1/unit-messages",
    summary="Write to one field unit, or to every unit working on a case",
    body=UnitMessageIn,
    response=UnitMessagesSent,
    status=201,
    permission=MANAGE,
    errors=(404, 409, 422),
    tag="units",
    example={"case_id": 1, "body": "La figlia arriva alle 22: aspettatela prima di partire."},
    description="Exactly one of `unit_id` and `case_id` (422 otherwise, at `unit_id`); `body`"
    " 1 to 1000 characters after trimming (422 at `body`). One message and one"
    " `unit.message_sent` event per unit, to the room and that unit only; the tablet shows it,"
    " with a sound, until the crew acknowledges it (`unit.message_acknowledged`). 409 `refused`"
    " when no unit is working on the case.",
)
async def post_unit_message(
    request: Request, principal: access.Principal, body: UnitMessageIn, _: None
) -> UnitMessagesSent:
    batch, rows = await send_message(
        services.of(request).db,
        principal,
        body.body,
        unit_id=body.unit_id,
        case_id=body.case_id,
    )
    return UnitMessagesSent(batch=batch, messages=[message_out(r) for r in rows])


@operation(
    "GET",
    "/api/v1/cases/{id}/unit-messages",
    summary="The room's messages to the units of a case, and their acknowledgements",
    response=UnitMessageList,
    permission=MANAGE,
    errors=(404,),
    tag="units",
)
async def list_case_unit_messages(
    request: Request, principal: access.Principal, _: None, __: None
) -> UnitMessageList:
    pool = services.of(request).db.pool
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        found = await messages_of_case(conn, path_id(request))
        as_of = await eventlog.head(conn)
    return UnitMessageList(messages=found, as_of=as_of)
