"""The zone's basket of resources (paniere delle risorse) and bookings against it.

requested -> held (expires) -> confirmed -> in_use -> released; a hold may also expire and any
open booking may be cancelled. Held, confirmed and in-use bookings count against capacity.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from dispatch import access, cases
from dispatch.errors import IllegalTransition
from dispatch.events import NewEvent
from dispatch.states import move


class ResourceType(enum.StrEnum):
    SHELTER_BED = "shelter_bed"
    PROTECTED_HOUSING = "protected_housing"
    MEALS = "meals"
    CLOTHING = "clothing"
    PHARMACY = "pharmacy"
    TRANSPORT = "transport"
    INTERPRETER = "interpreter"  # interprete o mediatore culturale
    PSYCHOLOGICAL_FIRST_AID = "psychological_first_aid"
    HOTEL_ROOM = "hotel_room"
    OTHER = "other"


TYPE_LABELS = {
    ResourceType.SHELTER_BED: "Posto letto in struttura",
    ResourceType.PROTECTED_HOUSING: "Alloggio protetto",
    ResourceType.MEALS: "Pasti",
    ResourceType.CLOTHING: "Vestiario",
    ResourceType.PHARMACY: "Farmacia",
    ResourceType.TRANSPORT: "Trasporto",
    ResourceType.INTERPRETER: "Interprete o mediatore culturale",
    ResourceType.PSYCHOLOGICAL_FIRST_AID: "Primo soccorso psicologico",
    ResourceType.HOTEL_ROOM: "Camera d'albergo",
    ResourceType.OTHER: "Altro",
}


class Status(enum.StrEnum):
    REQUESTED = "requested"
    HELD = "held"
    CONFIRMED = "confirmed"
    IN_USE = "in_use"
    RELEASED = "released"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


_S = Status
TRANSITIONS: dict[Status, frozenset[Status]] = {
    _S.REQUESTED: frozenset({_S.HELD, _S.CANCELLED}),
    _S.HELD: frozenset({_S.CONFIRMED, _S.EXPIRED, _S.CANCELLED}),
    _S.CONFIRMED: frozenset({_S.IN_USE, _S.CANCELLED}),
    _S.IN_USE: frozenset({_S.RELEASED}),
}

COUNTS_AGAINST_CAPACITY = frozenset({_S.HELD, _S.CONFIRMED, _S.IN_USE})


def advance(current: Status, target: Status) -> Status:
    return move("booking", TRANSITIONS, current, target)


@dataclass(frozen=True, slots=True)
class Held:
    expires_at: datetime
    available_after: int


@dataclass(frozen=True, slots=True)
class Full:
    available: int


def hold(
    current: Status, capacity: int, taken: int, quantity: int, now: datetime, ttl: timedelta
) -> Held | Full:
    """Hold `quantity` units of a resource with `capacity`, of which `taken` are already counted.

    Capacity full is an expected outcome, not an error. The caller must read `taken` under a
    lock on the resource, so that concurrent holds cannot overbook it.
    """
    move("booking", TRANSITIONS, current, _S.HELD)
    available = max(0, capacity - taken)
    if quantity > available:
        return Full(available)
    return Held(expires_at=now + ttl, available_after=available - quantity)


def expired(status: Status, expires_at: datetime | None, now: datetime) -> bool:
    return status is _S.HELD and expires_at is not None and now >= expires_at


# ---- rules used by the edge (console/bookings.py, console/resources.py) ----

STATUS_LABELS = {
    _S.REQUESTED: "Richiesta",
    _S.HELD: "Bloccata",
    _S.CONFIRMED: "Confermata",
    _S.IN_USE: "In uso",
    _S.RELEASED: "Liberata",
    _S.EXPIRED: "Scaduta",
    _S.CANCELLED: "Annullata",
}

# The event recorded when a booking reaches each status.
EVENT_TYPES = {
    _S.REQUESTED: "booking.requested",
    _S.HELD: "booking.held",
    _S.CONFIRMED: "booking.confirmed",
    _S.IN_USE: "booking.started",
    _S.RELEASED: "booking.released",
    _S.EXPIRED: "booking.expired",
    _S.CANCELLED: "booking.cancelled",
}

FINAL = frozenset({_S.RELEASED, _S.EXPIRED, _S.CANCELLED})
IN_PLACE = frozenset({_S.CONFIRMED, _S.IN_USE})  # the person has (or is getting) the resource

# A case takes bookings until its service part is over.
BOOKABLE_CASES = frozenset(
    set(cases.Status) - {cases.Status.CLOSED, cases.Status.HANDOVER_ACCEPTED}
)
# A case in one of these moves to resources_in_place when its first resource is in place.
MOVES_TO_IN_PLACE = frozenset({cases.Status.OPEN, cases.Status.ON_SCENE})


def available(capacity: int, taken: int) -> int:
    """What can still be held: never negative, even if capacity was lowered under the count."""
    return max(0, capacity - taken)


def counts(status: Status) -> bool:
    return status in COUNTS_AGAINST_CAPACITY


def changes_availability(current: Status, target: Status) -> bool:
    """True when the move takes quantity from the resource or gives it back."""
    return counts(current) != counts(target)


def capacity_fits(capacity: int, taken: int) -> bool:
    """A resource's capacity may not be set below what is held, confirmed or in use."""
    return 0 <= capacity and taken <= capacity


