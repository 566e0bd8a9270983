"""The zone's basket of resources (paniere delle risorse) and bookings against it.

requested -> held (expires) -> confirmed -> in_use -> released; a hold may also expire and any
open booking may be cancelled. Held, confirmed and in-use bookings count against capacity.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

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
