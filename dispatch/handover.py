"""The handover (passaggio della presa in carico) to the competent territorial service."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dispatch import access
from dispatch.errors import DomainError
from dispatch.events import NewEvent, actor_of
from dispatch.states import move


class Status(enum.StrEnum):
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


STATUS_LABELS = {
    Status.SENT: "In attesa di decisione",
    Status.ACCEPTED: "Accettato",
    Status.REJECTED: "Respinto",
}


def competent_zone(residence_zone: str | None, found_zone: str) -> str:
    """The residence municipality's zone when known, else where the person was found."""
    return residence_zone or found_zone


def reject_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise DomainError("a rejected handover needs a reason")
    return text


@dataclass(frozen=True, slots=True)
class Dossier:
    """The curated extract the territorial service receives: not the whole file."""

    case_number: str
    who: Mapping[str, Any]  # people involved: count, minors, age band, language
    what_happened: str
    trigger: str
    urgency: str
    place: Mapping[str, Any]
    done: Sequence[str]  # what the service did, in order
    booked: Sequence[Mapping[str, Any]]  # resources in place
    open_needs: Sequence[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_number": self.case_number,
            "who": dict(self.who),
            "what_happened": self.what_happened,
            "trigger": self.trigger,
            "urgency": self.urgency,
            "place": dict(self.place),
            "done": list(self.done),
            "booked": [dict(b) for b in self.booked],
            "open_needs": list(self.open_needs),
        }


_WHO_FIELDS = ("count", "minors", "age_band", "sex", "language", "needs_mediator")
_PLACE_FIELDS = ("municipality", "zone", "address")
_BOOKED_FIELDS = ("type", "type_label", "name", "provider", "status", "quantity")


def dossier(
    *,
    case_number: str,
    people: Mapping[str, Any],
    what_happened: str,
    trigger: str,
    urgency: str,
    place: Mapping[str, Any],
    timeline: Sequence[str],
    bookings: Sequence[Mapping[str, Any]],
    needs: Sequence[str],
) -> Dossier:
    """Keep only what the territorial service needs to take the person in charge."""
    active = [
        {k: b[k] for k in _BOOKED_FIELDS if k in b}
        for b in bookings
        if b.get("status") in ("held", "confirmed", "in_use")
    ]
    booked_types = {b.get("type") for b in active}
    return Dossier(
        case_number=case_number,
        who={k: people[k] for k in _WHO_FIELDS if k in people},
        what_happened=what_happened,
        trigger=trigger,
        urgency=urgency,
        place={k: place[k] for k in _PLACE_FIELDS if k in place},
        done=list(timeline),
        booked=active,
        open_needs=[n for n in needs if n not in booked_types],
    )


# -- events -----------------------------------------------------------------------------------
#
# The dossier goes only to the competent zone's service (`handover.sent`); the room learns of the
# handover from `case.handover_sent`; the service's decision reaches both the room and the zone.


def sent(
    handover_id: int, case_id: int, zone: str, dossier: Dossier, by: access.Principal
) -> NewEvent:
    """The handover with its dossier, for the competent territorial service only."""
    return NewEvent(
        type="handover.sent",
        subject=f"handover:{handover_id}",
        audience=frozenset({access.territorial_tag(zone)}),
        payload={
            "handover_id": handover_id,
            "case_id": case_id,
            "case_number": dossier.case_number,
            "zone": zone,
            "status": Status.SENT.value,
            "dossier": dossier.as_dict(),
        },
        actor=actor_of(by),
        zone=zone,
    )


def case_handover_sent(
    handover_id: int,
    case_id: int,
    case_number: str,
    case_zone: str,
    to_zone: str,
    to_zone_name: str,
    by: access.Principal,
) -> NewEvent:
    """The room's side of the same act: the case now waits for the territorial service."""
    return NewEvent(
        type="case.handover_sent",
        subject=f"case:{case_id}",
        audience=frozenset({access.ROOM}),
        payload={
            "handover_id": handover_id,
            "case_id": case_id,
            "case_number": case_number,
            "status": "handover_sent",
            "to_zone": to_zone,
            "zone_name": to_zone_name,
        },
        actor=actor_of(by),
        zone=case_zone,
    )


def decided(
    handover_id: int,
    case_id: int,
    case_number: str,
    zone: str,
    outcome: Status,
    by: access.Principal,
    reason: str | None = None,
) -> NewEvent:
    """Accepted or rejected by the zone's service: the room and that zone are told."""
    if outcome is Status.SENT:
        raise DomainError("a decision is an acceptance or a rejection")
    rejected = outcome is Status.REJECTED
    return NewEvent(
        type=f"handover.{outcome.value}",
        subject=f"handover:{handover_id}",
        audience=frozenset({access.ROOM, access.territorial_tag(zone)}),
        payload={
            "handover_id": handover_id,
            "case_id": case_id,
            "case_number": case_number,
            "zone": zone,
            "status": outcome.value,
            "case_status": "handover_rejected" if rejected else "handover_accepted",
            "flagged": rejected,
            "reason": reason,
        },
        actor=actor_of(by),
        zone=zone,
    )


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.SENT: frozenset({Status.ACCEPTED, Status.REJECTED}),
}


def decide(current: Status, outcome: Status) -> Status:
    """Only a sent handover can be accepted or rejected, and only once."""
    return move("handover", TRANSITIONS, current, outcome)