def bookable(case_status: cases.Status) -> bool:
    return case_status in BOOKABLE_CASES


def case_after(
    target: Status, case_status: cases.Status, others_in_place: bool
) -> cases.Status | None:
    """The case's new status when a booking reaches `target`, or None to leave it.

    The first resource in place (no other booking of the case confirmed or in use) moves an
    open or on-scene case to resources_in_place; any other move is skipped, never an error.
    """
    if target not in IN_PLACE or others_in_place or case_status not in MOVES_TO_IN_PLACE:
        return None
    try:
        return cases.advance(case_status, cases.Status.RESOURCES_IN_PLACE)
    except IllegalTransition:
        return None


# ---- events ----


@dataclass(frozen=True, slots=True)
class BookingFacts:
    """What the room's events say about a booking (built at the edge from its rows)."""

    id: int
    case_id: int
    case_number: str
    resource_id: int
    resource_name: str
    resource_type: str
    zone: str  # the resource's zone
    quantity: int
    status: Status
    held_until: datetime | None
    note: str = ""


def booking_event(
    facts: BookingFacts,
    *,
    previous: Status | None,
    available: int,
    actor: str,
    reason: str | None = None,
    unit_id: int | None = None,
    unit_ids: Iterable[int] = (),
) -> NewEvent:
    """`booking.<held|confirmed|started|released|cancelled|expired|requested>` for the room,
    the unit that asked for it (`unit_id`, when a unit did) and the units on the case
    (`unit_ids`: their tablets show the case's resources and their own requests live).

    On the case's subject, so the case's timeline shows it; `available` is what the resource
    has left after the move.
    """
    return NewEvent(
        type=EVENT_TYPES[facts.status],
        subject=f"case:{facts.case_id}",
        audience=frozenset({access.ROOM})
        | frozenset(access.unit_tag(u) for u in unit_ids)
        | (frozenset({access.unit_tag(unit_id)}) if unit_id is not None else frozenset()),
        payload={
            "id": facts.id,
            "case_id": facts.case_id,
            "case_number": facts.case_number,
            "resource_id": facts.resource_id,
            "resource_name": facts.resource_name,
            "resource_type": facts.resource_type,
            "quantity": facts.quantity,
            "status": facts.status.value,
            "previous": previous.value if previous else None,
            "held_until": facts.held_until.isoformat() if facts.held_until else None,
            "note": facts.note,
            "available": available,
            "reason": reason,
        },
        actor=actor,
        zone=facts.zone,
    )


def availability_changed(
    resource_id: int, zone: str, capacity: int, available: int, actor: str
) -> NewEvent:
    """`resource.availability_changed`: every screen showing the basket updates the number."""
    return NewEvent(
        type="resource.availability_changed",
        subject=f"resource:{resource_id}",
        audience=frozenset({access.ROOM}),
        payload={
            "resource_id": resource_id,
            "zone": zone,
            "capacity": capacity,
            "available": available,
        },
        actor=actor,
        zone=zone,
    )


def resource_changed(
    resource: Mapping[str, Any],
    changes: Mapping[str, tuple[Any, Any]],
    *,
    created: bool,
    actor: str,
    reason: str | None = None,
) -> NewEvent:
    """`resource.changed`: an admin created or edited a resource of a basket."""
    return NewEvent(
        type="resource.changed",
        subject=f"resource:{resource['id']}",
        audience=frozenset({access.ROOM}),
        payload={
            "resource": dict(resource),
            "changes": {name: [old, new] for name, (old, new) in changes.items()},
            "created": created,
            "reason": reason,
        },
        actor=actor,
        zone=str(resource["zone_id"]),
    )


def case_moved(
    case_id: int,
    case_number: str,
    zone: str,
    previous: cases.Status,
    target: cases.Status,
    *,
    booking_id: int,
    actor: str,
) -> NewEvent:
    """`case.status_changed` when a booking put the case's first resource in place."""
    return NewEvent(
        type="case.status_changed",
        subject=f"case:{case_id}",
        audience=frozenset({access.ROOM}),
        payload={
            "case_id": case_id,
            "case_number": case_number,
            "previous": previous.value,
            "status": target.value,
            "reason": "prima risorsa attivata",
            "booking_id": booking_id,
        },
        actor=actor,
        zone=zone,
    )
