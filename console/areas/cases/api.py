"""Cases' JSON operations: the list, a case, its timeline, urgency, notes, closing."""

from __future__ import annotations

from starlette.requests import Request

from console.areas.cases import reads
from console.areas.cases.actions import add_note, change_urgency, close_case, mark_note
from console.areas.cases.reads import require_case_reader, room_cases
from console.areas.cases.schemas import (
    CaseCloseIn,
    CaseDetail,
    CaseNote,
    CaseNoteIn,
    CaseNoteMarkIn,
    CaseState,
    CaseTimeline,
    CaseTimelineEntry,
    CaseTimelineQuery,
    CaseUrgencyIn,
    RoomCaseList,
    RoomCaseQuery,
)
from console.lib import audit, errors, eventlog, services
from console.lib.api import operation, path_id
from dispatch import access


@operation(
    "GET",
    "/api/v1/cases",
    summary="The room's cases: open ones (default) or all",
    query=RoomCaseQuery,
    response=RoomCaseList,
    permission=access.READ_CASES,
    errors=(403,),
    tag="cases",
    description="Flagged cases (handover rejected) first, then by urgency and age.",
)
async def list_cases(
    request: Request, principal: access.Principal, _: None, query: RoomCaseQuery
) -> RoomCaseList:
    require_case_reader(principal)
    pool = services.of(request).db.pool
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        as_of = await eventlog.head(conn)
        found = await room_cases(conn, include_closed=query.status == "all")
    return RoomCaseList(cases=found, as_of=as_of)


@operation(
    "GET",
    "/api/v1/cases/{id}",
    summary="A case's whole file: referral, assessment, units, bookings, notes, handovers",
    response=CaseDetail,
    permission=access.READ_CASES,
    errors=(403, 404),
    tag="cases",
    description="Read in one repeatable-read transaction: events after `as_of` follow live.",
)
async def get_case(request: Request, principal: access.Principal, _: None, __: None) -> CaseDetail:
    require_case_reader(principal)
    case_id = path_id(request)
    pool = services.of(request).db.pool
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        as_of = await eventlog.head(conn)
        found = await reads.load_case(conn, case_id)
        if found is None:
            raise errors.NotFound("Caso non trovato.")
        await audit.file_opened(conn, principal, "case", case_id)
    return CaseDetail(**found, as_of=as_of)


@operation(
    "GET",
    "/api/v1/cases/{id}/timeline",
    summary="A case's history, built from the event log",
    query=CaseTimelineQuery,
    response=CaseTimeline,
    permission=access.READ_CASES,
    errors=(403, 404),
    tag="cases",
    description="Events whose subject is the case or its referral, or whose payload names the "
    "case (`case_id`), that the caller may see; each with when, who, what and why.",
)
async def get_timeline(
    request: Request, principal: access.Principal, _: None, query: CaseTimelineQuery
) -> CaseTimeline:
    require_case_reader(principal)
    case_id = path_id(request)
    pool = services.of(request).db.pool
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        as_of = await eventlog.head(conn)
        referral_id = await conn.fetchval("SELECT referral_id FROM cases WHERE id = $1", case_id)
        if referral_id is None:
            raise errors.NotFound("Caso non trovato.")
        await audit.file_opened(conn, principal, "case", case_id)
        entries = await reads.timeline(
            conn,
            case_id,
            referral_id,
            access.read_tags(principal),
            after=query.after,
            limit=query.limit,
        )
    return CaseTimeline(entries=[CaseTimelineEntry(**e) for e in entries], as_of=as_of)


@operation(
    "POST",
    "/api/v1/cases/{id}/urgency",
    summary="Change an open case's urgency code (its clocks take the new targets)",
    body=CaseUrgencyIn,
    response=CaseState,
    permission=access.Permission.MANAGE_CASES,
    errors=(404, 409),
    tag="cases",
    description="The time already counted on every open clock of the case and of its units is"
    " kept; the targets become the new code's. 409 when the case is closed or already has it.",
    example={"urgency": "rosso", "reason": "Il PS segnala che la persona ha minori con sé."},
)
async def post_urgency(
    request: Request, principal: access.Principal, body: CaseUrgencyIn, _: None
) -> CaseState:
    db = services.of(request).db
    return await change_urgency(db, principal, path_id(request), body.urgency, body.reason)


@operation(
    "POST",
    "/api/v1/cases/{id}/notes",
    summary="Add a note to a case",
    body=CaseNoteIn,
    response=CaseNote,
    status=201,
    permission=access.Permission.MANAGE_CASES,
    errors=(404, 409),
    tag="cases",
    example={"body": "Richiamato il pronto soccorso: la persona è ancora in sala d'attesa."},
)
async def post_note(
    request: Request, principal: access.Principal, body: CaseNoteIn, _: None
) -> CaseNote:
    return await add_note(services.of(request).db, principal, path_id(request), body.body)


@operation(
    "POST",
    "/api/v1/cases/{id}/handover-notes",
    summary="Mark a note of the case for the handover (its text goes in the dossier), or unmark it",
    body=CaseNoteMarkIn,
    response=CaseNote,
    permission=access.Permission.MANAGE_CASES,
    errors=(404, 409),
    tag="cases",
    description="Only the notes marked when the handover is sent go in its dossier. 409 when the "
    "note already is as asked or the case is closed; 404 for a note of another case.",
    example={"note_id": 1, "for_handover": True},
)
async def post_handover_note(
    request: Request, principal: access.Principal, body: CaseNoteMarkIn, _: None
) -> CaseNote:
    db = services.of(request).db
    return await mark_note(db, principal, path_id(request), body.note_id, body.for_handover)


@operation(
    "POST",
    "/api/v1/cases/{id}/close",
    summary="Close a case (only from a state that allows it: 409 otherwise)",
    body=CaseCloseIn,
    response=CaseState,
    permission=access.Permission.MANAGE_CASES,
    errors=(404, 409),
    tag="cases",
    example={"reason": "Passaggio accettato dal servizio territoriale; intervento concluso."},
)
async def post_close(
    request: Request, principal: access.Principal, body: CaseCloseIn, _: None
) -> CaseState:
    return await close_case(services.of(request).db, principal, path_id(request), body.reason)
