"""Cases (prese in carico): from activation to the handover to the territorial service.

open -> unit_dispatched -> on_scene -> resources_in_place -> handover_sent
     -> handover_accepted (or handover_rejected with reason -> back to the room) -> closed
"""

from __future__ import annotations

import enum

from dispatch.states import move


class Status(enum.StrEnum):
    OPEN = "open"
    UNIT_DISPATCHED = "unit_dispatched"
    ON_SCENE = "on_scene"
    RESOURCES_IN_PLACE = "resources_in_place"
    HANDOVER_SENT = "handover_sent"
    HANDOVER_ACCEPTED = "handover_accepted"
    HANDOVER_REJECTED = "handover_rejected"
    CLOSED = "closed"


_S = Status
TRANSITIONS: dict[Status, frozenset[Status]] = {
    _S.OPEN: frozenset({_S.UNIT_DISPATCHED, _S.RESOURCES_IN_PLACE, _S.HANDOVER_SENT, _S.CLOSED}),
    _S.UNIT_DISPATCHED: frozenset({_S.ON_SCENE, _S.OPEN}),  # OPEN: the unit was recalled
    _S.ON_SCENE: frozenset({_S.RESOURCES_IN_PLACE, _S.HANDOVER_SENT, _S.UNIT_DISPATCHED}),
    _S.RESOURCES_IN_PLACE: frozenset({_S.HANDOVER_SENT, _S.UNIT_DISPATCHED}),
    _S.HANDOVER_SENT: frozenset({_S.HANDOVER_ACCEPTED, _S.HANDOVER_REJECTED}),
    _S.HANDOVER_REJECTED: frozenset({_S.HANDOVER_SENT, _S.UNIT_DISPATCHED, _S.CLOSED}),
    _S.HANDOVER_ACCEPTED: frozenset({_S.CLOSED}),
}

STATUS_LABELS = {
    _S.OPEN: "Aperto",
    _S.UNIT_DISPATCHED: "Unità inviata",
    _S.ON_SCENE: "Unità sul posto",
    _S.RESOURCES_IN_PLACE: "Risorse attivate",
    _S.HANDOVER_SENT: "Passaggio inviato",
    _S.HANDOVER_ACCEPTED: "Passaggio accettato",
    _S.HANDOVER_REJECTED: "Passaggio respinto",
    _S.CLOSED: "Chiuso",
}


def advance(current: Status, target: Status) -> Status:
    return move("case", TRANSITIONS, current, target)


def case_number(year: int, number: int) -> str:
    """The number people read on the phone: SEUS-2026-000123."""
    return f"SEUS-{year}-{number:06d}"
