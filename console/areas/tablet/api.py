"""The tablet's JSON operations (device token or unit session)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from console.areas.tablet.actions import (
    acknowledge_message,
    add_note,
    check_in,
    report_position,
    report_status,
    request_resource,
    set_sharing,
)
from console.areas.tablet.reads import unit_of, view
from console.areas.tablet.schemas import (
    AcknowledgedOut,
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
    TabletView,
    UnitState,
)
from console.lib import audit, idempotency, services
from console.lib.api import operation, path_id
from console.lib.db import Database
from dispatch import access

TABLET = access.Permission.UNIT_TABLET


AUTH = ("device_token", "session")


KEY_NOTE = "Needs an Idempotency-Key header (scope: the unit); the same key replays the answer."


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
        found = await view(conn, unit_of(principal))
        if found.assignment is not None:  # the person's brief, as the unit needs it
            await audit.file_opened(conn, principal, "assignment", found.assignment.id)
    return found


def respond(answer: Answer) -> Response:
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)


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


@operation(
    "POST",
    "/api/v1/tablet/messages/{id}/acknowledge",
    summary="The crew has read a message from the room",
    response=AcknowledgedOut,
    auth=AUTH,
    permission=TABLET,
    errors=(404,),
    tag="tablet",
    idempotency_key=True,
    description=KEY_NOTE + " Only the unit's own messages (404 otherwise); a second"
    " acknowledgement answers the first one's time. Event `unit.message_acknowledged` to the"
    " room and the unit.",
)
async def post_message_acknowledgement(
    request: Request, principal: access.Principal, _: None, __: None
) -> Response:
    key = idempotency.key_of(request)
    assert key is not None
    db = services.of(request).db
    return respond(await acknowledge_message(db, principal, path_id(request), key))


@operation(
    "POST",
    "/api/v1/tablet/position",
    summary="The unit's position (Geolocation), while the crew shares it",
    body=PositionIn,
    response=PositionOut,
    auth=AUTH,
    permission=TABLET,
    tag="tablet",
    example={"lat": 43.7712, "lon": 11.2486, "accuracy_m": 25, "at": "2026-01-15T21:04:00+01:00"},
    description="Kept as the unit's last position (and in a short history, see"
    " SEUS_POSITION_HISTORY_HOURS) only when `share_position` is on; `kept` says so. Sent by"
    " the tablet every SEUS_POSITION_INTERVAL_SECONDS while assigned; not queued offline (a"
    " stale position is replaced by the next). Event `unit.position_reported` to the room,"
    " without coordinates.",
)
async def post_position(
    request: Request, principal: access.Principal, body: PositionIn, _: None
) -> PositionOut:
    return await report_position(services.of(request).db, principal, body)


@operation(
    "PUT",
    "/api/v1/tablet/position-sharing",
    summary="The crew's consent to send the unit's position",
    body=SharingIn,
    response=UnitState,
    auth=AUTH,
    permission=TABLET,
    tag="tablet",
    example={"share_position": True},
    description="Off forgets the unit's last position and its history at once. Event"
    " `unit.position_sharing_changed` to the room and the unit.",
)
async def put_position_sharing(
    request: Request, principal: access.Principal, body: SharingIn, _: None
) -> UnitState:
    return await set_sharing(services.of(request).db, principal, body)


Body = TypeVar("Body", bound=BaseModel)


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
