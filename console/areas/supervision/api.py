"""Supervision's JSON operations: the snapshot, acknowledgements, shift notes, reassignment."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from console.areas.supervision.actions import (
    acknowledge_escalation,
    acknowledge_shift_note,
    reassign_case,
    write_shift_note,
)
from console.areas.supervision.reads import read_supervision
from console.areas.supervision.schemas import (
    AcknowledgedEscalation,
    AcknowledgeIn,
    CaseReassigned,
    ShiftNoteIn,
    ShiftNoteOut,
    Supervision,
)
from console.lib import services
from console.lib.api import operation, path_id
from console.lib.schemas import ReassignIn
from dispatch import access

_SUPERVISE: dict[str, Any] = {"permission": access.Permission.SUPERVISE, "tag": "supervision"}


@operation(
    "GET",
    "/api/v1/supervision",
    summary="The supervisor's room: queues, clocks at risk, units, staff, escalations, notes",
    response=Supervision,
    errors=(403,),
    description="Read in one repeatable-read transaction with `as_of`: follow"
    " `/ws?after=as_of`. On shift: operators and supervisors with a live session (not revoked,"
    " within the idle and absolute timeouts).",
    **_SUPERVISE,
)
async def get_supervision(
    request: Request, principal: access.Principal, _: None, __: None
) -> Supervision:
    svc = services.of(request)
    return await read_supervision(svc.db.pool, svc.settings.session_policy)


@operation(
    "POST",
    "/api/v1/escalations/{id}/acknowledge",
    summary="Acknowledge an escalation (a missed SLA target), with an optional note",
    body=AcknowledgeIn,
    response=AcknowledgedEscalation,
    errors=(403, 404, 409, 422),
    description="Once: a second acknowledgement gets 409 with `acknowledged` (by whom, when)."
    " Event `escalation.acknowledged` to the supervisors.",
    example={"note": "Chiamata l'operatrice: la segnalazione è in valutazione."},
    **_SUPERVISE,
)
async def post_escalation_acknowledgement(
    request: Request, principal: access.Principal, body: AcknowledgeIn, _: None
) -> AcknowledgedEscalation:
    escalation_id = path_id(request)
    return await acknowledge_escalation(
        services.of(request).db, principal, escalation_id, body.note
    )


@operation(
    "POST",
    "/api/v1/shift-notes",
    summary="Write a shift note (consegna) for the incoming shift",
    body=ShiftNoteIn,
    response=ShiftNoteOut,
    status=201,
    errors=(403, 422),
    description="Event `shift_note.written` to the supervisors.",
    example={"body": "Caso SEUS-2026-000123: richiamare il PS di Careggi alle 8."},
    **_SUPERVISE,
)
async def post_shift_note(
    request: Request, principal: access.Principal, body: ShiftNoteIn, _: None
) -> ShiftNoteOut:
    return await write_shift_note(services.of(request).db, principal, body.body)


@operation(
    "POST",
    "/api/v1/shift-notes/{id}/acknowledge",
    summary="Acknowledge a shift note (the incoming supervisor)",
    response=ShiftNoteOut,
    errors=(403, 404, 409),
    description="409 when the author tries (the incoming shift confirms) or when it is already"
    " acknowledged (`acknowledged`: by whom, when). Event `shift_note.acknowledged`.",
    **_SUPERVISE,
)
async def post_shift_note_acknowledgement(
    request: Request, principal: access.Principal, _: None, __: None
) -> ShiftNoteOut:
    note_id = path_id(request)
    return await acknowledge_shift_note(services.of(request).db, principal, note_id)


@operation(
    "POST",
    "/api/v1/cases/{id}/reassign",
    summary="Hand an open case to another operator (supervisors)",
    body=ReassignIn,
    response=CaseReassigned,
    permission=access.Permission.REASSIGN,
    tag="supervision",
    errors=(403, 404, 409, 422),
    description="`operator_id` must be an active operator or supervisor (422 otherwise); 409"
    " when the case is closed or already theirs. Event `case.reassigned` to the room.",
    example={"operator_id": 2, "reason": "Fine turno: prosegue la collega."},
)
async def post_case_reassignment(
    request: Request, principal: access.Principal, body: ReassignIn, _: None
) -> CaseReassigned:
    case_id = path_id(request)
    db = services.of(request).db
    return await reassign_case(db, principal, case_id, body.operator_id, body.reason)
