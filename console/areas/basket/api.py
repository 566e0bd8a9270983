"""The basket's JSON operations: resources (list, create, edit) and bookings (book, hold,
confirm, start, release, cancel, read).

A booking may use a resource of any zone. Capacity full is an answer, not a failure: 409
`{"error": "capacity_full", "available": n}`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from console.areas.basket.actions import (
    Expired,
    Full,
    Outcome,
    add_resource,
    book,
    change_resource,
    read_booking,
    step,
)
from console.areas.basket.reads import list_resources, of_case
from console.areas.basket.schemas import (
    BookingIn,
    BookingList,
    BookingOut,
    BookingStep,
    ResourceIn,
    ResourceList,
    ResourceOut,
    ResourcePatch,
    ResourcesQuery,
)
from console.lib import errors, services
from console.lib.api import Handler, operation, path_id
from dispatch import access
from dispatch.basket import Status
from dispatch.events import actor_of


class CapacityFull(errors.Conflict):
    """An expected outcome, not a failure: the resource has less left than asked."""

    code = "capacity_full"
    detail = "Capacità esaurita: disponibilità insufficiente per la quantità richiesta."

    def __init__(self, available: int) -> None:
        super().__init__()
        self.available = available

    def body(self) -> dict[str, Any]:
        return {**super().body(), "available": self.available}


class HoldExpired(errors.Conflict):
    code = "hold_expired"
    detail = "La prenotazione è scaduta prima della conferma: prenotare di nuovo."


def _answer(outcome: Outcome) -> BookingOut:
    if isinstance(outcome, Full):
        raise CapacityFull(outcome.available)
    if isinstance(outcome, Expired):
        raise HoldExpired()
    return outcome


@operation(
    "POST",
    "/api/v1/cases/{id}/bookings",
    summary="Book a resource for a case: held at once, or 409 capacity_full with what is left",
    body=BookingIn,
    response=BookingOut,
    status=201,
    permission=access.Permission.MANAGE_CASES,
    errors=(404, 409, 422),
    tag="basket",
    description="The resource may be of any zone. A hold expires after SEUS_HOLD_MINUTES "
    'unless confirmed. When full: 409 `{"error": "capacity_full", "available": n}`.',
    example={"resource_id": 1, "quantity": 1, "note": "Donna con un minore, arrivo ore 22"},
)
async def create_booking(
    request: Request, principal: access.Principal, body: BookingIn, _: None
) -> BookingOut:
    svc = services.of(request)
    case_id = path_id(request)
    outcome = await book(
        svc.db,
        case_id,
        body.resource_id,
        body.quantity,
        body.note,
        actor=actor_of(principal),
        ttl=svc.settings.booking_hold,
    )
    return _answer(outcome)


def _step_operation(verb: str, target: Status, summary: str) -> Handler:
    async def handler(
        request: Request, principal: access.Principal, body: BookingStep, _: None
    ) -> BookingOut:
        svc = services.of(request)
        outcome = await step(
            svc.db,
            path_id(request),
            target,
            actor=actor_of(principal),
            reason=body.reason,
            ttl=svc.settings.booking_hold,
        )
        return _answer(outcome)

    handler.__name__ = f"{verb}_booking"
    return operation(
        "POST",
        f"/api/v1/bookings/{{id}}/{verb}",
        summary=summary,
        body=BookingStep,
        response=BookingOut,
        permission=access.Permission.MANAGE_CASES,
        errors=(404, 409),
        tag="basket",
        description="409 `illegal_transition` when the booking's status does not allow it.",
        example={"reason": None},
    )(handler)


hold_booking = _step_operation(
    "hold", Status.HELD, "Hold a requested booking (same capacity rule as booking)"
)


confirm_booking = _step_operation(
    "confirm", Status.CONFIRMED, "Confirm a held booking (409 hold_expired if late)"
)


start_booking = _step_operation("start", Status.IN_USE, "The person is using the resource (in use)")


release_booking = _step_operation("release", Status.RELEASED, "Give back a resource in use")


cancel_booking = _step_operation(
    "cancel", Status.CANCELLED, "Cancel a requested, held or confirmed booking"
)


@operation(
    "GET",
    "/api/v1/bookings/{id}",
    summary="One booking",
    response=BookingOut,
    permission=access.Permission.VIEW_REFERRALS,
    errors=(404,),
    tag="basket",
)
async def get_booking(request: Request, _: access.Principal, __: None, ___: None) -> BookingOut:
    out = await read_booking(services.of(request).db.pool, path_id(request))
    if out is None:
        raise errors.NotFound("Prenotazione non trovata.")
    return out


@operation(
    "GET",
    "/api/v1/cases/{id}/bookings",
    summary="The bookings of a case, newest first",
    response=BookingList,
    permission=access.Permission.VIEW_REFERRALS,
    errors=(404,),
    tag="basket",
)
async def case_bookings(request: Request, _: access.Principal, __: None, ___: None) -> BookingList:
    pool = services.of(request).db.pool
    case_id = path_id(request)
    if not await pool.fetchval("SELECT true FROM cases WHERE id = $1", case_id):
        raise errors.NotFound("Caso non trovato.")
    return BookingList(bookings=await of_case(pool, case_id))


@operation(
    "GET",
    "/api/v1/resources",
    summary="The resource basket of a zone (or of all), with live availability",
    query=ResourcesQuery,
    response=ResourceList,
    permission=access.Permission.VIEW_BASKET,
    errors=(422,),
    tag="basket",
)
async def get_resources(
    request: Request, _: access.Principal, __: None, query: ResourcesQuery
) -> ResourceList:
    pool = services.of(request).db.pool
    if query.zone is not None and not await pool.fetchval(
        "SELECT true FROM zones WHERE id = $1", query.zone
    ):
        raise errors.ValidationFailed(
            problems=[errors.FieldProblem("query.zone", "unknown zone", "unknown")]
        )
    return await list_resources(pool, query.zone, query.type.value if query.type else None)


@operation(
    "POST",
    "/api/v1/resources",
    summary="Add a resource to a zone's basket (admin)",
    body=ResourceIn,
    response=ResourceOut,
    status=201,
    permission=access.Permission.EDIT_BASKET,
    errors=(422,),
    tag="basket",
    example={
        "zone_id": "pistoiese",
        "type": "shelter_bed",
        "name": "Posti letto accoglienza notturna",
        "provider": "Caritas diocesana di Pistoia",
        "capacity": 12,
        "conditions": "Maggiorenni; accesso su invio della centrale SEUS",
        "max_duration": "7 notti",
        "contact_hours": "h24",
        "phone": "+39 0573 000000",
    },
)
async def create_resource(
    request: Request, principal: access.Principal, body: ResourceIn, _: None
) -> ResourceOut:
    return await add_resource(services.of(request).db, principal, body)


@operation(
    "PATCH",
    "/api/v1/resources/{id}",
    summary="Edit a resource of a basket (admin); capacity never below what is counted",
    body=ResourcePatch,
    response=ResourceOut,
    permission=access.Permission.EDIT_BASKET,
    errors=(404, 409, 422),
    tag="basket",
    example={"capacity": 15, "reason": "Aperti 3 posti in più per l'emergenza freddo"},
)
async def edit_resource(
    request: Request, principal: access.Principal, body: ResourcePatch, _: None
) -> ResourceOut:
    return await change_resource(services.of(request).db, principal, path_id(request), body)
