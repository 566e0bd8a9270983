"""The handover (passaggio della presa in carico) to the competent territorial service."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dispatch.errors import DomainError


class Status(enum.StrEnum):
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


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
        {k: b[k] for k in ("type", "provider", "status", "quantity") if k in b}
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
