"""Messages from the room to field units: written by an operator or a supervisor to one unit or
to every unit on a case, shown on the tablet until the crew acknowledges them.

A message is one row per unit it went to; its events go to the room and to that unit only, and
name the case (`case_id`) so the case's timeline tells them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dispatch import access
from dispatch.events import NewEvent, actor_of

MAX_LENGTH = 1000


class Problem(ValueError):
    """A message that cannot be sent; `field` names what to fix, the text says it in Italian."""

    def __init__(self, field: str, text: str) -> None:
        super().__init__(text)
        self.field = field
        self.text = text


def body_of(text: str) -> str:
    """The message as it is sent: trimmed, not empty, at most MAX_LENGTH characters."""
    body = text.strip()
    if not body:
        raise Problem("body", "Scrivi il messaggio.")
    if len(body) > MAX_LENGTH:
        raise Problem("body", f"Messaggio troppo lungo: al massimo {MAX_LENGTH} caratteri.")
    return body


@dataclass(frozen=True, slots=True)
class Sent:
    """One unit's copy of a message, as stored."""

    id: int
    batch: int
    unit_id: int
    unit_name: str
    case_id: int | None
    case_number: str | None
    zone: str | None
    body: str
    author_name: str
    sent_at: datetime
    acknowledged_at: datetime | None = None


def _payload(message: Sent) -> dict[str, object]:
    return {
        "id": message.id,
        "batch": message.batch,
        "unit_id": message.unit_id,
        "unit_name": message.unit_name,
        "case_id": message.case_id,
        "case_number": message.case_number,
        "body": message.body,
        "author_name": message.author_name,
        "sent_at": message.sent_at.isoformat(),
        "acknowledged_at": (
            message.acknowledged_at.isoformat() if message.acknowledged_at is not None else None
        ),
    }


def _audience(unit_id: int) -> frozenset[str]:
    return frozenset({access.ROOM, access.unit_tag(unit_id)})


def message_sent(message: Sent, by: access.Principal) -> NewEvent:
    """`unit.message_sent`: to the room and the unit it was written to."""
    return NewEvent(
        type="unit.message_sent",
        subject=f"unit:{message.unit_id}",
        audience=_audience(message.unit_id),
        payload=_payload(message),
        actor=actor_of(by),
        zone=message.zone,
    )


def message_acknowledged(message: Sent, by: access.Principal) -> NewEvent:
    """`unit.message_acknowledged`: the crew has read it; the room sees it at once."""
    return NewEvent(
        type="unit.message_acknowledged",
        subject=f"unit:{message.unit_id}",
        audience=_audience(message.unit_id),
        payload=_payload(message),
        actor=actor_of(by),
        zone=message.zone,
    )
