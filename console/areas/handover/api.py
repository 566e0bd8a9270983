"""Handover's JSON operations: send, list, read, accept, reject; the room's correction of the
competence and its reply to a rejection."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from console.areas.handover.actions import correct_competence, decide, reply, send
from console.areas.handover.reads import handover_of, zone_handovers
from console.areas.handover.schemas import (
    Competence,
    CompetenceIn,
    Handover,
    HandoverList,
    HandoverQuery,
    HandoverRejectIn,
    HandoverReplyIn,
)
from console.lib import audit, errors, eventlog, services
from console.lib.api import operation, path_id
from dispatch import access, handover


@operation(
    "POST",
    "/api/v1/cases/{id}/handover",
    summary="Send the case to the competent territorial service, with a curated dossier",
    response=Handover,
    status=201,
    permission=access.Permission.MANAGE_CASES,
    errors=(404, 409),
    tag="handovers",
    description="The competent zone is the residence municipality's, else where the person was "
    "found. Only that zone's service receives the dossier.",
)
async def post_handover(request: Request, principal: access.Principal, _: None, __: None) -> Any:
    return await send(services.of(request).db, principal, path_id(request))


@operation(
    "GET",
    "/api/v1/handovers",
    summary="The handovers of the caller's zone",
    query=HandoverQuery,
    response=HandoverList,
    permission=access.Permission.DECIDE_HANDOVER,
    tag="handovers",
)
async def list_handovers(
    request: Request, principal: access.Principal, _: None, query: HandoverQuery
) -> HandoverList:
    pool = services.of(request).db.pool
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        as_of = await eventlog.head(conn)
        rows = await zone_handovers(conn, principal, status=query.status)
        await audit.file_opened(conn, principal, "handover", [r["id"] for r in rows])
    return HandoverList(handovers=[handover_of(r) for r in rows], as_of=as_of)


@operation(
    "GET",
    "/api/v1/handovers/{id}",
    summary="One handover of the caller's zone (404 for any other zone's)",
    response=Handover,
    permission=access.Permission.DECIDE_HANDOVER,
    errors=(404,),
    tag="handovers",
)
async def get_handover(request: Request, principal: access.Principal, _: None, __: None) -> Any:
    pool = services.of(request).db.pool
    async with pool.acquire() as conn, conn.transaction():
        rows = await zone_handovers(conn, principal, handover_id=path_id(request))
        if not rows:
            raise errors.NotFound("Passaggio non trovato.")
        await audit.file_opened(conn, principal, "handover", rows[0]["id"])
    return handover_of(rows[0])


@operation(
    "POST",
    "/api/v1/handovers/{id}/accept",
    summary="Accept a handover: the territorial service takes the person in charge",
    response=Handover,
    permission=access.Permission.DECIDE_HANDOVER,
    errors=(404, 409),
    tag="handovers",
)
async def accept_handover(request: Request, principal: access.Principal, _: None, __: None) -> Any:
    db = services.of(request).db
    return await decide(db, principal, path_id(request), handover.Status.ACCEPTED)


@operation(
    "POST",
    "/api/v1/handovers/{id}/reject",
    summary="Reject a handover with a reason: the case returns to the room, flagged",
    body=HandoverRejectIn,
    response=Handover,
    permission=access.Permission.DECIDE_HANDOVER,
    errors=(404, 409),
    tag="handovers",
    example={"reason": "La persona risiede in un altro comune: competente la zona pistoiese."},
)
async def reject_handover(
    request: Request, principal: access.Principal, body: HandoverRejectIn, _: None
) -> Any:
    db = services.of(request).db
    return await decide(db, principal, path_id(request), handover.Status.REJECTED, body.reason)


@operation(
    "POST",
    "/api/v1/handovers/{id}/reply",
    summary="Reply to a rejected handover: the services of the case read the room's answer",
    body=HandoverReplyIn,
    response=Handover,
    permission=access.Permission.MANAGE_CASES,
    errors=(404, 409),
    tag="handovers",
    description="Once per rejection. The service that rejected it reads the reply with its "
    "handover; a service the case is sent to afterwards reads it with the handover it receives "
    "(`previous`). 409 when the handover is not rejected, was already answered, or the case is "
    "closed.",
    example={"message": "Corretta la residenza: la persona vive a Pistoia, inviato alla zona."},
)
async def reply_handover(
    request: Request, principal: access.Principal, body: HandoverReplyIn, _: None
) -> Any:
    db = services.of(request).db
    return await reply(db, principal, path_id(request), body.message)


@operation(
    "POST",
    "/api/v1/cases/{id}/competence",
    summary="Correct the person's residence or the competent zone, with a reason",
    body=CompetenceIn,
    response=Competence,
    permission=access.Permission.MANAGE_CASES,
    errors=(404, 409, 422),
    tag="handovers",
    description="Exactly one of `residence_municipality` (ISTAT code or name) and `zone`. A "
    "residence brings its zone and drops an earlier zone correction; a zone overrides the "
    "residence. Kept with who, when and why, and on the case's timeline. 409 while a handover "
    "waits for its decision, after an acceptance, on a closed case, or when nothing changes.",
    example={
        "residence_municipality": "047014",
        "reason": "Il servizio di Firenze segnala che la persona risiede a Pistoia.",
    },
)
async def post_competence(
    request: Request, principal: access.Principal, body: CompetenceIn, _: None
) -> Any:
    return await correct_competence(
        services.of(request).db,
        principal,
        path_id(request),
        residence_municipality=body.residence_municipality,
        zone=body.zone,
        reason=body.reason,
    )
