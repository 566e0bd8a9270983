"""The JSON API of bookings (actions in console/booking_actions.py) and the basket's page.

A booking may use a resource of any zone. Capacity full is an answer, not a failure: 409
`{"error": "capacity_full", "available": n}`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator
from starlette.requests import Request

from console import errors, resources, schemas, services
from console.api import operation
from console.booking_actions import (
    BookingList,
    BookingOut,
    Expired,
    Full,
    Outcome,
    book,
    expire_holds,
    of_case,
    read,
    record_request,
    step,
)
from dispatch import access
from dispatch.basket import Status
from dispatch.events import actor_of

__all__ = ["book", "expire_holds", "of_case", "page_routes", "read", "record_request", "step"]


class BookingIn(schemas.Request):
    resource_id: int = Field(ge=1)
    quantity: int = Field(default=1, ge=1, le=1000)
    note: str = Field(default="", max_length=1000)

    _printable = field_validator("note")(resources.printable)


class BookingStep(schemas.Request):
    reason: str | None = Field(default=None, max_length=500, description="Why (for the log)")

    _printable = field_validator("reason")(resources.printable)


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
    case_id = resources.path_id(request)
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


def _step_operation(verb: str, target: Status, summary: str) -> None:
    async def handler(
        request: Request, principal: access.Principal, body: BookingStep, _: None
    ) -> BookingOut:
        svc = services.of(request)
        outcome = await step(
            svc.db,
            resources.path_id(request),
            target,
            actor=actor_of(principal),
            reason=body.reason,
            ttl=svc.settings.booking_hold,
        )
        return _answer(outcome)

    handler.__name__ = f"{verb}_booking"
    operation(
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


_step_operation("hold", Status.HELD, "Hold a requested booking (same capacity rule as booking)")
_step_operation("confirm", Status.CONFIRMED, "Confirm a held booking (409 hold_expired if late)")
_step_operation("start", Status.IN_USE, "The person is using the resource (in use)")
_step_operation("release", Status.RELEASED, "Give back a resource in use")
_step_operation("cancel", Status.CANCELLED, "Cancel a requested, held or confirmed booking")


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
    out = await read(services.of(request).db.pool, resources.path_id(request))
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
    case_id = resources.path_id(request)
    if not await pool.fetchval("SELECT true FROM cases WHERE id = $1", case_id):
        raise errors.NotFound("Caso non trovato.")
    return BookingList(bookings=await of_case(pool, case_id))


page_routes = resources.page_routes
